"""Training never ends in a wrong result with success: a non-finite loss stops it
with a named error and no checkpoint of it; resuming on different data is refused;
checkpoints record what produced them; bad config files are named errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from synthetic_data import synthetic_episodes
from wm_fixtures import META, TINY, write_synthetic

from wmplan.worldmodel import checkpoint as ckpt
from wmplan.worldmodel.data.episodes import Dataset, EpisodeWriter
from wmplan.worldmodel.evaluate import evaluate_checkpoint
from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.provenance import data_path_of
from wmplan.worldmodel.train import (
    TrainConfig,
    TrainingDiverged,
    train,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_config(tmp_path: Path, data: Path | str, **kw) -> TrainConfig:
    base = dict(
        data=str(data), out=str(tmp_path / "run"), model=TINY, window=4, batch_size=8,
        steps=10, lr=3e-3, warmup_steps=2, checkpoint_every=5, log_every=5, val_every=0,
        threads=1, progress="none", val_fraction=0.25, loss=LossConfig(sigreg_directions=32),
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


class NaNActionWindows:
    """A window source whose action blocks hold NaN (what a NaN action in memory does
    to the loss): frames uint8 [B, 4, 16, 16, 3], actions [B, 4, 4]."""

    image_size, action_dim = 16, 2

    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        frames = torch.randint(0, 256, (batch_size, 4, 16, 16, 3), dtype=torch.uint8)
        actions = torch.zeros(batch_size, 4, 4)
        actions[:, :, 0] = float("nan")
        return frames, actions

    val_batch = sample

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def test_a_nan_loss_stops_training_with_a_named_error_and_saves_nothing(tmp_path):
    windows = NaNActionWindows()
    with pytest.raises(TrainingDiverged, match="loss is nan at step 1"):
        train(tiny_config(tmp_path, ""), data=windows)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_run_written_with_the_retired_reward_fields_resumes(tmp_path):
    data = write_synthetic(tmp_path / "syn.h5")
    train(tiny_config(tmp_path, data, steps=10))
    ckpt.update_latest(tmp_path / "run" / "checkpoints", "step_00000005", keep=0)
    # What older versions wrote: model.reward_head false, loss.reward_weight.
    path = tmp_path / "run" / "train_config.json"
    saved = json.loads(path.read_text())
    saved["model"]["reward_head"], saved["loss"]["reward_weight"] = False, 1.0
    path.write_text(json.dumps(saved))
    assert train(tiny_config(tmp_path, data, steps=10)).resumed_from == 5


def test_resuming_on_a_different_dataset_at_the_same_path_is_refused(tmp_path):
    data = write_synthetic(tmp_path / "syn.h5")
    train(tiny_config(tmp_path, data, steps=10))
    # As if killed after step 5: the newest checkpoint is step 5's.
    ckpt.update_latest(tmp_path / "run" / "checkpoints", "step_00000005", keep=0)
    # Another dataset replaces the file (same layout, other episodes).
    with EpisodeWriter(data, META) as writer:
        for episode in synthetic_episodes(META, 8, first=50):
            writer.append(episode)
    with pytest.raises(ValueError, match="different dataset.*--allow-data-change"):
        train(tiny_config(tmp_path, data, steps=10))
    resumed = train(tiny_config(tmp_path, data, steps=10, allow_data_change=True))
    assert resumed.resumed_from == 5 and resumed.step == 10


def test_checkpoints_record_versions_commit_and_the_dataset(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    data = write_synthetic(tmp_path / "data" / "syn.h5")
    monkeypatch.chdir(tmp_path)
    train(tiny_config(tmp_path, "data/syn.h5", out="runs/a", steps=5))
    config = ckpt.read_config(tmp_path / "runs" / "a")
    meta = config["metadata"]
    assert meta["provenance"]["wmplan"] != "unknown"
    assert torch.__version__.startswith(meta["provenance"]["torch"])
    assert "git_commit" in meta["provenance"]
    assert meta["data"] == "data/syn.h5"  # as given
    with Dataset(data) as d:
        assert meta["data_fingerprint"] == d.fingerprint()
    assert meta["task"] == META.task_id  # from the dataset when --task is not given
    # The data path resolves relative to the run, from any working directory.
    monkeypatch.chdir(tmp_path / "runs")
    ckpt_dir = ckpt.resolve("a")
    assert data_path_of(ckpt_dir, meta).resolve() == data.resolve()
    report = evaluate_checkpoint("a", None, horizon=1, decoder_steps=0)
    assert report["episodes"]["test"] >= 1


def test_eval_refuses_a_dataset_of_another_task(tmp_path):
    data = write_synthetic(tmp_path / "syn.h5")
    train(tiny_config(tmp_path, data, steps=5, task=META.task_id))
    other_meta = META.__class__(**{**META.__dict__, "task_id": "wmplan/Other-v0"})
    other = tmp_path / "other.h5"
    with EpisodeWriter(other, other_meta) as writer:
        for episode in synthetic_episodes(other_meta, 8):
            writer.append(episode)
    with pytest.raises(ValueError, match="task_id is 'wmplan/Other-v0' but 'wmplan/Synthetic-v0'"):
        evaluate_checkpoint(tmp_path / "run", other, horizon=1, decoder_steps=0)


def test_config_file_dims_that_the_dataset_contradicts_are_refused(tmp_path):
    data = write_synthetic(tmp_path / "syn.h5")
    config = tmp_path / "c.yaml"
    config.write_text("steps: 2\nmodel:\n  image_size: 128\n")
    with pytest.raises(ValueError, match="model.image_size is 128 but .*syn.h5 has image_size 16"):
        train(TrainConfig.from_file(config, data=str(data), out=str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("c.yaml", "steps: 3\nmodel: [1,\n", r"c.yaml:3: not valid YAML"),
        ("c.yaml", "steps: !!python/object/apply:os.system [ls]\n", r"c.yaml:1: not valid YAML"),
        ("c.json", "[1, 2]", r"c.json: expected a mapping of config fields, got a list"),
        ("c.json", '{"steps": 3,\n "lr": }', r"c.json:2: not valid JSON"),
        ("c.yaml", "model: [1, 2]\n", r"c.yaml: model must be a mapping of ModelConfig"),
    ],
)
def test_malformed_config_files_name_file_and_line(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        TrainConfig.from_file(path, out="x")


def test_a_train_config_json_that_is_a_list_is_refused(tmp_path):
    data = write_synthetic(tmp_path / "syn.h5")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "train_config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="train_config.json: expected a JSON object"):
        train(tiny_config(tmp_path, data))
    assert os.listdir(tmp_path / "run") == ["train_config.json"]
