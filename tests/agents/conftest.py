"""Fixtures of the baseline tests: a small real TwoRoom dataset, collected once."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmplan.envs.policies import PolicyConfig
from wmplan.worldmodel.data.collect import CollectConfig, collect


@pytest.fixture(scope="session")
def tworoom_data(tmp_path_factory) -> Path:
    """40 expert episodes x 60 steps of TwoRoom at 32 px (~4 s to collect)."""
    config = CollectConfig(
        task_id="wmplan/TwoRoom-v0",
        episodes=40,
        steps=60,
        seed=0,
        image_size=32,
        policy=PolicyConfig(name="expert"),
        shard_episodes=40,
    )
    return collect(
        config, tmp_path_factory.mktemp("data") / "tworoom.h5", workers=1, progress=False
    )
