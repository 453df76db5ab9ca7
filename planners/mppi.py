"""MPPI as in TD-MPC2: CEM whose refit weights the elites by their cost.

    for each iteration:
        candidates = clip(mean + std * noise)               # [B, N, H, A]
        elites     = K lowest-cost candidates               # [B, K, H, A]
        w          = softmax(-(cost - min cost) / temperature) over the elites
        mean, std  = w-weighted mean and std of the elites (std clamped)
    return mean (or the best candidate ever scored)

TD-MPC2 writes the weights as ``exp(temperature * (value - max value))``, so its
``temperature=0.5`` on values is ``temperature=2`` here on costs. Its other
defaults are kept: 512 samples, 64 elites, 6 iterations, std in [0.05, 2] starting
at 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .base import (
    CostFn,
    Generators,
    IterationLog,
    PlanInfo,
    SamplingConfig,
    check_costs,
    check_float,
    check_inputs,
    clean_costs,
    draw,
)
from .cem import BestTracker


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
    with torch.inference_mode():
        return _plan(cost_fn, mean, low, high, config, generator)


def _plan(cost_fn, mean, low, high, config, generator):
    b, h, a = mean.shape
    n, k, iters = config.num_samples, config.num_elites, config.iterations
    half = (high - low) / 2
    std_lo, std_hi = config.min_std * half, config.max_std * half
    mean = torch.maximum(torch.minimum(mean, high), low)
    std = (config.init_std * half).expand(b, h, a).clone()
    noise = draw("normal", (iters, n, h, a), b, generator, mean.device, mean.dtype)

    candidates = torch.empty(b, n, h, a, device=mean.device, dtype=mean.dtype)
    elite_buf = torch.empty(b, k, h, a, device=mean.device, dtype=mean.dtype)
    scratch = torch.empty_like(elite_buf)
    new_mean, new_std = torch.empty_like(mean), torch.empty_like(mean)
    weights = torch.empty(b, k, device=mean.device, dtype=mean.dtype)
    log = IterationLog(iters, b, mean.device)
    best = BestTracker(mean) if config.return_best else None
    m, inv_temp = config.momentum, 1.0 / config.temperature

    for i in range(iters):
        torch.addcmul(mean.unsqueeze(1), std.unsqueeze(1), noise[:, i], out=candidates)
        candidates.clamp_(low, high)
        costs = cost_fn(candidates)
        if i == 0:
            check_costs(costs, b, n)
        costs = clean_costs(costs)
        elite_cost, idx = torch.topk(costs, k, dim=1, largest=False, sorted=False)
        torch.gather(candidates, 1, idx[:, :, None, None].expand(b, k, h, a), out=elite_buf)
        # Softmax of -cost / temperature, written out: torch.softmax and einsum (bmm)
        # parallelise even tiny inputs, which costs ~10 ms a call on busy CPUs.
        # All-inf rows (every rollout diverged) fall back to equal weights.
        torch.sub(elite_cost.to(mean.dtype), elite_cost.amin(1, keepdim=True), out=weights)
        weights.mul_(-inv_temp).exp_().nan_to_num_(nan=1.0)
        weights.div_(weights.sum(1, keepdim=True))
        w = weights[:, :, None, None]
        torch.mul(elite_buf, w, out=scratch)
        torch.sum(scratch, dim=1, out=new_mean)
        torch.sub(elite_buf, new_mean.unsqueeze(1), out=scratch)
        scratch.square_().mul_(w)
        torch.sum(scratch, dim=1, out=new_std).sqrt_()
        if m:
            mean.mul_(m).add_(new_mean, alpha=1 - m)
            std.mul_(m).add_(new_std, alpha=1 - m)
        else:
            mean.copy_(new_mean)
            std.copy_(new_std)
        torch.maximum(torch.minimum(std, std_hi, out=std), std_lo, out=std)
        if best is not None:
            best.update(candidates, costs)
        log.record(i, costs)

    if best is not None:
        return best.actions, log.info(best.cost, elite_buf, n * iters)
    nan = torch.full((b,), math.nan, device=mean.device)
    return mean, log.info(nan, elite_buf, n * iters)
