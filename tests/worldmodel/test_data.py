"""Training-window loader: shapes, action blocking, split by episode, exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic_data import synthetic_episodes

from wmplan.worldmodel.data.episodes import DatasetError, DatasetMeta, EpisodeWriter
from wmplan.worldmodel.data.windows import (
    EpisodeWindows,
    WindowConfig,
    open_windows,
    to_model_input,
)

META = DatasetMeta(
    task_id="wmplan/Synthetic-v0",
    image_size=16,
    action_repeat=1,
    steps=30,
    action_dim=2,
    state_dim=3,
    physics_state_dim=4,
)
T, K = 4, 3  # frames per window, env steps per action block


def write(path: Path, episodes: int, first: int = 0, meta: DatasetMeta = META) -> Path:
    with EpisodeWriter(path, meta) as writer:
        for episode in synthetic_episodes(meta, episodes, first=first):
            writer.append(episode)
    return path


@pytest.fixture
def two_datasets(tmp_path) -> list[Path]:
    return [write(tmp_path / "a.h5", 10), write(tmp_path / "b.h5", 10, first=100)]


def windows(paths, **kw) -> EpisodeWindows:
    config = WindowConfig(**{"frames": T, "block": K, "val_fraction": 0.2, "workers": 0, **kw})
    return EpisodeWindows(paths, config)


def check_batch(batch, b: int) -> None:
    """Shapes, and that every value comes from the right episode and step."""
    assert batch.frames.shape == (b, T, 16, 16, 3) and batch.frames.dtype == torch.uint8
    assert batch.actions.shape == (b, T, K * 2) and batch.actions.dtype == torch.float32
    assert batch.states.shape == (b, T, 3)
    start = batch.start.numpy()
    frame_steps = start[:, None] + np.arange(T) * K
    # synthetic_episodes: pixel (0, 0) = (step, episode), action/state dim 1 = step,
    # dim 0 = episode id + step / 1000.
    np.testing.assert_array_equal(batch.frames[:, :, 0, 0, 0].numpy(), frame_steps)
    episode_ids = batch.frames[:, 0, 0, 0, 1].numpy()
    actions = batch.actions.numpy().reshape(b, T * K, 2)  # blocks are step-major
    np.testing.assert_array_equal(actions[:, :, 1], start[:, None] + np.arange(T * K))
    action_episodes = np.floor(actions[:, :, 0]).astype(np.int64) % 256
    assert np.all(action_episodes == episode_ids[:, None])
    np.testing.assert_array_equal(batch.states[:, :, 1].numpy(), frame_steps)
    assert np.all(start + T * K <= META.steps)  # every action block is real data


def test_windows_have_documented_shapes_and_action_blocks(two_datasets):
    with windows(two_datasets) as w:
        assert w.image_size == 16 and w.action_dim == 2 and w.in_memory
        check_batch(w.sample_batch(32), 32)
        frames, actions = w.sample(8)
        assert frames.shape == (8, T, 16, 16, 3) and actions.shape == (8, T, 6)
        x = to_model_input(frames)
        assert x.shape == (8, T, 3, 16, 16) and x.dtype == torch.float32
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_disk_reading_with_workers_matches_memory(two_datasets):
    with windows(two_datasets, cache="memory") as mem:
        expected = [mem.sample_batch(16) for _ in range(3)]
    with windows(two_datasets, cache="disk", workers=1, prefetch=2) as disk:
        assert not disk.in_memory
        for want in expected:
            got = disk.sample_batch(16)
            check_batch(got, 16)
            assert torch.equal(got.frames, want.frames) and torch.equal(got.actions, want.actions)


def test_split_is_by_episode_with_no_leakage(two_datasets):
    with windows(two_datasets, val_fraction=0.3) as w:
        val = set(w.val_episodes.tolist())
        assert len(val) == 6  # 3 of each dataset's 10
        assert val.isdisjoint(w.train_episodes.tolist())
        seen = set()
        for _ in range(20):
            seen |= set(w.sample_batch(64).episode.tolist())
        assert seen and seen.isdisjoint(val)
        held_out = set()
        for batch in w.val_batches(16):
            check_batch(batch, len(batch.episode))
            held_out |= set(batch.episode.tolist())
        assert held_out == val
        fixed = w.val_batch(8)
        assert torch.equal(fixed[0], w.val_batch(8)[0])
        assert set(w.val_batch_full(8).episode.tolist()) <= val
    # The split depends on split_seed, not on the sampling seed.
    with windows(two_datasets, val_fraction=0.3, seed=5) as other:
        assert set(other.val_episodes.tolist()) == val


def test_an_epoch_visits_every_training_window_once(two_datasets):
    with windows(two_datasets) as w:
        n = w.num_train_windows
        batch = w.sample_batch(n)
        pairs = set(zip(batch.episode.tolist(), batch.start.tolist(), strict=True))
        assert len(pairs) == n


def test_state_dict_resumes_the_exact_sequence(two_datasets):
    with windows(two_datasets, seed=1) as w:
        for _ in range(3):
            w.sample_batch(50)
        state = json.loads(json.dumps(w.state_dict()))  # JSON-able
        expected = [w.sample_batch(50) for _ in range(4)]  # crosses an epoch boundary
    with windows(two_datasets, seed=1) as resumed:
        resumed.load_state_dict(state)
        for want in expected:
            got = resumed.sample_batch(50)
            assert torch.equal(got.episode, want.episode) and torch.equal(got.start, want.start)
            assert torch.equal(got.frames, want.frames)


def test_state_dict_of_other_data_or_seed_is_refused(two_datasets):
    with windows(two_datasets, seed=1) as w:
        state = w.state_dict()
    with (
        windows(two_datasets[:1], seed=1) as w,
        pytest.raises(ValueError, match="training windows"),
    ):
        w.load_state_dict(state)
    with windows(two_datasets, seed=2) as w, pytest.raises(ValueError, match="seed"):
        w.load_state_dict(state)


def test_wrong_task_or_image_size_names_the_file(two_datasets, tmp_path):
    with pytest.raises(DatasetError, match="a.h5: task_id is 'wmplan/Synthetic-v0'"):
        open_windows(two_datasets, window=T, action_block=K, task="wmplan/Reacher-v0")
    with pytest.raises(DatasetError, match="image_size is 16 but 64"):
        windows(two_datasets, image_size=64)
    from dataclasses import replace

    other = write(tmp_path / "c.h5", 4, meta=replace(META, action_repeat=2))
    with pytest.raises(DatasetError, match="c.h5: action_repeat"):
        windows([two_datasets[0], other])


def test_windows_that_do_not_fit_are_an_error(two_datasets):
    with pytest.raises(ValueError, match="needs episodes of >= 40 steps"):
        windows(two_datasets, frames=8, block=5)


def test_window_config_rejects_bad_values_naming_the_field():
    with pytest.raises(ValueError, match="frames"):
        WindowConfig(frames=0)
    with pytest.raises(ValueError, match="val_fraction"):
        WindowConfig(val_fraction=1.0)
    with pytest.raises(ValueError, match="cache"):
        WindowConfig(cache="gpu")
