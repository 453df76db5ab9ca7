"""A diverged rollout (NaN cost) is never an elite and never the best cost the
planner reports: NaN counts as +inf (``clean_costs``)."""

from __future__ import annotations

import math

import pytest
import torch

from wmplan.planners import make_planner

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name", ["cem", "mppi", "icem"])
def test_nan_costs_are_worse_than_any_finite_cost(name):
    target = torch.tensor([0.3, -0.4])

    def cost_fn(x):  # [B, N, H, A]: NaN wherever the first action is positive
        cost = (x - target).square().sum((-1, -2))
        return torch.where(x[..., 0, 0] > 0, torch.full_like(cost, math.nan), cost)

    planner = make_planner(name, num_samples=64, num_elites=8, iterations=4)
    actions, info = planner(cost_fn, torch.zeros(1, 3, 2), -1.0, 1.0,
                            generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert torch.isfinite(info.best_cost).all() and torch.isfinite(info.elites).all()
    # The elites all come from the finite region (first action <= 0).
    assert (info.elites[..., 0, 0] <= 0).all()
    assert actions[0, 0, 0] <= 0.05


@pytest.mark.parametrize("name", ["cem", "mppi", "icem"])
def test_plan_info_reports_each_iterations_best_and_mean_cost(name):
    seen = []

    def cost_fn(x):  # [B, N, H, A] -> [B, N]
        cost = (x - 0.2).square().sum((-1, -2))
        seen.append(cost.clone())
        return cost

    planner = make_planner(name, num_samples=32, num_elites=4, iterations=3)
    _, info = planner(cost_fn, torch.zeros(2, 3, 2), -1.0, 1.0,
                      generator=torch.Generator().manual_seed(1))  # fmt: skip
    assert info.best_cost.shape == info.mean_cost.shape == (3, 2) and len(seen) == 3
    torch.testing.assert_close(info.best_cost, torch.stack([c.amin(1) for c in seen]))
    torch.testing.assert_close(info.mean_cost, torch.stack([c.mean(1) for c in seen]))
    assert len(info.iteration_time) == 3 and all(t >= 0 for t in info.iteration_time)
