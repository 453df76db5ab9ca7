"""iCEM (Pinneri et al., 2020): CEM with temporally correlated noise and memory.

Differences from plain CEM:

- colored noise: the noise of a candidate is Gaussian with power spectrum
  ``1 / f**beta`` along the horizon (``beta=0`` white, ``beta=2`` smooth),
  giving smoother action sequences that explore further;
- elites carried over: a fraction ``keep_fraction`` of the elites of one
  iteration joins the candidates of the next, and the caller may pass the final
  elites of the previous replan (moved on with ``shift``) as ``elites=``;
- fewer samples each iteration: ``N_i = max(N / sample_decay**i, 2K)``;
- the current mean is scored in the last iteration, and the best candidate ever
  scored is returned (``return_best=True`` by default).
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
from .cem import BestTracker, refit_std


@dataclass(frozen=True)
class ICEMConfig(SamplingConfig):
    """iCEM settings. ``beta`` in [0, 4]: noise exponent; ``keep_fraction`` in
    [0, 1]: share of the K elites carried into the next iteration / replan;
    ``sample_decay`` >= 1: per-iteration shrink factor of the sample count;
    ``add_mean``: also score the mean in the last iteration."""

    momentum: float = 0.1
    return_best: bool = True
    beta: float = 2.0
    keep_fraction: float = 0.3
    sample_decay: float = 1.0
    add_mean: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_float("beta", self.beta, 0.0, 4.0)
        check_float("keep_fraction", self.keep_fraction, 0.0, 1.0)
        check_float("sample_decay", self.sample_decay, 1.0)
        if not isinstance(self.add_mean, bool):
            raise ValueError(f"add_mean must be a bool, got {self.add_mean!r}")

    def samples_at(self, i: int) -> int:
        """Fresh candidates in iteration ``i``."""
        floor = min(2 * self.num_elites, self.num_samples)
        return max(int(self.num_samples / self.sample_decay**i), floor)

    @property
    def num_keep(self) -> int:
        """Elites carried from one iteration (or replan) to the next."""
        return math.ceil(self.keep_fraction * self.num_elites)


def colored_noise(
    beta: float,
    shape: tuple[int, ...],
    horizon: int,
    action_dim: int,
    batch: int,
    generator: Generators,
    device: torch.device,
    dtype: torch.dtype,
) -> Tensor:
    """Unit-variance Gaussian noise ``[batch, *shape, H, A]`` with power spectrum
    ``1 / f**beta`` along H (the ``colorednoise`` package's construction, scaled to
    exactly unit variance: that package leaves the zero-frequency power out of its
    normalisation, which matters at short horizons)."""
    if horizon == 1 or beta == 0:
        return draw("normal", (*shape, horizon, action_dim), batch, generator, device, dtype)
    freqs = torch.fft.rfftfreq(horizon, dtype=torch.float64)
    freqs[0] = 1.0 / horizon  # cut the power at the lowest frequency the horizon resolves
    scale = freqs ** (-beta / 2.0)
    # Real-valued bins (zero frequency, and Nyquist for even H) carry all their power
    # in the real part; the other bins appear twice in the spectrum.
    factor = scale[:, None].repeat(1, 2)  # [F, (real, imag)]
    power = 4.0 * scale**2
    real_bins = [0, -1] if horizon % 2 == 0 else [0]
    for j in real_bins:
        factor[j] = torch.tensor([math.sqrt(2.0) * scale[j], 0.0])
        power[j] = 2.0 * scale[j] ** 2
    factor *= horizon / math.sqrt(float(power.sum()))  # exactly unit variance out
    nf = freqs.numel()
    g = draw("normal", (*shape, action_dim, nf, 2), batch, generator, device, dtype)
    spectrum = torch.view_as_complex(g.mul_(factor.to(device, dtype)))
    y = torch.fft.irfft(spectrum, n=horizon)
    return y.transpose(-1, -2)  # [..., A, H] -> [..., H, A]


def plan(
    cost_fn: CostFn,
    mean: Tensor,
    low: Tensor | float,
    high: Tensor | float,
    config: ICEMConfig = ICEMConfig(),
    generator: Generators = None,
    elites: Tensor | None = None,
) -> tuple[Tensor, PlanInfo]:
    """Minimise ``cost_fn(actions[B, N, H, A]) -> [B, N]`` from ``mean[B, H, A]``
    within ``[low, high]``. ``elites[B, K', H, A]``: the previous replan's
    ``PlanInfo.elites`` after ``shift`` (best first); its first ``num_keep`` join
    the first iteration. Returns ``(actions[B, H, A], PlanInfo)`` with the final
    elites sorted best first."""
    low, high = check_inputs(mean, low, high)
    if elites is not None and (elites.dim() != 4 or elites.shape[0] != mean.shape[0]
                               or elites.shape[2:] != mean.shape[1:]):  # fmt: skip
        raise ValueError(
            f"elites must be [B, K, H, A] with B, H, A of mean {tuple(mean.shape)}, "
            f"got {tuple(elites.shape)}"
        )
    with torch.inference_mode():
        return _plan(cost_fn, mean, low, high, config, generator, elites)


def _plan(cost_fn, mean, low, high, config, generator, carry):
    b, h, a = mean.shape
    n, k, iters = config.num_samples, config.num_elites, config.iterations
    keep = config.num_keep
    half = (high - low) / 2
    std_lo, std_hi = config.min_std * half, config.max_std * half
    mean = torch.maximum(torch.minimum(mean, high), low)
    std = (config.init_std * half).expand(b, h, a).clone()
    noise = colored_noise(config.beta, (iters, n), h, a, b, generator, mean.device, mean.dtype)
    if carry is not None:
        carry = carry[:, :keep].to(mean.dtype).clamp(low, high)

    # One flat storage; iteration i views its first b*n_i*h*a values as a
    # contiguous [B, n_i, H, A] (fresh samples, carried elites, mean).
    storage = torch.empty(b * (n + keep + 1) * h * a, device=mean.device, dtype=mean.dtype)
    elite_buf = torch.empty(b, k, h, a, device=mean.device, dtype=mean.dtype)
    scratch = torch.empty_like(elite_buf)
    new_mean, new_std = torch.empty_like(mean), torch.empty_like(mean)
    log = IterationLog(iters, b, mean.device)
    best = BestTracker(mean)
    m, evaluations = config.momentum, 0

    for i in range(iters):
        fresh = config.samples_at(i)
        extra = carry if i == 0 else elite_buf[:, :keep]
        n_extra = 0 if extra is None or keep == 0 else extra.shape[1]
        add_mean = config.add_mean and i == iters - 1
        total = fresh + n_extra + int(add_mean)
        candidates = storage[: b * total * h * a].view(b, total, h, a)
        head = candidates[:, :fresh]
        torch.addcmul(mean.unsqueeze(1), std.unsqueeze(1), noise[:, i, :fresh], out=head)
        head.clamp_(low, high)
        if n_extra:
            candidates[:, fresh : fresh + n_extra] = extra
        if add_mean:
            candidates[:, -1] = mean
        costs = cost_fn(candidates)
        if i == 0:
            check_costs(costs, b, total)
        costs = clean_costs(costs)
        evaluations += total
        _, idx = torch.topk(costs, k, dim=1, largest=False, sorted=True)  # total >= k
        torch.gather(candidates, 1, idx[:, :, None, None].expand(b, k, h, a), out=elite_buf)
        torch.mean(elite_buf, dim=1, out=new_mean)
        refit_std(elite_buf, new_mean, new_std, scratch)
        mean.mul_(m).add_(new_mean, alpha=1 - m)
        std.mul_(m).add_(new_std, alpha=1 - m)
        torch.maximum(torch.minimum(std, std_hi, out=std), std_lo, out=std)
        best.update(candidates, costs)
        log.record(i, costs)

    if config.return_best:
        return best.actions, log.info(best.cost, elite_buf, evaluations)
    nan = torch.full((b,), math.nan, device=mean.device)
    return mean, log.info(nan, elite_buf, evaluations)
