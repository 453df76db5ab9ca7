"""Bootstrap CIs bracket the mean (coverage: test_stats_coverage.py); IQM, paired
differences, stratified aggregates and the Pareto front compute what they say."""

from __future__ import annotations

import numpy as np
import pytest

from wmplan.benchmarks import stats


def test_bootstrap_ci_brackets_the_mean():
    x = np.r_[np.ones(30), np.zeros(20)]
    est = stats.bootstrap_ci(x, rng=0)
    assert est.value == pytest.approx(0.6)
    assert est.low < 0.6 < est.high and est.n == 50
    assert 0.08 < est.high - est.low < 0.35
    assert stats.bootstrap_ci(x, rng=0) == est  # seeded: reproducible


def test_iqm_trims_a_quarter_each_side():
    x = np.array([-100.0, 1, 2, 3, 4, 5, 6, 100])
    assert stats.iqm(x) == pytest.approx(3.5)


def _rows(agent, task, successes, seed=0):
    return [
        {"agent": agent, "task": task, "seed": seed, "episode": i, "success": bool(s),
         "return": float(s), "final_distance": 1.0 - s, "plan_time_per_step": 0.01,
         "wall_clock": 1.0, "steps": 10}
        for i, s in enumerate(successes)
    ]  # fmt: skip


def test_paired_difference_pairs_by_task_seed_episode():
    a = [1, 1, 1, 0, 1, 1, 1, 1, 0, 1]
    b = [0, 1, 0, 0, 1, 0, 1, 0, 0, 1]
    rows = (
        _rows("a", "T1", a)
        + _rows("b", "T1", b)
        + _rows("a", "T2", [1] * 10)
        + _rows("b", "T2", [0] * 10)
    )
    d = stats.paired_difference(rows, "a", "b", rng=0)
    assert d["per_task"]["T1"].value == pytest.approx(0.4)
    assert d["per_task"]["T2"].value == pytest.approx(1.0)
    assert d["overall"].value == pytest.approx(0.7)
    assert d["overall"].low > 0  # a is clearly better


def test_aggregate_weighs_tasks_equally():
    rows = _rows("a", "T1", [1] * 40) + _rows("a", "T2", [0] * 10)
    (agg,) = stats.aggregate(rows)
    assert agg["success"].value == pytest.approx(0.5)  # not 40/50
    assert agg["tasks"] == 2 and agg["episodes"] == 50


def test_summarize_reports_per_seed_rates():
    rows = _rows("a", "T", [1, 1, 0, 0], seed=0) + _rows("a", "T", [1, 1, 1, 1], seed=1)
    (s,) = stats.summarize(rows)
    assert s["per_seed"] == {0: 0.5, 1: 1.0}
    assert s["success"].value == pytest.approx(0.75) and s["episodes"] == 8


def test_pareto_front_keeps_undominated_points():
    pts = [(1.0, 0.2), (2.0, 0.5), (3.0, 0.4), (4.0, 0.9), (0.5, 0.1)]
    assert stats.pareto_front(pts) == [4, 0, 1, 3]
