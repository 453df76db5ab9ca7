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
    """Epps-Pulley statistic on uniform knots ``t_k = k dt`` with a hand-written backward.

    The knots are harmonics of ``dt``, so ``cos(t_k x)`` and ``sin(t_k x)`` follow
    from ``cos(dt x)`` and ``sin(dt x)`` by angle addition, one ``[..., n, M]``
    slice at a time: two transcendental evaluations instead of 2K, and no
    ``[..., n, M, K]`` intermediates (the slices stay in cache). The backward
    replays the same recurrence. ~3x faster than evaluating cos/sin on every
    knot, which made SIGReg a fifth of a CPU training step; agrees with
    ``epps_pulley_reference`` to float rounding (tested).
    """

    @staticmethod
    def forward(ctx, x: Tensor, t: Tensor, gauss: Tensor, weights: Tensor) -> Tensor:
        n, knots = x.shape[-2], t.shape[0]
        theta = x * t[1]  # t_1 = dt
        c1, s1 = torch.cos(theta), torch.sin(theta)  # [..., n, M]
        res = [torch.ones_like(c1[..., 0, :])]  # k = 0: phi_n(0) = 1
        ims = [torch.zeros_like(c1[..., 0, :])]
        c, s = c1, s1
        for k in range(1, knots):
            if k > 1:  # (c, s) <- angle (k-1) dt x plus dt x
                c, s = torch.addcmul(c * c1, s, s1, value=-1), torch.addcmul(s * c1, c, s1)
            res.append(c.mean(dim=-2))
            ims.append(s.mean(dim=-2))
        re, im = torch.stack(res, dim=-1), torch.stack(ims, dim=-1)  # [..., M, K]
        stat = ((re - gauss).square() + im.square()) @ weights * n  # [..., M]
        ctx.save_for_backward(c1, s1, re, im, t, gauss, weights)
        return stat

    @staticmethod
    def backward(ctx, grad: Tensor):
        c1, s1, re, im, t, gauss, weights = ctx.saved_tensors
        knots = t.shape[0]
        # d stat / d x_i = 2 sum_k w_k t_k (im_k cos(t_k x_i) - (re_k - g_k) sin(t_k x_i))
        wt = (2.0 * weights * t) * grad.unsqueeze(-1)  # [..., M, K]
        a_cos = (im * wt).unsqueeze(-3)  # [..., 1, M, K]
        a_sin = ((re - gauss) * wt).unsqueeze(-3)
        gx = c1 * a_cos[..., 1] - s1 * a_sin[..., 1]  # k = 0 has t_0 = 0: no term
        c, s = c1, s1
        for k in range(2, knots):
            c, s = torch.addcmul(c * c1, s, s1, value=-1), torch.addcmul(s * c1, c, s1)
            gx.addcmul_(c, a_cos[..., k]).addcmul_(s, a_sin[..., k], value=-1)
        return gx, None, None, None


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
