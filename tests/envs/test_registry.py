import gymnasium as gym
import pytest

import wmplan.envs
from wmplan.envs import GOAL_TASKS, TASKS, check_task_id, list_tasks
from wmplan.envs.catalog import format_task_table


def test_every_task_is_registered_with_gymnasium():
    for task_id in TASKS:
        assert task_id in gym.registry
    assert set(GOAL_TASKS) <= set(TASKS)
    assert [t.id for t in list_tasks()][:3] == list(GOAL_TASKS)


def test_unknown_id_lists_known_ids_and_closest_match():
    with pytest.raises(ValueError) as err:
        wmplan.envs.make("wmplan/Reachr-v0")
    message = str(err.value)
    assert "did you mean 'wmplan/Reacher-v0'" in message
    assert "wmplan/Push-v0" in message and "wmplan/dmc-cheetah-run-v0" in message
    with pytest.raises(ValueError, match="unknown task id"):
        check_task_id("Push")


@pytest.mark.parametrize("task_id", list(TASKS))
def test_listed_dims_match_the_built_env(make_env, task_id):
    env = make_env(task_id)
    info = TASKS[task_id]
    assert env.action_space.shape == (info.action_dim,)
    assert env.observation_space["state"].shape == (info.state_dim,)
    obs, _ = env.reset(seed=0)
    assert obs["state"].shape == (info.state_dim,)


def test_task_table_names_every_task_and_its_success_predicate():
    table = format_task_table()
    for task in TASKS.values():
        assert task.id in table
    assert "fingertip within 0.02" in table
