"""A trained world-model checkpoint, as the MPC agent sees it.

    wm = WorldModel.load("runs/reacher")
    z = wm.encode(pixels)                 # uint8 [B, T, H, W, 3] -> z[B, T, D]
    z_roll = wm.rollout(z, actions)       # [B, T, D], [B, N, H, k*A] -> [B, N, H, D]
    wm.reach                              # ReachHead (z_a, z_b) -> env steps, or None
    wm.planning                           # MPC options it was validated with (planning.json)

The weights are frozen (``requires_grad=False``) and the model is in eval
mode, but ``rollout`` keeps autograd on so gradient planners can differentiate
the rollout with respect to the actions. Loading is safetensors + JSON only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from wmplan.worldmodel.checkpoint import CheckpointError, _read_json, load_model, resolve
from wmplan.worldmodel.reach import ReachHead, load_reach


class WorldModel:
    """Frozen world model with the planner-facing verbs ``encode`` and ``rollout``."""

    def __init__(
        self,
        model: torch.nn.Module,
        config: dict[str, Any] | None = None,
        reach: ReachHead | None = None,
        planning: dict[str, Any] | None = None,
    ):
        self.model = model.eval().requires_grad_(False)
        self.checkpoint_config = config or {}
        # Learned temporal distance between latents (``reach.py``), if the checkpoint has one.
        self.reach = reach
        # MPC settings this model was validated with (``planning.json``): agent options
        # that apply unless the agent spec sets them.
        self.planning = dict(planning or {})
        c = model.config
        self.image_size: int = c.image_size
        self.action_dim: int = c.action_dim  # A, per env step
        self.action_block: int = c.action_block  # k env steps per rollout step
        self.action_block_dim: int = c.action_block_dim  # k*A
        self.latent_dim: int = c.latent_dim  # D
        self.history: int = c.history  # latents the predictor looks back on

    @classmethod
    def load(cls, path: str | Path) -> WorldModel:
        """From a checkpoint directory or a run directory (its newest checkpoint), with
        the reachability head stored beside the weights if there is one."""
        model, config = load_model(path)
        directory = resolve(path)
        reach = load_reach(directory, model.config.latent_dim)
        return cls(model, config, reach, read_planning(directory))

    @torch.no_grad()
    def encode(self, pixels: np.ndarray | Tensor) -> Tensor:
        """uint8 pixels ``[B, T, H, W, 3]`` (or ``[B, H, W, 3]``, read as T=1) -> ``z[B, T, D]``."""
        x = torch.as_tensor(pixels)
        if x.dim() == 4:
            x = x[:, None]
        if x.dtype != torch.uint8 or x.dim() != 5 or x.shape[-1] != 3:
            raise ValueError(
                f"pixels must be uint8 [B, T, H, W, 3], got {x.dtype} {tuple(x.shape)}"
            )
        if x.shape[2] != self.image_size or x.shape[3] != self.image_size:
            raise ValueError(
                f"this world model takes {self.image_size}x{self.image_size} frames, got "
                f"{x.shape[2]}x{x.shape[3]}; make the env with image_size={self.image_size}"
            )
        return self.model.encode(x)

    def rollout(self, z_hist: Tensor, actions: Tensor) -> Tensor:
        """``z_hist[B, T, D]``, ``actions[B, N, H, k*A]`` (blocks of k env actions, flattened
        step-major) -> predicted latents ``z[B, N, H, D]`` after each block."""
        if actions.shape[-1] != self.action_block_dim:
            raise ValueError(
                f"actions must have k*A = {self.action_block}*{self.action_dim} = "
                f"{self.action_block_dim} values per block, got {actions.shape[-1]}"
            )
        return self.model.rollout(z_hist, actions.to(z_hist.dtype))

    def __repr__(self) -> str:
        c = self.model.config
        return (f"WorldModel({c.kind}, {c.encoder} encoder, D={c.latent_dim}, "
                f"k={c.action_block}, A={c.action_dim}, history={c.history})")  # fmt: skip


PLANNING_FILE = "planning.json"
PLANNING_KEYS = ("horizon", "replan_every", "cost_mode", "cost_discount", "cost_metric",
                 "cost_latent_weight")  # fmt: skip


def read_planning(directory: str | Path) -> dict[str, Any]:
    """The MPC options stored in a checkpoint's ``planning.json`` ({} if it has none)."""
    path = Path(directory) / PLANNING_FILE
    if not path.exists():
        return {}
    planning = _read_json(path)
    if not isinstance(planning, dict) or set(planning) - set(PLANNING_KEYS):
        raise CheckpointError(
            f"{path}: expected a mapping with keys among {list(PLANNING_KEYS)}, got {planning!r}"
        )
    return planning
