"""Cross-entropy method: sample around a Gaussian, keep the K best, refit, repeat.

    for each iteration:
        candidates = clip(mean + std * noise)            # [B, N, H, A]
        elites     = K lowest-cost candidates            # [B, K, H, A]
        mean, std  = elites.mean, elites.std (clamped, optionally smoothed)
    return mean (or the best candidate ever scored)

The loop is ``base.population_plan`` with ``SamplingConfig``'s defaults: white
noise, all N candidates fresh each iteration, the elites weighed equally.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .base import CostFn, Generators, PlanInfo, SamplingConfig, check_inputs, population_plan


@dataclass(frozen=True)
class CEMConfig(SamplingConfig):
    """CEM settings; defaults are the LeWM / stable-worldmodel evaluation budget
    (300 samples, 30 iterations, top-30)."""


def plan(
    cost_fn: CostFn,
    mean: Tensor,
    low: Tensor | float,
    high: Tensor | float,
    config: CEMConfig = CEMConfig(),
    generator: Generators = None,
    elites: Tensor | None = None,
) -> tuple[Tensor, PlanInfo]:
    """Minimise ``cost_fn(actions[B, N, H, A]) -> [B, N]`` from ``mean[B, H, A]``
    within ``[low, high]`` (each ``[A]`` or a scalar). ``elites`` is ignored (CEM
    keeps no population between calls). Returns ``(actions[B, H, A], PlanInfo)``."""
    del elites
    low, high = check_inputs(mean, low, high)
    return population_plan(cost_fn, mean, low, high, config, generator)
