"""`wmplan collect / data / train / eval-model` on bad input: exit 2 and one line that
names the bad file, field or value (no traceback); and output that suits a log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from synthetic_data import synthetic_episodes
from wm_fixtures import META, TINY, write_synthetic

from wmplan.worldmodel import checkpoint as ckpt
from wmplan.worldmodel.data.episodes import EpisodeWriter
from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.train import TrainConfig, train

# Root ignores file modes, but not this: nothing can be created under /sys.
READ_ONLY = "/sys/kernel/wmplan-out"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A tiny trained run on synthetic data (a second of training)."""
    root = tmp_path_factory.mktemp("trained")
    data = write_synthetic(root / "syn.h5")
    cfg = TrainConfig(
        data=str(data), out=str(root / "run"), model=TINY, window=4, batch_size=8, steps=4,
        warmup_steps=1, checkpoint_every=4, val_every=0, threads=1, progress="none",
        val_fraction=0.25, loss=LossConfig(sigreg_directions=16), task=META.task_id,
    )  # fmt: skip
    train(cfg)
    return root / "run"


def other_task_data(path: Path) -> Path:
    meta = META.__class__(**{**META.__dict__, "task_id": "wmplan/TwoRoom-v0"})
    with EpisodeWriter(path, meta) as writer:
        for episode in synthetic_episodes(meta, 8):
            writer.append(episode)
    return path


# --- data merge / inspect ---------------------------------------------------------------
def test_merge_errors(wmplan_cli, tmp_path):
    a = write_synthetic(tmp_path / "a.h5")
    b = tmp_path / "b.h5"
    with EpisodeWriter(b, META) as writer:
        for episode in synthetic_episodes(META, 4, first=8):
            writer.append(episode)
    cli = wmplan_cli
    cli.error(cli("data", "merge", "m.h5", a, a), "a.h5: given twice")
    cli.error(cli("data", "merge", "m.h5", a, a.with_name("a.h5")), "given twice")
    dup = write_synthetic(tmp_path / "dup.h5", episodes=3)
    cli.error(cli("data", "merge", "m.h5", a, dup), "dup.h5: episode 0 is the same as episode 0")
    (tmp_path / "m.h5").write_text("not mine")
    cli.error(cli("data", "merge", "m.h5", a, b), "m.h5: already exists", "--force")
    assert cli("data", "merge", "m.h5", a, b, "--force").returncode == 0
    cli.error(cli("data", "merge", tmp_path, a, b), "OUT", "is a directory")
    cli.error(cli("data", "merge", READ_ONLY + "/m.h5", a, b), "OUT", "cannot write in")
    # A corrupt chunk in an input: refused, naming the file and the field.
    with h5py.File(b, "r") as f:
        info = f["pixels"].id.get_chunk_info(1)
    with open(b, "r+b") as fh:
        fh.seek(info.byte_offset + 8)
        fh.write(b"\x00\xff" * (info.size // 4))
    cli.error(cli("data", "merge", "m2.h5", a, b), "b.h5: cannot read 'pixels'")
    assert not (tmp_path / "m2.h5").exists()


def test_inspect_errors_and_a_closed_pipe(wmplan_cli, tmp_path):
    cli = wmplan_cli
    data = write_synthetic(tmp_path / "d.h5")
    (tmp_path / "afile").write_text("x")
    cli.error(cli("data", "inspect", data, "--video", "afile"), "--video afile", "not a directory")
    with h5py.File(data, "r+") as f:
        f["actions"][2, 3, 0] = np.nan
    cli.error(cli("data", "inspect", data), "episode 2 field 'actions' holds non-finite")
    # `wmplan data inspect X | head`: the reader goes away; no BrokenPipeError.
    good = write_synthetic(tmp_path / "g.h5")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wmplan.benchmarks.cli", "data", "inspect", str(good), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and "BrokenPipe" not in err and "Traceback" not in err, err


# --- collect ----------------------------------------------------------------------------
def test_collect_output_checks_and_a_no_op_rerun(wmplan_cli, tmp_path):
    cli = wmplan_cli
    args = ["collect", "--task", "wmplan/Reacher-v0", "--policy", "random", "--episodes", "2",
            "--steps", "4", "--image-size", "16", "--workers", "1", "--shard-episodes", "2"]  # fmt: skip
    (tmp_path / "adir").mkdir()
    cli.error(cli(*args, "--out", "adir"), "--out adir", "is a directory")
    cli.error(cli(*args, "--out", READ_ONLY + "/d.h5"), "--out", "cannot write in")
    cli.error(cli(*args, "--workers", "0", "--out", "d.h5"), "--workers", ">= 1, got 0")
    first = cli(*args, "--out", "d.h5")
    assert first.returncode == 0, first.stderr
    assert "\r" not in first.stderr  # not a terminal: no bar redraws
    again = cli(*args, "--out", "d.h5")
    assert again.returncode == 0 and "already complete, nothing collected" in again.stdout
    assert "frames/s" not in again.stdout


# --- train ------------------------------------------------------------------------------
def test_train_errors(wmplan_cli, tmp_path):
    cli = wmplan_cli
    data = write_synthetic(tmp_path / "d.h5")
    (tmp_path / "afile").write_text("x")
    base = ["train", "--data", data, "--steps", "2"]
    cli.error(cli(*base, "--out", "afile"), "--out afile", "not a directory")
    cli.error(cli(*base, "--out", READ_ONLY), "--out", "cannot write in")
    cli.error(cli(*base, "--out", "r", "--steps", "0"), "argument --steps", ">= 1, got 0")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("steps: 2\nmodel:\n  latent_dim: [8,\n")
    cli.error(cli(*base, "--out", "r", "--config", bad_yaml), "bad.yaml:4: not valid YAML")
    tag = tmp_path / "tag.yaml"
    tag.write_text("steps: 2\nlr: !!python/object/apply:os.system ['echo hi']\n")
    cli.error(cli(*base, "--out", "r", "--config", tag), "tag.yaml:2", "python/object")
    dims = tmp_path / "dims.yaml"
    dims.write_text("model:\n  image_size: 64\n")
    cli.error(cli(*base, "--out", "r", "--config", dims), "model.image_size is 64", "remove")
    (tmp_path / "listrun").mkdir()
    (tmp_path / "listrun" / "train_config.json").write_text("[1]")
    cli.error(cli(*base, "--out", "listrun"), "train_config.json: expected a JSON object")
    assert not (tmp_path / "r").exists()


def test_train_progress_in_a_log_is_plain_lines(wmplan_cli, tmp_path):
    data = write_synthetic(tmp_path / "d.h5")
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"model": {k: v for k, v in TINY.to_dict().items()
                                            if k not in ("image_size", "action_dim")},
                                  "window": 4, "batch_size": 4, "val_every": 0,
                                  "threads": 1, "loss": {"sigreg_directions": 16}}))  # fmt: skip
    lines = wmplan_cli("train", "--data", data, "--out", "r", "--steps", "30", "--config", config)
    assert lines.returncode == 0, lines.stderr
    assert "\r" not in lines.stderr and "train: 30/30 step (100%)" in lines.stderr
    bar = wmplan_cli("train", "--data", data, "--out", "r2", "--steps", "60", "--config", config,
                     "--progress", "bar")  # fmt: skip
    assert bar.returncode == 0, bar.stderr
    assert bar.stderr.count("\r") < 30  # redrawn on a clock, not on every one of 60 steps


