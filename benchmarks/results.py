"""Results database: one SQLite row per finished episode.

The primary key (config_hash, task, agent, seed, episode) makes duplicates
impossible and lets a rerun skip finished episodes. The file is in WAL mode and
each row is committed on its own, so a run killed at any moment loses only the
episodes in flight. Only the runner's parent process writes; readers (reports)
may open the file at the same time.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wmplan.worldmodel.files import write_json_atomic

DB_NAME = "results.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    config_hash TEXT NOT NULL,
    task TEXT NOT NULL,
    agent TEXT NOT NULL,
    seed INTEGER NOT NULL,
    episode INTEGER NOT NULL,
    success INTEGER NOT NULL,
    success_step INTEGER,
    final_distance REAL,
    return REAL NOT NULL,
    steps INTEGER NOT NULL,
    plan_time_per_step REAL NOT NULL,
    wall_clock REAL NOT NULL,
    code_version TEXT NOT NULL,
    suite TEXT NOT NULL,
    agent_config TEXT NOT NULL,
    plan_info TEXT,
    video TEXT,
    finished_at REAL NOT NULL,
    protocol_version INTEGER,
    PRIMARY KEY (config_hash, task, agent, seed, episode)
);
"""

COLUMNS = (
    "config_hash", "task", "agent", "seed", "episode", "success", "success_step",
    "final_distance", "return", "steps", "plan_time_per_step", "wall_clock",
    "code_version", "suite", "agent_config", "plan_info", "video", "finished_at",
    "protocol_version",
)  # fmt: skip
# Rows written before protocol_version was stored ran under protocol version 1.
LEGACY_PROTOCOL_VERSION = 1
KEY = ("config_hash", "task", "agent", "seed", "episode")
# Columns that depend only on the seeds and the code (not on timing): equal across
# reruns, worker counts and backends.
DETERMINISTIC = (
    "config_hash", "task", "agent", "seed", "episode", "success", "success_step",
    "final_distance", "return", "steps",
)  # fmt: skip


class ResultsError(ValueError):
    """A results database that is corrupt, foreign, or holds conflicting configs."""


class ResultsDB:
    """The results of a run directory (``RUN_DIR/results.sqlite``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_dir():
            raise ResultsError(f"{self.path}: is a directory, expected a results database")
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0)
        except sqlite3.Error as exc:
            raise ResultsError(f"{self.path}: cannot open the results database: {exc}") from None
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL: survives process kills
            self._conn.executescript(SCHEMA)
            have = [r[1] for r in self._conn.execute("PRAGMA table_info(episodes)")]
            if "config_hash" in have and "protocol_version" not in have:
                # A database from before the column: its rows read as protocol v1.
                self._conn.execute("ALTER TABLE episodes ADD COLUMN protocol_version INTEGER")
                have.append("protocol_version")
            self._conn.commit()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise ResultsError(
                f"{self.path}: not a wmplan results database ({exc}); move it away or use "
                "another run directory"
            ) from None
        missing = [c for c in COLUMNS if c not in have]
        if missing:
            self._conn.close()
            raise ResultsError(
                f"{self.path}: its 'episodes' table lacks {len(missing)} columns "
                f"({', '.join(missing[:3])}, ...): not a wmplan "
                "results database (or one from another version); use another run directory"
            )

    @classmethod
    def in_run_dir(cls, run_dir: str | Path) -> ResultsDB:
        return cls(Path(run_dir) / DB_NAME)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultsDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def insert(self, row: dict[str, Any]) -> bool:
        """Store one finished episode; False (and nothing written) if its key exists."""
        values = dict(row)
        values.setdefault("finished_at", time.time())
        values.setdefault("video", None)
        values["success"] = int(bool(values["success"]))
        if isinstance(values.get("plan_info"), dict | list):
            values["plan_info"] = json.dumps(values["plan_info"])
        missing = [
            c
            for c in COLUMNS
            if c not in values
            and c not in ("plan_info", "success_step", "final_distance", "protocol_version")
        ]
        if missing:
            raise ValueError(f"result row is missing {missing}")
        cur = self._conn.execute(
            f"INSERT OR IGNORE INTO episodes ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in COLUMNS)})",
            [values.get(c) for c in COLUMNS],
        )
        self._conn.commit()
        return cur.rowcount == 1

    def keys(self) -> set[tuple]:
        """Keys (config_hash, task, agent, seed, episode) of finished episodes."""
        return set(self._conn.execute(f"SELECT {', '.join(KEY)} FROM episodes"))

    def rows(self, where: str = "", params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """All rows as dicts (``plan_info`` decoded), ordered by key."""
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM episodes {where} ORDER BY task, agent, seed, episode"
        )
        out = []
        for values in self._conn.execute(sql, tuple(params)):
            row = dict(zip(COLUMNS, values, strict=True))
            row["success"] = bool(row["success"])
            if row["protocol_version"] is None:
                row["protocol_version"] = LEGACY_PROTOCOL_VERSION
            if row["plan_info"]:
                row["plan_info"] = json.loads(row["plan_info"])
            out.append(row)
        return out


def load_rows(run_dir: str | Path) -> list[dict[str, Any]]:
    """Rows of ``RUN_DIR/results.sqlite`` (FileNotFoundError if there is none)."""
    path = Path(run_dir) / DB_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no results database at {path}; run `wmplan bench` first")
    with ResultsDB(path) as db:
        return db.rows()


SKIPPED_NAME = "skipped.json"


@dataclass(frozen=True)
class Skipped:
    """An agent the runner left out on a task as unavailable, and why."""

    task: str
    agent: str
    reason: str

    @property
    def note(self) -> str:
        return f"skipped {self.agent} on {self.task}: {self.reason}"


def read_skipped(run_dir: str | Path) -> list[Skipped]:
    """The agents left out of runs into ``run_dir`` (``RUN_DIR/skipped.json``), oldest
    first; none for a run directory from before the file existed."""
    path = Path(run_dir) / SKIPPED_NAME
    if not path.is_file():
        return []
    return [Skipped(**d) for d in json.loads(path.read_text())]


def record_skipped(run_dir: str | Path, skipped: list[Skipped]) -> None:
    """Add ``skipped`` to ``RUN_DIR/skipped.json`` (each record once, in order)."""
    if not skipped:
        return
    records = list(dict.fromkeys(read_skipped(run_dir) + skipped))
    write_json_atomic(Path(run_dir) / SKIPPED_NAME, [dataclasses.asdict(s) for s in records])
