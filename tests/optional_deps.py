"""Optional dependencies the tests exercise (not a test module)."""

from __future__ import annotations

import importlib

import pytest


def require(module: str):
    """Import an optional dependency a test exercises, or fail saying how to get it.

    ``make setup`` installs the ``dev`` extra (setup.cfg), which holds every optional
    dependency the tests need (ray, wandb), so a missing one is a broken setup and
    fails loudly instead of skipping the feature's only test."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(
            f"{module} is not installed, so its feature would go untested: run `make setup` "
            f"or `pip install -e '.[dev]'` (setup.cfg's dev extra lists it). ({exc})",
            pytrace=False,
        )
