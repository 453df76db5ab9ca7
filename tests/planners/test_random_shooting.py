import torch
from planner_problems import quadratic_cost, seeded
from test_cem import TARGET

from wmplan.planners import RandomShootingConfig, random_shooting


def test_random_shooting_keeps_the_best_candidate():
    cost = quadratic_cost(TARGET)
    config = RandomShootingConfig(num_samples=500, iterations=2)
    actions, info = random_shooting.plan(cost, torch.zeros(1, 5, 3), -1.0, 1.0, config, seeded(0))
    torch.testing.assert_close(cost(actions[:, None])[:, 0], info.cost)
    torch.testing.assert_close(info.cost, info.best_cost.amin(0))
    assert info.evaluations == 2 * 501


def test_random_shooting_never_loses_the_warm_start():
    actions, _ = random_shooting.plan(
        quadratic_cost(TARGET),
        TARGET[None].clone(),
        -1.0,
        1.0,
        RandomShootingConfig(num_samples=100),
        seeded(0),
    )
    torch.testing.assert_close(actions[0], TARGET)
