"""Logging: JSONL always; an API key in the environment reaches no log, database,
report or wandb file."""

from __future__ import annotations

import json

from optional_deps import require

from wmplan.benchmarks.cli import main
from wmplan.benchmarks.runlog import redact

SECRET = "wmplan-test-secret-5f2b9c0e7d1a4386"


def test_redact_replaces_secret_env_values(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", SECRET)
    assert redact({"cmd": f"--key {SECRET}", "n": [1, SECRET]}) == {
        "cmd": "--key ***",
        "n": [1, "***"],
    }


def test_api_key_is_never_written(tmp_path, tiny_suite_file, monkeypatch, capfd):
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    monkeypatch.setenv("WANDB_SILENT", "true")
    require("wandb")  # the dev extra installs it: this test covers the wandb path too
    run = tmp_path / "run"
    argv = ["bench", "--suite", str(tiny_suite_file(episodes=2, budget=5)), "--out", str(run),
            "--workers", "1", "--quiet", "--report", "--wandb"]  # fmt: skip
    assert main(argv) == 0
    events = [json.loads(line)["event"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert events[0] == "start" and events.count("episode") == 2 and events[-1] == "end"
    files = [p for p in run.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files) and any(p.name == "report.md" for p in files)
    assert any("wandb" in p.parts for p in files), "wandb wrote nothing offline"
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), f"API key written to {path}"
    out, err = capfd.readouterr()
    assert SECRET not in out + err
