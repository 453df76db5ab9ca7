"""The evaluation protocol, checked against a hand-rolled loop over the raw env.

What a user publishes rests on: the goal offset reaching the env, every agent
meeting the same start and goal in episode i of a seed (and other episodes
different ones), exactly ``budget`` env steps, ``success_step`` being the 1-based
step at which the task's predicate first held, and the episode stopping there.
The reference below restates the protocol from DESIGN.md with the raw env and
numpy only; it calls nothing of ``wmplan.benchmarks``.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from protocol_agents import SEEN

import wmplan.benchmarks.episode as episode_module
import wmplan.envs
from wmplan.agents import AgentSpec
from wmplan.benchmarks.episode import Job, close_envs, run_episode, run_job
from wmplan.benchmarks.suite import ProtocolConfig

TASK = "wmplan/Reacher-v0"


def reference_seeds(seed: int, episode: int) -> tuple[int, int]:
    """DESIGN.md's rule: (env seed, agent seed) from SeedSequence([seed, episode])."""
    state = np.random.SeedSequence([seed, episode]).generate_state(2)
    return int(state[0]) % 2**31, int(state[1]) % 2**31


def reference_episode(env, env_seed: int, goal_offset: int, budget: int, actions) -> dict:
    """The protocol by hand: reset with the seed and offset, step until the predicate
    holds (1-based step) or the budget is spent."""
    obs, info = env.reset(seed=env_seed, options={"goal_offset": goal_offset})
    start = {"state": obs["state"].copy(), "goal_state": obs["goal_state"].copy()}
    total, step, success_step = 0.0, 0, None
    for action in actions[:budget]:
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        step += 1
        if info["success"]:
            success_step = step
            break
    return {**start, "steps": step, "success_step": success_step, "return": total,
            "success": success_step is not None, "final_distance": info["goal_distance"]}  # fmt: skip


class Replay:
    """Plays a fixed action sequence; remembers what it was shown."""

    def __init__(self, actions):
        self.actions, self.calls, self.goal = actions, 0, None

    def reset(self, obs, goal, env=None):
        self.start, self.goal = obs["state"].copy(), goal

    def act(self, obs):
        self.calls += 1
        return self.actions[self.calls - 1]


@pytest.fixture(scope="module")
def env():
    e = wmplan.envs.make(TASK, image_size=64)
    yield e
    e.close()


@pytest.fixture(scope="module")
def raw():
    e = wmplan.envs.make(TASK, image_size=64)
    yield e
    e.close()


def _expert(raw, env_seed, offset, budget):
    """The expert's goal actions for this start, then zeros: reaches the goal."""
    _, info = raw.reset(seed=env_seed, options={"goal_offset": offset})
    actions = np.zeros((budget, 2), np.float32)
    actions[:offset] = info["goal_actions"]
    return actions


@pytest.mark.parametrize("offset", [6, 15])
def test_expert_replay_succeeds_at_the_step_the_raw_env_first_reports_success(env, raw, offset):
    budget = 30
    actions = _expert(raw, 11, offset, budget)
    ref = reference_episode(raw, 11, offset, budget, actions)
    agent = Replay(actions)
    proto = ProtocolConfig(goal_offset=offset, budget=budget)
    m, frames = run_episode(env, agent, proto, 11, privileged=False, record=False)
    assert frames == []  # nothing recorded unless asked
    assert ref["success"] and 1 <= ref["success_step"] <= offset
    assert m["success"] is True and m["success_step"] == ref["success_step"]
    # It stops at the first success: one act and one env step per counted step.
    assert m["steps"] == agent.calls == ref["steps"] == ref["success_step"]
    assert m["return"] == ref["return"] and m["final_distance"] == ref["final_distance"]
    assert 0 <= m["plan_time_per_step"] * m["steps"] <= m["wall_clock"] < 60
    # The goal it was shown is the one `offset` expert steps out, not the default 25.
    np.testing.assert_array_equal(agent.goal["goal_state"], ref["goal_state"])
    np.testing.assert_array_equal(agent.start, ref["state"])


def test_goal_offset_changes_the_goal_the_agent_sees(env):
    goals = []
    for offset in (5, 25):
        agent = Replay(np.zeros((3, 2), np.float32))
        run_episode(env, agent, ProtocolConfig(goal_offset=offset, budget=3), 4, False, False)
        goals.append(agent.goal["goal_state"])
    assert not np.allclose(goals[0], goals[1])


