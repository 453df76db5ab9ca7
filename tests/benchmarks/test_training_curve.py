"""`wmplan curve`: every kept checkpoint of a real (tiny) training run plans the same
protocol episodes; the curve resumes without re-running a checkpoint and refuses to
mix settings."""

from __future__ import annotations

import json

import pytest

from wmplan.benchmarks.cli import main

TINY_PLANNER = ["--planner-opt", "num_samples=8", "--planner-opt", "iterations=1",
                "--planner-opt", "num_elites=2"]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A TwoRoom world model trained 4 steps, keeping the checkpoints of steps 2 and 4."""
    d = tmp_path_factory.mktemp("curve")
    data, run = d / "tr.h5", d / "run"
    assert main(["collect", "--task", "wmplan/TwoRoom-v0", "--episodes", "4", "--steps", "40",
                 "--workers", "1", "--out", str(data)]) == 0  # fmt: skip
    cfg = d / "cfg.json"
    cfg.write_text(json.dumps({"checkpoint_every": 2, "keep_checkpoints": 5, "batch_size": 4,
                               "val_every": 0, "model": {"cnn_channels": [4, 8, 8, 8],
                               "feat_dim": 32, "projector_hidden": 32, "pred_width": 16}}))  # fmt: skip
    assert main(["train", "--task", "wmplan/TwoRoom-v0", "--data", str(data), "--out", str(run),
                 "--config", str(cfg), "--steps", "4", "--quiet"]) == 0  # fmt: skip
    return run


def test_curve_plans_with_every_checkpoint_and_resumes(tiny_run, tmp_path, capsys):
    out = tmp_path / "curve"
    argv = ["curve", str(tiny_run), "--task", "wmplan/TwoRoom-v0", "--episodes", "2",
            "--seed", "100", "--out", str(out), *TINY_PLANNER]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((out / "curve.json").read_text())
    points = summary["points"]
    assert [p["step"] for p in points] == [2, 4]
    for p in points:
        assert p["n"] == 2 and 0 <= p["successes"] <= 2
        assert p["train_wall_s"] is not None and p["train_wall_s"] > 0
        assert p["ci95"][0] <= p["rate"] <= p["ci95"][1]
    assert points[0]["train_wall_s"] <= points[1]["train_wall_s"]
    assert (out / "curve.png").stat().st_size > 0
    rows_before = (out / "rows.jsonl").read_text()
    assert main(argv) == 0  # every checkpoint done: nothing runs again
    assert (out / "rows.jsonl").read_text() == rows_before
    assert "step      4" in capsys.readouterr().out


def test_curve_refuses_to_mix_settings_in_one_output(tiny_run, tmp_path, capsys):
    out = tmp_path / "curve"
    base = ["curve", str(tiny_run), "--task", "wmplan/TwoRoom-v0", "--episodes", "1",
            "--out", str(out), *TINY_PLANNER]  # fmt: skip
    assert main([*base, "--seed", "100"]) == 0
    rows = (out / "rows.jsonl").read_text()
    assert main([*base, "--seed", "101"]) == 2
    assert "'seed': 100" in capsys.readouterr().err
    assert (out / "rows.jsonl").read_text() == rows


def test_curve_needs_a_training_run(tmp_path, capsys):
    assert main(["curve", str(tmp_path), "--task", "wmplan/TwoRoom-v0", "--out",
                 str(tmp_path / "c")]) == 2  # fmt: skip
    assert "no step_* checkpoints" in capsys.readouterr().err
