"""Collection policies: seeded, bounded, correlated as documented."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from wmplan.envs.policies import (
    ColoredNoisePolicy,
    ExpertMixturePolicy,
    OUNoisePolicy,
    PolicyConfig,
    make_policy,
    powerlaw_noise,
)


class _ConstantExpert:
    """Always plays +0.5 (so expert steps are recognisable)."""

    def reset(self, env) -> None:
        del env

    def act(self, env) -> np.ndarray:
        del env
        return np.full(2, 0.5, np.float32)


class _FakeTask:
    """The unwrapped-task surface policies use: action_space and expert()."""

    action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def expert(self, rng, noise=0.0):
        del rng, noise
        return _ConstantExpert()


def _play(config: PolicyConfig, seed: int, steps: int = 200) -> np.ndarray:
    env = _FakeTask()
    policy = make_policy(config, np.random.default_rng(seed))
    policy.reset(env)
    return np.stack([policy.act(env) for _ in range(steps)])


@pytest.mark.parametrize("name", ["random", "ou", "colored", "expert"])
def test_policies_are_seeded_and_bounded(name):
    config = PolicyConfig(name=name, scale=2.0)  # large scale: clipping must hold
    a, b, c = _play(config, 0), _play(config, 0), _play(config, 1)
    assert a.shape == (200, 2) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= -1.0 and a.max() <= 1.0


def test_policy_config_rejects_bad_values_naming_the_field():
    with pytest.raises(ValueError, match="name"):
        PolicyConfig(name="brownian")
    with pytest.raises(ValueError, match="mix"):
        PolicyConfig(mix=1.5)
    with pytest.raises(ValueError, match="noise"):
        PolicyConfig(noise=-0.1)
    with pytest.raises(ValueError, match="beta"):
        PolicyConfig(beta=9.0)
    assert PolicyConfig(**PolicyConfig(name="ou").to_dict()) == PolicyConfig(name="ou")


def _lag1_autocorr(x: np.ndarray) -> float:
    x = x - x.mean()
    return float((x[1:] * x[:-1]).mean() / x.var())


def test_colored_noise_is_more_correlated_with_larger_beta():
    rng = np.random.default_rng(0)
    white = powerlaw_noise(0.0, 4, 4096, rng)
    pink = powerlaw_noise(1.0, 4, 4096, rng)
    red = powerlaw_noise(2.0, 4, 4096, rng)
    assert white.shape == (4096, 4)
    assert abs(white.std() - 1.0) < 0.1
    r = [np.mean([_lag1_autocorr(x[:, d]) for d in range(4)]) for x in (white, pink, red)]
    assert abs(r[0]) < 0.1 < r[1] < r[2]


def test_ou_noise_has_the_configured_stationary_std():
    env = _FakeTask()
    policy = OUNoisePolicy(np.random.default_rng(0), theta=0.2, scale=0.3)
    policy.reset(env)
    x = np.stack([policy.act(env) for _ in range(20000)])
    assert abs(x.std() - 0.3) < 0.03
    assert _lag1_autocorr(x[:, 0]) == pytest.approx(0.8, abs=0.05)


def test_colored_policy_draws_new_sequences_past_its_length():
    env = _FakeTask()
    policy = ColoredNoisePolicy(np.random.default_rng(0), length=16)
    policy.reset(env)
    actions = np.stack([policy.act(env) for _ in range(50)])
    assert actions.shape == (50, 2) and np.all(np.abs(actions) <= 1)


@pytest.mark.parametrize("mix", [0.0, 0.3, 1.0])
def test_expert_mixture_plays_noise_for_a_fraction_mix_of_steps(mix):
    env = _FakeTask()
    policy = ExpertMixturePolicy(np.random.default_rng(0), mix=mix, segment=10)
    policy.reset(env)
    actions = np.stack([policy.act(env) for _ in range(20000)])
    expert_steps = np.all(actions == 0.5, axis=1)
    assert (1 - expert_steps.mean()) == pytest.approx(mix, abs=0.05)


def test_expert_policy_needs_a_task_with_an_expert():
    policy = make_policy(PolicyConfig(name="expert"), np.random.default_rng(0))

    class NoExpert:
        action_space = _FakeTask.action_space

    with pytest.raises(ValueError, match="expert"):
        policy.reset(NoExpert())


def test_policies_run_on_a_real_task(make_env):
    env = make_env("wmplan/Reacher-v0", image_size=32)
    env.reset(seed=0)
    for name in ("random", "ou", "colored", "expert"):
        policy = make_policy(PolicyConfig(name=name), np.random.default_rng(0))
        policy.reset(env.unwrapped)
        for _ in range(5):
            action = policy.act(env.unwrapped)
            assert action.shape == env.action_space.shape
            env.step(action)
