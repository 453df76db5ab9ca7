import pickle
import warnings
from copy import deepcopy

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import wmplan.envs
from wmplan.envs import GOAL_TASKS, TASKS
from wmplan.envs.push import POS_TOL, YAW_TOL
from wmplan.envs.reacher import fingertip

ALL = list(TASKS)


@pytest.mark.parametrize("task_id", ALL)
def test_passes_gymnasium_env_checker_with_render_check(make_env, task_id):
    env = make_env(task_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    # Infinite state bounds are deliberate; any other checker warning is a failure.
    others = [str(w.message) for w in caught if "infinity" not in str(w.message)]
    assert others == []


@pytest.mark.parametrize("task_id", ALL)
def test_render_mode_none_and_rgb_array(task_id):
    quiet = wmplan.envs.make(task_id, render_mode=None)
    shown = wmplan.envs.make(task_id, render_mode="rgb_array")
    obs, _ = quiet.reset(seed=0)
    shown.reset(seed=0)
    assert quiet.render() is None
    np.testing.assert_array_equal(shown.render(), obs["pixels"])  # pixels still observed
    assert shown.metadata["render_fps"] > 0
    quiet.close()
    shown.close()
    with pytest.raises(ValueError, match="render_mode"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium.make warns first; the env refuses
        wmplan.envs.make(task_id, render_mode="ansi")


def test_render_fps_is_the_control_frequency(make_env):
    assert make_env("wmplan/Reacher-v0").metadata["render_fps"] == 50.0  # 0.02 s steps
    assert make_env("wmplan/Reacher-v0", action_repeat=2).metadata["render_fps"] == 25.0
    assert make_env("wmplan/dmc-walker-walk-v0").metadata["render_fps"] == 40.0  # 0.025 s


@pytest.mark.parametrize("copier", ["pickle", "deepcopy"])
@pytest.mark.parametrize(
    "task_id", ["wmplan/Push-v0", "wmplan/dmc-reacher-easy-v0", "wmplan/gym-Reacher-v5"]
)
def test_env_copies_keep_state_and_render_the_same(make_env, task_id, copier):
    env = make_env(task_id)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    env.step(rng.uniform(-1, 1, env.action_space.shape))
    copy = pickle.loads(pickle.dumps(env)) if copier == "pickle" else deepcopy(env)
    np.testing.assert_array_equal(copy.render(), env.render())
    for action in rng.uniform(-1, 1, (3, *env.action_space.shape)):
        ours, theirs = env.step(action)[0], copy.step(action)[0]
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    copy.close()
    np.testing.assert_array_equal(env.render(), env.render())  # closing a copy leaves ours


@pytest.mark.parametrize("task_id", ALL)
def test_same_seed_gives_identical_observations(make_env, task_id):
    a, b = make_env(task_id), make_env(task_id)
    obs_a, _ = a.reset(seed=7)
    obs_b, _ = b.reset(seed=7)
    actions = np.random.default_rng(0).uniform(-1, 1, (5, *a.action_space.shape))
    for action in actions:
        obs_a, ra, *_ = a.step(action)
        obs_b, rb, *_ = b.step(action)
    for key in obs_a:
        np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
    assert ra == rb
    other, _ = a.reset(seed=8)
    assert not np.array_equal(other["state"], obs_b["state"])


@pytest.mark.parametrize("task_id", ALL)
def test_state_round_trip_is_exact(make_env, task_id):
    env = make_env(task_id)
    u = env.unwrapped
    env.reset(seed=1)
    rng = np.random.default_rng(1)
    for _ in range(3):
        env.step(rng.uniform(-1, 1, env.action_space.shape))
    saved = u.get_state()
    actions = rng.uniform(-1, 1, (4, *env.action_space.shape))
    first = [env.step(a)[0] for a in actions]
    u.set_state(saved)
    np.testing.assert_array_equal(u.get_state(), saved)
    second = [env.step(a)[0] for a in actions]
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(x["state"], y["state"])
        np.testing.assert_array_equal(x["pixels"], y["pixels"])


@pytest.mark.parametrize("task_id", GOAL_TASKS)
def test_replaying_reference_actions_reaches_the_goal(make_env, task_id):
    env = make_env(task_id)
    for seed in range(3):
        obs, info = env.reset(seed=seed, options={"goal_offset": 25})
        assert info["goal_actions"].shape == (25, *env.action_space.shape)
        for action in info["goal_actions"]:
            obs, _, _, _, info = env.step(action)
        assert info["goal_distance"] == pytest.approx(0.0, abs=1e-9)
        assert info["success"]
        np.testing.assert_array_equal(obs["pixels"], obs["goal_pixels"])
        np.testing.assert_array_equal(obs["state"], obs["goal_state"])


@pytest.mark.parametrize("task_id", GOAL_TASKS)
def test_goals_are_not_trivially_reached_at_the_start(make_env, task_id):
    env = make_env(task_id)
    solved = [env.reset(seed=s)[1]["success"] for s in range(20)]
    assert sum(solved) <= 2


@pytest.mark.parametrize("task_id", GOAL_TASKS)
def test_explicit_goal_and_start_states(make_env, task_id):
    env = make_env(task_id)
    u = env.unwrapped
    env.reset(seed=3)
    goal = u.goal_physics_state.copy()
    start = u.get_state()
    _, info = env.reset(seed=99, options={"goal_state": goal, "start_state": start})
    np.testing.assert_array_equal(u.goal_physics_state, goal)
    np.testing.assert_array_equal(u.get_state(), start)
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"goal_ofset": 3})
    with pytest.raises(ValueError, match="goal_offset"):
        env.reset(options={"goal_offset": -1})


