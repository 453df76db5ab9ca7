"""Fixtures for harness tests: tiny suites of the random agent (seconds to run)."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_SUITE = """\
name: tiny
tasks: [wmplan/Reacher-v0]
seeds: [0]
episodes: {episodes}
episodes_per_job: 2
record_episodes: 1
protocol: {{goal_offset: 10, budget: {budget}}}
agents:
  - {{name: random, kind: random}}
"""


@pytest.fixture
def tiny_suite_file(tmp_path: Path):
    """Write a tiny random-agent suite file; returns a function (episodes, budget) -> path."""

    def _write(episodes: int = 4, budget: int = 8) -> Path:
        path = tmp_path / f"tiny_{episodes}_{budget}.yaml"
        path.write_text(TINY_SUITE.format(episodes=episodes, budget=budget))
        return path

    return _write
