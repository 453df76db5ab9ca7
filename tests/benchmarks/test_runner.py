"""The runner: one row per episode, reruns skip finished work, results do not
depend on workers, and a SIGKILLed run resumes without losing or duplicating rows."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wmplan.benchmarks.results import DETERMINISTIC, ResultsDB, load_rows
from wmplan.benchmarks.runner import plan_jobs, run_suite
from wmplan.benchmarks.suite import load_suite


def _det(rows):
    return sorted(tuple(r[c] for c in DETERMINISTIC) for r in rows)


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # table not created yet


def _wait_gone(pgid: int, timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_sigkill_then_rerun_equals_clean_run(tmp_path, tiny_suite_file):
    suite_file = tiny_suite_file(episodes=10, budget=12)
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "wmplan.benchmarks.cli", "bench", "--suite", str(suite_file),
           "--out", str(killed), "--workers", "2", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.time() + 120
        while _count(killed / "results.sqlite") < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "no rows appeared"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # the runner only: its workers are orphaned
        proc.wait()
        # Orphaned workers notice and exit after the episode they are in.
        assert _wait_gone(proc.pid, 60), "workers outlived their runner"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    partial = _count(killed / "results.sqlite")
    assert 3 <= partial < 10

    suite = load_suite(suite_file)
    resumed = run_suite(suite, killed, workers=2, progress=False, echo=lambda s: None)
    assert resumed.episodes_skipped == partial and resumed.episodes_run == 10 - partial

    clean = tmp_path / "clean"
    run_suite(suite, clean, workers=1, progress=False, echo=lambda s: None)
    rows_killed, rows_clean = load_rows(killed), load_rows(clean)
    assert len(rows_killed) == len(rows_clean) == 10
    keys = [(r["config_hash"], r["task"], r["agent"], r["seed"], r["episode"]) for r in rows_killed]
    assert len(set(keys)) == len(keys)
    # Same seeds, different worker counts and an interruption: identical outcomes.
    assert _det(rows_killed) == _det(rows_clean)
    # A rerun of a finished suite does no work.
    again = run_suite(suite, clean, workers=2, progress=False, echo=lambda s: None)
    assert again.episodes_run == 0 and again.episodes_skipped == 10
    # Recorded episode 0 has its video (observation | goal) next to its row.
    (row0,) = [r for r in rows_clean if r["episode"] == 0]
    assert row0["video"] and (clean / row0["video"]).stat().st_size > 0


def test_db_refuses_duplicate_rows(tmp_path):
    row = {"config_hash": "h", "task": "t", "agent": "a", "seed": 0, "episode": 0,
           "success": True, "return": 1.0, "steps": 3, "plan_time_per_step": 0.0,
           "wall_clock": 0.1, "code_version": "v", "suite": "s", "agent_config": "{}"}  # fmt: skip
    with ResultsDB(tmp_path / "r.sqlite") as db:
        assert db.insert(row)
        assert not db.insert({**row, "success": False})
        assert len(db.rows()) == 1 and db.rows()[0]["success"] is True


def test_unavailable_agents_are_skipped_with_a_note_or_fail(tmp_path):
    suite = load_suite("quick").replace(tasks=("wmplan/Reacher-v0",), episodes=1)
    missing = str(tmp_path / "wm-{task_lower}")
    agents = tuple(
        dataclasses.replace(a, checkpoint=missing) if a.kind == "wm" else a for a in suite.agents
    )
    suite = suite.replace(agents=agents, skip_missing=True)
    jobs, left_out, _ = plan_jobs(suite, set(), version="test")
    notes = [s.note for s in left_out]
    assert any("wm-cem" in n and str(tmp_path / "wm-reacher") in n for n in notes)
    assert {j.agent.name for j in jobs} >= {"random"}
    with pytest.raises(ValueError, match="skip_missing"):
        plan_jobs(suite.replace(skip_missing=False), set(), version="test")


def test_sweep_of_a_planning_agent_runs_end_to_end_with_plan_info(tmp_path):
    from wmplan.benchmarks.report import write_report
    from wmplan.benchmarks.suite import apply_sweep, parse_suite, parse_sweep

    suite = parse_suite(
        """
name: sweep
tasks: [wmplan/TwoRoom-v0]
episodes: 2
record_episodes: 1
protocol: {goal_offset: 10, budget: 6}
agents:
  - {name: random, kind: random}
  - name: stub
    kind: python
    planner: {name: random, num_samples: 8, iterations: 3}
    options: {entry_point: "stub_agents:StubPlanner", privileged: true, replan: 3}
""",
        "sweep.yaml",
    )
    suite = apply_sweep(suite, parse_sweep(["planner.iterations=2,4"]))
    summary = run_suite(suite, tmp_path / "run", workers=2, progress=False, echo=lambda s: None)
    assert summary.episodes_run == 2 * 3
    rows = {(r["agent"], r["episode"]): r for r in load_rows(tmp_path / "run")}
    info = rows[("stub[iterations=4]", 0)]["plan_info"]
    assert info["calls"] == 2 and len(info["best_cost"]) == 4  # 6 steps, replan every 3
    assert rows[("random", 0)]["plan_info"] is None
    md = write_report(tmp_path / "run").read_text()
    assert "No agent recorded planner info" not in md and "`stub[iterations=2]`" in md


@pytest.mark.parametrize("threads", [1, 3])
def test_threads_caps_each_local_worker(tmp_path, threads):
    from wmplan.benchmarks.suite import parse_suite

    suite = parse_suite(
        f"""
name: threads
tasks: [wmplan/TwoRoom-v0]
episodes: 1
protocol: {{goal_offset: 5, budget: 2}}
agents:
  - name: probe
    kind: python
    options: {{entry_point: "stub_agents:ThreadProbe", threads: {threads}}}
""",
        "threads.yaml",
    )
    summary = run_suite(suite, tmp_path / "run", workers=1, threads=threads, progress=False,
                        echo=lambda s: None)  # fmt: skip
    assert summary.episodes_run == 1
    with pytest.raises(ValueError, match="threads"):
        run_suite(suite, tmp_path / "run2", threads=0, progress=False)
