"""Tiny configs and datasets shared by the world-model tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

from wmplan.worldmodel.dataset import DatasetMeta, EpisodeWriter, synthetic_episodes
from wmplan.worldmodel.model import ModelConfig

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
