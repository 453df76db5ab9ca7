import torch
from planner_problems import quadratic_cost, seeded
from test_cem import TARGET

from wmplan.planners import MPPIConfig, mppi


def test_mppi_finds_quadratic_minimum():
    config = MPPIConfig(num_samples=256, iterations=12, num_elites=32)
    actions, info = mppi.plan(
        quadratic_cost(TARGET), torch.zeros(1, 5, 3), -1.0, 1.0, config, seeded(0)
    )
    assert (actions[0] - TARGET).abs().max() < 0.05
    assert info.best_cost.shape == (12, 1)


def test_mppi_reaches_riccati_optimal_lqr_cost(lqr):
    optimum, _ = lqr.riccati()
    config = MPPIConfig(num_samples=200, iterations=20, num_elites=20, init_std=1.0)
    mean = torch.zeros(1, lqr.horizon, 2, dtype=torch.float64)
    actions, _ = mppi.plan(lqr.cost, mean, -5.0, 5.0, config, seeded(1))
    assert float(lqr.cost(actions[:, None])) <= 1.03 * optimum


def test_mppi_low_temperature_follows_the_best_elite():
    # One iteration with a tiny temperature: the refit mean is the best candidate.
    cost = quadratic_cost(TARGET)
    mean0 = torch.zeros(1, 5, 3)
    config = MPPIConfig(num_samples=64, iterations=1, num_elites=8, temperature=1e-6)
    mean, _ = mppi.plan(cost, mean0, -1.0, 1.0, config, seeded(0))
    best_config = MPPIConfig(num_samples=64, iterations=1, num_elites=8, return_best=True)
    best, _ = mppi.plan(cost, mean0, -1.0, 1.0, best_config, seeded(0))
    torch.testing.assert_close(mean, best)


def test_mppi_weights_survive_all_diverged_rollouts():
    def nan_cost(actions):
        return torch.full(actions.shape[:2], float("nan"))

    actions, info = mppi.plan(
        nan_cost,
        torch.zeros(1, 3, 2),
        -1.0,
        1.0,
        MPPIConfig(num_samples=16, num_elites=4, iterations=2),
        seeded(0),
    )
    assert torch.isfinite(actions).all()
    assert torch.isinf(info.best_cost).all()


def test_mppi_weights_are_the_softmax_of_negative_cost_over_temperature():
    """TD-MPC2's MPPI weighting: w_k = exp(-c_k / T) / sum_j exp(-c_j / T) per env."""
    costs = torch.tensor([[0.0, 1.0, 3.0, 0.5], [2.0, 2.0, 10.0, 4.0]])
    for temperature in (0.5, 2.0):
        w = MPPIConfig(num_samples=8, num_elites=4, temperature=temperature).weights(
            costs, torch.float64
        )
        want = torch.softmax(-costs.double() / temperature, dim=1)
        torch.testing.assert_close(w, want)
