"""The intervals the report prints, against closed forms and at their stated level.

Per-task success: Clopper-Pearson, checked against ``scipy.stats.binomtest`` and
by its exact coverage (a sum over the binomial pmf, no simulation). Aggregates and
paired differences: percentile bootstrap through ``bootstrap_groups`` (what
``aggregate`` and ``paired_difference`` call), checked by coverage on synthetic
Bernoulli data and on constructed cases whose answer is known.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from wmplan.benchmarks import stats


@pytest.mark.parametrize("k, n", [(0, 20), (1, 20), (7, 20), (19, 20), (20, 20), (0, 1),
                                  (3, 50), (50, 50), (33, 150)])  # fmt: skip
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_binomial_interval_equals_scipy_exact(k, n, level):
    est = stats.binomial_ci(k, n, level)
    ref = sps.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    assert est.value == pytest.approx(k / n)
    assert est.low == pytest.approx(ref.low, abs=1e-9)
    assert est.high == pytest.approx(ref.high, abs=1e-9)
    assert (est.n, est.level, est.method) == (n, level, "clopper-pearson")


def test_twenty_of_twenty_does_not_collapse_to_a_point():
    est = stats.binomial_ci(20, 20)
    assert est.fmt() == "100.0 [83.2, 100.0]"
    assert stats.binomial_ci(0, 20).fmt() == "0.0 [0.0, 16.8]"


def _exact_coverage(n: int, p: float, level: float) -> float:
    """P(p in CI(K)) for K ~ Binomial(n, p), summed over every outcome."""
    pmf = sps.binom.pmf(np.arange(n + 1), n, p)
    inside = [stats.binomial_ci(k, n, level) for k in range(n + 1)]
    return float(sum(w for w, e in zip(pmf, inside, strict=True) if e.low <= p <= e.high))


@pytest.mark.parametrize("n", [10, 20, 50])
def test_binomial_interval_covers_every_rate_at_the_stated_level(n):
    for level in (0.95, 0.8):
        cov = [_exact_coverage(n, p, level) for p in np.linspace(0.02, 0.98, 25)]
        assert min(cov) >= level - 1e-9, (level, min(cov))
        # Exact intervals are conservative, but not absurdly so on average.
        assert np.mean(cov) < level + (1 - level) * 0.8, (level, np.mean(cov))


def test_binomial_interval_rejects_impossible_counts():
    with pytest.raises(ValueError, match="successes"):
        stats.binomial_ci(5, 4)
    with pytest.raises(ValueError, match="successes"):
        stats.binomial_ci(-1, 4)
    with pytest.raises(ValueError, match="level"):
        stats.binomial_ci(1, 4, level=1.0)
    assert stats.binomial_ci(0, 0).n == 0 and np.isnan(stats.binomial_ci(0, 0).value)


def _coverage(draw, truth, level, trials=300, n_boot=1000, seed=0):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        est = stats.bootstrap_groups(draw(rng), n_boot=n_boot, level=level, rng=rng)
        hits += est.low <= truth <= est.high
    return hits / trials


@pytest.mark.parametrize("level", [0.95, 0.8])
def test_stratified_bootstrap_covers_the_mean_of_task_rates(level):
    ps, n = np.array([0.3, 0.6, 0.85]), 40

    def draw(rng):
        return [(rng.random(n) < p).astype(float) for p in ps]

    cov = _coverage(draw, ps.mean(), level)
    # 300 trials: sd of the estimate <= 0.025; percentile intervals of a mean of
    # discrete data run ~1 point under nominal.
    assert level - 0.06 <= cov <= level + 0.04, cov


def test_paired_difference_interval_covers_the_true_difference():
    n, p_a, p_b = 40, 0.7, 0.45

    def draw(rng):  # correlated pairs: b succeeds only where a does, mostly
        u = rng.random(n)
        return [(u < p_a).astype(float) - (u < p_b).astype(float)]

    cov = _coverage(draw, p_a - p_b, 0.95)
    assert 0.89 <= cov <= 0.99, cov


def test_stratified_bootstrap_of_constant_tasks_is_their_mean_exactly():
    est = stats.bootstrap_groups([np.ones(10), np.zeros(30), np.ones(5)], rng=0)
    assert (est.value, est.low, est.high, est.n) == (pytest.approx(2 / 3),) * 3 + (45,)


def test_stratified_bootstrap_width_matches_the_known_standard_error():
    """Each task resampled on its own: sd of the mean of G task means is
    sqrt(sum_g var_g / n_g) / G; the 95% interval spans ~3.92 of them."""
    groups = [np.r_[np.ones(30), np.zeros(30)], np.r_[np.ones(10), np.zeros(40)],
              np.r_[np.ones(72), np.zeros(8)]]  # fmt: skip
    se = np.sqrt(sum(g.var() / g.size for g in groups)) / len(groups)
    est = stats.bootstrap_groups(groups, n_boot=20000, rng=1)
    assert est.value == pytest.approx(np.mean([g.mean() for g in groups]))
    assert est.high - est.low == pytest.approx(2 * 1.959964 * se, rel=0.06)
    assert est.low < est.value < est.high
    # Pooling the episodes instead would weigh the 80-episode task most.
    assert est.value != pytest.approx(np.concatenate(groups).mean(), abs=0.01)


def test_bootstrap_is_reproducible_and_validates():
    x = np.random.default_rng(0).standard_normal(12)
    assert stats.bootstrap_ci(x, rng=3) == stats.bootstrap_ci(x, rng=3)
    assert stats.bootstrap_ci(x, rng=3) != stats.bootstrap_ci(x, rng=4)
    assert stats.bootstrap_ci(x).method == "bootstrap"
    assert stats.bootstrap_groups([]).n == 0
    with pytest.raises(ValueError, match="level"):
        stats.bootstrap_ci(x, level=0.0)
    with pytest.raises(ValueError, match="n_boot"):
        stats.bootstrap_ci(x, n_boot=0)
    with pytest.raises(ValueError, match="statistic"):
        stats.bootstrap_ci(x, statistic="median")


def test_summary_uses_the_binomial_interval_and_aggregates_the_bootstrap():
    rows = [{"agent": "a", "task": t, "seed": s, "episode": e, "success": ok, "return": 1.0,
             "final_distance": 0.5, "plan_time_per_step": 0.1, "wall_clock": 2.0, "steps": 10}
            for t, k in (("T1", 20), ("T2", 5)) for s in (0,) for e, ok in
            enumerate([True] * k + [False] * (20 - k))]  # fmt: skip
    s1, s2 = stats.summarize(rows)
    assert s1["success"] == stats.binomial_ci(20, 20) and s2["success"] == stats.binomial_ci(5, 20)
    (agg,) = stats.aggregate(rows)
    assert agg["success"].method == "bootstrap" and agg["success"].value == pytest.approx(0.625)
    assert agg["success"] == stats.bootstrap_groups([np.ones(20), np.r_[np.ones(5), np.zeros(15)]])


def test_empty_groups_and_missing_values_are_left_out():
    est = stats.bootstrap_groups([np.ones(3), np.array([]), np.zeros(1)], rng=0)
    assert (est.value, est.n) == (0.5, 4)
    assert stats.Estimate(float("nan"), float("nan"), float("nan"), 0).fmt() == "-"
    rows = [{"agent": a, "task": "T", "seed": 0, "episode": e, "success": s, "return": 0.0,
             "final_distance": None, "plan_time_per_step": 0.0, "wall_clock": 1.0, "steps": 5}
            for a, outcomes in (("a", [1, 1, 0, 1]), ("b", [0, 1, 0, None]))
            for e, s in enumerate(outcomes)]  # fmt: skip
    rows = [r for r in rows if not (r["agent"] == "b" and r["episode"] == 2)]  # b lacks ep 2
    d = stats.paired_difference(rows, "a", "b", rng=0)
    # Pairs: episodes 0 and 1 only (b has no episode 2, and no success value in 3).
    assert d["per_task"]["T"].n == 2 and d["per_task"]["T"].value == pytest.approx(0.5)
    assert d["overall"].value == pytest.approx(0.5)
    assert stats.paired_difference(rows, "a", "c")["overall"].n == 0
    (s_a, _) = stats.summarize([r for r in rows if r["success"] is not None])
    assert np.isnan(s_a["final_distance"]) and s_a["success"] == stats.binomial_ci(3, 4)