@pytest.mark.parametrize("budget", [1, 7])
def test_an_unsuccessful_episode_takes_exactly_budget_steps(env, raw, budget):
    actions = np.zeros((budget, 2), np.float32)  # the arm does not move towards the goal
    ref = reference_episode(raw, 3, 25, budget, actions)
    assert not ref["success"]
    agent = Replay(actions)
    m, frames = run_episode(env, agent, ProtocolConfig(budget=budget), 3, False, record=True)
    assert m["steps"] == agent.calls == budget
    assert m["success"] is False and m["success_step"] is None
    assert m["final_distance"] == ref["final_distance"] and m["return"] == 0.0
    assert len(frames) == budget + 1  # the start and one frame per step
    # observation | 4 px gap | goal, 64 px each, upscaled x2 to at least 128 px high
    assert all(f.shape == (128, 264, 3) and f.dtype == np.uint8 for f in frames)
    np.testing.assert_array_equal(frames[0][::2, :128:2], ref_start_pixels(raw, 3))
    np.testing.assert_array_equal(frames[0][::2, 136::2], agent.goal["goal_pixels"])
    assert m["plan_time_per_step"] >= 0 and m["wall_clock"] > 0


def ref_start_pixels(raw, env_seed):
    obs, _ = raw.reset(seed=env_seed, options={"goal_offset": 25})
    return obs["pixels"]


def test_reward_tasks_get_no_goal_and_keep_their_return():
    task = "wmplan/dmc-cartpole-swingup-v0"
    env, raw = wmplan.envs.make(task), wmplan.envs.make(task)
    try:
        actions = np.random.default_rng(0).uniform(-1, 1, (6, 1)).astype(np.float32)
        agent = Replay(actions)
        m, _ = run_episode(env, agent, ProtocolConfig(budget=6), 9, False, False)
        raw.reset(seed=9)
        rewards = [raw.step(a)[1] for a in actions]
    finally:
        env.close()
        raw.close()
    assert agent.goal is None and m["final_distance"] is None and m["success"] is False
    assert m["steps"] == 6 and m["return"] == pytest.approx(sum(rewards), rel=1e-12)


def _job(agent_name, episodes, protocol, seed=0):
    spec = AgentSpec(agent_name, "python",
                     options=(("entry_point", "protocol_agents:SeededUniform"),))  # fmt: skip
    return Job(TASK, spec, seed, episodes, protocol, "hash", "test", "proto")


def test_run_job_matches_the_hand_rolled_protocol_and_pairs_agents(raw):
    proto = ProtocolConfig(goal_offset=8, budget=12)
    SEEN.clear()
    try:
        rows_a = list(run_job(_job("a", (0, 1, 2), proto)))
        rows_b = list(run_job(_job("b", (2, 1, 0), proto)))
        rows_c = list(run_job(_job("c", (0,), proto, seed=1)))
    finally:
        close_envs()
    assert not episode_module._ENVS  # closed and forgotten: the next job builds afresh
    seen = {(r["agent"], r["episode"], r["seed"]): s
            for r, s in zip(rows_a + rows_b + rows_c, SEEN, strict=True)}  # fmt: skip
    for row in rows_a + rows_b + rows_c:
        env_seed, agent_seed = reference_seeds(row["seed"], row["episode"])
        rng = np.random.default_rng(agent_seed)
        actions = rng.uniform(-1, 1, (proto.budget, 2)).astype(np.float32)
        ref = reference_episode(raw, env_seed, proto.goal_offset, proto.budget, actions)
        s = seen[(row["agent"], row["episode"], row["seed"])]
        assert s["seed"] == agent_seed
        np.testing.assert_array_equal(s["state"], ref["state"])
        np.testing.assert_array_equal(s["goal_state"], ref["goal_state"])
        for key in ("success", "success_step", "steps", "return", "final_distance"):
            assert row[key] == ref[key], (key, row)
        assert row["steps"] == s["agent"].calls
        assert (row["task"], row["config_hash"], row["suite"]) == (TASK, "hash", "proto")
        assert row["code_version"] == "test" and row["plan_info"] is None
        spec = _job(row["agent"], (0,), proto).agent.to_dict()
        assert row["agent_config"] == json.dumps(spec, sort_keys=True)
    # Same (seed, episode): same start and goal for every agent, whatever the order.
    for ep in (0, 1, 2):
        a, b = seen[("a", ep, 0)], seen[("b", ep, 0)]
        np.testing.assert_array_equal(a["goal_pixels"], b["goal_pixels"])
        np.testing.assert_array_equal(a["state"], b["state"])
    # Other episodes and other seeds: other starts and goals.
    starts = [seen[("a", ep, 0)]["state"] for ep in (0, 1, 2)] + [seen[("c", 0, 1)]["state"]]
    for i in range(len(starts)):
        for j in range(i):
            assert not np.allclose(starts[i], starts[j])


