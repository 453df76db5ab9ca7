"""Datasets never pass on a wrong result quietly: merge verifies what it copies and
refuses duplicates and overwrites; NaN/inf is refused on write and on load; the
fingerprint tells datasets apart; corrupt files raise a named DatasetError."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from synthetic_data import synthetic_episodes
from wm_fixtures import META, flipped_copies

from wmplan.worldmodel.data.episodes import Dataset, DatasetError, DatasetMeta, EpisodeWriter, merge
from wmplan.worldmodel.data.inspect import inspect
from wmplan.worldmodel.data.windows import open_windows


def write(path: Path, episodes: int = 4, first: int = 0, meta: DatasetMeta = META) -> Path:
    with EpisodeWriter(path, meta) as writer:
        for episode in synthetic_episodes(meta, episodes, first=first):
            writer.append(episode)
    return path


def corrupt_chunk(path: Path, field: str, episode: int) -> None:
    """Overwrite the stored (compressed) bytes of one chunk of ``field`` with garbage."""
    with h5py.File(path, "r") as f:
        dset = f[field]
        for i in range(dset.id.get_num_chunks()):
            info = dset.id.get_chunk_info(i)
            if info.chunk_offset[0] == episode:
                offset, size = info.byte_offset, info.size
                break
    with open(path, "r+b") as fh:
        fh.seek(offset + size // 4)
        fh.write(b"\xff\x00\x13\x37" * (size // 8))


def set_value(path: Path, field: str, index: tuple, value: float) -> None:
    """Change one stored value behind the writer's back (as a buggy tool would)."""
    with h5py.File(path, "r+") as f:
        f[field][index] = value


# --- merge ------------------------------------------------------------------------------
def test_merge_refuses_a_corrupt_chunk_and_writes_nothing(tmp_path):
    a, b = write(tmp_path / "a.h5"), write(tmp_path / "b.h5", first=4)
    corrupt_chunk(b, "pixels", 2)
    with pytest.raises(DatasetError, match="b.h5: cannot read 'pixels'"):
        merge(tmp_path / "m.h5", [a, b])
    assert not (tmp_path / "m.h5").exists()
    assert not list(tmp_path.glob("*m.h5.tmp-*"))  # .m.h5.tmp-<pid> (and older m.h5.tmp-)


def test_merge_refuses_the_same_file_twice(tmp_path):
    a = write(tmp_path / "a.h5")
    with pytest.raises(DatasetError, match="given twice"):
        merge(tmp_path / "m.h5", [a, tmp_path / "." / "a.h5"])


def test_merge_refuses_an_episode_already_in_another_input(tmp_path):
    a = write(tmp_path / "a.h5", episodes=4)
    b = write(tmp_path / "b.h5", episodes=3, first=2)  # episodes 2 and 3 are in a too
    with pytest.raises(DatasetError, match="b.h5: episode 0 is the same as episode 2 of"):
        merge(tmp_path / "m.h5", [a, b])


def test_merge_refuses_to_replace_an_existing_file_unless_forced(tmp_path):
    a, b = write(tmp_path / "a.h5"), write(tmp_path / "b.h5", first=4)
    out = tmp_path / "m.h5"
    out.write_bytes(b"someone else's file")
    with pytest.raises(DatasetError, match="m.h5: already exists.*--force"):
        merge(out, [a, b])
    assert out.read_bytes() == b"someone else's file"
    merge(out, [a, b], force=True)
    with Dataset(out) as m:
        assert m.num_episodes == 8


# --- non-finite values --------------------------------------------------------------------
def test_writer_refuses_a_nan_action_naming_episode_and_field(tmp_path):
    episodes = list(synthetic_episodes(META, 3))
    episodes[1].actions[4, 0] = np.nan
    with pytest.raises(DatasetError, match="episode 1 field 'actions' holds non-finite"):
        with EpisodeWriter(tmp_path / "d.h5", META) as writer:
            for episode in episodes:
                writer.append(episode)
    assert not (tmp_path / "d.h5").exists()


@pytest.mark.parametrize("field, index", [("actions", (2, 5, 1)), ("states", (3, 0, 1))])
def test_loading_refuses_non_finite_values(tmp_path, field, index):
    path = write(tmp_path / "d.h5")
    set_value(path, field, index, np.inf if field == "states" else np.nan)
    expected = f"d.h5: episode {index[0]} field '{field}' holds non-finite"
    with pytest.raises(DatasetError, match=expected):
        inspect(path)
    with pytest.raises(DatasetError, match=expected):
        open_windows(path, window=3, action_block=2, cache="memory")
    with Dataset(path) as d, pytest.raises(DatasetError, match=expected):
        d.verify()


# --- fingerprint ---------------------------------------------------------------------------
def test_fingerprint_is_stable_and_tells_datasets_apart(tmp_path):
    a = write(tmp_path / "a.h5")
    a2 = write(tmp_path / "a2.h5")
    b = write(tmp_path / "b.h5", first=1)
    with Dataset(a) as da, Dataset(a2) as da2, Dataset(b) as db:
        assert da.fingerprint() == da2.fingerprint()
        assert da.fingerprint()["sha256"] != db.fingerprint()["sha256"]
        assert da.fingerprint()["episodes"] == 4


# --- fuzz: truncated, bit-flipped and random files -------------------------------------
def _read_all(path: Path) -> None:
    """What every reader does: open (layout check), decode every chunk, summarise."""
    with Dataset(path) as d:
        d.verify()
    inspect(path)


@pytest.mark.parametrize("compression", ["gzip-6", "none"])
def test_fuzzed_dataset_files_raise_dataset_error(tmp_path, compression):
    good = write(tmp_path / "good.h5", meta=replace(META, compression=compression))
    data = good.read_bytes()
    bad = tmp_path / "bad.h5"
    for cut in (0, 8, 100, len(data) // 3, len(data) // 2, len(data) - 200):
        bad.write_bytes(data[:cut])
        with pytest.raises(DatasetError, match="bad.h5"):
            _read_all(bad)
    for seed in range(3):
        bad.write_bytes(np.random.default_rng(seed).bytes(len(data)))
        with pytest.raises(DatasetError, match="bad.h5: not a readable HDF5 file"):
            _read_all(bad)
    # Bit flips anywhere: a flip in unchecked bytes may go unseen (HDF5 keeps no
    # checksums), but nothing but a DatasetError may ever escape a reader.
    raised = 0
    for flipped in flipped_copies(data, count=40, flips=8):
        bad.write_bytes(flipped)
        try:
            _read_all(bad)
        except DatasetError as exc:
            assert "bad.h5" in str(exc)
            raised += 1
    assert raised >= 5
