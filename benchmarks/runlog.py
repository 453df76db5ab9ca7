"""Run logging: JSONL always (``RUN_DIR/log.jsonl``), wandb when asked.

wandb runs offline by default (no network needed; sync later with ``wandb sync``).
Secrets never reach the log, the results DB or wandb's config: values of
environment variables whose names look secret (``*KEY*``, ``*TOKEN*``,
``*SECRET*``, ``*PASSWORD*``) are replaced by ``***`` in everything logged, and
offline wandb is started without ``WANDB_API_KEY`` in its environment.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from wmplan.worldmodel.tracking import start_wandb

LOG_NAME = "log.jsonl"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)


def secret_values() -> list[str]:
    """Values of environment variables that look like secrets (at least 8 chars)."""
    return sorted(
        (v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8),
        key=len,
        reverse=True,
    )


def redact(obj: Any, secrets: list[str] | None = None) -> Any:
    """``obj`` (JSON-like) with every secret value replaced by ``***``."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(obj, str):
        for s in secrets:
            obj = obj.replace(s, "***")
        return obj
    if isinstance(obj, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact(v, secrets) for v in obj]
    return obj


class RunLog:
    """Append-only JSONL event log, optionally mirrored to wandb.

    ``wandb_mode``: None (off), "offline" or "online".
    """

    def __init__(
        self,
        run_dir: str | Path,
        wandb_mode: str | None = None,
        wandb_project: str = "wmplan",
        config: dict[str, Any] | None = None,
        name: str | None = None,
    ):
        if wandb_mode not in (None, "offline", "online"):
            raise ValueError(f"wandb_mode must be None, 'offline' or 'online', got {wandb_mode!r}")
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / LOG_NAME
        self._secrets = secret_values()
        self._file = open(self.path, "a", buffering=1)
        self._wandb = None
        if wandb_mode is not None:
            self._wandb = start_wandb(
                wandb_mode, wandb_project, name, redact(config or {}, self._secrets), self.run_dir
            )

    def event(self, kind: str, **fields: Any) -> None:
        """Write one event line: ``{"time": ..., "event": kind, **fields}``."""
        record = redact({"time": round(time.time(), 3), "event": kind, **fields}, self._secrets)
        self._file.write(json.dumps(record, default=str) + "\n")

    def episode(self, row: dict[str, Any]) -> None:
        """Log a finished episode (without its frames) to JSONL and wandb."""
        fields = {k: v for k, v in row.items() if k not in ("gif", "agent_config")}
        self.event("episode", **fields)
        if self._wandb is not None:
            metrics = {
                f"{row['task']}/{row['agent']}/{k}": float(row[k])
                for k in ("success", "final_distance", "return", "plan_time_per_step")
                if row.get(k) is not None
            }
            self._wandb.log(metrics)

    def metrics(self, kind: str, record: dict[str, Any]) -> None:
        """Log a training record (numbers keyed by name) to JSONL and wandb."""
        self.event(kind, **record)
        if self._wandb is not None:
            self._wandb.log({k: v for k, v in record.items() if isinstance(v, int | float)})

    def summary(self, table: list[dict[str, Any]]) -> None:
        """Log the final per-task/agent summary."""
        self.event("summary", rows=table)
        if self._wandb is not None:
            for r in table:
                self._wandb.summary[f"{r['task']}/{r['agent']}/success"] = r["success"]

    def close(self) -> None:
        self._file.close()
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None
