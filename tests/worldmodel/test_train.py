"""Training: the loss goes down, a tiny model on real MuJoCo data beats copy-last, and a
run killed with SIGKILL resumes to the same final weights as an uninterrupted run."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from wm_fixtures import TINY, write_synthetic

from wmplan.worldmodel.checkpoint import load_model, resolve
from wmplan.worldmodel.evaluate import evaluate_checkpoint
from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.train import TrainConfig, lr_at, train

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parents[2]


def tiny_config(tmp_path: Path, data: Path, **kw) -> TrainConfig:
    base = dict(
        data=str(data), out=str(tmp_path / "run"), model=TINY, window=4, batch_size=8,
        steps=40, lr=3e-3, warmup_steps=5, checkpoint_every=10, log_every=5, val_every=20,
        threads=1, progress=False, val_fraction=0.25,
        loss=LossConfig(sigreg_directions=64),
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def test_training_lowers_the_loss_and_writes_metrics(tmp_path):
    data = write_synthetic(tmp_path / "syn.h5")
    result = train(tiny_config(tmp_path, data))
    records = [
        json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().split("\n") if x
    ]
    assert [r["step"] for r in records] == list(range(5, 41, 5))
    assert records[-1]["loss"] < records[0]["loss"]
    assert "val_ratio_to_copy_last" in records[-1]
    assert result.step == 40 and resolve(tmp_path / "run").name == "step_00000040"
    # Rerunning a finished run is a no-op that reports the end.
    again = train(tiny_config(tmp_path, data))
    assert again.resumed_from == 40 and again.step == 40


def test_train_config_from_yaml_and_validation(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "steps: 7\nmodel:\n  latent_dim: 12\n  cnn_channels: [8, 8]\nloss:\n  sigreg_weight: 0.2\n"
    )
    cfg = TrainConfig.from_file(path, out="x")
    assert cfg.steps == 7 and cfg.model.latent_dim == 12 and cfg.model.cnn_channels == (8, 8)
    assert cfg.loss.sigreg_weight == 0.2 and cfg.out == "x"
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="window"):
        TrainConfig(window=2)
    with pytest.raises(ValueError, match="unknown train config fields \\['stepz'\\]"):
        TrainConfig.from_dict({"stepz": 3})


def test_lr_schedule_warms_up_then_decays():
    cfg = TrainConfig(steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(55, cfg) == pytest.approx(0.55)
    assert lr_at(100, cfg) == pytest.approx(0.1)


def test_resuming_with_another_config_is_refused(tmp_path):
    data = write_synthetic(tmp_path / "syn.h5")
    train(tiny_config(tmp_path, data, steps=10))
    with pytest.raises(ValueError, match="lr"):
        train(tiny_config(tmp_path, data, steps=10, lr=1e-2))


@pytest.fixture(scope="module")
def reacher_data(tmp_path_factory) -> Path:
    """Forty short real Reacher episodes (rendered by MuJoCo at 32 px)."""
    from wmplan.worldmodel.data.collect import CollectConfig, collect

    out = tmp_path_factory.mktemp("reacher") / "reacher.h5"
    config = CollectConfig(
        task_id="wmplan/Reacher-v0", episodes=40, steps=40, image_size=32, seed=0,
        shard_episodes=40,
    )  # fmt: skip
    return collect(config, out, workers=1, progress=False)


def test_tiny_model_on_real_reacher_data_beats_copy_last(tmp_path, reacher_data):
    model = dataclasses.replace(
        TINY, image_size=32, action_block=4, cnn_channels=(8, 16, 16), latent_dim=16,
        feat_dim=64, projector_hidden=64, pred_width=32,
    )  # fmt: skip
    cfg = tiny_config(
        tmp_path, reacher_data, model=model, task="wmplan/Reacher-v0", steps=200, batch_size=16,
        window=4, val_every=50, val_fraction=0.2, loss=LossConfig(sigreg_directions=64,
        sigreg_weight=0.05),
    )  # fmt: skip
    result = train(cfg)
    records = [
        json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().split("\n") if x
    ]
    assert records[-1]["loss"] < records[0]["loss"]
    assert result.metrics["val_ratio_to_copy_last"] < 1.0
    report = evaluate_checkpoint(tmp_path / "run", reacher_data, horizon=3, decoder_steps=0)
    assert max(report["open_loop"]["ratio"]) < 1.0, report["open_loop"]
    assert report["collapse"]["effective_rank"] > 2.0
    assert report["probe"]["r2"][1] > 0.8  # sin of the shoulder angle is linearly decodable


def _run_cli(config: Path, data: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "wmplan.benchmarks.cli", "train", "--config", str(config),
           "--data", str(data), "--out", str(out), "--quiet"]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_sigkilled_run_resumes_to_identical_weights(tmp_path):
    data = write_synthetic(tmp_path / "syn.h5", episodes=8)
    cfg = tiny_config(tmp_path, data, steps=60, checkpoint_every=5, val_every=0)
    config = tmp_path / "cfg.json"
    d = cfg.to_dict()
    for key in ("data", "out"):
        d.pop(key)
    config.write_text(json.dumps(d))

    straight = _run_cli(config, data, tmp_path / "straight")
    assert straight.wait(timeout=300) == 0, straight.stdout.read().decode()

    killed = tmp_path / "killed"
    proc = _run_cli(config, data, killed)
    latest = killed / "checkpoints" / "latest"
    deadline = time.time() + 240
    while time.time() < deadline:
        if latest.exists() and latest.read_text().strip() >= "step_00000015":
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    step_at_kill = int(latest.read_text().strip().split("_")[1])
    assert step_at_kill < 60, "the run finished before it could be killed"

    resumed = _run_cli(config, data, killed)
    output = resumed.stdout.read().decode()
    assert resumed.wait(timeout=300) == 0, output
    assert f"resumed at step {step_at_kill}" in output

    a = load_file(str(resolve(tmp_path / "straight") / "model.safetensors"))
    b = load_file(str(resolve(killed) / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    steps = [json.loads(x)["step"] for x in (killed / "metrics.jsonl").read_text().split("\n") if x]
    assert steps == sorted(set(steps)) and steps[-1] == 60
    load_model(killed)  # the final checkpoint loads as a model