# --- eval-model -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "flag, value",
    [
        ("--horizon", "0"),
        ("--horizon", "-1"),
        ("--train-episodes", "-1"),
        ("--decoder-steps", "-1"),
    ],  # fmt: skip
)
def test_eval_model_rejects_bad_numbers(wmplan_cli, run_dir, flag, value):
    err = wmplan_cli.error(wmplan_cli("eval-model", run_dir, flag, value), f"argument {flag}")
    assert f"got {value}" in err


def test_eval_model_errors(wmplan_cli, run_dir, tmp_path):
    cli = wmplan_cli
    other = other_task_data(tmp_path / "tworoom.h5")
    cli.error(
        cli("eval-model", run_dir, "--data", other, "--decoder-steps", "0"),
        "tworoom.h5: task_id is 'wmplan/TwoRoom-v0' but 'wmplan/Synthetic-v0' is required",
    )
    (tmp_path / "afile").write_text("x")
    cli.error(cli("eval-model", run_dir, "--out", "afile"), "--out afile", "not a directory")
    listed = tmp_path / "listed"
    ckpt.save_checkpoint(listed, __import__("wmplan.worldmodel.model", fromlist=["x"]).build_model(
        TINY), TINY.to_dict())  # fmt: skip
    (listed / "config.json").write_text("[1, 2]")
    cli.error(cli("eval-model", listed, "--data", other), "config.json: expected a JSON object")
    ok = cli("eval-model", run_dir, "--decoder-steps", "0", "--horizon", "1")  # data from the run
    assert ok.returncode == 0, ok.stderr
