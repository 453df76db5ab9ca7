"""SIGReg: sketched isotropic Gaussian regulariser (LeJEPA; used by LeWM).

Cramer-Wold: a distribution is N(0, I) iff every 1-D projection is N(0, 1).
SIGReg projects a batch of embeddings on M random unit directions and, for
each projection, measures the Epps-Pulley distance between its empirical
characteristic function and that of N(0, 1):

    EP = n * integral |phi_n(t) - exp(-t^2/2)|^2 w(t) dt,   w(t) = exp(-t^2/2)

with phi_n(t) = mean_i exp(i t x_i). The integrand is even in t, so we
integrate over [0, t_max] with the trapezoid rule and double it. The loss is
the mean over directions (and over time steps when given ``[T, B, D]``):
near zero for Gaussian batches, large for collapsed or low-rank ones.
"""

from __future__ import annotations

import torch
from torch import Tensor


def random_directions(dim: int, num: int, generator: torch.Generator | None = None) -> Tensor:
    """``num`` unit vectors in R^dim, uniform on the sphere: ``[dim, num]``."""
    a = torch.randn(dim, num, generator=generator)
    return a / a.norm(dim=0, keepdim=True)


def _knots(knots: int, t_max: float, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Knots t ``[K]``, N(0,1) characteristic function at t ``[K]``, quadrature weights ``[K]``."""
    t = torch.linspace(0.0, t_max, knots, dtype=like.dtype, device=like.device)
    gauss = torch.exp(-0.5 * t * t)  # N(0,1) characteristic function, also the weight w(t)
    dt = t_max / (knots - 1)
    trap = torch.full((knots,), 2.0 * dt, dtype=like.dtype, device=like.device)
    trap[0] = trap[-1] = dt  # trapezoid on [0, t_max], doubled for the even half-line
    return t, gauss, trap * gauss


class _EppsPulley(torch.autograd.Function):
    """Epps-Pulley statistic with a hand-written backward.

    Autograd through cos/sin would re-evaluate both in the backward pass and
    keep several [..., n, M, K] intermediates; the analytic gradient reuses the
    forward's cos/sin (SIGReg is a large share of a CPU training step).
    """

    @staticmethod
    def forward(ctx, x: Tensor, t: Tensor, gauss: Tensor, weights: Tensor) -> Tensor:
        n = x.shape[-2]
        xt = x.unsqueeze(-1) * t  # [..., n, M, K]
        cos, sin = torch.cos(xt), torch.sin(xt)
        re, im = cos.mean(dim=-3), sin.mean(dim=-3)  # [..., M, K]
        stat = ((re - gauss).square() + im.square()) @ weights * n  # [..., M]
        ctx.save_for_backward(cos, sin, re, im, t, gauss, weights)
        return stat

    @staticmethod
    def backward(ctx, grad: Tensor):
        cos, sin, re, im, t, gauss, weights = ctx.saved_tensors
        # d stat / d x_i = 2 sum_k w_k t_k (im_k cos(t_k x_i) - (re_k - g_k) sin(t_k x_i))
        wt = 2.0 * weights * t  # [K]
        a_cos = (im * wt).unsqueeze(-3)  # [..., 1, M, K]
        a_sin = ((re - gauss) * wt).unsqueeze(-3)
        gx = (cos * a_cos - sin * a_sin).sum(dim=-1)  # [..., n, M]
        return gx * grad.unsqueeze(-2), None, None, None


def epps_pulley(x: Tensor, knots: int = 17, t_max: float = 3.0) -> Tensor:
    """Epps-Pulley statistic of each column of ``x[..., n, M]`` against N(0, 1) -> ``[..., M]``.

    Scaled by the sample count n, so under the null it is O(1) whatever n.
    """
    t, gauss, weights = _knots(knots, t_max, x)
    return _EppsPulley.apply(x, t, gauss, weights)


def epps_pulley_reference(x: Tensor, knots: int = 17, t_max: float = 3.0) -> Tensor:
    """Same statistic through plain autograd (the test oracle for the fused backward)."""
    t, gauss, weights = _knots(knots, t_max, x)
    xt = x.unsqueeze(-1) * t
    re, im = torch.cos(xt).mean(dim=-3), torch.sin(xt).mean(dim=-3)
    return ((re - gauss).square() + im.square()) @ weights * x.shape[-2]


def sigreg(
    z: Tensor,
    num_directions: int = 1024,
    knots: int = 17,
    t_max: float = 3.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """SIGReg loss of embeddings ``z[n, D]`` or ``[T, n, D]`` (statistic per T slice, averaged).

    Directions are drawn from ``generator`` (pass a fresh seeded one per step to
    resample deterministically). Returns a scalar with gradient into ``z``.
    """
    if z.dim() not in (2, 3):
        raise ValueError(f"z must be [n, D] or [T, n, D], got {tuple(z.shape)}")
    if z.shape[-2] < 2:
        raise ValueError(f"SIGReg needs at least 2 samples, got {z.shape[-2]}")
    dirs = random_directions(z.shape[-1], num_directions, generator).to(z.device, z.dtype)
    return epps_pulley(z @ dirs, knots, t_max).mean()
