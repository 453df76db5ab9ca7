import pytest
import torch
from planner_problems import quadratic_cost, seeded
from test_cem import TARGET

from wmplan.planners import GradientConfig, gradient


def test_gradient_finds_quadratic_minimum():
    actions, info = gradient.plan(
        quadratic_cost(TARGET),
        torch.zeros(1, 5, 3),
        -1.0,
        1.0,
        GradientConfig(iterations=100),
        seeded(0),
    )
    assert (actions[0] - TARGET).abs().max() < 0.02
    assert info.best_cost.shape == (100, 1)


def test_gradient_reaches_riccati_optimal_lqr_cost(lqr):
    optimum, _ = lqr.riccati()
    mean = torch.zeros(1, lqr.horizon, 2, dtype=torch.float64)
    config = GradientConfig(iterations=100, lr=0.05)
    actions, _ = gradient.plan(lqr.cost, mean, -5.0, 5.0, config, seeded(0))
    assert float(lqr.cost(actions[:, None])) <= 1.01 * optimum


def test_gradient_after_cem_refines_the_cem_plan():
    cost = quadratic_cost(TARGET)
    config = GradientConfig(iterations=20, cem_iterations=3, cem_samples=50, cem_elites=5)
    actions, info = gradient.plan(cost, torch.zeros(1, 5, 3), -1.0, 1.0, config, seeded(0))
    assert info.best_cost.shape == (23, 1)
    assert info.evaluations == 3 * 50 + 20
    assert float(cost(actions[:, None])) < float(info.best_cost[2, 0])


def test_gradient_parallel_starts_keep_the_best():
    # Two minima; start 0 (the mean) sits by the worse one.
    def cost(a):
        x = a[..., 0, 0]
        return (x + 0.5) ** 2 * (x - 0.7) ** 2 + 0.1 * x

    config = GradientConfig(iterations=40, num_starts=8, init_std=1.0)
    actions, _ = gradient.plan(cost, torch.full((1, 1, 1), 0.9), -1.0, 1.0, config, seeded(0))
    assert float(actions[0, 0, 0]) < 0


def test_gradient_needs_a_differentiable_cost():
    def detached(a):
        return quadratic_cost(TARGET)(a).detach()

    with pytest.raises(ValueError, match="differentiable"):
        gradient.plan(
            detached, torch.zeros(1, 5, 3), -1.0, 1.0, GradientConfig(iterations=2), seeded(0)
        )
