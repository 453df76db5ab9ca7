"""JEPA world model: encoder + action-conditioned predictor, trained to predict
the *embedding* of the next frame (LeWM recipe: next-embedding MSE + SIGReg).

Verbs (TD-MPC2 style; shared with the pixel baseline, see ``base.py``):

    z = model.encode(frames)              # uint8 [B, T, H, W, 3] -> [B, T, D]
    z_next = model.next(z, a)             # [B, T, D], [B, T, kA] -> [B, T, D]
    z_roll = model.rollout(z_hist, acts)  # [B, T, D], [B, N, H, kA] -> [B, N, H, D]
    out = model.loss(frames, actions, loss_config, generator)

``build_model(config)`` makes the model ``config.kind`` names.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from wmplan.worldmodel.base import LossOutput, ModelConfig, WorldModel
from wmplan.worldmodel.decoder import Decoder
from wmplan.worldmodel.encoder import frames_to_float
from wmplan.worldmodel.losses import (
    LossConfig,
    open_loop_mse,
    teacher_forced_mse,
    vicreg_covariance,
    vicreg_variance,
)
from wmplan.worldmodel.recon import PixelWorldModel
from wmplan.worldmodel.sigreg import sigreg

AUX_DECODER_CHANNELS = (32, 32, 16, 8)  # ~ the encoder's cost per decoded frame
AUX_DECODE_EVERY = 3  # decode frames 0, 3, 6, ... of a window: the encoder is shared


class JEPAWorldModel(WorldModel):
    """Encoder + predictor trained end-to-end on next-embedding prediction."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.decoder = (
            Decoder(config.latent_dim, config.image_size, AUX_DECODER_CHANNELS)
            if config.aux_decoder
            else None
        )

    def loss(
        self,
        frames: Tensor,
        actions: Tensor,
        cfg: LossConfig,
        generator: torch.Generator | None = None,
        states: Tensor | None = None,
    ) -> LossOutput:
        """JEPA losses on a batch of windows.

        ``frames``: ``[B, T, H, W, 3]`` uint8; ``actions``: ``[B, T, kA]`` where
        block t leads frame t to t+1 (the last block is unused).
        ``generator`` seeds SIGReg's random directions. ``states[B, T, S]`` (the dataset's
        states at the frames) feed the state head of a model with ``state_aux``; without
        them that term is left out (validation windows).
        """
        z = self.encode(frames)  # [B, T, D]
        out = self._latent_losses(z, actions, cfg, generator, states)
        if self.decoder is not None and cfg.recon_weight > 0:
            pick = slice(None, None, AUX_DECODE_EVERY)
            target = frames_to_float(frames[:, pick])  # [B*T', 3, H, W] in [-1, 1]
            rec = F.mse_loss(self.decoder(z[:, pick]), target)
            out.loss = out.loss + cfg.recon_weight * rec
            out.metrics["recon_loss"] = rec.item()
            out.metrics["loss"] = out.loss.item()
        return out

    def _latent_losses(self, z, actions, cfg, generator, states=None) -> LossOutput:
        b, t, _ = z.shape
        metrics: dict[str, float] = {}
        z_next = self.next(z, actions)
        pred = teacher_forced_mse(z_next, z)
        total = pred
        metrics["pred_loss"] = pred.item()
        roll = self.open_loop(z, actions, cfg)
        if roll is not None:
            ol = open_loop_mse(roll, z, self.config.history)
            total = total + cfg.open_loop_weight * ol
            metrics["open_loop_loss"] = ol.item()
        if self.state_head is not None and states is not None:
            total = total + self._state_losses(z, z_next, roll, states, cfg, metrics)
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
        if self.inverse is not None:
            # A probe: trained on detached latents so it never shapes the embedding.
            zd = z.detach()
            inv = F.mse_loss(self.inverse(zd[:, :-1], zd[:, 1:]), actions[:, :-1])
            total = total + inv
            metrics["inverse_loss"] = inv.item()
        return self.finish(total, metrics, z)

    def _state_losses(self, z, z_next, roll, states, cfg, metrics) -> Tensor:
        """The state head's MSE on ``z[B, T, D]`` and on the predictions of frames 1..T-1
        (teacher-forced ``z_next``, open-loop ``roll``) against ``states[B, T, S]``."""
        head, want = self.state_head, states[..., list(self.config.state_aux)]
        enc = head.loss(z, want)
        pred = head.loss(z_next[:, :-1], want[:, 1:])
        if roll is not None:
            pred = pred + head.loss(roll, want[:, self.config.history :])
        metrics["state_aux_loss"], metrics["state_aux_pred_loss"] = enc.item(), pred.item()
        return cfg.state_aux_weight * enc + cfg.state_aux_pred_weight * pred


def build_model(config: ModelConfig) -> WorldModel:
    """The model ``config.kind`` names: the JEPA or the pixel-reconstruction baseline."""
    if config.kind == "recon":
        return PixelWorldModel(config)
    return JEPAWorldModel(config)
