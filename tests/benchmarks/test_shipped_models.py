"""The reference models resolve by name from the installed package, and a suite
agent that cannot run is an error (exit 2, which agent, why, the fix) unless the
user asks to skip it."""

from __future__ import annotations

import os
import subprocess
import sys

from wmplan.agents import availability, resolve_checkpoint
from wmplan.benchmarks.suite import load_suite
from wmplan.models import shipped_model, shipped_models

SUITE = """
name: missing
tasks: [wmplan/Reacher-v0]
seeds: [0]
episodes: 1
protocol: {budget: 2}
agents:
  - {name: random, kind: random}
  - name: wm-cem
    kind: wm
    checkpoint: no-such-model-{task_lower}
    planner: {name: cem, num_samples: 8, iterations: 1, num_elites: 2}
"""


def test_shipped_models_resolve_by_name_from_any_directory(tmp_path, monkeypatch):
    assert {"wm-reacher", "wm-tworoom"} <= set(shipped_models())
    monkeypatch.chdir(tmp_path)  # outside the checkout: no models/ here
    path = resolve_checkpoint("wm-reacher")
    assert path == shipped_model("wm-reacher") and (path / "model.safetensors").is_file()
    assert resolve_checkpoint("wm-nothing") is None and shipped_model("../wm-reacher") is None
    (tmp_path / "wm-reacher").mkdir()  # an existing path still wins over the name
    assert resolve_checkpoint("wm-reacher") != shipped_model("wm-reacher")


def test_builtin_suites_plan_with_the_shipped_models(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = load_suite("quick")
    wm = next(a for a in suite.agents if a.kind == "wm")
    for task in suite.tasks:
        if shipped_model(wm.checkpoint_for(task)) is not None:
            assert availability(wm, task) is None


def _bench(tmp_path, *extra):
    (tmp_path / "missing.yaml").write_text(SUITE)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "wmplan.benchmarks.cli", "bench", "--suite"]
    cmd += [str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "run"), "--workers", "1"]
    cmd += ["--quiet", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_unavailable_suite_agent_exits_2_naming_agent_reason_and_fix(tmp_path):
    proc = _bench(tmp_path)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "'wm-cem'" in err and "no-such-model-reacher" in err and "--skip-missing" in err


def test_skip_missing_runs_the_other_agents(tmp_path):
    proc = _bench(tmp_path, "--skip-missing")
    assert proc.returncode == 0, proc.stderr
    assert "skipped wm-cem" in proc.stdout + proc.stderr
    assert "1 episodes run" in proc.stdout
