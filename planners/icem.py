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

The loop is ``base.population_plan``; these differences are ``ICEMConfig``'s
sampling methods (``noise``, ``samples_at``, ``num_keep``, ``scores_mean_at``).
The elites come back sorted best first (``keeps_elites``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from .base import (
    CostFn,
    Generators,
    PlanInfo,
    SamplingConfig,
    check_float,
    check_inputs,
    draw,
    population_plan,
)


@dataclass(frozen=True)
class ICEMConfig(SamplingConfig):
    """iCEM settings. ``beta`` in [0, 4]: noise exponent; ``keep_fraction`` in
    [0, 1]: share of the K elites carried into the next iteration / replan;
    ``sample_decay`` >= 1: per-iteration shrink factor of the sample count;
    ``add_mean``: also score the mean in the last iteration."""

    keeps_elites: ClassVar[bool] = True
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

    def scores_mean_at(self, i: int) -> bool:
        """The mean joins the candidates of the last iteration (``add_mean``)."""
        return self.add_mean and i == self.iterations - 1

    def noise(self, mean: Tensor, generator: Generators) -> Tensor:
        """Colored noise ``[B, I, N, H, A]`` of exponent ``beta`` along H."""
        (b, h, a), shape = mean.shape, (self.iterations, self.num_samples)
        return colored_noise(self.beta, shape, h, a, b, generator, mean.device, mean.dtype)


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
    return population_plan(cost_fn, mean, low, high, config, generator, carry=elites)
