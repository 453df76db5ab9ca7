"""Statistics for benchmark results: binomial and percentile-bootstrap intervals.

* success rate per task and agent, with a 95% Clopper-Pearson (exact binomial)
  interval: it does not collapse at 0% or 100% (20/20 -> [83.2, 100]), and
  covers the true rate at least 95% of the time for every rate and count;
* IQM (interquartile mean, 25% trimmed) of returns, with a CI;
* paired differences between two agents on the same (task, seed, episode) starts
  and goals, with a CI (pairs resampled);
* aggregates over tasks: the mean of per-task values, each task resampled on its
  own (stratified bootstrap), so every task weighs the same.

numpy/scipy only (``rliable`` does not import against pandas 3). Every function
takes a ``numpy.random.Generator`` or a seed; results are reproducible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

LEVEL = 0.95
N_BOOT = 2000


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a ``level`` confidence interval over ``n`` samples."""

    value: float
    low: float
    high: float
    n: int
    level: float = LEVEL
    method: str = "bootstrap"  # how the interval was made: "bootstrap" or "clopper-pearson"

    def fmt(self, scale: float = 100.0, digits: int = 1) -> str:
        """'84.0 [72.0, 94.0]' (scaled, e.g. to percent)."""
        if self.n == 0:
            return "-"
        f = f"{{:.{digits}f}}"
        return f"{f.format(self.value * scale)} [{f.format(self.low * scale)}, {f.format(self.high * scale)}]"


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% (25% trimmed each side)."""
    return sps.trim_mean(x, 0.25, axis=axis)


def _stat_fn(
    statistic: str | Callable[[np.ndarray], np.ndarray],
) -> Callable[[np.ndarray], np.ndarray]:
    if callable(statistic):
        return statistic
    fns = {"mean": lambda a: a.mean(axis=-1), "iqm": iqm}
    if statistic not in fns:
        raise ValueError(f"statistic must be one of {sorted(fns)} or a callable, got {statistic!r}")
    return fns[statistic]


def binomial_ci(successes: int, n: int, level: float = LEVEL) -> Estimate:
    """Success rate ``successes / n`` with the Clopper-Pearson interval: the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of Beta(k, n - k + 1) and
    Beta(k + 1, n - k), with the bound at 0 (k = 0) or 1 (k = n) exact."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n={n}], got {successes}")
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, level, "clopper-pearson")
    alpha = 1 - level
    low = 0.0 if successes == 0 else float(sps.beta.ppf(alpha / 2, successes, n - successes + 1))
    high = (
        1.0 if successes == n else float(sps.beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    )
    return Estimate(successes / n, low, high, n, level, "clopper-pearson")


def bootstrap_groups(
    groups: Sequence[np.ndarray],
    statistic: str | Callable[[np.ndarray], np.ndarray] = "mean",
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    rng: np.random.Generator | int | None = 0,
) -> Estimate:
    """Mean over ``groups`` of ``statistic(group)``, with a percentile-bootstrap CI
    that resamples each group independently (one group: the plain bootstrap).

    ``statistic`` maps [..., n] -> [...] along the last axis ("mean", "iqm" or a
    callable)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    fn = _stat_fn(statistic)
    groups = [np.asarray(g, dtype=np.float64).ravel() for g in groups]
    groups = [g for g in groups if g.size]
    n = sum(g.size for g in groups)
    if not groups:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, level)
    gen = _rng(rng)
    point = float(np.mean([fn(g) for g in groups]))
    boots = np.zeros(n_boot)
    for g in groups:
        idx = gen.integers(0, g.size, size=(n_boot, g.size))
        boots += fn(g[idx])
    boots /= len(groups)
    alpha = (1 - level) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return Estimate(point, float(low), float(high), n, level)


def bootstrap_ci(
    x: np.ndarray,
    statistic: str | Callable[[np.ndarray], np.ndarray] = "mean",
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    rng: np.random.Generator | int | None = 0,
) -> Estimate:
    """``statistic(x)`` with a percentile-bootstrap CI (``x`` resampled)."""
    return bootstrap_groups([x], statistic, n_boot, level, rng)


# --- tables from result rows ------------------------------------------------------
def _by(rows: list[dict[str, Any]], *keys: str) -> dict[tuple, list[dict[str, Any]]]:
    out: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in keys)].append(r)
    return out


def _values(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([float(r[key]) for r in rows if r.get(key) is not None], dtype=np.float64)


def summarize(rows: list[dict[str, Any]], rng: int = 0) -> list[dict[str, Any]]:
    """One dict per (task, agent): episodes, success (Estimate, Clopper-Pearson), IQM return
    (Estimate), mean final distance, mean plan time per env step (s), mean
    wall-clock per episode (s), per-seed success rates, mean steps."""
    out = []
    for (task, agent), group in sorted(_by(rows, "task", "agent").items()):
        success = _values(group, "success")
        per_seed = {
            seed: float(_values(g, "success").mean())
            for (seed,), g in sorted(_by(group, "seed").items())
        }
        dist = _values(group, "final_distance")
        out.append(
            {
                "task": task,
                "agent": agent,
                "episodes": len(group),
                "success": binomial_ci(int(success.sum()), success.size),
                "iqm_return": bootstrap_ci(_values(group, "return"), "iqm", rng=rng),
                "final_distance": float(dist.mean()) if dist.size else float("nan"),
                "plan_time_per_step": float(_values(group, "plan_time_per_step").mean()),
                "wall_clock": float(_values(group, "wall_clock").mean()),
                "steps": float(_values(group, "steps").mean()),
                "per_seed": per_seed,
            }
        )
    return out


def aggregate(rows: list[dict[str, Any]], rng: int = 0) -> list[dict[str, Any]]:
    """One dict per agent over all tasks it ran: mean of per-task success rates
    (stratified CI), tasks, episodes, mean plan time per step."""
    out = []
    for (agent,), group in sorted(_by(rows, "agent").items()):
        per_task = _by(group, "task")
        out.append(
            {
                "agent": agent,
                "tasks": len(per_task),
                "episodes": len(group),
                "success": bootstrap_groups(
                    [_values(g, "success") for g in per_task.values()], rng=rng
                ),
                "plan_time_per_step": float(_values(group, "plan_time_per_step").mean()),
            }
        )
    return out


def paired_difference(
    rows: list[dict[str, Any]], agent_a: str, agent_b: str, key: str = "success", rng: int = 0
) -> dict[str, Any]:
    """``key`` of agent_a minus agent_b, paired by (task, seed, episode) (same start
    and goal): per task and aggregated over the tasks both ran (stratified)."""
    index = {(r["agent"], r["task"], r["seed"], r["episode"]): r for r in rows}
    diffs: dict[str, list[float]] = defaultdict(list)
    for (agent, task, seed, episode), ra in index.items():
        if agent != agent_a:
            continue
        rb = index.get((agent_b, task, seed, episode))
        if rb is None or ra.get(key) is None or rb.get(key) is None:
            continue
        diffs[task].append(float(ra[key]) - float(rb[key]))
    per_task = {t: bootstrap_ci(np.array(d), rng=rng) for t, d in sorted(diffs.items())}
    overall = bootstrap_groups([np.array(d) for d in diffs.values()], rng=rng)
    return {"a": agent_a, "b": agent_b, "key": key, "per_task": per_task, "overall": overall}


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of points (cost, value) not dominated by another with lower-or-equal
    cost and higher-or-equal value (one strictly), sorted by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -np.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front
