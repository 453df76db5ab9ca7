"""Planner-test fixtures: one torch thread, the LQR problem."""

from __future__ import annotations

import pytest
import torch
from planner_problems import LQR


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors run fastest on one thread, above all on a busy shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def lqr() -> LQR:
    return LQR()
