"""Planner-test fixtures: one torch thread, the LQR problem."""

from __future__ import annotations

import pytest
from planner_problems import LQR


@pytest.fixture(autouse=True)
def _planner_tests_on_one_thread(one_thread):
    """Every planner test runs on one torch thread (``one_thread`` in tests/conftest.py)."""


@pytest.fixture(scope="session")
def lqr() -> LQR:
    return LQR()
