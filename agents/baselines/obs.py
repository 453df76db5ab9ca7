"""From wmplan's observation dict to what a model-free policy reads.

The same ``ObsAdapter`` feeds a policy in training (through ``PolicyObsWrapper``,
a Gymnasium wrapper) and in the benchmark harness (``agent.py``), so the two can
never disagree about frame order, stacking or where the goal goes.

| ``obs`` | ``goal`` | ``layout`` | policy input |
| --- | --- | --- | --- |
| state | no | flat | float32 ``[S]`` |
| state | yes | flat | float32 ``[2S]``: state, goal state |
| state | yes | her | dict ``observation [S]``, ``achieved_goal [S]``, ``desired_goal [S]`` |
| pixels | no | flat | uint8 ``[3k, H, W]``: the last k frames, oldest first |
| pixels | yes | flat | uint8 ``[3k + 3, H, W]``: the last k frames, then the goal image |
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

OBS_KINDS = ("state", "pixels")
LAYOUTS = ("flat", "her")


@dataclass(frozen=True)
class ObsSpec:
    """What a policy observes. ``state_dim`` S and ``image_size`` H come from the env."""

    obs: str = "state"
    goal: bool = False
    layout: str = "flat"
    frame_stack: int = 1
    state_dim: int = 0
    image_size: int = 64

    def __post_init__(self) -> None:
        if self.obs not in OBS_KINDS:
            raise ValueError(f"obs must be one of {OBS_KINDS}, got {self.obs!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.layout == "her" and not (self.goal and self.obs == "state"):
            raise ValueError("layout 'her' needs obs='state' on a goal task")
        if not isinstance(self.frame_stack, int) or not 1 <= self.frame_stack <= 16:
            raise ValueError(f"frame_stack must be an integer in [1, 16], got {self.frame_stack!r}")
        if self.obs == "state" and self.frame_stack != 1:
            raise ValueError("frame_stack applies to obs='pixels' only; use 1 for state")
        if self.obs == "state" and self.state_dim < 1:
            raise ValueError(f"state_dim must be >= 1 for obs='state', got {self.state_dim}")

    @classmethod
    def for_env(cls, env: gym.Env, obs: str, layout: str = "flat", frame_stack: int = 1) -> ObsSpec:
        """The spec of ``obs`` on a wmplan env (goal task if it shows a goal)."""
        space = env.observation_space
        return cls(
            obs=obs,
            goal="goal_state" in space.spaces,
            layout=layout,
            frame_stack=frame_stack,
            state_dim=int(space["state"].shape[0]),
            image_size=int(space["pixels"].shape[0]),
        )

    def space(self) -> spaces.Space:
        """The policy's observation space."""
        if self.obs == "state":
            s = spaces.Box(-np.inf, np.inf, (self.state_dim,), np.float32)
            if self.layout == "her":
                return spaces.Dict({"observation": s, "achieved_goal": s, "desired_goal": s})
            dim = self.state_dim * (2 if self.goal else 1)
            return spaces.Box(-np.inf, np.inf, (dim,), np.float32)
        channels = 3 * self.frame_stack + (3 if self.goal else 0)
        return spaces.Box(0, 255, (channels, self.image_size, self.image_size), np.uint8)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ObsAdapter:
    """Stateful (frame stack, goal) adapter: ``reset(obs, goal)`` then ``step(obs)``."""

    def __init__(self, spec: ObsSpec):
        self.spec = spec
        self._frames: deque[np.ndarray] = deque(maxlen=spec.frame_stack)
        self._goal: dict[str, np.ndarray] | None = None

    def reset(self, obs: dict[str, np.ndarray], goal: dict[str, np.ndarray] | None) -> Any:
        """Policy input for the first observation of an episode towards ``goal``."""
        if self.spec.goal and goal is None:
            raise ValueError("this policy is goal-conditioned but the episode has no goal")
        self._goal = goal
        self._frames.clear()
        if self.spec.obs == "pixels":
            for _ in range(self.spec.frame_stack):  # pad the stack with the first frame
                self._frames.append(self._chw(obs["pixels"]))
        return self._build(obs)

    def step(self, obs: dict[str, np.ndarray]) -> Any:
        """Policy input for the next observation."""
        if self.spec.obs == "pixels":
            self._frames.append(self._chw(obs["pixels"]))
        return self._build(obs)

    @staticmethod
    def _chw(pixels: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(pixels, np.uint8).transpose(2, 0, 1))

    def _build(self, obs: dict[str, np.ndarray]) -> Any:
        spec = self.spec
        if spec.obs == "pixels":
            parts = list(self._frames)
            if spec.goal:
                parts.append(self._chw(self._goal["goal_pixels"]))
            return np.concatenate(parts, axis=0)
        state = np.asarray(obs["state"], np.float32)
        if not spec.goal:
            return state
        goal = np.asarray(self._goal["goal_state"], np.float32)
        if spec.layout == "her":
            return {"observation": state, "achieved_goal": state.copy(), "desired_goal": goal}
        return np.concatenate([state, goal])


def goal_of(obs: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """The goal dict the harness gives agents, from a goal task's observation."""
    if "goal_pixels" not in obs:
        return None
    return {"goal_pixels": obs["goal_pixels"], "goal_state": obs.get("goal_state")}


class PolicyObsWrapper(gym.Wrapper):
    """A wmplan env seen through an ``ObsAdapter`` (for Stable-Baselines3 training).

    On goal tasks the reward is recomputed from observed states: ``sparse`` is 0 at
    the goal and -1 elsewhere (HER's convention), ``dense`` is minus the normalised
    goal distance. ``compute_reward`` is what HER calls on relabelled goals.
    """

    def __init__(
        self,
        env: gym.Env,
        spec: ObsSpec,
        task_id: str,
        reward: str = "sparse",
        goal_offset: int = 25,
    ):
        super().__init__(env)
        if reward not in ("sparse", "dense"):
            raise ValueError(f"reward must be 'sparse' or 'dense', got {reward!r}")
        self.adapter = ObsAdapter(spec)
        self.observation_space = spec.space()
        self.task_id, self.reward_kind, self.goal_offset = task_id, reward, goal_offset

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if self.adapter.spec.goal:
            options = {"goal_offset": self.goal_offset, **(options or {})}
        obs, info = self.env.reset(seed=seed, options=options)
        self._goal = goal_of(obs)
        return self.adapter.reset(obs, self._goal), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.adapter.spec.goal:
            reward = float(self.compute_reward(obs["state"], self._goal["goal_state"], info))
        return self.adapter.step(obs), reward, terminated, truncated, info

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any):
        """Reward ``[...]`` of observed states ``[..., S]`` towards goals ``[..., S]``."""
        from wmplan.agents.baselines.goals import goal_distance

        d = goal_distance(self.task_id, achieved_goal, desired_goal)
        if self.reward_kind == "dense":
            return (-d).astype(np.float32)
        return -(d > 1.0).astype(np.float32)
