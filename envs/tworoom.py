"""``wmplan/TwoRoom-v0``: move a point mass to a goal position, possibly in the other room.

A point mass (``tworoom.xml`` beside this file) in a 2 x 2 arena split by a wall
at x = 0 with one door (|y| < 0.25). Slide joints with strong damping make the
force action behave like a velocity command (top speed about 1 unit/s).

| | |
|---|---|
| Action space | ``Box(-1, 1, (2,), float32)``: force along x and y (gear 4, damping 4) |
| Observation | ``pixels`` uint8 [H, W, 3] top-down camera ``top``; ``state`` float32 [4]: x, y, vx, vy; ``goal_pixels``, ``goal_state`` alike |
| Reward | 1.0 when successful, else 0.0 |
| Start state | uniform in either room, at least 0.15 from the middle wall, zero velocity |
| Goal | the state the door-aware expert reaches ``goal_offset`` (25) env steps from the start |
| Success | agent centre within 0.1 of the goal position (agent radius 0.08) |
| Episode end | never terminates (unless ``terminate_on_success``); truncated at ``max_episode_steps`` (200) |

One env step is 5 physics steps of 0.01 s (times ``action_repeat``).
"""

from __future__ import annotations

import numpy as np

from wmplan.envs.base import GoalTask

DOOR_HALF_WIDTH = 0.25
AGENT_RADIUS = 0.08
LIMIT = 0.9  # keep starts and targets off the outer walls


class TwoRoomExpert:
    """Goes to random targets in the whole arena, through the door when the target
    is in the other room; a new target when reached or after ``hold`` steps."""

    def __init__(self, rng: np.random.Generator, noise: float = 0.0, hold: int = 40):
        self.rng, self.noise, self.hold = rng, float(noise), int(hold)
        self._t = 0
        self._target = np.zeros(2)
        self._door_y = 0.0

    def reset(self, env: TwoRoom) -> None:
        del env
        self._t = 0
        self._new_target()

    def _new_target(self) -> None:
        self._target = self.rng.uniform(-LIMIT, LIMIT, 2)
        self._door_y = self.rng.uniform(-0.1, 0.1)

    def act(self, env: TwoRoom) -> np.ndarray:
        pos = env.data.qpos[:2].copy()
        if self._t >= self.hold or np.linalg.norm(self._target - pos) < 0.05:
            self._new_target()
            self._t = 0
        self._t += 1
        waypoint = self._target
        other_room = np.sign(pos[0]) != np.sign(self._target[0])
        if other_room and abs(pos[0]) > 0.05:
            # Approach the door square-on first, then pass through it.
            if abs(pos[1] - self._door_y) > 0.08:
                waypoint = np.array([np.sign(pos[0]) * 0.2, self._door_y])
            else:
                waypoint = np.array([-np.sign(pos[0]) * 0.2, self._door_y])
        action = 4.0 * (waypoint - pos)
        if self.noise > 0:
            action = action + self.noise * self.rng.standard_normal(2)
        return np.clip(action, -1.0, 1.0).astype(np.float32)


class TwoRoom(GoalTask):
    """Point mass in two rooms joined by one door; goal is a position image."""

    task_id = "wmplan/TwoRoom-v0"
    xml_file = "tworoom.xml"
    cameras = ("top",)
    frame_skip = 5
    success_threshold = 0.1
    state_dim = 4
    success_text = "agent within 0.1 of the goal position"

    def sample_start(self, rng: np.random.Generator) -> None:
        side = rng.choice([-1.0, 1.0])
        self.data.qpos[0] = side * rng.uniform(0.15 + AGENT_RADIUS, LIMIT)
        self.data.qpos[1] = rng.uniform(-LIMIT, LIMIT)
        self.data.qvel[:] = 0.0

    def task_state(self) -> np.ndarray:
        return np.concatenate([self.data.qpos[:2], self.data.qvel[:2]]).astype(np.float32)

    def state_distance(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        pos = self.qpos_of(states)[..., :2]
        return np.linalg.norm(pos - self.qpos_of(goal)[:2], axis=-1)

    def expert(self, rng: np.random.Generator, noise: float = 0.0) -> TwoRoomExpert:
        return TwoRoomExpert(rng, noise)