def _reacher_state_with_tip_offset(u, base_qpos, distance):
    """Physics state whose fingertip is ``distance`` from that of ``base_qpos``,
    reached by turning the shoulder (the tip moves on a circle of radius r)."""
    r = np.linalg.norm(fingertip(np.asarray(base_qpos)))
    dq = 2 * np.arcsin(distance / (2 * r))
    u.data.qpos[:] = [base_qpos[0] + dq, base_qpos[1]]
    u.data.qvel[:] = 0
    return u.get_state()


def test_reacher_success_predicate_at_and_just_outside_tolerance(make_env):
    env = make_env("wmplan/Reacher-v0")
    u = env.unwrapped
    env.reset(seed=0)
    base = [0.3, 1.0]
    goal = _reacher_state_with_tip_offset(u, base, 0.0)
    inside = _reacher_state_with_tip_offset(u, base, 0.0195)
    outside = _reacher_state_with_tip_offset(u, base, 0.0205)
    _, info = env.reset(options={"goal_state": goal, "start_state": inside})
    assert info["success"] and info["goal_distance"] == pytest.approx(0.0195, abs=1e-6)
    _, info = env.reset(options={"goal_state": goal, "start_state": outside})
    assert not info["success"] and info["goal_distance"] == pytest.approx(0.0205, abs=1e-6)


def test_tworoom_success_predicate_at_and_just_outside_radius(make_env):
    env = make_env("wmplan/TwoRoom-v0")
    u = env.unwrapped
    env.reset(seed=0)

    def at(x, y):
        u.data.qpos[:] = [x, y]
        u.data.qvel[:] = 0
        return u.get_state()

    goal = at(0.5, 0.5)
    for dx, ok in [(0.0, True), (0.099, True), (0.101, False)]:
        _, info = env.reset(options={"goal_state": goal, "start_state": at(0.5 + dx, 0.5)})
        assert info["success"] is ok, dx


def test_push_success_needs_both_position_and_angle(make_env):
    env = make_env("wmplan/Push-v0")
    u = env.unwrapped
    env.reset(seed=0)

    def block(x, y, yaw):
        u.data.qpos[:] = [x, y, yaw, 0.3, 0.3]
        u.data.qvel[:] = 0
        return u.get_state()

    goal = block(0.1, 0.0, 0.5)
    cases = [
        ((0.1 + 0.9 * POS_TOL, 0.0, 0.5 + 0.9 * YAW_TOL), True),
        ((0.1 + 1.1 * POS_TOL, 0.0, 0.5), False),
        ((0.1, 0.0, 0.5 + 1.1 * YAW_TOL), False),
        ((0.1, 0.0, 0.5 + 2 * np.pi), True),  # yaw wraps around
    ]
    for pose, ok in cases:
        _, info = env.reset(options={"goal_state": goal, "start_state": block(*pose)})
        assert info["success"] is ok, pose


def test_tworoom_wall_blocks_the_agent_outside_the_door(make_env):
    env = make_env("wmplan/TwoRoom-v0")
    u = env.unwrapped
    env.reset(seed=0)
    u.data.qpos[:] = [0.5, 0.7]
    u.data.qvel[:] = 0
    env.reset(options={"start_state": u.get_state(), "goal_offset": 0})
    for _ in range(60):
        obs, *_ = env.step(np.array([-1.0, 0.0], np.float32))
    assert obs["state"][0] > 0.0  # still in the right-hand room
    u.data.qpos[:] = [0.5, 0.0]
    env.reset(options={"start_state": u.get_state(), "goal_offset": 0})
    for _ in range(60):
        obs, *_ = env.step(np.array([-1.0, 0.0], np.float32))
    assert obs["state"][0] < -0.3  # through the door


