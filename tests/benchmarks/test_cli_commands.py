"""Each user-facing subcommand runs once as a real process at a tiny size and
writes/prints what it says: ``envs list``, ``envs show``, ``plan`` (random and the
shipped world model), ``collect`` + ``eval-model``, ``demo`` with a tiny suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import wmplan.envs

MODELS = Path(__file__).resolve().parents[2] / "models"


def wmplan_cli(*args: str, cwd: Path, timeout: float = 300) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "wmplan.benchmarks.cli", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)  # fmt: skip
    assert proc.returncode == 0, f"wmplan {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_envs_list_names_every_registered_task(tmp_path):
    out = wmplan_cli("envs", "list", cwd=tmp_path)
    for task_id, info in wmplan.envs.TASKS.items():
        line = next(line for line in out.splitlines() if task_id in line)
        assert str(info.action_dim) in line


def test_envs_show_writes_a_sheet_and_a_gif_at_20_frames_per_second(tmp_path):
    out = wmplan_cli("envs", "show", "wmplan/TwoRoom-v0", "--out", "show", "--steps", "6",
                     "--image-size", "32", cwd=tmp_path)  # fmt: skip
    sheet, gif = (tmp_path / p for p in out.split())
    assert sheet.name == "TwoRoom-v0_sheet.png" and Image.open(sheet).size[0] >= 64
    frames = Image.open(gif)
    durations = []
    for i in range(frames.n_frames):
        frames.seek(i)
        durations.append(frames.info["duration"])
    assert sum(durations) == 50 * 7  # ms: the start and 6 steps, 20 frames/s


def test_plan_with_the_random_agent_prints_every_episode_and_the_rate(tmp_path):
    out = wmplan_cli("plan", "--task", "wmplan/Reacher-v0", "--agent", "random", "--episodes",
                     "2", "--budget", "5", "--video", "vids", cwd=tmp_path)  # fmt: skip
    lines = out.splitlines()
    assert lines[0].startswith("episode   0: ") and lines[1].startswith("episode   1: ")
    assert "steps   5" in lines[0] or "success" in lines[0]
    assert "agent=random planner=-: success " in lines[-1] and "/2 = " in lines[-1]
    assert sorted(p.name for p in (tmp_path / "vids").iterdir()) == [
        "episode000.gif", "episode001.gif"]  # fmt: skip


def test_plan_with_the_shipped_world_model(tmp_path):
    out = wmplan_cli("plan", "--task", "wmplan/Reacher-v0", "--agent", "wm", "--checkpoint",
                     str(MODELS / "wm-reacher"), "--episodes", "1", "--budget", "10",
                     "--planner-opt", "num_samples=32", "--planner-opt", "iterations=3",
                     "--planner-opt", "num_elites=4", cwd=tmp_path)  # fmt: skip
    assert "agent=wm planner=cem: success " in out.splitlines()[-1]


@pytest.fixture(scope="module")
def reacher_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    wmplan_cli("collect", "--task", "wmplan/Reacher-v0", "--episodes", "6", "--steps", "30",
               "--workers", "1", "--out", "r.h5", "--quiet", cwd=d)  # fmt: skip
    return d / "r.h5"


def test_collect_then_eval_model_of_the_shipped_model(reacher_data, tmp_path):
    out = wmplan_cli("eval-model", str(MODELS / "wm-reacher"), "--data", str(reacher_data),
                     "--out", "ev", "--horizon", "2", "--train-episodes", "4",
                     "--decoder-steps", "0", cwd=tmp_path)  # fmt: skip
    assert "wrote ev/eval.json" in out
    report = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert len(report["open_loop"]["ratio"]) == 2
    assert (tmp_path / "ev" / "open_loop.png").stat().st_size > 0


def test_demo_with_a_tiny_suite_writes_sheets_results_and_report(tmp_path, tiny_suite_file):
    suite = tiny_suite_file(episodes=2, budget=4)
    out = wmplan_cli("demo", "--suite", str(suite), "--out", "demo", "--workers", "1",
                     cwd=tmp_path)  # fmt: skip
    for task_id in wmplan.envs.GOAL_TASKS:
        assert f"{task_id}: observation | goal -> " in out
    assert (tmp_path / "demo" / "results.sqlite").is_file()
    md = (tmp_path / "demo" / "report" / "report.md").read_text()
    assert "`random`" in md and "2 episodes" in md
