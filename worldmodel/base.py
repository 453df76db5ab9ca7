"""What every world model shares: its config, the encoder + predictor it is built
from, the verbs planners call, and the loss terms both kinds compute alike.

    z = model.encode(frames)              # uint8 [B, T, H, W, 3] -> [B, T, D]
    z_next = model.next(z, a)             # [B, T, D], [B, T, kA] -> [B, T, D]
    z_roll = model.rollout(z_hist, acts)  # [B, T, D], [B, N, H, kA] -> [B, N, H, D]

``model.py`` (the JEPA) and ``recon.py`` (the pixel baseline) each subclass
``WorldModel`` once and add their own ``loss``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from wmplan.worldmodel.configs import check_ints
from wmplan.worldmodel.configs import from_dict as config_from_dict
from wmplan.worldmodel.encoder import KEYPOINT_LEVEL, Encoder, grid_side
from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.predictor import InverseDynamics, Predictor

MODEL_KINDS = ("jepa", "recon")
ENCODERS = ("cnn", "cnn_grid", "cnn_hybrid", "vit")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a world model. ``action_dim`` x ``action_block`` = predictor action input."""

    kind: str = "jepa"  # "jepa" (predict embeddings) or "recon" (predict pixels)
    image_size: int = 64
    action_dim: int = 2
    action_block: int = 5  # env steps per predictor step (k)
    latent_dim: int = 64
    encoder: str = "cnn"  # "cnn", "cnn_grid" (spatial: P cells x D/P), "cnn_hybrid" or "vit"
    grid_dim: int = 0  # cnn_hybrid: channels per cell (the pooled part gets the rest of D)
    keypoints: int = 0  # cnn: spatial-softmax keypoints beside the pooled features (0: none)
    cnn_channels: tuple[int, ...] = (16, 32, 64, 128)  # 2.6x cheaper than 32-64-128-128
    feat_dim: int = 512  # CNN feature width, or ViT token width
    vit_patch: int = 0  # 0: default (8 at 64 px, 14 at 224 px)
    vit_depth: int = 12
    vit_heads: int = 3
    projector_hidden: int = 512
    pred_width: int = 128
    pred_depth: int = 2
    pred_heads: int = 4
    pred_head_depth: int = 2
    pred_mlp_ratio: int = 2  # MLP hidden = ratio x pred_width (kept small: planning cost)
    history: int = 3
    inverse_dynamics: bool = False
    # Auxiliary pixel decoder on z (reconstruction term, ``LossConfig.recon_weight``):
    # keeps in the latent what prediction alone lets the encoder drop (Push's block yaw).
    aux_decoder: bool = False
    # Auxiliary state head: indices into the dataset's ``states`` vector that a linear head
    # regresses from z and from the predictor's outputs (``LossConfig.state_aux_weight``).
    # The simulator's state is a training label only: planning still sees pixels alone.
    state_aux: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.cnn_channels, list):
            object.__setattr__(self, "cnn_channels", tuple(self.cnn_channels))
        if isinstance(self.state_aux, list):
            object.__setattr__(self, "state_aux", tuple(self.state_aux))
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {MODEL_KINDS}, got {self.kind!r}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")
        check_ints(self, ("image_size", "action_dim", "action_block", "latent_dim", "feat_dim",
                          "projector_hidden", "pred_width", "pred_depth", "pred_heads", "history",
                          "pred_mlp_ratio", "vit_depth", "vit_heads"))  # fmt: skip
        if self.pred_head_depth < 0:
            raise ValueError(f"pred_head_depth must be >= 0, got {self.pred_head_depth}")
        if any(not isinstance(i, int) or isinstance(i, bool) or i < 0 for i in self.state_aux) or (
            len(set(self.state_aux)) != len(self.state_aux)
        ):
            raise ValueError(
                f"state_aux must be distinct state indices >= 0, got {list(self.state_aux)}"
            )
        if self.state_aux and self.kind != "jepa":
            raise ValueError("state_aux needs kind 'jepa' (the pixel model has no latent target)")
        if self.keypoints < 0 or (self.keypoints and self.encoder != "cnn"):
            raise ValueError(
                f"keypoints must be >= 0 and needs encoder 'cnn', got {self.keypoints} with "
                f"encoder {self.encoder!r}"
            )
        if self.keypoints and len(self.cnn_channels) <= KEYPOINT_LEVEL:
            raise ValueError(
                f"keypoints are read after {KEYPOINT_LEVEL} convs: cnn_channels needs more "
                f"than {KEYPOINT_LEVEL}, got {list(self.cnn_channels)}"
            )
        if self.vit_patch < 0:
            raise ValueError(f"vit_patch must be >= 0 (0 = default), got {self.vit_patch}")
        if not self.cnn_channels or any(c < 1 for c in self.cnn_channels):
            raise ValueError(f"cnn_channels must be positive widths, got {self.cnn_channels}")
        if self.pred_width % self.pred_heads:
            raise ValueError(
                f"pred_width {self.pred_width} must be divisible by pred_heads {self.pred_heads}"
            )
        if self.encoder == "cnn_grid":
            cells = grid_side(self.image_size, len(self.cnn_channels)) ** 2
            if self.latent_dim % cells:
                raise ValueError(
                    f"latent_dim {self.latent_dim} must be a multiple of the {cells} cells of "
                    f"the cnn_grid encoder's last map ({len(self.cnn_channels)} stride-2 convs "
                    f"of a {self.image_size} px image)"
                )
        if self.encoder == "cnn_hybrid":
            cells = grid_side(self.image_size, len(self.cnn_channels) - 1) ** 2
            if len(self.cnn_channels) < 2 or self.grid_dim < 1:
                raise ValueError("cnn_hybrid needs grid_dim >= 1 and at least 2 cnn_channels")
            if self.latent_dim <= cells * self.grid_dim:
                raise ValueError(
                    f"latent_dim {self.latent_dim} must exceed the {cells} cells x grid_dim "
                    f"{self.grid_dim} of the cnn_hybrid encoder (the rest is its pooled part)"
                )
        if self.encoder == "vit" and self.feat_dim % self.vit_heads:
            raise ValueError(
                f"feat_dim {self.feat_dim} must be divisible by vit_heads {self.vit_heads}"
            )

    @property
    def action_block_dim(self) -> int:
        """Width of one flattened action block, k*A."""
        return self.action_dim * self.action_block

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["cnn_channels"] = list(self.cnn_channels)
        d["state_aux"] = list(self.state_aux)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of ``to_dict``; also reads configs of older wmplan versions."""
        return config_from_dict(cls, drop_retired_fields(d), "model config")


def drop_retired_fields(d: dict[str, Any]) -> dict[str, Any]:
    """A model config dict without fields older wmplan versions wrote: ``reward_head``
    (a learned reward head nothing planned with) is dropped when false and refused
    when true."""
    if not isinstance(d, dict) or "reward_head" not in d:
        return d
    if d["reward_head"] is not False:
        raise ValueError(
            f"reward_head is {d['reward_head']!r}: models with a learned reward head are no "
            "longer supported (no planner scored with it); retrain without reward_head"
        )
    return {k: v for k, v in d.items() if k != "reward_head"}


class StateHead(nn.Module):
    """Linear map ``z[..., D] -> state[..., S]`` in units of the training data's state
    statistics (``mean``/``std`` buffers, set once from the data and saved with the weights)."""

    def __init__(self, latent_dim: int, state_dim: int):
        super().__init__()
        self.linear = nn.Linear(latent_dim, state_dim)
        self.register_buffer("mean", torch.zeros(state_dim))
        self.register_buffer("std", torch.ones(state_dim))

    def set_stats(self, mean: Tensor, std: Tensor) -> None:
        """The data's per-dimension ``mean[S]`` and ``std[S]`` (std floored at 1e-6)."""
        self.mean.copy_(torch.as_tensor(mean, dtype=self.mean.dtype))
        self.std.copy_(torch.as_tensor(std, dtype=self.std.dtype).clamp_min(1e-6))

    def forward(self, z: Tensor) -> Tensor:
        """``z[..., D]`` -> the state in its own units ``[..., S]``."""
        return self.linear(z) * self.std + self.mean

    def loss(self, z: Tensor, states: Tensor) -> Tensor:
        """MSE in standardised units of ``linear(z[..., D])`` against ``states[..., S]``."""
        return F.mse_loss(self.linear(z), (states - self.mean) / self.std)


