"""SIGReg against an independent reference: the Epps-Pulley integral by
``scipy.integrate.quad`` (and, for the default 17 knots, scipy's trapezoid rule
on its own grid), written here from the definition with numpy only. Nothing is
shared with ``wmplan.worldmodel.sigreg`` (not ``_knots``, not its directions).

    EP(x) = n * integral_{-t_max}^{t_max} |phi_n(t) - exp(-t^2/2)|^2 exp(-t^2/2) dt
    phi_n(t) = mean_i exp(i t x_i)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate

from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.model import build_model
from wmplan.worldmodel.sigreg import epps_pulley, sigreg

pytestmark = pytest.mark.usefixtures("one_thread")

T_MAX = 3.0


def integrand(t: float, x: np.ndarray) -> float:
    gauss = np.exp(-0.5 * t * t)
    return ((np.cos(t * x).mean() - gauss) ** 2 + np.sin(t * x).mean() ** 2) * gauss


def ep_quad(x: np.ndarray) -> float:
    """The statistic of one sample ``x[n]`` by adaptive quadrature over [-t_max, t_max]."""
    value, err = integrate.quad(integrand, -T_MAX, T_MAX, args=(x,), epsabs=1e-12, epsrel=1e-12,
                                limit=200)  # fmt: skip
    assert err < 1e-9
    return x.size * value


def ep_trapezoid(x: np.ndarray, knots: int) -> float:
    """The same integral by the trapezoid rule on ``knots`` points of [0, t_max],
    doubled (the integrand is even)."""
    t = np.linspace(0.0, T_MAX, knots)
    return x.size * 2 * integrate.trapezoid([integrand(ti, x) for ti in t], t)


SAMPLES = {
    "gaussian": np.random.default_rng(0).standard_normal(40),
    "shifted": np.random.default_rng(1).standard_normal(25) + 1.5,
    "narrow": 0.2 * np.random.default_rng(2).standard_normal(30),
    "bimodal": np.r_[np.full(10, -2.0), np.full(10, 2.0)] + 0.01 * np.arange(20),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_statistic_converges_to_the_quadrature_integral(name):
    x = SAMPLES[name]
    got = epps_pulley(torch.as_tensor(x)[:, None], knots=1201, t_max=T_MAX).item()
    assert got == pytest.approx(ep_quad(x), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_default_17_knots_is_the_trapezoid_rule_of_that_integral(name):
    x = SAMPLES[name]
    got = epps_pulley(torch.as_tensor(x)[:, None]).item()  # defaults: 17 knots, t_max 3
    assert got == pytest.approx(ep_trapezoid(x, 17), rel=1e-10, abs=1e-12)
    # ...which is a fair quadrature of it (and shows the reference can tell them apart).
    assert got == pytest.approx(ep_quad(x), rel=0.02, abs=1e-3)


def test_columns_are_independent_statistics():
    x = np.stack([SAMPLES["gaussian"][:20], SAMPLES["narrow"][:20], SAMPLES["bimodal"]], axis=1)
    got = epps_pulley(torch.as_tensor(x), knots=801).numpy()
    np.testing.assert_allclose(got, [ep_quad(x[:, j]) for j in range(3)], rtol=1e-5)


def _directions(dim: int, num: int, seed: int) -> np.ndarray:
    """Unit Gaussian directions as the documented rule draws them: randn(dim, num)
    from a generator seeded ``seed``, columns normalised."""
    a = torch.randn(dim, num, generator=torch.Generator().manual_seed(seed)).double().numpy()
    return a / np.linalg.norm(a, axis=0, keepdims=True)


def _sigreg_reference(z: np.ndarray, num: int, seed: int, knots: int | None) -> float:
    """Mean over time slices and directions of the statistic of each projection."""
    dirs = _directions(z.shape[-1], num, seed)
    ref = ep_quad if knots is None else (lambda x: ep_trapezoid(x, knots))
    return float(np.mean([[ref(zt @ dirs[:, m]) for m in range(num)] for zt in z]))


def test_sigreg_is_the_mean_statistic_per_time_slice():
    rng = np.random.default_rng(5)
    z = np.stack([rng.standard_normal((24, 5)), 0.3 * rng.standard_normal((24, 5)) + 1.0,
                  rng.standard_normal((24, 5)) ** 2])  # three different slices  # fmt: skip
    zt = torch.as_tensor(z)
    got = sigreg(zt, 3, knots=1201, generator=torch.Generator().manual_seed(9)).item()
    assert got == pytest.approx(_sigreg_reference(z, 3, 9, None), rel=1e-5)
    got17 = sigreg(zt, 3, generator=torch.Generator().manual_seed(9)).item()
    assert got17 == pytest.approx(_sigreg_reference(z, 3, 9, 17), rel=1e-6)  # float32 directions
    # Per slice, not pooled over time: pooling the slices gives another number.
    pooled = sigreg(zt.reshape(1, -1, 5), 3, generator=torch.Generator().manual_seed(9)).item()
    assert abs(pooled - got17) > 0.1
    # [n, D] is one slice.
    one = sigreg(zt[1], 3, generator=torch.Generator().manual_seed(9)).item()
    assert one == pytest.approx(_sigreg_reference(z[1:2], 3, 9, 17), rel=1e-6)


def test_training_loss_applies_sigreg_per_time_step_of_the_window():
    """The world model's loss takes z[B, T, D] and regularises each time step's batch."""
    from wm_fixtures import TINY

    torch.manual_seed(0)
    model = build_model(TINY)
    g = torch.Generator().manual_seed(3)
    frames = torch.randint(0, 256, (12, 4, 16, 16, 3), dtype=torch.uint8, generator=g)
    actions = torch.rand(12, 4, TINY.action_block * TINY.action_dim, generator=g)
    cfg = LossConfig(sigreg_directions=4, sigreg_knots=17, open_loop_weight=0.0)
    out = model.loss(frames, actions, cfg, generator=torch.Generator().manual_seed(21))
    with torch.no_grad():
        z = model.encode(frames).double().numpy()  # [B, T, D]
    ref = _sigreg_reference(z.transpose(1, 0, 2), 4, 21, 17)
    assert out.metrics["sigreg_loss"] == pytest.approx(ref, rel=1e-4)  # float32 model
    pred_only = model.loss(frames, actions, LossConfig(anti_collapse="none", open_loop_weight=0.0))
    assert out.metrics["loss"] == pytest.approx(pred_only.metrics["loss"] + 0.1 * ref, rel=1e-4)
