"""A wheel of wmplan, installed outside the checkout, runs the quick suite with the
shipped world models (slow: builds a wheel and runs a short benchmark)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installed_outside_the_checkout_benches_with_the_shipped_models(tmp_path):
    run = lambda *cmd, **kw: subprocess.run(  # noqa: E731
        cmd, capture_output=True, text=True, check=False, **kw
    )
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp_path / "dist", ROOT)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("wmplan-*.whl")
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                .stdout.strip())  # fmt: skip
    # Dependencies come from this environment's site-packages (a .pth line adds the
    # directory without its .pth files, so this checkout's editable install stays out).
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run(sys.executable, "-m", "pip", "install", "--no-deps", "--target", site, wheel)
    assert installed.returncode == 0, installed.stderr[-2000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run(python, "-c", "import wmplan.models as m; print(m.__file__)", cwd=work)
    assert str(site) in where.stdout, where.stdout + where.stderr
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [python, "-m", "wmplan.benchmarks.cli", "bench", "--suite", "quick", "--episodes", "1"]
    bench = run(*cmd, "--workers", "2", "--out", "runs/q", "--quiet", cwd=work, env=env)
    assert bench.returncode == 0, bench.stderr[-3000:]
    assert "wm-cem" in bench.stdout and "0 episodes run" not in bench.stdout, bench.stdout
    assert "skipped" not in bench.stdout + bench.stderr
