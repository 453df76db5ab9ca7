"""Checkpoints never yield a model that plans garbage quietly: non-finite weights are
refused on save and on load, malformed JSON and pointers raise CheckpointError, and
damaged files (truncated, bit-flipped, random) raise nothing but CheckpointError."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from wm_fixtures import TINY, flipped_copies

from wmplan.worldmodel import checkpoint as ckpt
from wmplan.worldmodel.model import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def run_with_checkpoint(tmp_path):
    """A run directory ``run/checkpoints/{step_00000001, latest}``; returns (run, ckpt dir)."""
    run = tmp_path / "run"
    directory = run / "checkpoints" / "step_00000001"
    ckpt.save_checkpoint(directory, build_model(TINY), TINY.to_dict(), {"task": "t"})
    ckpt.update_latest(run / "checkpoints", "step_00000001")
    return run, directory


def test_loading_refuses_nan_weights_naming_the_tensor(tmp_path):
    _, directory = run_with_checkpoint(tmp_path)
    tensors = load_file(str(directory / ckpt.MODEL_FILE))
    name = sorted(k for k, v in tensors.items() if v.is_floating_point())[0]
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, str(directory / ckpt.MODEL_FILE))
    with pytest.raises(ckpt.CheckpointError, match=f"tensor '{name}' holds 1 non-finite"):
        ckpt.load_model(tmp_path / "run")


def test_saving_refuses_a_model_with_inf_weights(tmp_path):
    model = build_model(TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("inf"))
            break
    with pytest.raises(ckpt.CheckpointError, match="non-finite"):
        ckpt.save_checkpoint(tmp_path / "ck", model, TINY.to_dict())
    assert not (tmp_path / "ck").exists()


@pytest.mark.parametrize("content", ["[1, 2, 3]", '"text"', "42"])
def test_config_json_that_is_not_an_object_is_refused(tmp_path, content):
    _, directory = run_with_checkpoint(tmp_path)
    (directory / ckpt.CONFIG_FILE).write_text(content)
    with pytest.raises(ckpt.CheckpointError, match="config.json: expected a JSON object"):
        ckpt.load_model(directory)


def test_config_json_with_a_non_object_model_is_refused(tmp_path):
    _, directory = run_with_checkpoint(tmp_path)
    config = json.loads((directory / ckpt.CONFIG_FILE).read_text())
    config["model"] = [1, 2]
    (directory / ckpt.CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ckpt.CheckpointError, match="'model' must be a JSON object"):
        ckpt.load_model(directory)


@pytest.mark.parametrize("pointer", [b"../../etc", b"step_99999999", b"\xff\xfe\x00", b""])
def test_a_latest_pointer_to_nowhere_is_refused(tmp_path, pointer):
    run, _ = run_with_checkpoint(tmp_path)
    (run / "checkpoints" / ckpt.LATEST).write_bytes(pointer)
    with pytest.raises(ckpt.CheckpointError, match="latest: names .* not a checkpoint directory"):
        ckpt.load_model(run)


@pytest.mark.parametrize("name", [ckpt.MODEL_FILE, ckpt.CONFIG_FILE])
def test_fuzzed_checkpoint_files_raise_checkpoint_error(tmp_path, name):
    run, directory = run_with_checkpoint(tmp_path)
    path = directory / name
    data = path.read_bytes()
    for cut in (0, 5, 9, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(ckpt.CheckpointError, match=name):
            ckpt.load_model(run)
    for seed in range(3):
        path.write_bytes(np.random.default_rng(seed).bytes(len(data)))
        with pytest.raises(ckpt.CheckpointError, match=name):
            ckpt.load_model(run)
    # Flipped bits: a flip inside a weight may load (as a different number), but
    # nothing but a CheckpointError may escape.
    raised = 0
    for flipped in flipped_copies(data, count=30, flips=4, seed=1):
        path.write_bytes(flipped)
        try:
            ckpt.load_model(run)
        except ckpt.CheckpointError as exc:
            assert str(directory) in str(exc)
            raised += 1
    assert raised >= 3
