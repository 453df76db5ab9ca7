"""GCBC: goal-conditioned behaviour cloning with hindsight goals (offline).

    for each step:
        sample transitions (o_t, a_t) and a goal g = o_{t'} with t < t' <= end of
            the same episode (hindsight relabelling, uniform over the future)
        loss = || pi(o_t, g) - a_t ||^2           # Gaussian log-likelihood, fixed std
        one Adam step on loss

Reference: Ghosh et al. 2019 (GCSL) / OGBench's GCBC. The training loop (resume,
checkpoints, evaluation) is ``offline.py``'s, shared with GCIQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from wmplan.agents.baselines.nets import GoalActor, GoalEncoder
from wmplan.agents.baselines.relabel import GoalSampling


@dataclass(frozen=True)
class GCBCConfig:
    """GCBC's own settings (the shared ones are ``offline.OfflineConfig``'s)."""

    geometric_goals: bool = False  # uniform future goals (OGBench's actor default)
    goal_discount: float = 0.99  # geometric goals: t + Geometric(1 - discount) steps ahead

    def __post_init__(self) -> None:
        if not 0.0 < self.goal_discount < 1.0:
            raise ValueError(f"goal_discount must be in (0, 1), got {self.goal_discount}")

    def goals(self) -> GoalSampling:
        return GoalSampling(p_traj=1.0, geometric=self.geometric_goals,
                            discount=self.goal_discount)  # fmt: skip


class GCBC(nn.Module):
    """The learner: one actor; ``loss(batch)`` is the behaviour-cloning loss."""

    needs_next = False

    def __init__(self, cfg: GCBCConfig, encoder: GoalEncoder, action_dim: int, hidden: tuple):
        super().__init__()
        self.cfg = cfg
        self.goals = cfg.goals()
        self.actor = GoalActor(encoder, action_dim, hidden)

    def loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Any]]:
        """``batch``: obs, goal ``[B, ...]``, actions ``[B, A]``."""
        pred = self.actor(batch["obs"], batch["goal"])
        loss = (pred - batch["actions"]).pow(2).sum(-1).mean()
        return loss, {"loss": loss.item(), "bc_mse": loss.item() / pred.shape[-1]}

    def after_step(self) -> None:
        """Nothing to update between steps (GCIQL moves its target network here)."""
