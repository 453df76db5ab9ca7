"""Gymnasium's MuJoCo tasks with pixel observations: ``wmplan/gym-Reacher-v5``,
``wmplan/gym-Pusher-v5``.

| | |
|---|---|
| Action space | ``Box(-1, 1, (A,), float32)``, rescaled to the task's own bounds (Reacher 2, Pusher 7) |
| Observation | ``pixels`` uint8 [H, W, 3] from a fixed free camera (``top``); ``state`` float32: the Gymnasium task's own observation vector |
| Reward | the Gymnasium task's own reward, summed over ``action_repeat`` |
| Start state | the Gymnasium task's own reset noise, seeded by ``reset(seed=...)`` |
| Goal / success | none: reward tasks (``info['success']`` is always False) |
| Episode end | truncated at ``max_episode_steps`` (Reacher 50, Pusher 100, as Gymnasium) |
"""

from __future__ import annotations

import numpy as np

from wmplan.envs.pixels import PixelRewardEnv
from wmplan.envs.render import FreeCamera

# Gymnasium id -> (action_dim, state_dim, max_episode_steps as Gymnasium registers it).
GYM_TASKS = {"Reacher-v5": (2, 10, 50), "Pusher-v5": (7, 23, 100)}

_CAMERAS = {
    "Reacher-v5": {"top": FreeCamera((0.0, 0.0, 0.0), 0.75, 90.0, -90.0)},
    "Pusher-v5": {
        "top": FreeCamera((0.3, -0.3, 0.0), 1.5, 90.0, -90.0),
        "side": FreeCamera((0.2, -0.4, 0.0), 2.0, 90.0, -45.0),
    },
}


class GymPixelEnv(PixelRewardEnv):
    """A Gymnasium MuJoCo task seen through wmplan's pixel wrapper."""

    def __init__(
        self,
        gym_id: str,
        image_size: int = 64,
        action_repeat: int = 1,
        camera: str | None = None,
        render_mode: str | None = "rgb_array",
    ):
        if gym_id == "Reacher-v5":
            from gymnasium.envs.mujoco.reacher_v5 import ReacherEnv as cls
        elif gym_id == "Pusher-v5":
            from gymnasium.envs.mujoco.pusher_v5 import PusherEnv as cls
        else:
            raise ValueError(f"gym_id must be one of {sorted(_CAMERAS)}, got {gym_id!r}")
        self._env = cls()
        inner = self._env
        obs, _ = inner.reset(seed=0)
        self._last = obs
        self._setup(
            inner.model,
            inner.data,
            inner.action_space.low,
            inner.action_space.high,
            obs.size,
            image_size,
            action_repeat,
            camera,
            _CAMERAS[gym_id],
            render_mode,
            inner.dt,
        )
        self.gym_id = gym_id

    def _sim_reset(self, seed: int) -> None:
        self._last, _ = self._env.reset(seed=seed)

    def _sim_step(self, ctrl: np.ndarray) -> tuple[float, bool, bool]:
        obs, reward, terminated, truncated, _ = self._env.step(ctrl.astype(np.float32))
        self._last = obs
        return float(reward), bool(terminated), bool(truncated)

    def _sim_state(self) -> np.ndarray:
        return self._last

    def _sim_handles(self):
        return self._env.model, self._env.data

    def get_state(self) -> np.ndarray:
        d = self.data
        return np.concatenate([[d.time], d.qpos, d.qvel])

    def set_state(self, state: np.ndarray) -> None:
        state = np.asarray(state, np.float64)
        nq, nv = self.model.nq, self.model.nv
        if state.shape != (1 + nq + nv,):
            raise ValueError(f"state must have shape ({1 + nq + nv},), got {state.shape}")
        self._env.set_state(state[1 : 1 + nq], state[1 + nq :])
        self.data.time = state[0]
        self._last = self._env._get_obs()
