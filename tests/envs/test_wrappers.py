"""SB3 observation views: the right keys only, SB3's checker and policies accept them."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import wmplan.envs
from wmplan.envs.wrappers import pixels_and_goal, pixels_only, state_and_goal

sb3 = pytest.importorskip("stable_baselines3")  # in the dev extra; the 'sb3' extra for users


def test_views_show_only_their_keys(make_env):
    env = make_env("wmplan/TwoRoom-v0")
    obs, _ = pixels_only(env).reset(seed=0)
    assert isinstance(obs, np.ndarray) and obs.shape == (64, 64, 3) and obs.dtype == np.uint8
    obs, _ = pixels_and_goal(make_env("wmplan/TwoRoom-v0")).reset(seed=0)
    assert sorted(obs) == ["goal_pixels", "pixels"]  # no privileged state
    obs, _ = state_and_goal(make_env("wmplan/TwoRoom-v0")).reset(seed=0)
    assert sorted(obs) == ["goal_state", "state"] and obs["state"].shape == (4,)


def test_goal_views_refuse_reward_tasks_by_name(make_env):
    env = make_env("wmplan/dmc-cartpole-swingup-v0")
    assert pixels_only(env).reset(seed=0)[0].shape == (64, 64, 3)
    with pytest.raises(ValueError, match="dmc-cartpole-swingup.*goal_pixels"):
        pixels_and_goal(env)


def test_wrapped_env_pickles(make_env):
    env = pixels_only(make_env("wmplan/Reacher-v0"))
    env.reset(seed=1)
    copy = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(copy.render(), env.render())


@pytest.mark.parametrize(
    "view, policy", [(pixels_only, "CnnPolicy"), (pixels_and_goal, "MultiInputPolicy"),
                     (state_and_goal, "MultiInputPolicy")],
)  # fmt: skip
def test_sb3_checker_and_policy_accept_each_view(view, policy):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_checker import check_env

    env = view(wmplan.envs.make("wmplan/Reacher-v0"))
    check_env(env, warn=False)
    model = PPO(policy, env, n_steps=16, batch_size=16, n_epochs=1, device="cpu", seed=0)
    model.learn(16)  # one rollout + one update through the policy's extractor
    action, _ = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(action)
    env.close()
