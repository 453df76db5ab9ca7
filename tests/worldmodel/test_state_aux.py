"""The auxiliary state head (``ModelConfig.state_aux``): trained on real Reacher data it
decodes the joint angles from latents of held-out frames, its statistics come from the data
and survive the checkpoint, and bad indices are refused by name."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from test_train import reacher_data, tiny_config  # noqa: F401 (fixture)
from wm_fixtures import TINY

from wmplan.worldmodel.base import ModelConfig
from wmplan.worldmodel.checkpoint import load_model
from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.train import train

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = dataclasses.replace(
    TINY, image_size=32, action_block=4, cnn_channels=(8, 16, 16), latent_dim=16, feat_dim=64,
    projector_hidden=64, pred_width=32, state_aux=(0, 1, 2, 3),
)  # fmt: skip


def _config(tmp_path: Path, data: Path, **kw):
    base = dict(model=SMALL, task="wmplan/Reacher-v0", steps=150, batch_size=16, window=4,
                val_every=50, val_fraction=0.2,
                loss=LossConfig(sigreg_directions=64, sigreg_weight=0.05))  # fmt: skip
    return tiny_config(tmp_path, data, **{**base, **kw})


def test_state_head_decodes_joint_angles_of_held_out_frames(tmp_path, reacher_data):  # noqa: F811
    train(_config(tmp_path, reacher_data))
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["state_aux_loss"] < records[0]["state_aux_loss"]
    assert "state_aux_pred_loss" in records[-1]
    model, _ = load_model(tmp_path / "run")
    with h5py.File(reacher_data) as f:
        states = f["states"][:, :, :4]
        pixels = f["pixels"][-8:]  # the last episodes: held out by val_fraction 0.2
    # The statistics are the training data's, saved with the weights.
    head = model.state_head
    flat = states.reshape(-1, 4)
    assert np.allclose(head.mean.numpy(), flat.mean(0), atol=0.1)
    assert np.allclose(head.std.numpy(), flat.std(0), rtol=0.2)
    with torch.no_grad():
        decoded = head(model.encode(torch.from_numpy(pixels))).numpy()
    truth = states[-8:]
    r2 = 1 - ((decoded - truth) ** 2).mean((0, 1)) / truth.reshape(-1, 4).var(0)
    assert r2.min() > 0.5, r2


def test_state_aux_indices_are_checked(tmp_path, reacher_data):  # noqa: F811
    with pytest.raises(ValueError, match="state_aux"):
        ModelConfig(state_aux=(0, 0))
    with pytest.raises(ValueError, match="state_aux"):
        ModelConfig(kind="recon", state_aux=(0,))
    wide = dataclasses.replace(SMALL, state_aux=(0, 6))  # Reacher's states are 6-d
    with pytest.raises(ValueError, match=r"model.state_aux indices \[6\]"):
        train(_config(tmp_path, reacher_data, model=wide, steps=2))


def test_runs_saved_before_state_aux_existed_still_resume(tmp_path, reacher_data):  # noqa: F811
    plain = dataclasses.replace(SMALL, state_aux=())
    train(_config(tmp_path, reacher_data, model=plain, steps=10))
    path = tmp_path / "run" / "train_config.json"
    saved = json.loads(path.read_text())
    del saved["model"]["state_aux"], saved["loss"]["state_aux_weight"]
    path.write_text(json.dumps(saved))
    result = train(_config(tmp_path, reacher_data, model=plain, steps=10))
    assert result.resumed_from == 10 and result.step == 10