@dataclass
class LossOutput:
    """Total loss (with grad) and detached scalar metrics for logging."""

    loss: Tensor
    metrics: dict[str, float] = field(default_factory=dict)


class WorldModel(nn.Module):
    """Encoder + action-conditioned predictor (+ the optional inverse-dynamics probe);
    subclasses add what they are trained to predict and their ``loss``."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.encoder = Encoder(
            c.encoder,
            c.image_size,
            c.latent_dim,
            feat_dim=c.feat_dim,
            cnn_channels=c.cnn_channels,
            vit_patch=c.vit_patch or None,
            vit_depth=c.vit_depth,
            vit_heads=c.vit_heads,
            projector_hidden=c.projector_hidden,
            grid_dim=c.grid_dim,
            keypoints=c.keypoints,
        )
        self.predictor = Predictor(
            c.latent_dim,
            c.action_block_dim,
            width=c.pred_width,
            depth=c.pred_depth,
            heads=c.pred_heads,
            head_depth=c.pred_head_depth,
            history=c.history,
            mlp_ratio=c.pred_mlp_ratio,
        )
        self.inverse = (
            InverseDynamics(c.latent_dim, c.action_block_dim) if c.inverse_dynamics else None
        )
        self.state_head = StateHead(c.latent_dim, len(c.state_aux)) if c.state_aux else None

    # --- verbs -----------------------------------------------------------------
    def encode(self, frames: Tensor) -> Tensor:
        """uint8 ``[B, T, H, W, 3]`` (or float ``[B, T, 3, H, W]`` in [0, 1]) -> ``z[B, T, D]``."""
        return self.encoder(frames)

    def next(self, z: Tensor, actions: Tensor) -> Tensor:
        """Teacher-forced one-step predictions: ``z[B, T, D], actions[B, T, kA] -> [B, T, D]``.

        Output t predicts the latent of frame t+1 after action block t.
        """
        return self.predictor(z, actions)

    def rollout(self, z_hist: Tensor, actions: Tensor) -> Tensor:
        """``z_hist[B, T, D], actions[B, N, H, kA] -> z[B, N, H, D]`` (open loop, batched)."""
        return self.predictor.rollout(z_hist, actions)

    def loss(
        self,
        frames: Tensor,
        actions: Tensor,
        cfg: LossConfig,
        generator: torch.Generator | None,
        states: Tensor | None = None,
    ) -> LossOutput:
        """Training losses on windows ``frames`` uint8 ``[B, T, H, W, 3]``, ``actions``
        ``[B, T, kA]`` (block t leads frame t to t+1; the last block is unused), and the
        dataset's ``states[B, T, S]`` at the frames for models with a state head."""
        raise NotImplementedError

    # --- loss terms both kinds share ---------------------------------------------
    def open_loop(self, z: Tensor, actions: Tensor, cfg: LossConfig) -> Tensor | None:
        """Open-loop rollout ``[B, T-h, D]`` from the first h = history latents of ``z[B, T, D]``
        (prediction i is of frame h+i), or None when unweighted or the window is too short."""
        h, t = self.config.history, z.shape[1]
        if cfg.open_loop_weight <= 0 or t <= h + 1:
            return None
        return self.rollout(z[:, :h], actions[:, None, h - 1 : t - 1])[:, 0]

    @staticmethod
    def finish(total: Tensor, metrics: dict[str, float], z: Tensor) -> LossOutput:
        """The loss output: ``metrics`` plus the latents' mean per-dimension std and the total."""
        with torch.no_grad():
            metrics["z_std"] = z.reshape(-1, z.shape[-1]).std(dim=0).mean().item()
        metrics["loss"] = total.item()
        return LossOutput(total, metrics)
