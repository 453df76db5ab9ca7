"""``wmplan/Push-v0``: push a T-shaped block to a goal pose (as Push-T).

A velocity-controlled disc pusher and a T-shaped block on a table
(``push.xml`` beside this file). The block slides in the plane against joint
damping and dry friction standing for table friction, so it stops soon after
the pusher lets go.

| | |
|---|---|
| Action space | ``Box(-1, 1, (2,), float32)``: pusher velocity command, x and y (1 = 0.4 m/s) |
| Observation | ``pixels`` uint8 [H, W, 3] top-down camera ``top``; ``state`` float32 [10]: pusher x, y, block x, y, cos/sin yaw, pusher vx, vy, block vx, vy; ``goal_pixels``, ``goal_state`` alike |
| Reward | 1.0 when successful, else 0.0 |
| Start state | block uniform in [-0.15, 0.15]^2 with uniform yaw; pusher 0.15-0.22 from the block centre, zero velocity |
| Goal | the state the contact-seeking expert reaches ``goal_offset`` (25) env steps from the start |
| Success | block position within 0.025 and yaw within 0.2 rad of the goal pose; ``goal_distance`` = max(pos_err / 0.025, yaw_err / 0.2), success when <= 1 |
| Episode end | never terminates (unless ``terminate_on_success``); truncated at ``max_episode_steps`` (200) |

One env step is 5 physics steps of 0.01 s (times ``action_repeat``).
"""

from __future__ import annotations

import numpy as np

from wmplan.envs.base import GoalTask

POS_TOL, YAW_TOL = 0.025, 0.2
MAX_SPEED = 0.4
BLOCK_X, BLOCK_Y, BLOCK_YAW, PUSHER_X, PUSHER_Y = range(5)


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angle wrapped to [-pi, pi)."""
    return (a + np.pi) % (2 * np.pi) - np.pi


class PushExpert:
    """Contact-seeking pusher: picks a push direction and a contact offset on the
    block, moves to a point behind the block (going around it), then pushes through.
    A new push every ``hold`` steps."""

    def __init__(self, rng: np.random.Generator, noise: float = 0.0, hold: int = 30):
        self.rng, self.noise, self.hold = rng, float(noise), int(hold)
        self._t = 0
        self._dir = np.array([1.0, 0.0])
        self._offset = 0.0

    def reset(self, env: Push) -> None:
        self._t = 0
        # First push: from where the pusher is, through the block, so the block
        # moves within the first few steps.
        block = env.data.qpos[BLOCK_X : BLOCK_Y + 1]
        pusher = env.data.qpos[PUSHER_X : PUSHER_Y + 1]
        self._set_push(np.arctan2(*(block - pusher)[::-1]) + self.rng.uniform(-0.4, 0.4))

    def _set_push(self, angle: float) -> None:
        self._dir = np.array([np.cos(angle), np.sin(angle)])
        self._offset = self.rng.uniform(-0.06, 0.06)

    def _new_push(self, env: Push) -> None:
        block = env.data.qpos[BLOCK_X : BLOCK_Y + 1]
        # Later pushes go roughly towards the arena centre so the block stays on the table.
        to_centre = -block / (np.linalg.norm(block) + 1e-6)
        self._set_push(np.arctan2(to_centre[1], to_centre[0]) + self.rng.uniform(-1.2, 1.2))

    def act(self, env: Push) -> np.ndarray:
        if self._t >= self.hold:
            self._new_push(env)
            self._t = 0
        self._t += 1
        block = env.data.qpos[BLOCK_X : BLOCK_Y + 1]
        pusher = env.data.qpos[PUSHER_X : PUSHER_Y + 1]
        normal = np.array([-self._dir[1], self._dir[0]])
        contact = block + self._offset * normal
        rel = pusher - contact
        along, lateral = rel @ self._dir, rel @ normal
        if along > -0.03:
            # Beside or in front of the block: go around it, sideways first.
            side = np.sign(lateral) or 1.0
            waypoint = contact + side * 0.17 * normal - 0.16 * self._dir
        elif abs(lateral) > 0.03:
            # Behind it: line up with the contact point, keeping the distance.
            waypoint = contact + min(along, -0.12) * self._dir
        else:
            waypoint = pusher + 0.1 * self._dir
        velocity = 6.0 * (waypoint - pusher)
        action = velocity / MAX_SPEED
        if self.noise > 0:
            action = action + self.noise * self.rng.standard_normal(2)
        return np.clip(action, -1.0, 1.0).astype(np.float32)


class Push(GoalTask):
    """Planar pusher and T-shaped block; goal is an image of a block pose."""

    task_id = "wmplan/Push-v0"
    xml_file = "push.xml"
    cameras = ("top",)
    frame_skip = 5
    success_threshold = 1.0
    state_dim = 10
    success_text = f"block within {POS_TOL} and {YAW_TOL} rad of the goal pose"

    def sample_start(self, rng: np.random.Generator) -> None:
        qpos = self.data.qpos
        qpos[BLOCK_X : BLOCK_Y + 1] = rng.uniform(-0.15, 0.15, 2)
        qpos[BLOCK_YAW] = rng.uniform(-np.pi, np.pi)
        angle = rng.uniform(-np.pi, np.pi)
        radius = rng.uniform(0.15, 0.22)
        qpos[PUSHER_X : PUSHER_Y + 1] = qpos[BLOCK_X : BLOCK_Y + 1] + radius * np.array(
            [np.cos(angle), np.sin(angle)]
        )
        self.data.qvel[:] = 0.0

    def action_to_ctrl(self, actions: np.ndarray) -> np.ndarray:
        return MAX_SPEED * np.clip(actions, -1.0, 1.0)

    def task_state(self) -> np.ndarray:
        q, qd = self.data.qpos, self.data.qvel
        return np.array(
            [
                q[PUSHER_X], q[PUSHER_Y], q[BLOCK_X], q[BLOCK_Y],
                np.cos(q[BLOCK_YAW]), np.sin(q[BLOCK_YAW]),
                qd[PUSHER_X], qd[PUSHER_Y], qd[BLOCK_X], qd[BLOCK_Y],
            ],
            np.float32,
        )  # fmt: skip

    def state_distance(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        q, g = self.qpos_of(states), self.qpos_of(goal)
        pos_err = np.linalg.norm(q[..., BLOCK_X : BLOCK_Y + 1] - g[BLOCK_X : BLOCK_Y + 1], axis=-1)
        yaw_err = np.abs(wrap_angle(q[..., BLOCK_YAW] - g[BLOCK_YAW]))
        return np.maximum(pos_err / POS_TOL, yaw_err / YAW_TOL)

    def planning_cost(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        # Sum instead of max (smoother), plus a pull of the pusher towards the block:
        # candidates that never touch the block otherwise all cost the same.
        q, g = self.qpos_of(states), self.qpos_of(goal)
        pos_err = np.linalg.norm(q[..., BLOCK_X : BLOCK_Y + 1] - g[BLOCK_X : BLOCK_Y + 1], axis=-1)
        yaw_err = np.abs(wrap_angle(q[..., BLOCK_YAW] - g[BLOCK_YAW]))
        reach = np.linalg.norm(
            q[..., PUSHER_X : PUSHER_Y + 1] - q[..., BLOCK_X : BLOCK_Y + 1], axis=-1
        )
        return pos_err / POS_TOL + yaw_err / YAW_TOL + 0.2 * reach / POS_TOL

    def expert(self, rng: np.random.Generator, noise: float = 0.0) -> PushExpert:
        return PushExpert(rng, noise)
