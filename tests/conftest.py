"""Shared fixtures. Tests run headless on CPU; nothing here needs a network or a GPU."""

from __future__ import annotations

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
