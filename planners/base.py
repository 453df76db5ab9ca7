"""What every planner shares: the call signature, the per-call report, seeding,
input checks, warm starts, and the population loop of CEM, MPPI and iCEM
(``population_plan``).

Every planner is a function

    plan(cost_fn, mean[B, H, A], low[A], high[A], config, generator, elites=None)
        -> (actions[B, H, A], PlanInfo)

that minimises ``cost_fn(actions[B, N, H, A]) -> costs[B, N]`` over action
sequences within ``[low, high]``: B environments are planned together, N candidate
sequences per environment, H steps each (a step may be a block of k env actions,
flattened, so A is k*env_action_dim: planners do not care). ``mean`` is the
initial guess (zeros, or the previous plan moved on with ``shift``). The device and
dtype follow ``mean``.

Seeding. ``generator`` is a ``torch.Generator`` or a sequence of B of them (one
per environment); with one per environment, every random number environment b
uses comes from its own generator, so planning B environments together gives
exactly the plans of planning each alone with its generator (provided
``cost_fn`` scores each candidate independently of the others). With a single
generator the noise of all B environments comes from it in one draw:
reproducible, but environment b's plan then depends on B. ``None`` uses torch's
global generator (not reproducible; for quick experiments only).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

CostFn = Callable[[Tensor], Tensor]
Generators = torch.Generator | Sequence[torch.Generator] | None


# --- config validation ---------------------------------------------------------
def check_int(name: str, value: int, low: int, high: int | None = None) -> None:
    """Raise unless ``value`` is an int in ``[low, high]``, naming the field."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        valid = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {valid}, got {value}")


def check_float(
    name: str,
    value: float,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise unless ``value`` is a finite-or-bounded real in the given interval."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open or high == math.inf else "]"
        raise ValueError(f"{name} must be in {left}{low}, {high}{right}, got {value}")


@dataclass(frozen=True)
class SamplingConfig:
    """Config of a population planner (CEM, MPPI, iCEM): the fields they share, and
    the methods by which ``population_plan`` samples and weighs (CEM's here).

    Standard deviations are in units of half the action range ``(high - low) / 2``,
    so ``init_std=1`` spreads samples over the whole box whatever the bounds.
    """

    num_samples: int = 300  # N candidates per environment and iteration
    iterations: int = 30
    num_elites: int = 30  # K best candidates that refit the distribution
    init_std: float = 1.0
    min_std: float = 0.05
    max_std: float = 2.0
    momentum: float = 0.0  # new = momentum * old + (1 - momentum) * refit
    return_best: bool = False  # the best candidate ever scored instead of the final mean

    def __post_init__(self) -> None:
        check_int("num_samples", self.num_samples, 2)
        check_int("iterations", self.iterations, 1)
        check_int("num_elites", self.num_elites, 1, self.num_samples)
        check_float("min_std", self.min_std, 0.0)
        check_float("max_std", self.max_std, self.min_std, low_open=False)
        check_float("init_std", self.init_std, 0.0, low_open=True)
        check_float("momentum", self.momentum, 0.0, 1.0, high_open=True)
        if not isinstance(self.return_best, bool):
            raise ValueError(f"return_best must be a bool, got {self.return_best!r}")

    # How the planner samples and weighs, read by ``population_plan``: MPPI
    # overrides ``weights``, iCEM the sampling methods.
    keeps_elites: ClassVar[bool] = False  # elites sorted best first, for the next replan

    def noise(self, mean: Tensor, generator: Generators) -> Tensor:
        """Unit Gaussian noise ``[B, I, N, H, A]`` of all iterations, drawn up front,
        on ``mean[B, H, A]``'s device and dtype."""
        (b, h, a), shape = mean.shape, (self.iterations, self.num_samples)
        return draw("normal", (*shape, h, a), b, generator, mean.device, mean.dtype)

    def samples_at(self, i: int) -> int:
        """Fresh candidates in iteration ``i``."""
        return self.num_samples

    @property
    def num_keep(self) -> int:
        """Elites carried from one iteration (or replan) to the next."""
        return 0

    def scores_mean_at(self, i: int) -> bool:
        """Whether the current mean joins the candidates of iteration ``i``."""
        return False

    def weights(self, elite_costs: Tensor, dtype: torch.dtype) -> Tensor | None:
        """Weights ``[B, K]`` (summing to 1) of the elites scored ``elite_costs[B, K]``
        in the refit; None weighs them equally."""
        return None


