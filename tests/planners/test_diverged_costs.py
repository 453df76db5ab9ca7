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
