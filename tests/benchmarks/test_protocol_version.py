"""The protocol version is stored with every result row: old results stay readable
and are marked, and rows of two versions never share a config hash."""

from __future__ import annotations

import json
import sqlite3

from wmplan.agents import AgentSpec
from wmplan.benchmarks import suite as suite_mod
from wmplan.benchmarks.episode import Job, run_job
from wmplan.benchmarks.report import write_report
from wmplan.benchmarks.results import DB_NAME, ResultsDB, load_rows
from wmplan.benchmarks.suite import PROTOCOL_VERSION, ProtocolConfig, config_hash

# The episodes table as it was before protocol_version existed.
V1_SCHEMA = """
CREATE TABLE episodes (
    config_hash TEXT NOT NULL, task TEXT NOT NULL, agent TEXT NOT NULL,
    seed INTEGER NOT NULL, episode INTEGER NOT NULL, success INTEGER NOT NULL,
    success_step INTEGER, final_distance REAL, return REAL NOT NULL, steps INTEGER NOT NULL,
    plan_time_per_step REAL NOT NULL, wall_clock REAL NOT NULL, code_version TEXT NOT NULL,
    suite TEXT NOT NULL, agent_config TEXT NOT NULL, plan_info TEXT, video TEXT,
    finished_at REAL NOT NULL,
    PRIMARY KEY (config_hash, task, agent, seed, episode)
);
"""


def _v1_run(run_dir, episodes=4):
    run_dir.mkdir(parents=True)
    conn = sqlite3.connect(run_dir / DB_NAME)
    conn.executescript(V1_SCHEMA)
    for ep in range(episodes):
        conn.execute(
            "INSERT INTO episodes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ("h", "wmplan/Reacher-v0", "random", 0, ep, ep % 2, None, 0.1, 0.0, 50,
             1e-5, 0.5, "old", "quick", json.dumps({"name": "random", "kind": "random"}),
             None, None, 0.0),
        )  # fmt: skip
    conn.commit()
    conn.close()


def test_results_from_before_the_version_field_read_as_version_1(tmp_path):
    _v1_run(tmp_path / "run")
    rows = load_rows(tmp_path / "run")
    assert len(rows) == 4 and {r["protocol_version"] for r in rows} == {1}
    with ResultsDB.in_run_dir(tmp_path / "run") as db:  # new rows go beside the old ones
        assert db.insert({**rows[0], "config_hash": "h2", "protocol_version": PROTOCOL_VERSION})
    versions = sorted(r["protocol_version"] for r in load_rows(tmp_path / "run"))
    assert versions == [1, 1, 1, 1, PROTOCOL_VERSION]


def test_report_of_current_protocol_rows_has_no_old_protocol_warning(tmp_path):
    _v1_run(tmp_path / "run")
    with ResultsDB.in_run_dir(tmp_path / "run"):
        pass  # opening adds the protocol_version column
    with sqlite3.connect(tmp_path / "run" / DB_NAME) as conn:
        conn.execute("UPDATE episodes SET protocol_version = ?", (PROTOCOL_VERSION,))
    assert {r["protocol_version"] for r in load_rows(tmp_path / "run")} == {PROTOCOL_VERSION}
    assert "older protocol version" not in write_report(tmp_path / "run").read_text()


def test_report_marks_episodes_of_an_older_protocol(tmp_path):
    _v1_run(tmp_path / "run")
    text = write_report(tmp_path / "run").read_text()
    assert f"4 of 4 episodes ran under an older protocol version** (before v{PROTOCOL_VERSION}" in (
        text
    )


def test_protocol_version_is_part_of_the_config_hash(monkeypatch):
    agent, protocol = AgentSpec(name="random", kind="random"), ProtocolConfig()
    now = config_hash(agent, protocol)
    monkeypatch.setattr(suite_mod, "PROTOCOL_VERSION", PROTOCOL_VERSION + 1)
    assert config_hash(agent, protocol) != now


def test_every_episode_row_carries_the_protocol_version():
    protocol = ProtocolConfig(budget=3)
    agent = AgentSpec(name="random", kind="random")
    job = Job("wmplan/TwoRoom-v0", agent, 0, (0, 1), protocol, "h", "test", "t")
    rows = list(run_job(job))
    assert [r["protocol_version"] for r in rows] == [PROTOCOL_VERSION] * 2
