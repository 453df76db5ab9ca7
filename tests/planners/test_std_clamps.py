"""``min_std`` and ``max_std`` bound the sampling spread of CEM, MPPI and iCEM, in
units of half the action range: read off the candidates the cost function is shown."""

from __future__ import annotations

import math

import pytest
import torch

from wmplan.planners import make_planner

pytestmark = pytest.mark.usefixtures("one_thread")

SETTINGS = {
    "cem": {},
    "mppi": {"temperature": 1e6},  # ~equal weights: the refit std is the elites' std
    "icem": {"momentum": 0.0, "keep_fraction": 0.0, "add_mean": False, "beta": 0.0},
}
LOW, HIGH = torch.tensor([-2.0, -1.0]), torch.tensor([2.0, 3.0])  # half range: [2, 2]
CENTRE = (LOW + HIGH) / 2


def _spreads(name, cost, **options):
    """Sample std over the N candidates, averaged over (H, A), per iteration."""
    seen = []

    def cost_fn(x):  # [B, N, H, A]
        seen.append(x.std(dim=1).mean().item())
        return cost(x)

    planner = make_planner(name, num_samples=400, num_elites=40, **SETTINGS[name], **options)
    planner(cost_fn, CENTRE.expand(1, 3, 2).clone(), LOW, HIGH,
            generator=torch.Generator().manual_seed(0))  # fmt: skip
    return seen


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_min_std_keeps_sampling_after_the_elites_collapse(name):
    def near_centre(x):  # elites of 400 near the centre: refit std ~0.1 x half the range
        return (x - CENTRE).square().sum((-1, -2))

    spreads = _spreads(name, near_centre, iterations=12, min_std=0.2, init_std=1.0)
    # First iteration: init_std x half = 2, clipped to the box at +-1 sigma:
    # E[min(z^2, 1)] = P(|z| < 1) - 2 phi(1) + P(|z| > 1) for z ~ N(0, 1).
    inside = math.erf(1 / math.sqrt(2))
    clipped = math.sqrt(inside - 2 * math.exp(-0.5) / math.sqrt(2 * math.pi) + (1 - inside))
    assert spreads[0] == pytest.approx(2.0 * clipped, rel=0.05)
    for s in spreads[-4:]:
        assert s == pytest.approx(0.2 * 2.0, rel=0.08), spreads
    free = _spreads(name, near_centre, iterations=12, min_std=0.0, init_std=1.0)
    assert free[-1] < 0.05  # without the floor it collapses


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_max_std_caps_the_refit_spread(name):
    def extremes(x):  # elites at both bounds: refit std ~ half the range
        return -(x - CENTRE).abs().sum((-1, -2))

    spreads = _spreads(name, extremes, iterations=3, max_std=0.25, init_std=1.0)
    for s in spreads[1:]:
        assert s == pytest.approx(0.25 * 2.0, rel=0.1), spreads
    free = _spreads(name, extremes, iterations=3, max_std=2.0, init_std=1.0)
    assert free[1] > 1.0


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_momentum_blends_the_refit_into_the_previous_mean_and_std(name):
    """mean' = m mean + (1 - m) elite mean; std' = m std + (1 - m) elite std (each
    per step and action dim), read off the next iteration's candidates."""
    m, n, k = 0.5, 4000, 400
    low, high = torch.full((2,), -50.0), torch.full((2,), 50.0)  # no clipping: moments hold
    seen = []

    def cost_fn(x):  # [1, N, H, A]
        seen.append(x.clone())
        return (x - torch.tensor([3.0, -2.0])).square().sum((-1, -2))

    options = {**SETTINGS[name], "momentum": m}
    planner = make_planner(name, num_samples=n, num_elites=k, iterations=2, init_std=0.1,
                           min_std=0.0, max_std=100.0, **options)  # fmt: skip
    planner(cost_fn, torch.zeros(1, 2, 2), low, high, generator=torch.Generator().manual_seed(0))
    first, second = seen[0][0], seen[1][0]  # [N, H, A]
    costs = cost_fn(seen[0])[0]
    elites = first[torch.argsort(costs)[:k]]
    half = 50.0
    want_mean = m * 0.0 + (1 - m) * elites.mean(0)
    want_std = m * 0.1 * half + (1 - m) * elites.std(0, correction=0)
    torch.testing.assert_close(second.mean(0), want_mean, atol=4 * want_std.max().item() / n**0.5,
                               rtol=0)  # fmt: skip
    torch.testing.assert_close(second.std(0), want_std, rtol=0.06, atol=0)
