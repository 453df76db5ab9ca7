import numpy as np
import pytest

from wmplan.agents.oracle import OracleMPCAgent, SimulatorRollout
from wmplan.planners import make_config


@pytest.mark.parametrize("task_id", ["wmplan/Reacher-v0", "wmplan/Push-v0"])
def test_simulator_rollout_reproduces_env_steps_exactly(make_env, task_id):
    env = make_env(task_id)
    env.reset(seed=3)
    task = env.unwrapped
    rng = np.random.default_rng(0)
    for _ in range(3):  # leave the reset state, build up velocities and contacts
        env.step(rng.uniform(-1, 1, task.action_space.shape).astype(np.float32))
    actions = rng.uniform(-1, 1, (4, 6, task.action_space.shape[0])).astype(np.float32)
    sim = SimulatorRollout(task, nthread=2)
    try:
        states = sim(task.get_state(), actions.astype(np.float64)).copy()  # [N, S, P]
    finally:
        sim.close()
    assert states.shape == (4, 6, task.get_state().size)
    for t in range(6):
        env.step(actions[0, t])
        np.testing.assert_array_equal(task.get_state(), states[0, t])


def test_oracle_mpc_closes_in_on_a_reacher_goal(make_env):
    env = make_env("wmplan/Reacher-v0")
    obs, info = env.reset(seed=1, options={"goal_offset": 25})
    start = info["goal_distance"]
    config = make_config("cem", num_samples=64, iterations=4, num_elites=8)
    agent = OracleMPCAgent("cem", config, seed=0, horizon=3, action_block=5)
    agent.reset(obs, {"goal_pixels": obs["goal_pixels"]}, env=env.unwrapped)
    try:
        for _ in range(20):
            obs, _, _, _, info = env.step(agent.act(obs))
    finally:
        agent.close()
    assert info["goal_distance"] < 0.5 * start
    assert agent.plan_info.best_cost.shape == (4, 1)


def test_oracle_mpc_needs_the_env():
    agent = OracleMPCAgent()
    with pytest.raises(ValueError, match="needs the env at reset"):
        agent.reset({}, None)
    with pytest.raises(RuntimeError, match="call reset"):
        agent.act({})
