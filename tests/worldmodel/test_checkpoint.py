"""Checkpoints: safetensors + JSON round trip; pickle and mis-shaped tensors refused."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file
from wm_fixtures import TINY

from wmplan.agents.wm import WorldModel
from wmplan.worldmodel import checkpoint as ckpt
from wmplan.worldmodel.model import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def saved(tmp_path, model=None):
    model = model or build_model(TINY)
    return ckpt.save_checkpoint(tmp_path / "ck", model, TINY.to_dict(), {"note": "test"}), model


def test_round_trip_restores_weights_buffers_and_config(tmp_path):
    model = build_model(TINY).train()
    model.encode(torch.randint(0, 256, (4, 2, 16, 16, 3), dtype=torch.uint8))  # move BN stats
    path, _ = saved(tmp_path, model)
    loaded, config = ckpt.load_model(path)
    assert config["metadata"] == {"note": "test"}
    assert loaded.config == TINY
    for (name, a), (_, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert not loaded.training
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]


def test_run_directory_resolves_to_latest_checkpoint(tmp_path):
    model = build_model(TINY)
    for step in (5, 10, 15):
        ckpt.save_checkpoint(tmp_path / "checkpoints" / f"step_{step:08d}", model, TINY.to_dict())
        ckpt.update_latest(tmp_path / "checkpoints", f"step_{step:08d}", keep=2)
    assert ckpt.resolve(tmp_path).name == "step_00000015"
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == [
        "step_00000010", "step_00000015"]  # fmt: skip


def test_world_model_adapter_loads_and_rolls_out(tmp_path):
    path, _ = saved(tmp_path)
    wm = WorldModel.load(path)
    z = wm.encode(torch.zeros(2, 3, 16, 16, 3, dtype=torch.uint8).numpy())
    acts = torch.zeros(2, 7, 4, wm.action_block_dim, requires_grad=True)
    roll = wm.rollout(z, acts)
    assert roll.shape == (2, 7, 4, TINY.latent_dim)
    roll.sum().backward()  # gradient planners differentiate through the rollout
    assert acts.grad is not None
    with pytest.raises(ValueError, match="k\\*A"):
        wm.rollout(z, torch.zeros(2, 7, 4, 3))
    with pytest.raises(ValueError, match="16x16"):
        wm.encode(torch.zeros(1, 1, 32, 32, 3, dtype=torch.uint8))


@pytest.mark.parametrize("name", ["model.pt", "weights.pkl", "model.pth"])
def test_pickle_files_are_refused_by_suffix(tmp_path, name):
    path, model = saved(tmp_path)
    torch.save(model.state_dict(), path / name)  # a pickle-bearing checkpoint
    with pytest.raises(ckpt.CheckpointError, match="pickle"):
        ckpt.load_model(path)
    with pytest.raises(ckpt.CheckpointError, match="pickle"):
        ckpt.load_model(path / name)


def test_pickle_content_under_a_safetensors_name_is_refused(tmp_path):
    path, _ = saved(tmp_path)
    (path / "model.safetensors").write_bytes(pickle.dumps({"w": [1, 2, 3]}))
    with pytest.raises(ckpt.CheckpointError, match="pickle"):
        ckpt.load_model(path)


def test_a_safetensors_header_length_ending_in_0x80_is_not_taken_for_a_pickle(tmp_path):
    """A safetensors file starts with its header's length (u64, little-endian): one
    whose low byte is 0x80, the pickle protocol opcode, is still a safetensors file."""
    from safetensors.torch import save_file

    f = tmp_path / "w.safetensors"
    for pad in range(300):  # grow the header until its length's low byte is 0x80
        save_file({"w": torch.zeros(2)}, str(f), metadata={"pad": "x" * pad})
        if f.read_bytes()[0] == 0x80:
            break
    assert f.read_bytes()[0] == 0x80
    ckpt.refuse_pickle(f)  # no error
    torch.testing.assert_close(ckpt._read_safetensors(f)["w"], torch.zeros(2))
    f.write_bytes(pickle.dumps({"w": [1, 2, 3]}, protocol=4))
    with pytest.raises(ckpt.CheckpointError, match="pickle"):
        ckpt.refuse_pickle(f)


def test_missing_tensor_is_named(tmp_path):
    path, _ = saved(tmp_path)
    tensors = load_file(str(path / "model.safetensors"))
    del tensors["predictor.out_proj.weight"]
    save_file(tensors, str(path / "model.safetensors"))
    with pytest.raises(ckpt.CheckpointError, match="missing tensor 'predictor.out_proj.weight'"):
        ckpt.load_model(path)


def test_misshaped_tensor_is_named(tmp_path):
    path, _ = saved(tmp_path)
    tensors = load_file(str(path / "model.safetensors"))
    tensors["encoder.projector.net.3.bias"] = torch.zeros(99)
    save_file(tensors, str(path / "model.safetensors"))
    with pytest.raises(ckpt.CheckpointError, match="'encoder.projector.net.3.bias' has shape"):
        ckpt.load_model(path)


def test_config_that_does_not_match_weights_is_refused(tmp_path):
    path, _ = saved(tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["model"]["latent_dim"] = 12
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ckpt.CheckpointError, match="shape"):
        ckpt.load_model(path)


def test_optimizer_state_round_trips_without_pickle(tmp_path):
    model = build_model(TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, 256, (4, 3, 16, 16, 3), dtype=torch.uint8)
    model.encode(x).square().mean().backward()
    opt.step()
    tensors, meta = ckpt.optimizer_to_state(opt)
    save_file(tensors, str(tmp_path / "t.safetensors"))
    (tmp_path / "t.json").write_text(json.dumps(meta))
    opt2 = torch.optim.AdamW(build_model(TINY).parameters(), lr=1e-3)
    ckpt.optimizer_from_state(opt2, load_file(str(tmp_path / "t.safetensors")),
                              json.loads((tmp_path / "t.json").read_text()))  # fmt: skip
    sd, sd2 = opt.state_dict(), opt2.state_dict()
    assert sd["param_groups"] == sd2["param_groups"]
    assert sd["state"].keys() == sd2["state"].keys()
    for i, st in sd["state"].items():
        for key, value in st.items():
            assert torch.equal(value, sd2["state"][i][key]), (i, key)


def test_interrupted_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    path, model = saved(tmp_path)
    before = (path / "model.safetensors").read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "write_json_atomic", boom)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(path, model, TINY.to_dict())
    assert (path / "model.safetensors").read_bytes() == before
    ckpt.load_model(path)