# --- report --------------------------------------------------------------------
@dataclass
class PlanInfo:
    """What one ``plan`` call did, for convergence plots and warm starts.

    ``best_cost``/``mean_cost``: ``[I, B]`` best and mean cost of the candidates
    scored in each iteration; ``iteration_time``: ``[I]`` wall seconds per
    iteration (CUDA is synchronised to measure it); ``elites``: ``[B, K, H, A]``
    final elites (population planners; iCEM takes them back, shifted, as
    ``elites=``); ``cost``: ``[B]`` cost of the returned plan where it was scored
    (NaN where it was not, e.g. a CEM mean never evaluated).
    """

    best_cost: Tensor
    mean_cost: Tensor
    iteration_time: list[float]
    cost: Tensor
    elites: Tensor | None = None
    evaluations: int = 0  # candidates scored per environment

    @property
    def total_time(self) -> float:
        """Wall seconds of the whole optimisation."""
        return float(sum(self.iteration_time))


class IterationLog:
    """Preallocated per-iteration cost statistics and timer (no host sync on CPU)."""

    def __init__(self, iterations: int, batch: int, device: torch.device):
        self.best = self.mean = torch.empty(0, batch, device=device)
        self._rows = iterations
        self.times: list[float] = []
        self._cuda = device.type == "cuda"
        self._t0 = self._now()

    def _now(self) -> float:
        if self._cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def record(self, i: int, costs: Tensor) -> None:
        """Store iteration ``i``'s statistics of ``costs[B, N]`` and its wall time."""
        if i == 0:  # allocated here to take the cost function's dtype
            self.best = costs.new_empty(self._rows, costs.shape[0])
            self.mean = costs.new_empty(self._rows, costs.shape[0])
        torch.amin(costs, dim=1, out=self.best[i])
        torch.mean(costs, dim=1, out=self.mean[i])
        now = self._now()
        self.times.append(now - self._t0)
        self._t0 = now

    def info(self, cost: Tensor, elites: Tensor | None, evaluations: int) -> PlanInfo:
        """The ``PlanInfo`` of the iterations recorded so far."""
        n = len(self.times)
        return PlanInfo(self.best[:n], self.mean[:n], self.times, cost, elites, evaluations)


# --- inputs ----------------------------------------------------------------------
def check_inputs(mean: Tensor, low, high) -> tuple[Tensor, Tensor]:
    """Validate ``mean[B, H, A]`` and bounds; return ``low``/``high`` as ``[A]``
    tensors on ``mean``'s device and dtype."""
    if not isinstance(mean, Tensor) or mean.dim() != 3:
        shape = tuple(mean.shape) if isinstance(mean, Tensor) else type(mean).__name__
        raise ValueError(f"mean must be a tensor [B, H, A], got {shape}")
    if not mean.is_floating_point():
        raise ValueError(f"mean must be a floating tensor, got {mean.dtype}")
    a = mean.shape[-1]
    lo = torch.as_tensor(low, dtype=mean.dtype, device=mean.device).expand(a).contiguous()
    hi = torch.as_tensor(high, dtype=mean.dtype, device=mean.device).expand(a).contiguous()
    if not bool(torch.all(hi > lo)):
        raise ValueError(f"high must exceed low in every action dim, got low={lo} high={hi}")
    return lo, hi


def check_costs(costs: Tensor, batch: int, num: int) -> None:
    """Raise unless ``cost_fn`` returned ``[B, N]``."""
    if not isinstance(costs, Tensor) or tuple(costs.shape) != (batch, num):
        got = tuple(costs.shape) if isinstance(costs, Tensor) else type(costs).__name__
        raise ValueError(f"cost_fn must return costs [B, N] = [{batch}, {num}], got {got}")


def clean_costs(costs: Tensor) -> Tensor:
    """Costs ``[B, N]`` with NaN treated as +inf (a diverged rollout is never an elite)."""
    return torch.nan_to_num(costs, nan=math.inf)


# --- randomness --------------------------------------------------------------------
def split_generators(generator: Generators, batch: int) -> list[torch.Generator] | None:
    """One generator per environment, or None where one draw covers all of them."""
    if generator is None or isinstance(generator, torch.Generator):
        return None
    gens = list(generator)
    if len(gens) != batch:
        raise ValueError(
            f"generator must be one torch.Generator or B={batch} of them, got {len(gens)}"
        )
    return gens


