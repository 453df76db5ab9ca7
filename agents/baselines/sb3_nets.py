"""SB3 feature extractors for the pixel SAC/PPO baselines (imported only with the ``sb3`` extra)."""

from __future__ import annotations

import torch
from stable_baselines3.common.torch_layers import NatureCNN


class ChannelsLastNatureCNN(NatureCNN):
    """SB3's ``NatureCNN`` (the ``CnnPolicy`` default) run in channels-last memory format.

    Same layers, parameters and outputs as ``NatureCNN`` (a state dict of one loads
    into the other): ``[B, C, H, W] -> [B, features_dim]``. oneDNN's CPU convolutions
    are faster forward + backward in this format (``benchmarks/perf/sb3_update.py``).
    The conv weights switch format at the first forward, after SB3's (orthogonal)
    initialisation, which needs them contiguous.
    """

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        first = self.cnn[0].weight
        if not first.is_contiguous(memory_format=torch.channels_last):
            self.cnn.to(memory_format=torch.channels_last)
        x = observations.contiguous(memory_format=torch.channels_last)
        return self.linear(self.cnn(x))
