"""Shared machinery of wmplan's goal-conditioned MuJoCo tasks.

A task file subclasses ``GoalTask`` and supplies what the world is (its MJCF,
beside it) and what the task is (start distribution, observed state, goal
distance, scripted expert). This class does the rest the same way for every
task: validation, stepping with action repeat, pixels from a fixed camera,
goals produced by rolling the expert ``goal_offset`` steps from the start, and
an exact physics-state round trip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from wmplan.envs.render import FastRenderer

# Full physics state: time, qpos, qvel, act, plugin state, mocap, equality flags.
STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS

MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 512
MAX_ACTION_REPEAT = 100
# Redraws of a start/goal pair that already satisfies the goal (a free win).
MAX_RESAMPLES = 100
# No state of these tasks (positions, velocities, time) comes near this; a larger
# value is a corrupt or made-up state that MuJoCo would reset on the next step.
MAX_STATE_ABS = 1e6


class Policy(Protocol):
    """A controller for a task: may read privileged state from the unwrapped env."""

    def reset(self, env: Any) -> None:
        """Start a new episode in ``env``."""

    def act(self, env: Any) -> np.ndarray:
        """Action float32 [A] in [-1, 1]."""


def validate_image_size(image_size: int) -> int:
    """Return ``image_size`` or raise naming the field and the valid range."""
    if not isinstance(image_size, (int, np.integer)) or isinstance(image_size, bool):
        raise ValueError(f"image_size must be an int, got {image_size!r}")
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}], got {image_size}"
        )
    return int(image_size)


def validate_action_repeat(action_repeat: int) -> int:
    """Return ``action_repeat`` or raise naming the field and the valid range."""
    if not isinstance(action_repeat, (int, np.integer)) or isinstance(action_repeat, bool):
        raise ValueError(f"action_repeat must be an int, got {action_repeat!r}")
    if not 1 <= action_repeat <= MAX_ACTION_REPEAT:
        raise ValueError(f"action_repeat must be in [1, {MAX_ACTION_REPEAT}], got {action_repeat}")
    return int(action_repeat)


def validate_render_mode(render_mode: str | None) -> str | None:
    """Return ``render_mode`` (None or 'rgb_array') or raise naming the valid ones."""
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
    return render_mode


def control_metadata(metadata: dict, control_dt: float) -> dict:
    """``metadata`` with ``render_fps`` set to the control frequency 1 / ``control_dt``
    (one frame per env step, as Gymnasium's MuJoCo envs do)."""
    return {**metadata, "render_fps": round(1.0 / control_dt, 6)}


def validate_camera(camera: str | None, cameras: tuple[str, ...]) -> str:
    """Return the camera name (first of ``cameras`` if None) or raise listing the valid ones."""
    if camera is None:
        return cameras[0]
    if camera not in cameras:
        raise ValueError(f"camera must be one of {list(cameras)}, got {camera!r}")
    return camera


def check_action(action: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Action as float64, shape-checked and finite; out-of-range values are clipped."""
    a = np.asarray(action, dtype=np.float64)
    if a.shape != shape:
        raise ValueError(f"action must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"action must be finite, got {a.tolist()}")
    return np.clip(a, -1.0, 1.0)


class GoalTask(gym.Env):
    """Base of a goal-conditioned MuJoCo task with pixel observations.

    Subclasses set ``task_id``, ``xml_file``, ``cameras``, ``frame_skip``,
    ``success_threshold``, ``state_dim`` and ``success_text`` and implement
    ``sample_start``, ``task_state``, ``state_distance`` and ``expert``. The task
    registry (``wmplan.envs.TASKS``) is derived from these attributes and the XML.
    """

    # render_fps: the control frequency, set per instance (it depends on action_repeat).
    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 20}
    task_id: ClassVar[str]
    xml_file: ClassVar[str]
    cameras: ClassVar[tuple[str, ...]]
    frame_skip: ClassVar[int] = 1
    success_threshold: ClassVar[float]
    state_dim: ClassVar[int]
    success_text: ClassVar[str]
    max_episode_steps: ClassVar[int] = 200
    default_goal_offset: ClassVar[int] = 25

    def __init__(
        self,
        image_size: int = 64,
        action_repeat: int = 1,
        camera: str | None = None,
        render_mode: str | None = "rgb_array",
        terminate_on_success: bool = False,
    ):
        self.image_size = validate_image_size(image_size)
        self.action_repeat = validate_action_repeat(action_repeat)
        self.camera = validate_camera(camera, self.cameras)
        self.render_mode = validate_render_mode(render_mode)
        self.terminate_on_success = bool(terminate_on_success)

        xml_path = Path(__file__).with_name(self.xml_file)
        self.model = mujoco.MjModel.from_xml_path(str(xml_path))
        self.data = mujoco.MjData(self.model)
        self.n_substeps = self.frame_skip * self.action_repeat
        self.metadata = control_metadata(self.metadata, self.model.opt.timestep * self.n_substeps)
        self._renderer = FastRenderer(self.model, self.image_size)
        self._state_size = mujoco.mj_stateSize(self.model, STATE_SPEC)

        size = self.image_size
        pixels = spaces.Box(0, 255, (size, size, 3), np.uint8)
        state = spaces.Box(-np.inf, np.inf, (self.state_dim,), np.float32)
        self.observation_space = spaces.Dict(
            {"pixels": pixels, "state": state, "goal_pixels": pixels, "goal_state": state}
        )
        self.action_space = spaces.Box(-1.0, 1.0, (self.model.nu,), np.float32)
        self.goal_physics_state = np.zeros(self._state_size)
        self._goal_obs_state = np.zeros(self.state_dim, np.float32)
        self._goal_pixels = np.zeros((size, size, 3), np.uint8)

    # --- task hooks (subclass) -------------------------------------------------
    def sample_start(self, rng: np.random.Generator) -> None:
        """Set ``self.data`` qpos/qvel to a start state drawn from ``rng``."""
        raise NotImplementedError

    def task_state(self) -> np.ndarray:
        """Observed low-dimensional state, float32 [S], of ``self.data``."""
        raise NotImplementedError

    def state_distance(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Goal distance of full physics states ``[..., P]`` to ``goal`` [P] -> ``[...]``."""
        raise NotImplementedError

    def planning_cost(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Cost an oracle planner minimises, ``[..., P]`` -> ``[...]``: the goal
        distance, plus shaping where the distance alone gives planners no signal."""
        return self.state_distance(states, goal)

    def expert(self, rng: np.random.Generator, noise: float = 0.0) -> Policy:
        """The task's scripted reference policy, with Gaussian action noise ``noise``."""
        raise NotImplementedError

    # --- physics state ---------------------------------------------------------
    def get_state(self) -> np.ndarray:
        """Full physics state, float64 [P] (time, qpos, qvel, act, ...)."""
        state = np.empty(self._state_size)
        mujoco.mj_getState(self.model, self.data, state, STATE_SPEC)
        return state

    def set_state(self, state: np.ndarray, name: str = "state") -> None:
        """Restore a state from ``get_state`` exactly (warm-start cleared).

        ValueError naming ``name`` if ``state`` has the wrong length or holds a
        non-finite or absurd (> MAX_STATE_ABS) value: MuJoCo would otherwise
        silently reset the simulation on the next step."""
        try:
            state = np.asarray(state, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an array of numbers, got {state!r}") from None
        if state.shape != (self._state_size,):
            raise ValueError(
                f"{name} must have shape ({self._state_size},) for {type(self).__name__}, "
                f"got {state.shape}"
            )
        bad = ~np.isfinite(state) | (np.abs(state) > MAX_STATE_ABS)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} must be finite with |value| <= {MAX_STATE_ABS:g}, got {state[i]!r} at "
                f"index {i}; pass a state from env.unwrapped.get_state()"
            )
        mujoco.mj_resetData(self.model, self.data)
        mujoco.mj_setState(self.model, self.data, state, STATE_SPEC)
        mujoco.mj_forward(self.model, self.data)

    def qpos_of(self, states: np.ndarray) -> np.ndarray:
        """qpos slice of full physics states ``[..., P]`` -> ``[..., nq]``."""
        return states[..., 1 : 1 + self.model.nq]

    def action_to_ctrl(self, actions: np.ndarray) -> np.ndarray:
        """Map actions ``[..., A]`` in [-1, 1] to MuJoCo controls ``[..., nu]``."""
        return np.clip(actions, -1.0, 1.0)

    # --- gymnasium API ---------------------------------------------------------
    def _physics_step(self, action: np.ndarray) -> None:
        self.data.ctrl[:] = self.action_to_ctrl(action)
        mujoco.mj_step(self.model, self.data, nstep=self.n_substeps)

    def _goal_distance(self) -> float:
        return float(self.state_distance(self.get_state(), self.goal_physics_state))

    def _render_now(self) -> np.ndarray:
        return self._renderer.render(self.data, self.camera)

    def _obs(self) -> dict[str, np.ndarray]:
        return {
            "pixels": self._render_now(),
            "state": self.task_state(),
            "goal_pixels": self._goal_pixels.copy(),
            "goal_state": self._goal_obs_state.copy(),
        }

    def _info(self) -> dict[str, Any]:
        dist = self._goal_distance()
        return {"success": bool(dist <= self.success_threshold), "goal_distance": dist}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Sample a start (or take ``options['start_state']``) and a goal.

        Options: ``goal_offset`` (int >= 1, default 25): the goal is the state the
        expert reaches that many env steps from the start; or ``goal_state``
        (full physics state) for an explicit goal. ``info['goal_actions']``
        [goal_offset, A] are the expert's actions.

        No free wins: when the start is sampled (no ``start_state``) and the pair
        already satisfies the success predicate, start and goal are drawn again
        from the same generator, up to ``MAX_RESAMPLES`` times (deterministic for a
        seed). ``info['resampled']`` counts the redraws. A given ``start_state`` or
        ``goal_offset=0`` (goal = start) is taken as asked.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"goal_offset", "goal_state", "start_state"}
        if unknown:
            raise ValueError(
                f"unknown reset options {sorted(unknown)}; valid: goal_offset, goal_state, "
                "start_state"
            )
        resample = "start_state" not in options and options.get("goal_offset") != 0
        start, goal_actions = self._draw_start_and_goal(options)
        resampled = 0
        while resample and self._is_free_win(start):
            if resampled == MAX_RESAMPLES:
                raise RuntimeError(
                    f"{type(self).__name__}: {MAX_RESAMPLES + 1} sampled starts in a row "
                    f"already satisfy the goal (options {sorted(options)}); give start_state "
                    "or another goal"
                )
            resampled += 1
            start, goal_actions = self._draw_start_and_goal(options)
        self._goal_obs_state = self.task_state()
        self._goal_pixels = self._render_now()
        self.set_state(start)

        info = self._info()
        info["goal_actions"] = goal_actions
        info["resampled"] = resampled
        return self._obs(), info

    def _is_free_win(self, start: np.ndarray) -> bool:
        """True if ``start`` [P] already satisfies the goal set by the last draw."""
        return bool(self.state_distance(start, self.goal_physics_state) <= self.success_threshold)

    def _draw_start_and_goal(self, options: dict) -> tuple[np.ndarray, np.ndarray]:
        """Set the start, then the goal; returns (start state [P], expert actions
        [goal_offset, A]) and leaves ``self.data`` at the goal."""
        mujoco.mj_resetData(self.model, self.data)
        if "start_state" in options:
            self.set_state(options["start_state"], "options['start_state']")
        else:
            self.sample_start(self.np_random)
            mujoco.mj_forward(self.model, self.data)
        start = self.get_state()

        goal_actions = np.zeros((0, self.model.nu), np.float32)
        if "goal_state" in options:
            self.set_state(options["goal_state"], "options['goal_state']")
        else:
            offset = options.get("goal_offset", self.default_goal_offset)
            if not isinstance(offset, (int, np.integer)) or offset < 0:
                raise ValueError(f"goal_offset must be an int >= 0, got {offset!r}")
            expert = self.expert(self.np_random)
            expert.reset(self)
            goal_actions = np.zeros((int(offset), self.model.nu), np.float32)
            for t in range(int(offset)):
                action = expert.act(self)
                goal_actions[t] = action
                self._physics_step(check_action(action, self.action_space.shape))
        self.goal_physics_state = self.get_state()
        return start, goal_actions

    def step(self, action):
        """Apply ``action`` [A] for ``action_repeat`` control steps."""
        self._physics_step(check_action(action, self.action_space.shape))
        obs = self._obs()
        info = self._info()
        terminated = bool(self.terminate_on_success and info["success"])
        return obs, self.reward(info), terminated, False, info

    def reward(self, info: dict[str, Any]) -> float:
        """Sparse goal reward: 1 on success, else 0."""
        return float(info["success"])

    def render(self) -> np.ndarray | None:
        """Current frame, uint8 [H, W, 3]."""
        if self.render_mode is None:
            return None
        return self._render_now()

    def close(self) -> None:
        self._renderer.close()
