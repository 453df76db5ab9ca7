"""The agent interface the benchmark harness sees: ``reset(obs, goal)`` / ``act(obs)``."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Agent(Protocol):
    """Anything that acts in a wmplan task.

    ``obs`` is the env's observation dict (``pixels`` uint8 [H, W, 3], ``state``
    float32 [S], ...). ``goal`` is None for reward tasks, else a dict with
    ``goal_pixels`` uint8 [H, W, 3] and ``goal_state`` float32 [S]. Privileged
    agents (oracle MPC) may also receive the env itself through ``env`` at reset.
    """

    def reset(
        self, obs: dict[str, np.ndarray], goal: dict[str, np.ndarray] | None, env: Any | None = None
    ) -> None:
        """Start a new episode from ``obs`` towards ``goal``."""

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Return the next action, float32 [A] within the action space."""


class RandomAgent:
    """Uniform random actions from the env's action space, seeded."""

    def __init__(self, action_dim: int, seed: int = 0, low: float = -1.0, high: float = 1.0):
        if action_dim < 1:
            raise ValueError(f"action_dim must be >= 1, got {action_dim}")
        self.action_dim = action_dim
        self.low, self.high = low, high
        self._rng = np.random.default_rng(seed)

    def reset(self, obs, goal, env=None) -> None:
        del obs, goal, env

    def act(self, obs) -> np.ndarray:
        del obs
        return self._rng.uniform(self.low, self.high, self.action_dim).astype(np.float32)
