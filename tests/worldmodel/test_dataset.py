"""HDF5 episode datasets: schema, atomic writes, validation, merge, inspect, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from synthetic_data import synthetic_episodes

from wmplan.benchmarks.cli import main as cli
from wmplan.worldmodel.data.episodes import (
    FIELDS,
    SCHEMA,
    SCHEMA_VERSION,
    Dataset,
    DatasetError,
    DatasetMeta,
    DatasetNotFoundError,
    EpisodeWriter,
    merge,
)
from wmplan.worldmodel.data.inspect import format_summary, inspect, write_videos

META = DatasetMeta(
    task_id="wmplan/Synthetic-v0",
    image_size=16,
    action_repeat=1,
    steps=12,
    action_dim=2,
    state_dim=3,
    physics_state_dim=5,
    camera="fixed",
    policy="colored",
    policy_params={"beta": 1.0},
    seed=7,
    compression="gzip-6",
)


def write(path: Path, meta: DatasetMeta = META, episodes: int = 4, first: int = 0) -> Path:
    with EpisodeWriter(path, meta) as writer:
        for episode in synthetic_episodes(meta, episodes, first=first):
            writer.append(episode)
    return path


def test_dataset_round_trips_episodes_with_the_documented_schema(tmp_path):
    path = write(tmp_path / "d.h5")
    episodes = list(synthetic_episodes(META, 4))
    with Dataset(path) as d:
        assert d.num_episodes == 4
        for e, expected in enumerate(episodes):
            got = d.episode(e)
            for name, array in expected.arrays().items():
                np.testing.assert_array_equal(got.arrays()[name], array, err_msg=name)
    # Plain h5py opens it and sees the documented layout and attributes.
    with h5py.File(path, "r") as f:
        assert f.attrs["schema"] == SCHEMA and f.attrs["schema_version"] == SCHEMA_VERSION
        assert f.attrs["num_episodes"] == 4
        assert f.attrs["task_id"] == META.task_id and f.attrs["image_size"] == 16
        assert f.attrs["action_repeat"] == 1 and f.attrs["seed"] == 7
        assert json.loads(f.attrs["policy_params"]) == {"beta": 1.0}
        assert set(json.loads(f.attrs["versions"])) >= {"wmplan", "mujoco", "h5py"}
        assert f.attrs["created"].endswith("Z")
        assert set(f.keys()) == set(FIELDS)
        assert f["pixels"].shape == (4, 13, 16, 16, 3) and f["pixels"].dtype == np.uint8
        assert f["pixels"].chunks[0] == 1 and f["pixels"].compression == "gzip"
        assert f["actions"].shape == (4, 12, 2) and f["actions"].dtype == np.float32
        assert f["states"].shape == (4, 13, 3)
        assert f["physics_states"].shape == (4, 13, 5) and f["physics_states"].dtype == np.float64
        assert f["success"].shape == (4, 13) and f["lengths"][:].tolist() == [12] * 4


def test_writer_is_atomic_until_close(tmp_path):
    path = tmp_path / "d.h5"
    writer = EpisodeWriter(path, META)
    writer.append(next(synthetic_episodes(META, 1)))
    assert not path.exists() and writer.tmp_path.exists()
    writer.close()
    assert path.exists() and not writer.tmp_path.exists()

    failed = tmp_path / "failed.h5"
    with pytest.raises(RuntimeError), EpisodeWriter(failed, META) as writer:
        writer.append(next(synthetic_episodes(META, 1)))
        raise RuntimeError("collection failed")
    assert not failed.exists() and list(tmp_path.glob("failed.h5*")) == []


def test_writer_rejects_episodes_of_the_wrong_shape(tmp_path):
    wrong = next(synthetic_episodes(replace(META, image_size=32), 1))
    with pytest.raises(ValueError, match="pixels"), EpisodeWriter(tmp_path / "d.h5", META) as w:
        w.append(wrong)


def test_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="nope.h5"):
        Dataset(tmp_path / "nope.h5")
    assert issubclass(DatasetNotFoundError, FileNotFoundError)


def test_truncated_file_is_reported_with_its_path(tmp_path):
    path = write(tmp_path / "d.h5")
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="cut.h5"):
        inspect(cut)  # header may survive; then reading the chunks must fail cleanly
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all" * 100)
    with pytest.raises(DatasetError, match="garbage.h5.*not a readable HDF5"):
        Dataset(garbage)


def test_corrupt_chunk_is_reported_with_its_path(tmp_path):
    path = write(tmp_path / "d.h5")
    with h5py.File(path, "r") as f:
        offset = f["pixels"].id.get_chunk_info(0).byte_offset
    raw = bytearray(path.read_bytes())
    raw[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=r"d\.h5.*'pixels'"):
        inspect(path)


def test_missing_dataset_key_and_foreign_file_are_named(tmp_path):
    path = write(tmp_path / "d.h5")
    with h5py.File(path, "a") as f:
        del f["actions"]
    with pytest.raises(DatasetError, match="missing dataset 'actions'"):
        Dataset(path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(DatasetError, match="other.h5: not a wmplan episode dataset"):
        Dataset(other)


def test_uncommitted_episode_count_is_an_incomplete_file(tmp_path):
    path = write(tmp_path / "d.h5")
    with h5py.File(path, "a") as f:
        f.attrs["num_episodes"] = 3
    with pytest.raises(DatasetError, match="incomplete"):
        Dataset(path)


def test_check_names_the_task_or_image_size_that_differs(tmp_path):
    path = write(tmp_path / "d.h5")
    with Dataset(path) as d:
        d.check(task_id=META.task_id, image_size=16)
        with pytest.raises(DatasetError, match="d.h5: task_id is 'wmplan/Synthetic-v0'"):
            d.check(task_id="wmplan/Reacher-v0")
        with pytest.raises(DatasetError, match="image_size is 16 but 64"):
            d.check(image_size=64)


def test_merge_concatenates_and_records_sources(tmp_path):
    a = write(tmp_path / "a.h5", episodes=3)
    b = write(tmp_path / "b.h5", replace(META, seed=8), episodes=2, first=100)
    out = merge(tmp_path / "m.h5", [a, b])
    with Dataset(out) as m, Dataset(a) as da, Dataset(b) as db:
        assert m.num_episodes == 5
        for name in FIELDS:
            np.testing.assert_array_equal(
                m.read(name), np.concatenate([da.read(name), db.read(name)]), err_msg=name
            )
        assert m.meta.seed == -1 and m.meta.policy == "colored"
        assert [s["episodes"] for s in m.meta.sources] == [3, 2]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"task_id": "wmplan/Other-v0"}, "task_id"),
        ({"image_size": 32}, "image_size"),
        ({"action_repeat": 2}, "action_repeat"),
    ],  # fmt: skip
)
def test_merge_refuses_incompatible_datasets(tmp_path, change, field):
    a = write(tmp_path / "a.h5")
    b = write(tmp_path / "b.h5", replace(META, **change))
    with pytest.raises(DatasetError, match=f"b.h5: {field}"):
        merge(tmp_path / "m.h5", [a, b])
    assert not (tmp_path / "m.h5").exists()


def test_inspect_summarises_and_writes_videos(tmp_path):
    path = write(tmp_path / "d.h5")
    summary = inspect(path)
    assert summary["episodes"] == 4 and summary["frames"] == 4 * 13
    assert summary["success_final_rate"] == 1.0
    assert len(summary["action_min"]) == 2
    text = format_summary(summary)
    assert "wmplan/Synthetic-v0" in text and "episodes     4" in text
    videos = write_videos(path, tmp_path / "vid", episodes=2)
    assert len(videos) == 2 and all(v.stat().st_size > 0 for v in videos)


def test_cli_inspect_and_merge(tmp_path, capsys):
    a, b = write(tmp_path / "a.h5"), write(tmp_path / "b.h5", first=4)
    assert cli(["data", "inspect", str(a), "--video", str(tmp_path / "v")]) == 0
    assert "wmplan/Synthetic-v0" in capsys.readouterr().out
    assert cli(["data", "merge", str(tmp_path / "m.h5"), str(a), str(b)]) == 0
    assert "8 episodes" in capsys.readouterr().out


def test_cli_reports_bad_input_as_one_line(tmp_path, capsys):
    a = write(tmp_path / "a.h5")
    b = write(tmp_path / "b.h5", replace(META, task_id="wmplan/Other-v0"))
    assert cli(["data", "merge", str(tmp_path / "m.h5"), str(a), str(b)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "b.h5: task_id" in err
    assert cli(["data", "inspect", str(tmp_path / "missing.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing.h5: no such dataset file" in err
