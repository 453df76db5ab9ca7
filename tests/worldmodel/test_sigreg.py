"""SIGReg: small for Gaussian embeddings, large for collapsed or low-rank ones."""

from __future__ import annotations

import pytest
import torch

from wmplan.worldmodel.sigreg import epps_pulley, epps_pulley_reference, sigreg

pytestmark = pytest.mark.usefixtures("one_thread")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_sigreg_is_small_for_gaussian_and_large_for_collapse():
    g = gen()
    gaussian = sigreg(torch.randn(256, 32, generator=g), 256, generator=g)
    collapsed = sigreg(torch.zeros(256, 32) + 0.01 * torch.randn(256, 1, generator=g), 256,
                       generator=g)  # fmt: skip
    low_rank = sigreg(torch.randn(256, 2, generator=g) @ torch.randn(2, 32, generator=g) / 2**0.5,
                      256, generator=g)  # fmt: skip
    shifted = sigreg(torch.randn(256, 32, generator=g) + 2.0, 256, generator=g)
    assert gaussian < 2.0
    assert collapsed > 20 * gaussian
    assert low_rank > 5 * gaussian
    assert shifted > 20 * gaussian


def test_sigreg_handles_time_slices_and_is_seeded():
    z = torch.randn(3, 64, 16, generator=gen(1))
    a = sigreg(z, 128, generator=gen(5))
    b = sigreg(z, 128, generator=gen(5))
    assert torch.equal(a, b)
    assert a.shape == ()


@pytest.mark.parametrize("knots", [2, 5, 17])
def test_fused_statistic_and_backward_match_autograd(knots):
    """The angle-addition recurrence equals cos/sin on every knot, values and gradients."""
    x = 3 * torch.randn(2, 12, 3, dtype=torch.double, generator=gen(2))
    x.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: epps_pulley(x, knots), (x,))
    ref = epps_pulley_reference(x, knots)
    out = epps_pulley(x, knots)
    torch.testing.assert_close(out, ref)
    w = torch.rand(ref.shape, dtype=torch.double, generator=gen(3))
    (g_ref,) = torch.autograd.grad((ref * w).sum(), x)
    (g,) = torch.autograd.grad((out * w).sum(), x)
    torch.testing.assert_close(g, g_ref)


def test_fused_statistic_is_accurate_in_float32_at_training_size():
    x = torch.randn(7, 64, 256, generator=gen(4)) * 1.5
    ref = epps_pulley_reference(x.double())
    torch.testing.assert_close(epps_pulley(x).double(), ref, rtol=1e-4, atol=1e-5)


def test_minimising_sigreg_spreads_collapsed_points_towards_unit_gaussian():
    g = gen(3)
    x = (0.05 * torch.randn(64, 4, generator=g)).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.03)
    for _ in range(80):
        loss = sigreg(x, 16, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    std = x.detach().std(0)
    assert 0.6 < std.mean() < 1.4
