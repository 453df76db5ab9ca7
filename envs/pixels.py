"""Pixel observations for reward tasks whose physics lives elsewhere.

``PixelRewardEnv`` is the one wrapper through which dm_control suite tasks and
Gymnasium's MuJoCo tasks get wmplan's observation dict (``pixels`` from the fast
renderer + flat ``state``), action repeat, input validation and an exact state
round trip. A subclass adapts one simulator: ``_sim_reset``, ``_sim_step``,
``_sim_state``, ``_sim_handles`` and ``get_state``/``set_state``.

Pickling and deep copies keep the physics state: the simulator objects behind the
env may be rebuilt by their own pickling (dm_control reloads its physics from a
copy of the data, Gymnasium's MuJoCo envs are re-constructed), so the copy
re-reads its model and data from the simulator and copies the pickled data in.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from wmplan.envs.base import (
    check_action,
    control_metadata,
    validate_action_repeat,
    validate_image_size,
    validate_render_mode,
)
from wmplan.envs.render import FastRenderer, FreeCamera


class PixelRewardEnv(gym.Env):
    """Base of pixel-observation reward tasks (dm_control suite, Gymnasium MuJoCo)."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 30}
    success_text: ClassVar[str] = "none (reward task)"

    def _setup(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        low: np.ndarray,
        high: np.ndarray,
        state_dim: int,
        image_size: int,
        action_repeat: int,
        camera: str | int | None,
        cameras: dict[str, int | FreeCamera],
        render_mode: str | None,
        control_dt: float,
    ) -> None:
        """``control_dt``: seconds of simulated time per simulator step."""
        self.image_size = validate_image_size(image_size)
        self.action_repeat = validate_action_repeat(action_repeat)
        self.render_mode = validate_render_mode(render_mode)
        self.metadata = control_metadata(self.metadata, control_dt * self.action_repeat)
        if camera is None:
            camera = next(iter(cameras))
        if camera not in cameras:
            raise ValueError(f"camera must be one of {list(cameras)}, got {camera!r}")
        self.camera = camera
        self._camera = cameras[camera]
        self.model, self.data = model, data
        self._renderer = FastRenderer(model, self.image_size)
        self._low, self._high = low.astype(np.float64), high.astype(np.float64)
        size = self.image_size
        self.observation_space = spaces.Dict(
            {
                "pixels": spaces.Box(0, 255, (size, size, 3), np.uint8),
                "state": spaces.Box(-np.inf, np.inf, (state_dim,), np.float32),
            }
        )
        # Actions are always [-1, 1]^A for planners; rescaled to the simulator's bounds.
        self.action_space = spaces.Box(-1.0, 1.0, low.shape, np.float32)

    # --- simulator adapter (subclass) -----------------------------------------
    def _sim_reset(self, seed: int) -> None:
        raise NotImplementedError

    def _sim_step(self, ctrl: np.ndarray) -> tuple[float, bool, bool]:
        """One simulator step -> (reward, terminated, truncated)."""
        raise NotImplementedError

    def _sim_state(self) -> np.ndarray:
        raise NotImplementedError

    def _sim_handles(self) -> tuple[mujoco.MjModel, mujoco.MjData]:
        """The simulator's live (model, data)."""
        raise NotImplementedError

    def get_state(self) -> np.ndarray:
        """Physics state float64 [P] for an exact round trip."""
        raise NotImplementedError

    def set_state(self, state: np.ndarray) -> None:
        raise NotImplementedError

    # --- gymnasium API ---------------------------------------------------------
    def action_to_ctrl(self, actions: np.ndarray) -> np.ndarray:
        """Map actions ``[..., A]`` in [-1, 1] to the simulator's bounds."""
        return self._low + (np.clip(actions, -1.0, 1.0) + 1.0) * 0.5 * (self._high - self._low)

    def _obs(self) -> dict[str, np.ndarray]:
        return {
            "pixels": self._renderer.render(self.data, self._camera),
            "state": np.asarray(self._sim_state(), np.float32),
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options:
            raise ValueError(f"reward tasks take no reset options, got {sorted(options)}")
        self._sim_reset(int(self.np_random.integers(2**31)))
        return self._obs(), {"success": False}

    def step(self, action):
        ctrl = self.action_to_ctrl(check_action(action, self.action_space.shape))
        total, terminated, truncated = 0.0, False, False
        for _ in range(self.action_repeat):
            reward, terminated, truncated = self._sim_step(ctrl)
            total += reward
            if terminated or truncated:
                break
        info: dict[str, Any] = {"success": False}
        return self._obs(), total, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """Current frame, uint8 [H, W, 3] (None when ``render_mode`` is None)."""
        if self.render_mode is None:
            return None
        return self._renderer.render(self.data, self._camera)

    def close(self) -> None:
        self._renderer.close()

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        saved = self.data  # an exact copy, made by pickling
        self.model, self.data = self._sim_handles()
        if self.data is not saved:
            mujoco.mj_copyData(self.data, self.model, saved)
        self._renderer = FastRenderer(self.model, self.image_size)
