"""Goal distance and success computed from *observed* states ``[..., S]``.

The envs define success on full physics states; HER relabels goals with observed
states, so it needs the same predicate from what the policy sees. Each function
is the task's own ``state_distance`` rewritten for its ``task_state`` layout and
normalised so that success is ``distance <= 1``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wmplan.envs import push, reacher, tworoom


def _tworoom(s: np.ndarray, g: np.ndarray) -> np.ndarray:
    # state: x, y, vx, vy
    return np.linalg.norm(s[..., :2] - g[..., :2], axis=-1) / tworoom.TwoRoom.success_threshold


def _reacher_tip(s: np.ndarray) -> np.ndarray:
    # state: cos q1, sin q1, cos q2, sin q2, dq1, dq2
    q = np.stack([np.arctan2(s[..., 1], s[..., 0]), np.arctan2(s[..., 3], s[..., 2])], axis=-1)
    return reacher.fingertip(q)


def _reacher(s: np.ndarray, g: np.ndarray) -> np.ndarray:
    dist = np.linalg.norm(_reacher_tip(s) - _reacher_tip(g), axis=-1)
    return dist / reacher.Reacher.success_threshold


def _push(s: np.ndarray, g: np.ndarray) -> np.ndarray:
    # state: pusher x, y, block x, y, cos yaw, sin yaw, velocities
    pos_err = np.linalg.norm(s[..., 2:4] - g[..., 2:4], axis=-1)
    yaw_s, yaw_g = np.arctan2(s[..., 5], s[..., 4]), np.arctan2(g[..., 5], g[..., 4])
    yaw_err = np.abs(push.wrap_angle(yaw_s - yaw_g))
    return np.maximum(pos_err / push.POS_TOL, yaw_err / push.YAW_TOL)


GOAL_DISTANCE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "wmplan/TwoRoom-v0": _tworoom,
    "wmplan/Reacher-v0": _reacher,
    "wmplan/Push-v0": _push,
}


def goal_distance(task_id: str, states: np.ndarray, goals: np.ndarray) -> np.ndarray:
    """Normalised goal distance ``[...]`` of observed ``states [..., S]`` to ``goals
    [..., S]``; the task's success predicate is ``distance <= 1``."""
    if task_id not in GOAL_DISTANCE:
        raise ValueError(
            f"no observed-state goal distance for {task_id!r}; goal tasks: {sorted(GOAL_DISTANCE)}"
        )
    return GOAL_DISTANCE[task_id](np.asarray(states, np.float64), np.asarray(goals, np.float64))