def draw(
    kind: str,
    shape: tuple[int, ...],
    batch: int,
    generator: Generators,
    device: torch.device,
    dtype: torch.dtype,
) -> Tensor:
    """Standard normal (``kind='normal'``) or uniform [0, 1) (``'uniform'``) noise
    ``[batch, *shape]``, drawn per environment when given one generator per env."""
    fn = torch.randn if kind == "normal" else torch.rand
    gens = split_generators(generator, batch)
    if gens is None:
        return fn((batch, *shape), generator=generator, device=device, dtype=dtype)
    out = torch.empty((batch, *shape), device=device, dtype=dtype)
    for b, g in enumerate(gens):
        fn(shape, generator=g, device=device, dtype=dtype, out=out[b])
    return out


# --- the population loop ---------------------------------------------------------
class BestTracker:
    """Best candidate ever scored per environment: ``actions[B, H, A]``, ``cost[B]``."""

    def __init__(self, mean: Tensor):
        self.actions = mean.clone()
        self.cost = torch.full(mean.shape[:1], float("inf"), device=mean.device)

    def update(self, candidates: Tensor, costs: Tensor) -> None:
        """Take the best of ``candidates[B, N, H, A]`` scored ``costs[B, N]`` where it improves."""
        # argmin + gather: Tensor.min(dim) takes ~10 ms per call on 2 CPU threads (torch 2.13)
        idx = torch.argmin(costs, dim=1)
        cost = costs.gather(1, idx[:, None]).squeeze(1)
        better = cost < self.cost
        pick = candidates[torch.arange(len(idx), device=idx.device), idx]
        self.actions = torch.where(better[:, None, None], pick, self.actions)
        self.cost = torch.where(better, cost, self.cost)


def refit(
    elites: Tensor, weights: Tensor | None, mean: Tensor, std: Tensor, scratch: Tensor
) -> None:
    """Mean and std of ``elites[B, K, H, A]`` into ``mean``/``std`` ``[B, H, A]``:
    plain, or weighted by ``weights[B, K]`` (rows summing to 1). ``scratch``: a
    ``[B, K, H, A]`` work buffer."""
    if weights is None:
        torch.mean(elites, dim=1, out=mean)
        torch.sub(elites, mean.unsqueeze(1), out=scratch)
        torch.mean(scratch.square_(), dim=1, out=std)
    else:
        w = weights[:, :, None, None]
        torch.sum(torch.mul(elites, w, out=scratch), dim=1, out=mean)
        torch.sub(elites, mean.unsqueeze(1), out=scratch)
        torch.sum(scratch.square_().mul_(w), dim=1, out=std)
    std.sqrt_()


def sample(
    config: SamplingConfig,
    i: int,
    mean: Tensor,
    std: Tensor,
    noise: Tensor,
    kept: Tensor | None,
    low: Tensor,
    high: Tensor,
    storage: Tensor,
) -> Tensor:
    """Iteration ``i``'s candidates ``[B, N_i, H, A]``, a view of the front of the
    flat ``storage``: ``clip(mean + std * noise)`` for ``config.samples_at(i)``
    fresh ones (``noise``: ``[B, N, H, A]``), then the ``kept`` elites, then the
    mean where ``config.scores_mean_at(i)``."""
    (b, h, a), fresh = mean.shape, config.samples_at(i)
    n_kept = 0 if kept is None else kept.shape[1]
    with_mean = config.scores_mean_at(i)
    total = fresh + n_kept + int(with_mean)
    candidates = storage[: b * total * h * a].view(b, total, h, a)
    sampled = candidates[:, :fresh]
    torch.addcmul(mean.unsqueeze(1), std.unsqueeze(1), noise[:, :fresh], out=sampled)
    sampled.clamp_(low, high)
    if n_kept:
        candidates[:, fresh : fresh + n_kept] = kept
    if with_mean:
        candidates[:, -1] = mean
    return candidates


def blend_(x: Tensor, new: Tensor, momentum: float) -> None:
    """``x = momentum * x + (1 - momentum) * new`` in place."""
    if momentum:
        x.mul_(momentum).add_(new, alpha=1 - momentum)
    else:
        x.copy_(new)


