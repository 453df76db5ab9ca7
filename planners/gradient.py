"""Gradient planner: Adam on the action sequence through a differentiable cost,
projected back into the bounds after every step.

    u = (actions - centre) / half_range          # [B, S, H, A], S parallel starts
    repeat: cost = cost_fn(centre + half_range * u); Adam step on sum(cost); clip u to [-1, 1]
    return the best sequence scored

Start 0 is ``mean``; the other ``num_starts - 1`` starts add Gaussian noise of
``init_std`` (half-range units). With ``cem_iterations > 0`` a short CEM run
finds the starting point first (CEM-then-gradient refinement). Adam's update is
elementwise and the loss is a sum over environments and starts, so each
environment is optimised independently of the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from . import cem
from .base import (
    BestTracker,
    CostFn,
    Generators,
    IterationLog,
    PlanInfo,
    check_costs,
    check_float,
    check_inputs,
    check_int,
    draw,
)


@dataclass(frozen=True)
class GradientConfig:
    """Gradient-planner settings. ``lr`` is Adam's step size in half-range units;
    ``cem_*`` configure the optional CEM warm-up (off when ``cem_iterations=0``)."""

    iterations: int = 50  # cost evaluations (Adam steps between them: iterations - 1)
    lr: float = 0.1
    num_starts: int = 1
    init_std: float = 0.5
    cem_iterations: int = 0
    cem_samples: int = 300
    cem_elites: int = 30

    def __post_init__(self) -> None:
        check_int("iterations", self.iterations, 1)
        check_float("lr", self.lr, 0.0, low_open=True)
        check_int("num_starts", self.num_starts, 1)
        check_float("init_std", self.init_std, 0.0)
        check_int("cem_iterations", self.cem_iterations, 0)
        check_int("cem_samples", self.cem_samples, 2)
        check_int("cem_elites", self.cem_elites, 1, self.cem_samples)

    @property
    def num_samples(self) -> int:
        """Candidates scored per iteration (the parallel starts)."""
        return self.num_starts

    def cem_config(self) -> cem.CEMConfig:
        """Config of the CEM warm-up."""
        return cem.CEMConfig(
            num_samples=self.cem_samples,
            iterations=max(self.cem_iterations, 1),
            num_elites=self.cem_elites,
            return_best=True,
        )


def plan(
    cost_fn: CostFn,
    mean: Tensor,
    low: Tensor | float,
    high: Tensor | float,
    config: GradientConfig = GradientConfig(),
    generator: Generators = None,
    elites: Tensor | None = None,
) -> tuple[Tensor, PlanInfo]:
    """Minimise a differentiable ``cost_fn(actions[B, S, H, A]) -> [B, S]`` from
    ``mean[B, H, A]`` within ``[low, high]``. ``elites`` is ignored. Returns
    ``(actions[B, H, A], PlanInfo)``; the info's per-iteration rows are the CEM
    warm-up's (if any) followed by the gradient steps'."""
    del elites
    low, high = check_inputs(mean, low, high)
    b, h, a = mean.shape
    logs: list[PlanInfo] = []
    evaluations = 0
    best = BestTracker(mean.detach().clone())
    start = mean
    if config.cem_iterations:
        start, info = cem.plan(cost_fn, mean, low, high, config.cem_config(), generator)
        logs.append(info)
        evaluations += info.evaluations
        best.actions, best.cost = start.clone(), info.cost.clone()

    with torch.inference_mode(False), torch.enable_grad():
        centre, half = ((high + low) / 2).clone(), ((high - low) / 2).clone()
        u0 = ((start.clone() - centre) / half).clamp(-1.0, 1.0)
        u0 = u0.unsqueeze(1).repeat(1, config.num_starts, 1, 1)
        if config.num_starts > 1:
            shape = (config.num_starts - 1, h, a)
            noise = draw("normal", shape, b, generator, mean.device, mean.dtype)
            u0[:, 1:] = (u0[:, 1:] + config.init_std * noise).clamp(-1.0, 1.0)
        u = u0.detach().requires_grad_(True)
        m1, m2 = torch.zeros_like(u), torch.zeros_like(u)  # Adam moments
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        log = IterationLog(config.iterations, b, mean.device)
        for i in range(config.iterations):
            actions = centre + half * u
            costs = cost_fn(actions)
            if i == 0:
                check_costs(costs, b, config.num_starts)
                if not costs.requires_grad:
                    raise ValueError(
                        "cost_fn must be differentiable for the gradient planner: its costs "
                        "carry no gradient (is it run under torch.no_grad or inference_mode?)"
                    )
            finite = torch.isfinite(costs)
            scored = torch.where(finite, costs.detach(), torch.inf)
            best.update(actions.detach(), scored)
            log.record(i, scored)
            evaluations += config.num_starts
            if i == config.iterations - 1:
                break
            (grad,) = torch.autograd.grad(torch.where(finite, costs, 0.0).sum(), u)
            with torch.no_grad():
                grad.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
                m1.mul_(beta1).add_(grad, alpha=1 - beta1)
                m2.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step = config.lr / (1 - beta1 ** (i + 1))
                denom = (m2 / (1 - beta2 ** (i + 1))).sqrt_().add_(eps)
                u.addcdiv_(m1, denom, value=-step).clamp_(-1.0, 1.0)
        logs.append(log.info(best.cost, None, 0))

    info = PlanInfo(
        best_cost=torch.cat([x.best_cost for x in logs]),
        mean_cost=torch.cat([x.mean_cost for x in logs]),
        iteration_time=[t for x in logs for t in x.iteration_time],
        cost=best.cost.detach(),
        elites=None,
        evaluations=evaluations,
    )
    return best.actions.detach(), info
