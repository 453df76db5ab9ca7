"""Tiny configs and datasets shared by the world-model tests (not a test module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from synthetic_data import synthetic_episodes

from wmplan.worldmodel.base import ModelConfig
from wmplan.worldmodel.data.episodes import DatasetMeta, EpisodeWriter

TINY = ModelConfig(
    image_size=16,
    action_dim=2,
    action_block=2,
    latent_dim=8,
    cnn_channels=(4, 8),
    feat_dim=32,
    projector_hidden=32,
    pred_width=16,
    pred_depth=1,
    pred_heads=2,
    pred_head_depth=1,
    history=2,
)

META = DatasetMeta(
    task_id="wmplan/Synthetic-v0",
    image_size=16,
    action_repeat=1,
    steps=20,
    action_dim=2,
    state_dim=2,
    physics_state_dim=2,
)


def write_synthetic(path: Path, episodes: int = 8) -> Path:
    """A small synthetic HDF5 dataset (moving square; see dataset.synthetic_episodes)."""
    with EpisodeWriter(path, META) as writer:
        for episode in synthetic_episodes(META, episodes):
            writer.append(episode)
    return path


def flipped_copies(data: bytes, count: int, flips: int, seed: int = 0) -> Iterator[bytes]:
    """``count`` copies of ``data``, each with ``flips`` random bits flipped (seeded)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        out = bytearray(data)
        for pos in rng.integers(0, len(data), size=flips):
            out[pos] ^= 1 << int(rng.integers(0, 8))
        yield bytes(out)
