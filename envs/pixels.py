"""Pixel observations for reward tasks whose physics lives elsewhere.

``PixelRewardEnv`` is the one wrapper through which dm_control suite tasks and
Gymnasium's MuJoCo tasks get wmplan's observation dict (``pixels`` from the fast
renderer + flat ``state``), action repeat, input validation and an exact state
round trip. A subclass adapts one simulator: ``_sim_reset``, ``_sim_step``,
``_sim_state`` and ``_sim_get/set_state``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from wmplan.envs.base import check_action, validate_action_repeat, validate_image_size
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
    ) -> None:
        self.image_size = validate_image_size(image_size)
        self.action_repeat = validate_action_repeat(action_repeat)
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
        self.render_mode = "rgb_array"

    # --- simulator adapter (subclass) -----------------------------------------
    def _sim_reset(self, seed: int) -> None:
        raise NotImplementedError

    def _sim_step(self, ctrl: np.ndarray) -> tuple[float, bool, bool]:
        """One simulator step -> (reward, terminated, truncated)."""
        raise NotImplementedError

    def _sim_state(self) -> np.ndarray:
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

    def render(self) -> np.ndarray:
        return self._renderer.render(self.data, self._camera)

    def close(self) -> None:
        self._renderer.close()
