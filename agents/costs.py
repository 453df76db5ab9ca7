"""Planning cost: latent (or learned temporal) distance to a goal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

METRICS = ("auto", "latent", "reach")
MODES = ("final", "all", "min")


@dataclass(frozen=True)
class LatentGoalCost:
    """Distance of predicted latents to the goal embedding, per step, then weighted over
    the horizon.

    ``metric``: 'latent' is the squared latent distance ``||z - z_goal||^2``;
    'reach' is the model's learned temporal distance to the goal in env steps
    (``wmplan.worldmodel.reach``) plus ``latent_weight`` x the squared latent distance
    (which sharpens the last centimetres, where the reach head is coarse); 'auto' is
    'reach' when the model has a reach head, else 'latent'.

    ``mode='all'`` (default) averages every step with weight ``discount**(H-1-h)``:
    the last step counts most, and arriving early is rewarded, which a receding
    horizon needs (with ``mode='final'``, LeWM's cost, every replan is content to
    arrive at the end of its horizon, which keeps moving away). ``mode='min'`` is the
    closest predicted approach, ``min_h d_h``: the protocol counts a success at any
    step, so a plan that passes through the goal is as good as one that stays.

    ``__call__(z[B, N, H, D], z_goal[B, D], reach=None) -> costs[B, N]``.
    """

    mode: str = "all"
    discount: float = 0.5
    metric: str = "auto"
    latent_weight: float = 0.1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0.0 < self.discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {self.discount}")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        if not (isinstance(self.latent_weight, (int, float)) and self.latent_weight >= 0):
            raise ValueError(f"latent_weight must be a number >= 0, got {self.latent_weight!r}")

    def __call__(self, z: Tensor, z_goal: Tensor, reach: Callable | None = None) -> Tensor:
        if z.dim() != 4 or z_goal.dim() != 2 or z.shape[-1] != z_goal.shape[-1]:
            raise ValueError(
                f"expected z[B, N, H, D] and z_goal[B, D], got {tuple(z.shape)} and "
                f"{tuple(z_goal.shape)}"
            )
        goal = z_goal[:, None, None, :]
        d = (z - goal).square().sum(-1)  # [B, N, H]
        if self.metric == "reach" and reach is None:
            raise ValueError(
                "cost metric 'reach' needs a world model with a reach head: train one with "
                "`wmplan train-reach CHECKPOINT --data DATA`, or use metric 'latent'"
            )
        if reach is not None and self.metric != "latent":
            d = reach(z, goal) + self.latent_weight * d
        if self.mode == "final":
            return d[..., -1]
        if self.mode == "min":
            return d.min(-1).values
        h = d.shape[-1]
        w = self.discount ** torch.arange(h - 1, -1, -1, device=d.device, dtype=d.dtype)
        return (d * w).sum(-1) / w.sum()
