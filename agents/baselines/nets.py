"""Networks of the offline baselines: (observation, goal) -> features -> heads.

From pixels, observation and goal image go through one CNN of the world model's
encoder family (``wmplan.worldmodel.encoder.CNNBackbone``, trained from scratch
here): with ``fusion="late"`` each image separately, shared weights, features
concatenated; with ``fusion="early"`` both stacked as one 6-channel image, so the
first conv already compares where things are in the two. From state, the
normalised state and goal are concatenated.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from wmplan.worldmodel.encoder import CNNBackbone, frames_to_float

FUSIONS = ("late", "early")


def random_shift(frames: np.ndarray, pad: int, rng: np.random.Generator) -> np.ndarray:
    """DrQ's augmentation: each of ``frames`` uint8 ``[B, H, W, 3]`` (or ``[K, B, H, W, 3]``,
    the K images of a sample shifted alike) padded by ``pad`` edge pixels and cropped
    back at a random offset in [0, 2 pad]^2. Returns a new array of the same shape."""
    b, h, w = frames.shape[-4:-1]
    lead = frames.shape[:-4]
    padded = np.pad(frames, [(0, 0)] * len(lead) + [(0, 0), (pad, pad), (pad, pad), (0, 0)],
                    mode="edge")  # fmt: skip
    dy, dx = rng.integers(0, 2 * pad + 1, size=(2, b))
    rows = dy[:, None] + np.arange(h)  # [B, H]
    cols = dx[:, None] + np.arange(w)  # [B, W]
    idx = np.arange(b)[:, None, None]
    return padded[..., idx, rows[:, :, None], cols[:, None, :], :]


def mlp(
    in_dim: int, hidden: tuple[int, ...], out_dim: int, layer_norm: bool = True
) -> nn.Sequential:
    """MLP with GELU (and LayerNorm) between layers; ``[N, in_dim] -> [N, out_dim]``."""
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), *([nn.LayerNorm(h)] if layer_norm else []), nn.GELU()]
        d = h
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class GoalEncoder(nn.Module):
    """``obs``, ``goal`` (float32 ``[B, S]`` or uint8 ``[B, H, W, 3]``) -> ``[B, out_dim]``."""

    def __init__(
        self,
        obs: str,
        state_dim: int = 0,
        image_size: int = 64,
        channels: tuple[int, ...] = (16, 32, 64, 128),
        feat_dim: int = 256,
        fusion: str = "late",
    ):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        self.kind, self.fusion = obs, fusion
        if obs == "state":
            # Dataset statistics, saved with the weights so the checkpoint is self-contained.
            self.register_buffer("mean", torch.zeros(state_dim))
            self.register_buffer("std", torch.ones(state_dim))
            self.out_dim = 2 * state_dim
        elif obs == "pixels":
            early = fusion == "early"
            self.cnn = CNNBackbone(image_size, tuple(channels), feat_dim, 6 if early else 3)
            self.cnn.to(memory_format=torch.channels_last)
            self.out_dim = feat_dim if early else 2 * feat_dim
        else:
            raise ValueError(f"obs must be 'state' or 'pixels', got {obs!r}")

    def set_stats(self, mean: Tensor, std: Tensor) -> None:
        """State normalisation ``[S]`` (state encoders only)."""
        self.mean.copy_(torch.as_tensor(mean))
        self.std.copy_(torch.as_tensor(std))

    def forward(self, obs: Tensor, goal: Tensor) -> Tensor:
        if self.kind == "state":
            return torch.cat([(obs - self.mean) / self.std, (goal - self.mean) / self.std], -1)
        x = frames_to_float(torch.cat([obs, goal], 0))
        early = self.fusion == "early"
        if early:  # [2B, 3, H, W] -> [B, 6, H, W]: obs then goal channels
            x = torch.cat(x.chunk(2, 0), 1)
        f = self.cnn(x.contiguous(memory_format=torch.channels_last))
        return f if early else torch.cat(f.chunk(2, 0), -1)


class GoalActor(nn.Module):
    """Deterministic goal-conditioned policy: ``(obs, goal) -> action [B, A]`` in [-1, 1]."""

    def __init__(self, encoder: GoalEncoder, action_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.encoder = encoder
        self.head = mlp(encoder.out_dim, hidden, action_dim)

    def forward(self, obs: Tensor, goal: Tensor) -> Tensor:
        return torch.tanh(self.head(self.encoder(obs, goal)))
