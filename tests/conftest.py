"""Shared fixtures. Tests run headless on CPU; nothing here needs a network or a GPU."""

from __future__ import annotations

import os

import pytest
import torch

import wmplan.envs  # noqa: F401  (registers the tasks, picks the GL backend)


@pytest.fixture
def make_env():
    """Factory that builds wmplan tasks and closes them after the test."""
    built = []

    def _make(task_id: str, **kwargs):
        env = wmplan.envs.make(task_id, **kwargs)
        built.append(env)
        return env

    yield _make
    for env in built:
        env.close()


@pytest.fixture
def one_thread():
    """Run the test on one torch thread (restored after). Small tensors run fastest
    on one thread, above all on a busy shared CPU. Use with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def wmplan_cli(tmp_path):
    """Run ``wmplan ARGS`` as a subprocess (in ``tmp_path``); returns the finished
    process with text output. ``cli.error(proc, *words)`` asserts a usage/input error:
    exit 2, one line on stderr naming every word, no traceback."""
    import subprocess
    import sys

    def run(*args: str, stdin: str | None = None, timeout: float = 300, **kw):
        env = dict(os.environ, OMP_NUM_THREADS="1")
        env.update(kw.pop("env", {}))
        return subprocess.run(
            [sys.executable, "-m", "wmplan.benchmarks.cli", *map(str, args)],
            capture_output=True, text=True, timeout=timeout, cwd=kw.pop("cwd", tmp_path),
            env=env, input=stdin, **kw,
        )  # fmt: skip

    def error(proc, *words: str) -> str:
        err = proc.stderr.strip()
        assert proc.returncode == 2, (proc.returncode, proc.stdout, err)
        assert "Traceback" not in err and len(err.splitlines()) == 1, err
        for word in words:
            assert word in err, (word, err)
        return err

    run.error = error
    return run