@torch.inference_mode()
def population_plan(
    cost_fn: CostFn,
    mean: Tensor,
    low: Tensor,
    high: Tensor,
    config: SamplingConfig,
    generator: Generators,
    carry: Tensor | None = None,
) -> tuple[Tensor, PlanInfo]:
    """The loop of CEM, MPPI and iCEM, which differ only in ``config`` (its
    sampling and weighting methods). ``low``/``high``: ``[A]`` from ``check_inputs``;
    ``carry``: iCEM's elites ``[B, K', H, A]`` from the previous replan.

        noise = config.noise()                              # [B, I, N, H, A], up front
        for each iteration i:
            candidates = clip(mean + std * noise[i])        # [B, N_i, H, A]
                         + kept elites + the mean (iCEM: num_keep, scores_mean_at)
            costs      = cost_fn(candidates), NaN -> inf    # [B, N_i]
            elites     = K lowest-cost candidates           # [B, K, H, A]
            w          = config.weights(elite costs)        # equal (CEM, iCEM) or softmax (MPPI)
            mean', std' = w-weighted mean and std of the elites
            mean, std  = m * (mean, std) + (1 - m) * (mean', std'), std clamped
        return mean (or the best candidate ever scored)

    The candidates of every iteration are a view of one flat buffer; the elite
    and refit buffers are allocated once and rewritten in place.
    """
    b, h, a = mean.shape
    k, keep, m = config.num_elites, config.num_keep, config.momentum
    half = (high - low) / 2
    std_lo, std_hi = config.min_std * half, config.max_std * half
    mean = torch.maximum(torch.minimum(mean, high), low)
    std = (config.init_std * half).expand(b, h, a).clone()
    noise = config.noise(mean, generator)
    if carry is not None:
        carry = carry[:, :keep].to(mean.dtype).clamp(low, high)

    like = {"device": mean.device, "dtype": mean.dtype}
    storage = torch.empty(b * (config.num_samples + keep + 1) * h * a, **like)
    elites, scratch = torch.empty(b, k, h, a, **like), torch.empty(b, k, h, a, **like)
    new_mean, new_std = torch.empty_like(mean), torch.empty_like(mean)
    log = IterationLog(config.iterations, b, mean.device)
    best = BestTracker(mean) if config.return_best else None
    evaluations = 0

    for i in range(config.iterations):
        kept = carry if i == 0 else elites[:, :keep]
        candidates = sample(config, i, mean, std, noise[:, i], kept, low, high, storage)
        costs = cost_fn(candidates)
        if i == 0:
            check_costs(costs, b, candidates.shape[1])
        costs = clean_costs(costs)
        evaluations += candidates.shape[1]
        # N_i >= K: num_elites <= num_samples, and iCEM's N_i is at least min(2K, N)
        elite_costs, idx = torch.topk(costs, k, dim=1, largest=False, sorted=config.keeps_elites)
        torch.gather(candidates, 1, idx[:, :, None, None].expand(b, k, h, a), out=elites)
        refit(elites, config.weights(elite_costs, mean.dtype), new_mean, new_std, scratch)
        blend_(mean, new_mean, m)
        blend_(std, new_std, m)
        torch.maximum(torch.minimum(std, std_hi, out=std), std_lo, out=std)
        if best is not None:
            best.update(candidates, costs)
        log.record(i, costs)

    if best is not None:
        return best.actions, log.info(best.cost, elites, evaluations)
    return mean, log.info(torch.full((b,), math.nan, device=mean.device), elites, evaluations)


# --- warm start --------------------------------------------------------------------
def shift(plan: Tensor, steps: int = 1, fill: float | None = None) -> Tensor:
    """Move a plan ``[..., H, A]`` on by ``steps`` horizon steps for the next replan.

    The first ``steps`` steps (already executed) are dropped; the freed tail repeats
    the last step (``fill=None``) or is set to ``fill``. Works on plans
    ``[B, H, A]`` and on populations ``[B, K, H, A]`` alike.
    """
    h = plan.shape[-2]
    if not 0 <= steps <= h:
        raise ValueError(f"steps must be in [0, {h}], got {steps}")
    out = torch.empty_like(plan)
    out[..., : h - steps, :] = plan[..., steps:, :]
    if steps:
        if fill is None:
            out[..., h - steps :, :] = plan[..., -1:, :]
        else:
            out[..., h - steps :, :] = fill
    return out
