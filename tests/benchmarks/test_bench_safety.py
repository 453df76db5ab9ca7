"""The harness never pools two configs under one name, never runs twice into one
directory at once, and reports a failing job or a bad results file in one line."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from wmplan.benchmarks.results import DB_NAME, ResultsDB, ResultsError, load_rows
from wmplan.benchmarks.runner import LOCK_NAME, JobFailed, plan_jobs, run_suite
from wmplan.benchmarks.suite import load_suite, parse_suite
from wmplan.worldmodel.lockfile import LockBusy, hold_lock

HERE = Path(__file__).resolve().parent

ORACLE = """
name: o
tasks: [wmplan/Reacher-v0]
episodes: 2
agents:
  - name: oracle-cem
    kind: oracle
    planner: {name: cem, num_samples: 8, num_elites: 2, iterations: 1}
"""


def quiet(_: str) -> None:
    pass


def test_a_changed_config_under_an_existing_name_is_refused(tmp_path, tiny_suite_file):
    first = load_suite(tiny_suite_file(episodes=2, budget=8))
    run_suite(first, tmp_path / "run", workers=1, progress=False, echo=quiet)
    snapshot = (tmp_path / "run" / "suites" / "tiny.yaml").read_text()
    changed = load_suite(tiny_suite_file(episodes=4, budget=10))  # protocol changed
    with pytest.raises(ResultsError, match=r"agent 'random' on wmplan/Reacher-v0: .*config hash"):
        run_suite(changed, tmp_path / "run", workers=1, progress=False, echo=quiet)
    # Nothing was pooled and the snapshot of the first run is intact.
    assert len(load_rows(tmp_path / "run")) == 2
    assert (tmp_path / "run" / "suites" / "tiny.yaml").read_text() == snapshot


def test_planner_settings_change_the_hash_and_are_refused_before_any_work():
    suite = parse_suite(ORACLE, "o.yaml")
    jobs, _, _ = plan_jobs(suite, set(), version="v")
    old_hash = jobs[0].config_hash
    done = {(old_hash, "wmplan/Reacher-v0", "oracle-cem", 0, 0)}
    assert plan_jobs(suite, done, version="v")[2] == 1  # same config: resumes
    bigger = parse_suite(ORACLE.replace("num_samples: 8", "num_samples: 16"), "o.yaml")
    with pytest.raises(ResultsError) as err:
        plan_jobs(bigger, done, version="v")
    message = str(err.value)
    assert old_hash in message and "new name" in message and "new --out" in message


def test_a_second_bench_into_the_same_directory_is_refused(tmp_path, tiny_suite_file):
    suite = load_suite(tiny_suite_file(episodes=1, budget=4))
    (tmp_path / "run").mkdir()
    held = hold_lock(tmp_path / "run" / LOCK_NAME, "held by the test")
    try:
        with pytest.raises(LockBusy, match="another `wmplan bench` is running"):
            run_suite(suite, tmp_path / "run", workers=1, progress=False, echo=quiet)
    finally:
        held.close()
    assert run_suite(suite, tmp_path / "run", workers=1, progress=False, echo=quiet).episodes_run


BROKEN = """
name: broken
tasks: [wmplan/TwoRoom-v0]
episodes: 1
agents:
  - name: mine
    kind: python
    options: {entry_point: "stub_agents:broken_agent"}
"""


def test_an_agent_failing_in_a_worker_is_one_line_naming_agent_task_and_cause(tmp_path):
    suite = parse_suite(BROKEN, "broken.yaml")
    with pytest.raises(JobFailed) as err:
        run_suite(suite, tmp_path / "run", workers=1, progress=False, echo=quiet)
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert "agent 'mine' on wmplan/TwoRoom-v0" in message
    assert "FileNotFoundError: weights for wmplan/TwoRoom-v0 not found" in message
    assert "Traceback" in err.value.details  # the full story is kept, in the log
    assert "Traceback" in (tmp_path / "run" / "log.jsonl").read_text()


def test_cli_reports_a_failing_agent_in_one_line(tmp_path):
    suite = tmp_path / "broken.yaml"
    suite.write_text(BROKEN)
    proc = subprocess.run(
        [sys.executable, "-m", "wmplan.benchmarks.cli", "bench", "--suite", str(suite),
         "--out", str(tmp_path / "run"), "--workers", "1", "--quiet"],
        capture_output=True, text=True, timeout=300, cwd=HERE,
        env={"PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "agent 'mine' on wmplan/TwoRoom-v0" in err and "FileNotFoundError" in err


@pytest.mark.parametrize(
    "content", [b"this is not a database, just text" * 40, None], ids=["garbage", "foreign"]
)
def test_a_corrupt_or_foreign_results_file_is_a_named_error(tmp_path, content):
    path = tmp_path / DB_NAME
    if content is None:
        with sqlite3.connect(path) as conn:  # a SQLite file of something else
            conn.execute("CREATE TABLE episodes (id INTEGER, name TEXT)")
    else:
        path.write_bytes(content)
    with pytest.raises(ResultsError, match=f"{DB_NAME}: .*not a wmplan results database"):
        ResultsDB(path)
    with pytest.raises(ResultsError, match=DB_NAME):
        load_rows(tmp_path)
