import torch
from planner_problems import quadratic_cost, seeded

from wmplan.planners import CEMConfig, cem

TARGET = torch.tensor(
    [[0.3, -0.5, 0.8], [0.0, 0.6, -0.7], [-0.2, 0.1, 0.4], [0.5, 0.5, -0.5], [0.9, -0.9, 0.0]]
)


def test_cem_finds_quadratic_minimum():
    config = CEMConfig(num_samples=200, iterations=20, num_elites=20)
    actions, info = cem.plan(
        quadratic_cost(TARGET), torch.zeros(1, 5, 3), -1.0, 1.0, config, seeded(0)
    )
    assert (actions[0] - TARGET).abs().max() < 0.05
    assert info.best_cost.shape == (20, 1) and len(info.iteration_time) == 20
    assert info.best_cost[-1, 0] < info.best_cost[0, 0]


def test_cem_reaches_riccati_optimal_lqr_cost(lqr):
    optimum, _ = lqr.riccati()
    config = CEMConfig(num_samples=200, iterations=20, num_elites=20)
    mean = torch.zeros(1, lqr.horizon, 2, dtype=torch.float64)
    actions, _ = cem.plan(lqr.cost, mean, -5.0, 5.0, config, seeded(1))
    assert float(lqr.cost(actions[:, None])) <= 1.03 * optimum


def test_cem_return_best_scores_the_returned_plan():
    config = CEMConfig(num_samples=50, iterations=5, num_elites=5, return_best=True)
    cost = quadratic_cost(TARGET)
    actions, info = cem.plan(cost, torch.zeros(2, 5, 3), -1.0, 1.0, config, seeded(0, 2))
    torch.testing.assert_close(cost(actions[:, None])[:, 0], info.cost)
    torch.testing.assert_close(info.cost, info.best_cost.amin(0))


def test_cem_momentum_slows_the_mean():
    cost = quadratic_cost(torch.full((5, 3), 0.9))
    mean = torch.zeros(1, 5, 3)
    fast, _ = cem.plan(
        cost, mean, -1.0, 1.0, CEMConfig(num_samples=50, iterations=2, num_elites=5), seeded(0)
    )
    slow, _ = cem.plan(
        cost,
        mean,
        -1.0,
        1.0,
        CEMConfig(num_samples=50, iterations=2, num_elites=5, momentum=0.9),
        seeded(0),
    )
    assert slow.abs().mean() < fast.abs().mean()
