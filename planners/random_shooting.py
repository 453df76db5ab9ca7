"""Random shooting: score uniform random action sequences, keep the best.

The baseline every other planner must beat. ``iterations`` batches of
``num_samples`` candidates are scored one after the other (so the budget is
comparable with CEM's); the incoming ``mean`` is scored too, so a warm start is
never lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .base import (
    BestTracker,
    CostFn,
    Generators,
    IterationLog,
    PlanInfo,
    check_costs,
    check_inputs,
    check_int,
    clean_costs,
    draw,
)


@dataclass(frozen=True)
class RandomShootingConfig:
    """Random-shooting settings: ``num_samples`` per batch, ``iterations`` batches."""

    num_samples: int = 1000
    iterations: int = 1
    include_mean: bool = True

    def __post_init__(self) -> None:
        check_int("num_samples", self.num_samples, 1)
        check_int("iterations", self.iterations, 1)
        if not isinstance(self.include_mean, bool):
            raise ValueError(f"include_mean must be a bool, got {self.include_mean!r}")


def plan(
    cost_fn: CostFn,
    mean: Tensor,
    low: Tensor | float,
    high: Tensor | float,
    config: RandomShootingConfig = RandomShootingConfig(),
    generator: Generators = None,
    elites: Tensor | None = None,
) -> tuple[Tensor, PlanInfo]:
    """Best of uniform candidates ``[B, N, H, A]`` in ``[low, high]`` (and of
    ``mean[B, H, A]``). ``elites`` is ignored. Returns ``(actions[B, H, A], PlanInfo)``."""
    del elites
    low, high = check_inputs(mean, low, high)
    with torch.inference_mode():
        b, h, a = mean.shape
        n, iters = config.num_samples, config.iterations
        mean = torch.maximum(torch.minimum(mean, high), low)
        total = n + int(config.include_mean)
        noise = draw("uniform", (iters, n, h, a), b, generator, mean.device, mean.dtype)
        candidates = torch.empty(b, total, h, a, device=mean.device, dtype=mean.dtype)
        if config.include_mean:
            candidates[:, n] = mean
        best = BestTracker(mean)
        log = IterationLog(iters, b, mean.device)
        for i in range(iters):
            torch.addcmul(low, high - low, noise[:, i], out=candidates[:, :n])
            costs = cost_fn(candidates)
            if i == 0:
                check_costs(costs, b, total)
            costs = clean_costs(costs)
            best.update(candidates, costs)
            log.record(i, costs)
        return best.actions, log.info(best.cost, None, total * iters)
