"""Invalid physics states are refused with a ValueError naming the option, instead of
an episode that silently restarts from a reset or can never succeed."""

from __future__ import annotations

import numpy as np
import pytest

from wmplan.envs import GOAL_TASKS

BAD = [("nan", np.nan), ("inf", np.inf), ("huge", 1e300)]


@pytest.mark.parametrize("task_id", GOAL_TASKS)
@pytest.mark.parametrize("label, value", BAD)
def test_set_state_refuses_non_finite_or_absurd_values(make_env, task_id, label, value):
    env = make_env(task_id, image_size=16)
    env.reset(seed=0)
    state = env.unwrapped.get_state()
    bad = state.copy()
    bad[2] = value
    with pytest.raises(ValueError, match=r"state must be finite .* at index 2"):
        env.unwrapped.set_state(bad)
    # The env is untouched and still steps from where it was.
    np.testing.assert_array_equal(env.unwrapped.get_state(), state)


@pytest.mark.parametrize("option", ["start_state", "goal_state"])
@pytest.mark.parametrize("label, value", BAD)
def test_reset_options_with_bad_states_name_the_option(make_env, option, label, value):
    env = make_env("wmplan/TwoRoom-v0", image_size=16)
    env.reset(seed=0)
    state = env.unwrapped.get_state()
    state[1] = value
    with pytest.raises(ValueError, match=rf"options\['{option}'\] must be finite"):
        env.reset(seed=1, options={option: state})


@pytest.mark.parametrize("option", ["start_state", "goal_state"])
def test_reset_options_with_the_wrong_length_name_the_option(make_env, option):
    env = make_env("wmplan/Reacher-v0", image_size=16)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=rf"options\['{option}'\] must have shape"):
        env.reset(seed=1, options={option: np.zeros(3)})
    with pytest.raises(ValueError, match=rf"options\['{option}'\] must be an array of numbers"):
        env.reset(seed=1, options={option: ["a", "b"]})