@pytest.mark.parametrize("size", [64, 224])
def test_render_shape_and_dtype(make_env, size):
    for task_id in (*GOAL_TASKS, "wmplan/dmc-cheetah-run-v0"):
        env = make_env(task_id, image_size=size)
        obs, _ = env.reset(seed=0)
        assert obs["pixels"].shape == (size, size, 3)
        assert obs["pixels"].dtype == np.uint8
        assert obs["pixels"].std() > 5  # not blank
        frame = env.render()
        np.testing.assert_array_equal(frame, obs["pixels"])


def test_action_repeat_repeats_physics(make_env):
    one, two = make_env("wmplan/TwoRoom-v0"), make_env("wmplan/TwoRoom-v0", action_repeat=2)
    one.reset(seed=0)
    two.reset(seed=0)
    a = np.array([0.5, -0.5], np.float32)
    one.step(a)
    obs_one, *_ = one.step(a)
    obs_two, *_ = two.step(a)
    np.testing.assert_allclose(obs_one["state"], obs_two["state"])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"image_size": 4}, "image_size"),
        ({"image_size": 4096}, "image_size"),
        ({"image_size": 64.5}, "image_size"),
        ({"action_repeat": 0}, "action_repeat"),
        ({"camera": "nope"}, "camera"),
    ],
)
def test_bad_constructor_values_name_the_field(kwargs, field):
    for task_id in ("wmplan/Reacher-v0", "wmplan/dmc-cartpole-swingup-v0"):
        with pytest.raises(ValueError, match=field):
            gym.make(task_id, **kwargs)


@pytest.mark.parametrize("task_id", ["wmplan/Push-v0", "wmplan/gym-Reacher-v5"])
def test_non_finite_actions_are_rejected(make_env, task_id):
    env = make_env(task_id)
    env.reset(seed=0)
    before = env.unwrapped.get_state()
    bad = np.zeros(env.action_space.shape, np.float32)
    bad[0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        env.step(bad)
    bad[0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        env.step(bad)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(9))
    np.testing.assert_array_equal(env.unwrapped.get_state(), before)  # nothing stepped


def test_runs_under_async_vector_env():
    # "module:id" makes a spawned worker import wmplan.envs, which registers the ids.
    for task_id in (*GOAL_TASKS, "wmplan/dmc-cartpole-swingup-v0"):
        envs = gym.vector.AsyncVectorEnv(
            [lambda t=task_id: gym.make(f"wmplan.envs:{t}") for _ in range(2)], context="spawn"
        )
        try:
            obs, _ = envs.reset(seed=[0, 1])
            assert obs["pixels"].shape == (2, 64, 64, 3)
            obs, *_ = envs.step(envs.action_space.sample())
            assert obs["pixels"].shape == (2, 64, 64, 3)
            assert not np.array_equal(obs["pixels"][0], obs["pixels"][1])
        finally:
            envs.close()


# Seeds whose first draw was a free win (the start already satisfied the goal).
FREE_WIN_SEEDS = {"wmplan/Reacher-v0": (40, 73, 255), "wmplan/TwoRoom-v0": (276,)}


@pytest.mark.parametrize("task_id", sorted(FREE_WIN_SEEDS))
def test_reset_redraws_free_wins_deterministically(make_env, task_id):
    env, again = make_env(task_id), make_env(task_id)
    for seed in FREE_WIN_SEEDS[task_id]:
        obs, info = env.reset(seed=seed)
        assert info["resampled"] >= 1 and not info["success"]
        assert info["goal_distance"] > env.unwrapped.success_threshold
        obs2, info2 = again.reset(seed=seed)
        np.testing.assert_array_equal(obs["state"], obs2["state"])
        np.testing.assert_array_equal(obs["goal_state"], obs2["goal_state"])
        assert info2["resampled"] == info["resampled"]
    _, info = env.reset(seed=0)
    assert info["resampled"] == 0  # an ordinary draw is kept as it is


def test_given_start_and_goal_are_not_redrawn(make_env):
    env = make_env("wmplan/TwoRoom-v0")
    env.reset(seed=0)
    state = env.unwrapped.get_state()
    _, info = env.reset(options={"start_state": state, "goal_state": state})
    assert info["success"] and info["resampled"] == 0
