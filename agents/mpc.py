"""Model-predictive control: plan over a horizon, execute the first actions, replan.

``RecedingHorizon`` is the loop every MPC agent shares (planner call, warm start
by shifting the previous plan, a queue of env actions between replans).
``MPCAgent`` plugs a world model into it: encode the goal image once, encode
each observation, roll candidate action blocks out in latent space and score
them by latent distance to the goal.

Shapes: the planner sees ``actions[B, N, H, k*A]`` (H blocks of k env steps,
flattened step-major); the model returns ``z[B, N, H, D]``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from wmplan.agents.costs import LatentGoalCost
from wmplan.planners import PlanInfo, make_planner, shift
from wmplan.worldmodel.configs import check_ints


class LatentModel(Protocol):
    """What MPC needs of a world model."""

    action_dim: int  # A, per env step
    action_block: int  # k env steps per model step
    history: int  # latents the predictor looks back on

    def encode(self, pixels: np.ndarray) -> Tensor:
        """uint8 ``[B, T, H, W, 3]`` -> ``z[B, T, D]``."""

    def rollout(self, z_hist: Tensor, actions: Tensor) -> Tensor:
        """``z_hist[B, T, D]``, ``actions[B, N, H, k*A]`` -> ``z[B, N, H, D]``."""


@dataclass(frozen=True)
class MPCConfig:
    """Receding-horizon settings: ``horizon`` blocks of ``action_block`` env steps,
    replanning every ``replan_every`` env steps (1 .. ``horizon * action_block``).

    A ``replan_every`` that is not a multiple of ``action_block`` replans inside a
    block: the warm start then moves on by env steps, not whole blocks."""

    horizon: int = 5
    action_block: int = 5
    replan_every: int = 5

    def __post_init__(self) -> None:
        check_ints(self, ("horizon", "action_block", "replan_every"))
        if self.replan_every > self.horizon * self.action_block:
            raise ValueError(
                f"replan_every must be <= horizon * action_block = "
                f"{self.horizon * self.action_block}, got {self.replan_every}"
            )


class RecedingHorizon:
    """Plans ``[1, H, k*A]`` action blocks with a planner, hands out env actions
    ``[A]`` one at a time, replans every ``replan_every`` steps from the previous
    plan shifted forward (and, for iCEM, its shifted elites)."""

    def __init__(
        self,
        planner: str,
        planner_config: Any,
        action_dim: int,
        config: MPCConfig,
        seed: int,
        low: float = -1.0,
        high: float = 1.0,
        device: str | torch.device = "cpu",
    ):
        self.planner = make_planner(planner, planner_config)
        self.config = config
        self.action_dim = action_dim
        self.low, self.high = low, high
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(int(seed))
        self.plan_info: PlanInfo | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the plan: the next ``act`` plans from a zero mean."""
        c = self.config
        self.mean = torch.zeros(1, c.horizon, c.action_block * self.action_dim, device=self.device)
        self._elites: Tensor | None = None
        self._queue: deque[np.ndarray] = deque()
        self.plan_info = None

    @property
    def needs_plan(self) -> bool:
        """True when the queued actions are used up."""
        return not self._queue

    def plan(self, cost_fn) -> None:
        """Run the planner with ``cost_fn(actions[1, N, H, k*A]) -> [1, N]`` and queue
        the first ``replan_every`` env actions of the result."""
        c = self.config
        elites = self._elites if self.planner.keeps_elites else None
        actions, info = self.planner(
            cost_fn, self.mean, self.low, self.high, generator=self.generator, elites=elites
        )
        self.plan_info = info
        n = c.replan_every
        steps = actions[0].reshape(c.horizon * c.action_block, self.action_dim)[:n]
        self._queue.extend(steps.detach().cpu().numpy().astype(np.float32))
        self.mean = self._shift(actions.detach())
        if info.elites is not None:
            self._elites = self._shift(info.elites)

    def _shift(self, plan: Tensor) -> Tensor:
        """Move ``plan[..., H, k*A]`` on by the ``replan_every`` executed env steps:
        whole blocks when it is a multiple of k, else env steps (the freed tail
        repeats the last env action)."""
        c = self.config
        k, n = c.action_block, c.replan_every
        if n % k == 0:
            return shift(plan, n // k)
        lead = plan.shape[:-2]
        flat = plan.reshape(*lead, c.horizon * k, self.action_dim)
        return shift(flat, n).reshape(plan.shape)

    def next_action(self) -> np.ndarray:
        """The next queued env action ``[A]``."""
        return self._queue.popleft()


class MPCAgent:
    """World-model MPC towards a goal image (``reset(obs, goal)`` / ``act(obs)``).

    The cost of a candidate is the distance of its predicted embeddings to the goal
    image's embedding (``LatentGoalCost``: latent distance, or the model's learned
    temporal distance when it has a reach head). Observations are encoded as
    they arrive; the predictor gets the last ``model.history`` latents one action
    block apart (repeating the first while the episode is younger than that).
    """

    def __init__(
        self,
        model: LatentModel,
        planner: str = "cem",
        planner_config: Any = None,
        seed: int = 0,
        cost: LatentGoalCost | None = None,
        horizon: int = 5,
        replan_every: int | None = None,
        device: str | torch.device = "cpu",
    ):
        self.model = model
        k = model.action_block
        self.config = MPCConfig(horizon, k, replan_every or k)
        self.cost = cost or LatentGoalCost()
        self.loop = RecedingHorizon(
            planner, planner_config, model.action_dim, self.config, seed, device=device
        )
        self._latents: deque[Tensor] = deque(maxlen=(model.history - 1) * k + 1)
        self._z_goal: Tensor | None = None

    @property
    def plan_info(self) -> PlanInfo | None:
        """The last planner call's ``PlanInfo`` (read by the benchmark harness)."""
        return self.loop.plan_info

    def reset(self, obs: dict, goal: dict | None, env: Any = None) -> None:
        del env
        if goal is None or "goal_pixels" not in goal:
            raise ValueError("MPCAgent plans towards a goal image: goal['goal_pixels'] is needed")
        self._z_goal = self.model.encode(goal["goal_pixels"][None, None])[:, 0]  # [1, D]
        self._latents.clear()
        self.loop.reset()

    def _history(self) -> Tensor:
        """``z_hist[1, T, D]``: the last ``history`` latents, ``k`` env steps apart."""
        k, t = self.config.action_block, self.model.history
        latents = list(self._latents)
        picked = [latents[max(len(latents) - 1 - i * k, 0)] for i in reversed(range(t))]
        return torch.stack(picked, dim=1)

    def act(self, obs: dict) -> np.ndarray:
        if self._z_goal is None:
            raise RuntimeError("call reset(obs, goal) before act(obs)")
        self._latents.append(self.model.encode(obs["pixels"][None, None])[:, 0])
        if self.loop.needs_plan:
            z_hist, z_goal = self._history(), self._z_goal

            reach = getattr(self.model, "reach", None)

            def cost_fn(actions: Tensor) -> Tensor:
                return self.cost(self.model.rollout(z_hist, actions), z_goal, reach)

            self.loop.plan(cost_fn)
        return self.loop.next_action()
