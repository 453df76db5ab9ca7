"""Agents for the protocol tests (loaded through the ``python`` agent kind, so the
harness builds them exactly as it builds any user agent).

``SeededUniform`` plays ``numpy.random.default_rng(seed).uniform(-1, 1, A)`` per
step, a rule the test's hand-rolled loop replays without the harness, and records
what it was shown in ``SEEN`` (the harness runs jobs in this process in the tests).
"""

from __future__ import annotations

import numpy as np

SEEN: list[dict] = []


class SeededUniform:
    def __init__(self, env, seed, task_id):
        self.seed, self.task = seed, task_id
        self.dim = env.action_space.shape[0]
        self.rng = np.random.default_rng(seed)
        self.calls = 0

    def reset(self, obs, goal, env=None):
        SEEN.append(
            {
                "seed": self.seed,
                "state": obs["state"].copy(),
                "goal_state": goal["goal_state"].copy(),
                "goal_pixels": goal["goal_pixels"].copy(),
                "agent": self,
            }
        )

    def act(self, obs):
        self.calls += 1
        return self.rng.uniform(-1, 1, self.dim).astype(np.float32)
