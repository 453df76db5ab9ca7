"""JEPA world model: encoder + action-conditioned predictor, trained to predict
the *embedding* of the next frame (LeWM recipe: next-embedding MSE + SIGReg).

Verbs (TD-MPC2 style):

    z = model.encode(frames)              # uint8 [B, T, H, W, 3] -> [B, T, D]
    z_next = model.next(z, a)             # [B, T, D], [B, T, kA] -> [B, T, D]
    z_roll = model.rollout(z_hist, acts)  # [B, T, D], [B, N, H, kA] -> [B, N, H, D]
    out = model.loss(frames, actions, loss_config, generator)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from wmplan.worldmodel.decoder import Decoder
from wmplan.worldmodel.encoder import Encoder, frames_to_float
from wmplan.worldmodel.losses import (
    LossConfig,
    open_loop_mse,
    teacher_forced_mse,
    vicreg_covariance,
    vicreg_variance,
)
from wmplan.worldmodel.predictor import InverseDynamics, Predictor, RewardHead
from wmplan.worldmodel.sigreg import sigreg

MODEL_KINDS = ("jepa", "recon")
AUX_DECODER_CHANNELS = (32, 32, 16, 8)  # ~ the encoder's cost per decoded frame
AUX_DECODE_EVERY = 3  # decode frames 0, 3, 6, ... of a window: the encoder is shared


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a world model. ``action_dim`` x ``action_block`` = predictor action input."""

    kind: str = "jepa"  # "jepa" (predict embeddings) or "recon" (predict pixels)
    image_size: int = 64
    action_dim: int = 2
    action_block: int = 5  # env steps per predictor step (k)
    latent_dim: int = 64
    encoder: str = "cnn"  # "cnn" or "vit"
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
    reward_head: bool = False
    inverse_dynamics: bool = False
    # Auxiliary pixel decoder on z (reconstruction term, ``LossConfig.recon_weight``):
    # keeps in the latent what prediction alone lets the encoder drop (Push's block yaw).
    aux_decoder: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.cnn_channels, list):
            object.__setattr__(self, "cnn_channels", tuple(self.cnn_channels))
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {MODEL_KINDS}, got {self.kind!r}")
        if self.encoder not in ("cnn", "vit"):
            raise ValueError(f"encoder must be 'cnn' or 'vit', got {self.encoder!r}")
        for name in (
            "image_size", "action_dim", "action_block", "latent_dim", "feat_dim",
            "projector_hidden", "pred_width", "pred_depth", "pred_heads", "history", "pred_mlp_ratio",
            "vit_depth", "vit_heads",
        ):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.pred_head_depth < 0:
            raise ValueError(f"pred_head_depth must be >= 0, got {self.pred_head_depth}")
        if self.vit_patch < 0:
            raise ValueError(f"vit_patch must be >= 0 (0 = default), got {self.vit_patch}")
        if not self.cnn_channels or any(c < 1 for c in self.cnn_channels):
            raise ValueError(f"cnn_channels must be positive widths, got {self.cnn_channels}")
        if self.pred_width % self.pred_heads:
            raise ValueError(
                f"pred_width {self.pred_width} must be divisible by pred_heads {self.pred_heads}"
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
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(
                f"unknown model config fields {sorted(unknown)}; valid: {sorted(known)}"
            )
        return cls(**d)


@dataclass
class LossOutput:
    """Total loss (with grad) and detached scalar metrics for logging."""

    loss: Tensor
    metrics: dict[str, float] = field(default_factory=dict)


class JEPAWorldModel(nn.Module):
    """Encoder + predictor trained end-to-end on next-embedding prediction."""

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
        self.reward = RewardHead(c.latent_dim, c.action_block_dim) if c.reward_head else None
        self.inverse = (
            InverseDynamics(c.latent_dim, c.action_block_dim) if c.inverse_dynamics else None
        )
        self.decoder = (
            Decoder(c.latent_dim, c.image_size, AUX_DECODER_CHANNELS) if c.aux_decoder else None
        )

    # --- verbs -----------------------------------------------------------------
    def encode(self, frames: Tensor) -> Tensor:
        """uint8 ``[B, T, H, W, 3]`` (or float ``[B, T, 3, H, W]`` in [0, 1]) -> ``z[B, T, D]``."""
        return self.encoder(frames)

    def next(self, z: Tensor, actions: Tensor) -> Tensor:
        """Teacher-forced one-step predictions: ``z[B, T, D], actions[B, T, kA] -> [B, T, D]``.

        Output t predicts the latent of frame t+1 after action block t.
        """
        return self.predictor(z, actions)

    predict = next

    def rollout(self, z_hist: Tensor, actions: Tensor) -> Tensor:
        """``z_hist[B, T, D], actions[B, N, H, kA] -> z[B, N, H, D]`` (open loop, batched)."""
        return self.predictor.rollout(z_hist, actions)

    # --- training --------------------------------------------------------------
    def loss(
        self,
        frames: Tensor,
        actions: Tensor,
        cfg: LossConfig,
        generator: torch.Generator | None = None,
        rewards: Tensor | None = None,
    ) -> LossOutput:
        """JEPA losses on a batch of windows.

        ``frames``: ``[B, T, H, W, 3]`` uint8; ``actions``: ``[B, T, kA]`` where
        block t leads frame t to t+1 (the last block is unused);
        ``rewards``: optional ``[B, T]`` (reward of block t) for the reward head.
        ``generator`` seeds SIGReg's random directions.
        """
        z = self.encode(frames)  # [B, T, D]
        out = self._latent_losses(z, actions, cfg, generator, rewards)
        if self.decoder is not None and cfg.recon_weight > 0:
            pick = slice(None, None, AUX_DECODE_EVERY)
            target = frames_to_float(frames[:, pick])  # [B*T', 3, H, W] in [-1, 1]
            rec = F.mse_loss(self.decoder(z[:, pick]), target)
            out.loss = out.loss + cfg.recon_weight * rec
            out.metrics["recon_loss"] = rec.item()
            out.metrics["loss"] = out.loss.item()
        return out

    def _latent_losses(self, z, actions, cfg, generator, rewards) -> LossOutput:
        b, t, _ = z.shape
        h = self.config.history
        metrics: dict[str, float] = {}
        z_pred = self.next(z, actions)
        pred = teacher_forced_mse(z_pred, z)
        total = pred
        metrics["pred_loss"] = pred.item()
        if cfg.open_loop_weight > 0 and t > h + 1:
            roll = self.rollout(z[:, :h], actions[:, None, h - 1 : t - 1])[:, 0]
            ol = open_loop_mse(roll, z, h)
            total = total + cfg.open_loop_weight * ol
            metrics["open_loop_loss"] = ol.item()
        if cfg.anti_collapse == "sigreg":
            sr = sigreg(
                z.transpose(0, 1), cfg.sigreg_directions, cfg.sigreg_knots, generator=generator
            )
            total = total + cfg.sigreg_weight * sr
            metrics["sigreg_loss"] = sr.item()
        elif cfg.anti_collapse == "vicreg":
            flat = z.reshape(b * t, -1)
            var, cov = vicreg_variance(flat), vicreg_covariance(flat)
            total = total + cfg.vicreg_var_weight * var + cfg.vicreg_cov_weight * cov
            metrics["vicreg_var"], metrics["vicreg_cov"] = var.item(), cov.item()
        if self.reward is not None and rewards is not None:
            r = torch.nn.functional.mse_loss(
                self.reward(z[:, :-1], actions[:, :-1]), rewards[:, :-1]
            )
            total = total + cfg.reward_weight * r
            metrics["reward_loss"] = r.item()
        if self.inverse is not None:
            # A probe: trained on detached latents so it never shapes the embedding.
            zd = z.detach()
            inv = torch.nn.functional.mse_loss(self.inverse(zd[:, :-1], zd[:, 1:]), actions[:, :-1])
            total = total + inv
            metrics["inverse_loss"] = inv.item()
        with torch.no_grad():
            metrics["z_std"] = z.reshape(b * t, -1).std(dim=0).mean().item()
        metrics["loss"] = total.item()
        return LossOutput(total, metrics)


def build_model(config: ModelConfig) -> JEPAWorldModel:
    """The model class for ``config.kind``: JEPA or the pixel-reconstruction baseline."""
    if config.kind == "recon":
        from wmplan.worldmodel.recon import PixelWorldModel

        return PixelWorldModel(config)
    return JEPAWorldModel(config)
