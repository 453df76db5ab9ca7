"""`wmplan distance`: success against goal offset, seeded as the harness seeds episodes,
resumable without running an episode twice, with intervals that contain the rates."""

from __future__ import annotations

import json

import numpy as np

from wmplan.benchmarks.cli import main
from wmplan.benchmarks.distance import ROWS, SUMMARY
from wmplan.benchmarks.episode import episode_seeds


def _run(out, episodes):
    return main(["distance", "--suite", "quick", "--agents", "random", "--tasks",
                 "wmplan/TwoRoom-v0", "--offsets", "5,10", "--episodes", str(episodes),
                 "--out", str(out)])  # fmt: skip


def test_distance_runs_each_episode_once_with_budget_twice_the_offset(tmp_path):
    assert _run(tmp_path, 2) == 0
    rows = [json.loads(ln) for ln in (tmp_path / ROWS).read_text().splitlines()]
    assert sorted((r["offset"], r["episode"]) for r in rows) == [(5, 0), (5, 1), (10, 0), (10, 1)]
    assert all(r["budget"] == 2 * r["offset"] for r in rows)
    assert all(r["success"] or r["steps"] == r["budget"] for r in rows)
    # A rerun with more episodes adds only the new ones.
    assert _run(tmp_path, 3) == 0
    rows = [json.loads(ln) for ln in (tmp_path / ROWS).read_text().splitlines()]
    assert len(rows) == 6 and len({(r["offset"], r["episode"]) for r in rows}) == 6
    summary = json.loads((tmp_path / SUMMARY).read_text())
    points = summary["wmplan/TwoRoom-v0"]["random"]
    assert [p["offset"] for p in points] == [5, 10]
    for p in points:
        wins = sum(r["success"] for r in rows if r["offset"] == p["offset"])
        assert p["n"] == 3 and p["successes"] == wins
        assert p["ci95"][0] <= p["rate"] <= p["ci95"][1]
    assert (tmp_path / "distance.png").stat().st_size > 0


def test_distance_goal_matches_the_protocol_episode(make_env):
    """Offset o with episode i's seed gives the goal the expert reaches o steps out."""
    env = make_env("wmplan/TwoRoom-v0")
    env_seed, _ = episode_seeds(0, 1)
    _, info_10 = env.reset(seed=env_seed, options={"goal_offset": 10})
    _, info_5 = env.reset(seed=env_seed, options={"goal_offset": 5})
    np.testing.assert_array_equal(info_10["goal_actions"][:5], info_5["goal_actions"])
