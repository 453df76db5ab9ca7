"""Pixel-reconstruction baseline: the JEPA's encoder and predictor plus a decoder,
trained to predict the next *pixels* instead of the next embedding.

Same ``encode``/``next``/``rollout`` verbs as the JEPA (both are ``base.WorldModel``s),
so the harness can plan with either and compare them. The pixel loss itself prevents
collapse, so no SIGReg is needed.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from wmplan.worldmodel.base import LossOutput, ModelConfig, WorldModel
from wmplan.worldmodel.decoder import Decoder
from wmplan.worldmodel.encoder import frames_to_float
from wmplan.worldmodel.losses import LossConfig


class PixelWorldModel(WorldModel):
    """Encoder + predictor + decoder, trained on pixel reconstruction of current and next frames."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.decoder = Decoder(config.latent_dim, config.image_size)

    def decode(self, z: Tensor) -> Tensor:
        """``z[B, T, D]`` -> uint8 frames ``[B, T, H, W, 3]``."""
        x = self.decoder(z).permute(0, 2, 3, 1)
        x = ((x + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return x.view(*z.shape[:-1], *x.shape[1:])

    def loss(
        self,
        frames: Tensor,
        actions: Tensor,
        cfg: LossConfig,
        generator: torch.Generator | None = None,
        states: Tensor | None = None,
    ) -> LossOutput:
        """Pixel MSE (in [-1, 1]) of reconstructed frames t, predicted frames t+1 and the
        open-loop rollout. Shapes as ``WorldModel.loss``; ``generator`` and ``states`` are
        unused (the pixel model has no state head)."""
        del generator, states
        b, t = frames.shape[:2]
        h = self.config.history
        x = frames_to_float(frames)  # [B*T, 3, H, W]
        target = x.view(b, t, *x.shape[1:])
        z = self.encode(frames)
        z_pred = self.next(z, actions)
        rec = F.mse_loss(self.decoder(z).view_as(target), target)
        nxt = F.mse_loss(self.decoder(z_pred[:, :-1]).view_as(target[:, 1:]), target[:, 1:])
        total = rec + nxt
        metrics = {"recon_loss": rec.item(), "pred_loss": nxt.item()}
        roll = self.open_loop(z, actions, cfg)
        if roll is not None:
            ol = F.mse_loss(self.decoder(roll).view_as(target[:, h:]), target[:, h:])
            total = total + cfg.open_loop_weight * ol
            metrics["open_loop_loss"] = ol.item()
        return self.finish(total, metrics, z)
