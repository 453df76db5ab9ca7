"""Observation views for Stable-Baselines3 (and any library that wants one input).

wmplan observations are a dict of ``pixels``, ``state`` and, on goal tasks,
``goal_pixels``/``goal_state``. ``state`` and ``goal_state`` are privileged (the
simulator's own coordinates); a pixel-based learner must not see them. Each view is
Gymnasium's own wrapper, so it pickles and vectorises like any other:

| view | observation | SB3 policy |
| --- | --- | --- |
| ``pixels_only(env)`` | ``Box(0, 255, (H, W, 3), uint8)`` | ``CnnPolicy`` |
| ``pixels_and_goal(env)`` | ``Dict(pixels, goal_pixels)`` (goal tasks) | ``MultiInputPolicy`` (a CNN per image) |
| ``state_and_goal(env)`` | ``Dict(state, goal_state)`` (goal tasks; privileged) | ``MultiInputPolicy`` |

    import gymnasium as gym, wmplan.envs
    from stable_baselines3 import PPO
    from wmplan.envs.wrappers import pixels_and_goal
    env = pixels_and_goal(gym.make("wmplan/Reacher-v0"))
    PPO("MultiInputPolicy", env).learn(10_000)
"""

from __future__ import annotations

from operator import itemgetter

import gymnasium as gym
from gymnasium.wrappers import FilterObservation, TransformObservation


def _require(env: gym.Env, keys: tuple[str, ...], view: str) -> None:
    missing = [k for k in keys if k not in env.observation_space.spaces]
    if missing:
        task = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
        raise ValueError(
            f"{view} needs observation keys {list(keys)}; {task} has no {missing} "
            f"(reward tasks have no goal: use pixels_only)"
        )


def pixels_only(env: gym.Env) -> gym.Env:
    """The camera image alone, uint8 [H, W, 3] (for ``CnnPolicy``)."""
    _require(env, ("pixels",), "pixels_only")
    # itemgetter, not a lambda: the wrapped env stays picklable.
    return TransformObservation(env, itemgetter("pixels"), env.observation_space["pixels"])


def pixels_and_goal(env: gym.Env) -> gym.Env:
    """The camera image and the goal image, a Dict (for ``MultiInputPolicy``)."""
    _require(env, ("pixels", "goal_pixels"), "pixels_and_goal")
    return FilterObservation(env, ["pixels", "goal_pixels"])


def state_and_goal(env: gym.Env) -> gym.Env:
    """The privileged state and goal state, float32, a Dict (for ``MultiInputPolicy``):
    a state-based baseline, not a pixel-based one."""
    _require(env, ("state", "goal_state"), "state_and_goal")
    return FilterObservation(env, ["state", "goal_state"])