def test_a_budget_beyond_the_time_limit_is_still_played_in_full(raw):
    """The harness lifts the env's time limit to the budget: no early truncation."""
    limit = wmplan.envs.TASKS[TASK].max_episode_steps
    proto = ProtocolConfig(goal_offset=25, budget=limit + 2)
    SEEN.clear()
    try:
        (row,) = run_job(_job("a", (5,), proto))
    finally:
        close_envs()
    env_seed, agent_seed = reference_seeds(0, 5)
    actions = np.random.default_rng(agent_seed).uniform(-1, 1, (proto.budget, 2))
    ref = reference_episode(raw, env_seed, 25, proto.budget, actions.astype(np.float32))
    assert not ref["success"] and ref["steps"] == limit + 2
    assert row["steps"] == limit + 2 and row["success"] is False


def test_recorded_episodes_carry_a_gif_with_the_stated_frame_delay():
    from PIL import Image

    proto = ProtocolConfig(goal_offset=25, budget=4)
    job = _job("a", (0, 1), proto)
    job = Job(job.task, job.agent, 0, (0, 1), proto, "h", "t", "s", record=(1,))
    try:
        rows = {r["episode"]: r for r in run_job(job)}
    finally:
        close_envs()
    assert "gif" not in rows[0]
    gif = Image.open(io.BytesIO(rows[1]["gif"]))
    durations = []
    for i in range(gif.n_frames):  # Pillow merges identical frames, adding their delays
        gif.seek(i)
        durations.append(gif.info["duration"])
    # ms: 10 frames/s, encode_gif's default; the start and one frame per step.
    assert sum(durations) == 100 * (rows[1]["steps"] + 1)
    assert all(d > 0 and d % 100 == 0 for d in durations)
    assert gif.info.get("loop") == 0  # loops forever


class Planning:
    """Replans every 2 steps, exposing a new plan record each time (objects with
    tensors [iterations, B], dicts with arrays, or a record with no curve)."""

    def __init__(self, infos):
        self.infos, self.t, self.plan_info = infos, 0, None

    def reset(self, obs, goal, env=None):
        pass

    def act(self, obs):
        if self.t % 2 == 0:
            self.plan_info = self.infos[self.t // 2]
        self.t += 1
        return np.zeros(2, np.float32)


def test_episode_summarises_the_planner_cost_curves_per_iteration(env):
    import torch

    from wmplan.planners import PlanInfo

    first = PlanInfo(torch.tensor([[3.0, 5.0], [2.0, 2.0], [1.0, 0.0]]),
                     torch.tensor([[6.0, 6.0], [4.0, 4.0], [2.0, 4.0]]), [0.0] * 3,
                     torch.zeros(2))  # fmt: skip
    second = {"best_cost": np.array([8.0, 6.0]), "mean_cost": None}
    third = {"best_cost": np.float64(1.0)}  # no per-iteration curve: counted, not averaged
    agent = Planning([first, second, third])
    m, _ = run_episode(env, agent, ProtocolConfig(budget=6), 5, False, False)
    assert m["steps"] == 6 and not m["success"]
    # Per iteration, the mean over plans of each plan's mean over environments;
    # shorter curves leave their missing iterations out.
    assert m["plan_info"] == {"calls": 3, "best_cost": [6.0, 4.0, 0.5],
                              "mean_cost": [6.0, 4.0, 3.0]}  # fmt: skip
    none, _ = run_episode(env, Replay(np.zeros((3, 2), np.float32)), ProtocolConfig(budget=3),
                          5, False, False)  # fmt: skip
    assert none["plan_info"] is None
    only_scalars, _ = run_episode(env, Planning([third] * 3), ProtocolConfig(budget=4), 5,
                                  False, False)  # fmt: skip
    assert only_scalars["plan_info"] is None
    two = Planning([dict(second), dict(second)])  # two plans, neither with a mean curve
    best_only, _ = run_episode(env, two, ProtocolConfig(budget=4), 5, False, False)
    assert best_only["plan_info"] == {"calls": 2, "best_cost": [8.0, 6.0]}
