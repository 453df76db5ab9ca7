"""Oracle MPC: the true MuJoCo simulator as the model — the upper bound every
learned world model is compared with, and a check that the planners work.

Each planner iteration copies the env's current full physics state into N
rollouts and runs them with ``mujoco.rollout`` (C, multi-threaded) instead of a
Python loop over ``mj_step``; candidates are scored by the task's own goal
distance on the true states (``env.planning_cost``), averaged over the env steps
of the horizon so that reaching the goal early and staying there is preferred.
"""

from __future__ import annotations

import os
from typing import Any

import mujoco
import numpy as np
import torch
from mujoco import rollout as mj_rollout
from torch import Tensor

from wmplan.agents.mpc import MPCConfig, RecedingHorizon


class SimulatorRollout:
    """Batched open-loop rollouts of a task's MuJoCo model from one state.

    ``__call__(state[P], actions[N, S, A]) -> states[N, S, P]``: the full physics
    state after each of S env steps (each ``n_substeps`` MuJoCo steps). The
    constraint solver's warm start is copied from the env too, so a rollout
    reproduces ``env.step`` exactly. The returned array is a view of a buffer
    reused by the next call.
    """

    def __init__(self, task: Any, nthread: int | None = None):
        self.task = task
        self.nthread = nthread if nthread is not None else min(2, os.cpu_count() or 1)
        model = task.model
        self._datas = [mujoco.MjData(model) for _ in range(max(self.nthread, 1))]
        self._pool = mj_rollout.Rollout(nthread=self.nthread if self.nthread > 1 else 0)
        self._out: np.ndarray | None = None

    def __call__(self, state: np.ndarray, actions: np.ndarray) -> np.ndarray:
        if self._pool is None:
            raise RuntimeError("SimulatorRollout is closed")
        n, s, _ = actions.shape
        sub = self.task.n_substeps
        ctrl = self.task.action_to_ctrl(actions)  # [N, S, nu]
        control = np.repeat(ctrl, sub, axis=1)  # [N, S*sub, nu]
        shape = (n, s * sub, state.size)
        if self._out is None or self._out.shape != shape:
            self._out = np.empty(shape)
        self._pool.rollout(
            self.task.model,
            self._datas,
            state[None],  # tiled over the N rollouts
            control,
            initial_warmstart=self.task.data.qacc_warmstart[None],
            state=self._out,
        )
        return self._out[:, sub - 1 :: sub]  # after each env step: [N, S, P]

    def close(self) -> None:
        """Stop the rollout thread pool (idempotent)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class OracleMPCAgent:
    """MPC with the true simulator as the model; needs the unwrapped env at ``reset``.

    ``horizon`` blocks of ``action_block`` env steps (default 5 x 5 = 25 steps, the
    LeWM evaluation setting), replanning every ``replan_every`` env steps.
    """

    def __init__(
        self,
        planner: str = "cem",
        planner_config: Any = None,
        seed: int = 0,
        horizon: int = 5,
        action_block: int = 5,
        replan_every: int | None = None,
        nthread: int | None = None,
    ):
        self.config = MPCConfig(horizon, action_block, replan_every or action_block)
        self._planner, self._planner_config, self._seed = planner, planner_config, seed
        self._nthread = nthread
        self.loop: RecedingHorizon | None = None
        self._sim: SimulatorRollout | None = None
        self._task: Any = None

    @property
    def plan_info(self):
        """The last planner call's ``PlanInfo`` (read by the benchmark harness)."""
        return None if self.loop is None else self.loop.plan_info

    def reset(self, obs: dict, goal: dict | None, env: Any = None) -> None:
        del obs, goal
        if env is None:
            raise ValueError("OracleMPCAgent needs the env at reset (it plans in the simulator)")
        task = getattr(env, "unwrapped", env)
        if not hasattr(task, "planning_cost"):
            raise ValueError(f"{type(task).__name__} has no goal to plan towards (goal tasks only)")
        if task is not self._task:
            if self._sim is not None:
                self._sim.close()
            self._task = task
            self._sim = SimulatorRollout(task, self._nthread)
            a = task.action_space.shape[0]
            self.loop = RecedingHorizon(
                self._planner, self._planner_config, a, self.config, self._seed
            )
        self.loop.reset()

    def act(self, obs: dict) -> np.ndarray:
        del obs
        if self.loop is None:
            raise RuntimeError("call reset(obs, goal, env) before act(obs)")
        if self.loop.needs_plan:
            task, sim = self._task, self._sim
            state, goal = task.get_state(), task.goal_physics_state
            a = task.action_space.shape[0]

            def cost_fn(actions: Tensor) -> Tensor:
                b, n, h, ka = actions.shape  # B = 1 env
                steps = actions.reshape(b * n, h * (ka // a), a).cpu().numpy().astype(np.float64)
                states = sim(state, steps)  # [N, S, P]
                cost = task.planning_cost(states, goal).mean(axis=-1)  # [N]
                return torch.as_tensor(cost, dtype=actions.dtype).reshape(b, n)

            self.loop.plan(cost_fn)
        return self.loop.next_action()

    def close(self) -> None:
        if self._sim is not None:
            self._sim.close()
            self._sim = None

    def __del__(self):
        self.close()
