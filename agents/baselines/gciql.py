"""GCIQL: goal-conditioned implicit Q-learning (offline), with hindsight goals.

    reward r = 0 and mask m = 0 if o_t is the goal, else r = -1, m = 1
    for each step:
        sample (o_t, a_t, o_{t+1}) and goals: 20% g = o_t, 50% a later o_{t'} of
            the same episode (t' - t ~ Geometric(1 - discount)), 30% any observation
        value:  L_V = E[ |tau - 1(Q' - V < 0)| (Q' - V)^2 ],  Q' = min target Q(o_t, a_t, g)
        critic: L_Q = E[ (r + discount * m * V(o_{t+1}, g) - Q_i(o_t, a_t, g))^2 ], i = 1, 2
        actor (AWR; its goals: later steps of the same episode):
                L_pi = E[ exp(beta (Q - V)) clipped at 100 * || pi(o_t, g) - a_t ||^2 ]
        one Adam step on L_V + L_Q + L_pi; target Q <- Polyak(Q, rate)

Reference: Kostrikov et al. 2021 (IQL), OGBench's GCIQL (its goal mixture and
defaults). Gradients stay within each loss's own network: every cross term is
detached, so one optimiser over all parameters is exactly three separate ones.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from wmplan.agents.baselines.nets import GoalActor, GoalEncoder, mlp
from wmplan.agents.baselines.relabel import GoalSampling


@dataclass(frozen=True)
class GCIQLConfig:
    """GCIQL's own settings (OGBench defaults)."""

    expectile: float = 0.9
    beta: float = 3.0  # AWR inverse temperature
    discount: float = 0.99
    target_rate: float = 0.005
    p_current: float = 0.2
    p_traj: float = 0.5
    p_random: float = 0.3

    def __post_init__(self) -> None:
        if not 0.5 <= self.expectile < 1.0:
            raise ValueError(f"expectile must be in [0.5, 1), got {self.expectile}")
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if not 0.0 < self.target_rate <= 1.0:
            raise ValueError(f"target_rate must be in (0, 1], got {self.target_rate}")
        self.goals()  # validates the mixture

    def goals(self) -> GoalSampling:
        """Goals of the value and critic losses."""
        return GoalSampling(self.p_traj, self.p_current, self.p_random, True, self.discount)


class _Critic(nn.Module):
    """Two Q heads ``(obs, goal, action) -> [2, B]`` over one encoder."""

    def __init__(self, encoder: GoalEncoder, action_dim: int, hidden: tuple):
        super().__init__()
        self.encoder = encoder
        self.q = nn.ModuleList(mlp(encoder.out_dim + action_dim, hidden, 1) for _ in range(2))

    def forward(self, obs: Tensor, goal: Tensor, action: Tensor) -> Tensor:
        x = torch.cat([self.encoder(obs, goal), action], -1)
        return torch.stack([q(x).squeeze(-1) for q in self.q])


class _Value(nn.Module):
    def __init__(self, encoder: GoalEncoder, hidden: tuple):
        super().__init__()
        self.encoder = encoder
        self.v = mlp(encoder.out_dim, hidden, 1)

    def forward(self, obs: Tensor, goal: Tensor) -> Tensor:
        return self.v(self.encoder(obs, goal)).squeeze(-1)


class GCIQL(nn.Module):
    """The learner: value, twin critic (+ target) and actor, each with its own encoder."""

    needs_next = True

    def __init__(self, cfg: GCIQLConfig, make_encoder, action_dim: int, hidden: tuple):
        super().__init__()
        self.cfg = cfg
        self.goals = cfg.goals()
        self.actor_goals = GoalSampling(p_traj=1.0, geometric=True, discount=cfg.discount)
        self.actor = GoalActor(make_encoder(), action_dim, hidden)
        self.value = _Value(make_encoder(), hidden)
        self.critic = _Critic(make_encoder(), action_dim, hidden)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)

    def loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Any]]:
        """``batch``: obs, next_obs, goal, reached (value/critic goals), actor_goal,
        actions. Observations ``[B, ...]``, actions ``[B, A]``, reached bool ``[B]``."""
        c = self.cfg
        obs, act, goal = batch["obs"], batch["actions"], batch["goal"]
        reached = batch["reached"].float()
        reward, mask = reached - 1.0, 1.0 - reached
        with torch.no_grad():
            q_target = self.target_critic(obs, goal, act).min(0).values
            next_v = self.value(batch["next_obs"], goal)
        v = self.value(obs, goal)
        diff = q_target - v
        weight = torch.abs(c.expectile - (diff < 0).float())
        value_loss = (weight * diff.pow(2)).mean()
        q = self.critic(obs, goal, act)
        critic_loss = (reward + c.discount * mask * next_v - q).pow(2).mean()

        a_goal = batch["actor_goal"]
        with torch.no_grad():
            adv = self.critic(obs, a_goal, act).min(0).values - self.value(obs, a_goal)
            awr = torch.exp(c.beta * adv).clamp(max=100.0)
        pred = self.actor(obs, a_goal)
        actor_loss = (awr * (pred - act).pow(2).sum(-1)).mean()
        loss = value_loss + critic_loss + actor_loss
        metrics = {"loss": loss, "value_loss": value_loss, "critic_loss": critic_loss,
                   "actor_loss": actor_loss, "v_mean": v.mean(), "adv_mean": adv.mean()}  # fmt: skip
        return loss, {k: float(m.detach()) for k, m in metrics.items()}

    @torch.no_grad()
    def after_step(self) -> None:
        """Polyak-average the target critic towards the critic."""
        for p, tp in zip(self.critic.parameters(), self.target_critic.parameters(), strict=True):
            tp.lerp_(p, self.cfg.target_rate)
