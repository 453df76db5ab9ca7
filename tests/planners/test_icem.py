import pytest
import torch
from planner_problems import quadratic_cost, seeded
from test_cem import TARGET

from wmplan.planners import ICEMConfig, icem, shift
from wmplan.planners.icem import colored_noise


def test_icem_finds_quadratic_minimum():
    config = ICEMConfig(num_samples=200, iterations=20, num_elites=20)
    actions, info = icem.plan(
        quadratic_cost(TARGET), torch.zeros(1, 5, 3), -1.0, 1.0, config, seeded(0)
    )
    assert (actions[0] - TARGET).abs().max() < 0.05
    assert info.elites.shape == (1, 20, 5, 3)


def test_icem_reaches_riccati_optimal_lqr_cost(lqr):
    optimum, _ = lqr.riccati()
    config = ICEMConfig(num_samples=200, iterations=20, num_elites=20)
    mean = torch.zeros(1, lqr.horizon, 2, dtype=torch.float64)
    actions, _ = icem.plan(lqr.cost, mean, -5.0, 5.0, config, seeded(1))
    assert float(lqr.cost(actions[:, None])) <= 1.03 * optimum


@pytest.mark.parametrize("horizon", [4, 5, 16])
def test_colored_noise_has_unit_variance_and_smoothness_grows_with_beta(horizon):
    def noise(beta):
        return colored_noise(
            beta, (4000,), horizon, 2, 1, seeded(0), torch.device("cpu"), torch.float64
        )[0]

    lag1 = []
    for beta in (0.0, 1.0, 2.0):
        y = noise(beta)  # [N, H, A]
        assert y.shape == (4000, horizon, 2)
        torch.testing.assert_close(
            y.var(), torch.tensor(1.0, dtype=torch.float64), atol=0.05, rtol=0
        )
        lag1.append(float((y[:, 1:] * y[:, :-1]).mean()))
    assert abs(lag1[0]) < 0.05 and lag1[0] < lag1[1] < lag1[2]


def test_icem_carries_elites_between_replans():
    cost = quadratic_cost(TARGET)
    config = ICEMConfig(num_samples=20, iterations=1, num_elites=10, keep_fraction=0.5)
    mean = torch.zeros(1, 5, 3)
    # A carried-over elite at the optimum wins the first iteration outright.
    elites = TARGET.expand(1, 10, 5, 3).clone()
    actions, info = icem.plan(cost, mean, -1.0, 1.0, config, seeded(0), elites=elites)
    torch.testing.assert_close(actions[0], TARGET)
    assert float(info.best_cost[0, 0]) == 0.0
    assert info.evaluations == 20 + 5 + 1  # fresh + kept elites + mean
    # And shifted elites of one replan feed the next.
    _, info = icem.plan(
        cost, mean, -1.0, 1.0, ICEMConfig(num_samples=50, iterations=3, num_elites=10), seeded(1)
    )
    _, info2 = icem.plan(
        cost,
        mean,
        -1.0,
        1.0,
        ICEMConfig(num_samples=50, iterations=3, num_elites=10),
        seeded(2),
        elites=shift(info.elites),
    )
    assert info2.evaluations == info.evaluations + 3


def test_icem_sample_decay_shrinks_the_population():
    config = ICEMConfig(
        num_samples=100,
        iterations=4,
        num_elites=10,
        sample_decay=2.0,
        add_mean=False,
        keep_fraction=0.0,
    )
    assert [config.samples_at(i) for i in range(4)] == [100, 50, 25, 20]
    _, info = icem.plan(
        quadratic_cost(TARGET), torch.zeros(2, 5, 3), -1.0, 1.0, config, seeded(0, 2)
    )
    assert info.evaluations == 195


def test_icem_rejects_misshapen_elites():
    with pytest.raises(ValueError, match="elites must be"):
        icem.plan(
            quadratic_cost(TARGET),
            torch.zeros(1, 5, 3),
            -1.0,
            1.0,
            ICEMConfig(),
            None,
            elites=torch.zeros(1, 4, 3),
        )


@pytest.mark.parametrize("beta,horizon", [(0.0, 5), (2.5, 1)])
def test_white_colored_noise_is_the_plain_normal_draw(beta, horizon):
    """beta = 0 (or a one-step horizon) is white noise: the same numbers CEM would draw
    from the same generator, so iCEM at beta 0 samples exactly as CEM does."""
    cpu = torch.device("cpu")
    got = colored_noise(beta, (7,), horizon, 3, 2, seeded(4), cpu, torch.float32)
    want = torch.randn((2, 7, horizon, 3), generator=seeded(4))
    torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_colored_noise_power_falls_as_one_over_f_to_the_beta(beta):
    """The power spectrum along the horizon has log-log slope -beta (the definition of
    iCEM's colored noise), measured over many draws."""
    horizon = 32
    y = colored_noise(beta, (20000,), horizon, 1, 1, seeded(5), torch.device("cpu"), torch.float64)[
        0, :, :, 0
    ]  # [N, H]
    power = torch.fft.rfft(y, dim=-1).abs().square().mean(0)[1:-1]  # skip DC and Nyquist
    freqs = torch.fft.rfftfreq(horizon, dtype=torch.float64)[1:-1]
    slope = torch.linalg.lstsq(
        torch.stack([freqs.log(), torch.ones_like(freqs)], -1), power.log()[:, None]
    ).solution[0, 0]
    assert abs(float(slope) + beta) < 0.1
