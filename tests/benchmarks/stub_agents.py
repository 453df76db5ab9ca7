"""A stand-in planning agent for harness tests (imported by spawned workers through
the ``python`` agent kind): random actions, and a PlanInfo-like record per plan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class StubPlanInfo:
    best_cost: np.ndarray  # [iterations]
    mean_cost: np.ndarray  # [iterations]


class StubPlanner:
    """Replans every ``replan`` steps; records a decreasing cost curve whose length is
    the planner's ``iterations``."""

    def __init__(self, env, seed, task_id, planner, planner_options, replan=5):
        self.rng = np.random.default_rng(seed)
        self.dim = env.action_space.shape[0]
        self.iterations = int(planner_options.get("iterations", 3))
        self.replan = replan
        self.plan_info = None
        self.t = 0

    def reset(self, obs, goal, env=None):
        assert env is not None, "privileged agents get the unwrapped env"
        assert goal is not None and goal["goal_pixels"].shape == obs["pixels"].shape
        self.t = 0

    def act(self, obs):
        if self.t % self.replan == 0:
            best = 1.0 / np.arange(1, self.iterations + 1)
            self.plan_info = StubPlanInfo(best, best + 0.5)
        self.t += 1
        return self.rng.uniform(-1, 1, self.dim).astype(np.float32)


def broken_agent(env, seed, task_id, **options):
    """An agent factory that fails the way a missing model file would."""
    raise FileNotFoundError(f"weights for {task_id} not found in /nowhere")


class ThreadProbe:
    """Random actions; fails unless the worker capped torch at ``threads`` threads."""

    def __init__(self, env, seed, task_id, threads=1):
        import torch

        got = torch.get_num_threads()
        if got != threads:
            raise AssertionError(f"worker runs {got} torch threads, expected {threads}")
        self.rng = np.random.default_rng(seed)
        self.dim = env.action_space.shape[0]

    def reset(self, obs, goal, env=None):
        pass

    def act(self, obs):
        return self.rng.uniform(-1, 1, self.dim).astype(np.float32)
