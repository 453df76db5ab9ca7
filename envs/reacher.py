"""``wmplan/Reacher-v0``: reach a goal arm pose shown as an image.

dm_control's two-link planar reacher (``reacher.xml`` beside this file) without
the target sphere: the goal is an image of the arm in the goal pose, and a
static target would only distract a world model's embedding.

| | |
|---|---|
| Action space | ``Box(-1, 1, (2,), float32)``: shoulder and wrist torques (motor gear 0.05) |
| Observation | ``pixels`` uint8 [H, W, 3] top-down camera ``fixed``; ``state`` float32 [6]: cos/sin of both joint angles, both joint velocities; ``goal_pixels``, ``goal_state`` alike |
| Reward | 1.0 when successful, else 0.0 (the protocol scores success, not return) |
| Start state | shoulder uniform in [-pi, pi], wrist uniform in [-160, 160] deg, zero velocity |
| Goal | the state the expert reaches ``goal_offset`` (25) env steps from the start |
| Success | fingertip within 0.02 of the goal pose's fingertip (arm reach 0.24) |
| Episode end | never terminates (unless ``terminate_on_success``); truncated at ``max_episode_steps`` (200) |

One env step is one control step of 0.02 s (times ``action_repeat``).
"""

from __future__ import annotations

import numpy as np

from wmplan.envs.base import GoalTask

LINK1, LINK2 = 0.12, 0.12  # shoulder -> wrist, wrist -> fingertip
WRIST_LIMIT = np.deg2rad(160.0)


def fingertip(qpos: np.ndarray) -> np.ndarray:
    """Fingertip position ``[..., 2]`` from joint angles ``[..., 2]`` (planar kinematics)."""
    q1, q2 = qpos[..., 0], qpos[..., 0] + qpos[..., 1]
    x = LINK1 * np.cos(q1) + LINK2 * np.cos(q2)
    y = LINK1 * np.sin(q1) + LINK2 * np.sin(q2)
    return np.stack([x, y], axis=-1)


class ReacherExpert:
    """Joint-space PD controller towards random target poses, retargeted every
    ``hold`` steps, plus Gaussian action noise."""

    def __init__(self, rng: np.random.Generator, noise: float = 0.0, hold: int = 25):
        self.rng, self.noise, self.hold = rng, float(noise), int(hold)
        self._t = 0
        self._target = np.zeros(2)

    def reset(self, env: Reacher) -> None:
        del env
        self._t = 0

    def act(self, env: Reacher) -> np.ndarray:
        if self._t % self.hold == 0:
            self._target = np.array(
                [self.rng.uniform(-np.pi, np.pi), self.rng.uniform(-0.85, 0.85) * WRIST_LIMIT]
            )
        self._t += 1
        q, qd = env.data.qpos[:2], env.data.qvel[:2]
        err = self._target - q
        err[0] = (err[0] + np.pi) % (2 * np.pi) - np.pi  # the shoulder wraps around
        action = 2.0 * err - 0.3 * qd
        if self.noise > 0:
            action = action + self.noise * self.rng.standard_normal(2)
        return np.clip(action, -1.0, 1.0).astype(np.float32)


class Reacher(GoalTask):
    """Two-link planar reacher; goal is an image of a target arm pose."""

    task_id = "wmplan/Reacher-v0"
    xml_file = "reacher.xml"
    cameras = ("fixed",)
    frame_skip = 1
    success_threshold = 0.02
    state_dim = 6
    success_text = "fingertip within 0.02 of the goal fingertip"

    def sample_start(self, rng: np.random.Generator) -> None:
        self.data.qpos[0] = rng.uniform(-np.pi, np.pi)
        self.data.qpos[1] = rng.uniform(-WRIST_LIMIT, WRIST_LIMIT)
        self.data.qvel[:] = 0.0

    def task_state(self) -> np.ndarray:
        q, qd = self.data.qpos, self.data.qvel
        return np.array(
            [np.cos(q[0]), np.sin(q[0]), np.cos(q[1]), np.sin(q[1]), qd[0], qd[1]], np.float32
        )

    def state_distance(self, states: np.ndarray, goal: np.ndarray) -> np.ndarray:
        tips = fingertip(self.qpos_of(states))
        goal_tip = fingertip(self.qpos_of(goal))
        return np.linalg.norm(tips - goal_tip, axis=-1)

    def expert(self, rng: np.random.Generator, noise: float = 0.0) -> ReacherExpert:
        return ReacherExpert(rng, noise)
