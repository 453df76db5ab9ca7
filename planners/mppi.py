"""MPPI as in TD-MPC2: CEM whose refit weights the elites by their cost.

    for each iteration:
        candidates = clip(mean + std * noise)               # [B, N, H, A]
        elites     = K lowest-cost candidates               # [B, K, H, A]
        w          = softmax(-(cost - min cost) / temperature) over the elites
        mean, std  = w-weighted mean and std of the elites (std clamped)
    return mean (or the best candidate ever scored)

The loop is ``base.population_plan``; MPPI differs from CEM only in
``MPPIConfig.weights``. TD-MPC2 writes the weights as
``exp(temperature * (value - max value))``, so its ``temperature=0.5`` on values
is ``temperature=2`` here on costs. Its other defaults are kept: 512 samples, 64
elites, 6 iterations, std in [0.05, 2] starting at 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .base import (
    CostFn,
    Generators,
    PlanInfo,
    SamplingConfig,
    check_float,
    check_inputs,
    population_plan,
)


@dataclass(frozen=True)
class MPPIConfig(SamplingConfig):
    """MPPI settings (TD-MPC2 defaults); ``temperature`` > 0 in cost units: small
    values weight the best elites most, large ones average the elites evenly."""

    num_samples: int = 512
    iterations: int = 6
    num_elites: int = 64
    init_std: float = 2.0
    temperature: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_float("temperature", self.temperature, 0.0, low_open=True)

    def weights(self, elite_costs: Tensor, dtype: torch.dtype) -> Tensor:
        """``softmax(-elite_costs / temperature)`` over the K elites: ``[B, K]``."""
        # Written out: torch.softmax and einsum (bmm) parallelise even tiny inputs,
        # which costs ~10 ms a call on busy CPUs. All-inf rows (every rollout
        # diverged) fall back to equal weights.
        w = torch.empty(elite_costs.shape, device=elite_costs.device, dtype=dtype)
        torch.sub(elite_costs.to(dtype), elite_costs.amin(1, keepdim=True), out=w)
        w.mul_(-(1.0 / self.temperature)).exp_().nan_to_num_(nan=1.0)
        return w.div_(w.sum(1, keepdim=True))


def plan(
    cost_fn: CostFn,
    mean: Tensor,
    low: Tensor | float,
    high: Tensor | float,
    config: MPPIConfig = MPPIConfig(),
    generator: Generators = None,
    elites: Tensor | None = None,
) -> tuple[Tensor, PlanInfo]:
    """Minimise ``cost_fn(actions[B, N, H, A]) -> [B, N]`` from ``mean[B, H, A]``
    within ``[low, high]``. ``elites`` is ignored. Returns ``(actions[B, H, A], PlanInfo)``."""
    del elites
    low, high = check_inputs(mean, low, high)
    return population_plan(cost_fn, mean, low, high, config, generator)
