"""Minari export round trip: a dataset Minari loads with the same data, goal fields
and env; the control frequency recorded in our datasets."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from wmplan.benchmarks.cli import main
from wmplan.worldmodel.data.collect import CollectConfig, collect
from wmplan.worldmodel.data.episodes import Dataset
from wmplan.worldmodel.export import export_minari

minari = pytest.importorskip("minari")  # in the dev extra; 'wmplan[minari]' for users


@pytest.fixture(scope="module")
def tworoom_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "tworoom.h5"
    config = CollectConfig("wmplan/TwoRoom-v0", episodes=2, steps=6, image_size=16)
    return collect(config, out, workers=1, progress=False)


def test_datasets_record_the_control_frequency(tworoom_data):
    with h5py.File(tworoom_data) as f:
        assert f.attrs["fps"] == 20.0  # TwoRoom: 5 x 0.01 s per env step


def test_minari_export_round_trips(tworoom_data, tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    path = export_minari(tworoom_data)
    assert path == tmp_path / "wmplan/tworoom-expert-v0"
    ds = minari.load_dataset("wmplan/tworoom-expert-v0")
    assert ds.total_episodes == 2
    with Dataset(tworoom_data) as ours:
        for e, theirs in enumerate(ds.iterate_episodes()):
            ep = ours.episode(e)
            n = ep.length
            np.testing.assert_array_equal(theirs.observations["pixels"], ep.pixels[: n + 1])
            np.testing.assert_array_equal(theirs.observations["state"], ep.states[: n + 1])
            np.testing.assert_array_equal(theirs.observations["goal_pixels"][-1], ep.goal_pixels)
            np.testing.assert_array_equal(theirs.observations["goal_state"][0], ep.goal_states)
            np.testing.assert_array_equal(theirs.actions, ep.actions[:n])
            np.testing.assert_allclose(theirs.rewards, ep.rewards[:n])
            np.testing.assert_array_equal(theirs.infos["success"], ep.success[: n + 1])
            assert not theirs.terminations.any() and theirs.truncations[-1]
    env = ds.recover_environment()
    assert env.spec.id == "wmplan/TwoRoom-v0" and env.observation_space == ds.observation_space
    env.close()


def test_cli_export_refuses_an_existing_id(tworoom_data, tmp_path, capsys):
    args = ["data", "export", "--format", "minari", str(tworoom_data), "--root", str(tmp_path)]
    assert main(args + ["--dataset-id", "wmplan/tr-v1"]) == 0
    assert str(tmp_path / "wmplan/tr-v1") in capsys.readouterr().out
    assert main(args + ["--dataset-id", "wmplan/tr-v1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and "--dataset-id" in err and len(err.splitlines()) == 1
