"""``wmplan report`` writes every plot, the tables, the videos and the published
numbers, from a synthetic results database."""

from __future__ import annotations

import json

import numpy as np

from wmplan.benchmarks.cli import main
from wmplan.benchmarks.episode import encode_gif
from wmplan.benchmarks.plots import PLOTS
from wmplan.benchmarks.results import ResultsDB, Skipped, record_skipped


def _fill(run_dir, rng):
    """2 tasks x (random + an oracle swept over 3 budgets), 2 seeds x 6 episodes."""
    agents = {"random": None}
    for samples in (16, 64, 256):
        agents[f"oracle[num_samples={samples}]"] = samples
    (run_dir / "videos").mkdir(parents=True)
    frame = np.zeros((16, 34, 3), np.uint8)
    with ResultsDB.in_run_dir(run_dir) as db:
        for task in ("wmplan/Reacher-v0", "wmplan/TwoRoom-v0"):
            for agent, samples in agents.items():
                p = 0.1 if samples is None else min(0.95, 0.3 + samples / 300)
                cfg = {"name": agent, "kind": "random" if samples is None else "oracle"}
                if samples is not None:
                    cfg["planner"] = {"name": "cem", "num_samples": samples, "iterations": 10}
                for seed in (0, 1):
                    for ep in range(6):
                        success = bool(rng.random() < p)
                        video = None
                        if seed == 0 and ep < 2:
                            video = f"videos/{task[7:]}_{agent}_{ep}.gif"
                            (run_dir / video).write_bytes(encode_gif([frame, frame + 50]))
                        info = None
                        if samples is not None:
                            best = list(np.linspace(1.0, 0.2 + 10 / samples, 10))
                            info = {
                                "calls": 10,
                                "best_cost": best,
                                "mean_cost": [b * 2 for b in best],
                            }
                        db.insert({
                            "config_hash": f"h{samples}", "task": task, "agent": agent, "seed": seed,
                            "episode": ep, "success": success, "success_step": 20 if success else None,
                            "final_distance": float(rng.random()), "return": float(rng.normal()),
                            "steps": 20 if success else 50,
                            "plan_time_per_step": 1e-5 if samples is None else samples * 1e-4,
                            "wall_clock": 1.0, "code_version": "test", "suite": "synthetic",
                            "agent_config": json.dumps(cfg), "plan_info": info, "video": video,
                        })  # fmt: skip


def test_report_writes_every_plot_table_and_video(tmp_path, capsys):
    run = tmp_path / "run"
    _fill(run, np.random.default_rng(0))
    assert main(["report", str(run)]) == 0
    out = run / "report"
    assert str(out / "report.md") in capsys.readouterr().out
    for name in PLOTS:
        png = out / "plots" / f"{name}.png"
        assert png.stat().st_size > 5000, name
        assert png.read_bytes()[:4] == b"\x89PNG"
    md = (out / "report.md").read_text()
    for section in ("## Success by task", "## Per task and agent", "## Aggregate over tasks",
                    "## Paired differences", "## Best and worst episodes",
                    "## Published numbers (not run here)"):  # fmt: skip
        assert section in md, section
    assert "LeWM (published, not run here)" in md and "arXiv:2605.07278" in md
    assert "`oracle[num_samples=256]` - `random`" in md
    for name in PLOTS:
        assert f"plots/{name}.png" in md
    gifs = sorted(p.name for p in (out / "videos").glob("*.gif"))
    assert gifs and all(f"videos/{g}" in md for g in gifs)
    assert "No agent recorded planner info" not in md


def test_report_of_a_run_without_planners_says_what_is_missing(tmp_path):
    run = tmp_path / "run"
    with ResultsDB.in_run_dir(run) as db:
        for ep in range(3):
            db.insert({"config_hash": "h", "task": "wmplan/Push-v0", "agent": "random", "seed": 0,
                       "episode": ep, "success": False, "return": 0.0, "steps": 50,
                       "plan_time_per_step": 0.0, "wall_clock": 1.0, "code_version": "t",
                       "suite": "s", "agent_config": json.dumps({"name": "random", "kind": "random"})})  # fmt: skip
    # A run directory from before skipped.json: its report has no such section.
    (run / "log.jsonl").write_text(json.dumps({"event": "skip", "note": "old"}) + "\n")
    assert main(["report", str(run), "--out", str(tmp_path / "old")]) == 0
    assert "## Agents not run" not in (tmp_path / "old" / "report.md").read_text()
    missing = Skipped("wmplan/Push-v0", "wm-cem", "agent 'wm-cem': no checkpoint at runs/wm-Push")
    ran = Skipped("wmplan/Push-v0", "random", "an old note of an agent that has run since")
    record_skipped(run, [missing, ran])
    assert main(["report", str(run), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "No agent recorded planner info" in md and "No episode was recorded" in md
    assert "## Agents not run" in md and missing.note in md and ran.note not in md
    assert missing.note == (
        "skipped wm-cem on wmplan/Push-v0: agent 'wm-cem': no checkpoint at runs/wm-Push"
    )
    assert all((tmp_path / "rep" / "plots" / f"{n}.png").exists() for n in PLOTS)


def test_a_missing_video_is_noted_in_its_cell_and_the_report_still_written(tmp_path):
    run = tmp_path / "run"
    _fill(run, np.random.default_rng(0))
    gone = sorted((run / "videos").glob("*.gif"))
    for gif in gone[:2]:
        gif.unlink()
    assert main(["report", str(run)]) == 0
    md = (run / "report" / "report.md").read_text()
    missing = [g.name for g in gone[:2] if f"(video missing: videos/{g.name})" in md]
    assert missing and not any((run / "report" / "videos" / g.name).exists() for g in gone[:2])
    kept = sorted(p.name for p in (run / "report" / "videos").glob("*.gif"))
    assert kept and all(f"videos/{g}" in md for g in kept)


def test_report_of_a_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "no results database" in capsys.readouterr().err
