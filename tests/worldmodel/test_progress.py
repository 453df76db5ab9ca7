"""Progress output in a log: plain lines on a clock, never carriage-return redraws."""

from __future__ import annotations

import io

import pytest

from wmplan.worldmodel import progress as progress_mod
from wmplan.worldmodel.progress import LineProgress, progress


def test_lines_mode_writes_one_line_per_interval_and_a_final_one(monkeypatch):
    clock = iter(range(0, 10_000, 1))  # one second per call of monotonic()
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    bar = LineProgress(total=300, desc="train", unit="step", interval=10.0, file=out)
    for _ in range(300):
        bar.update(1)
        bar.set_postfix(loss="0.1234", refresh=True)
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert 25 <= len(lines) <= 32  # ~300 s of updates, one line per 10 s, plus the last
    assert lines[-1].startswith("train: 300/300 step (100%)") and lines[-1].endswith("loss 0.1234")


def test_auto_mode_writes_lines_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(progress_mod.sys, "stderr", io.StringIO())
    assert isinstance(progress(10, "x", "auto"), LineProgress)
    none = progress(10, "x", "none")
    none.update(5)
    none.close()
    assert progress_mod.sys.stderr.getvalue() == ""
    with pytest.raises(ValueError, match="progress must be one of auto, bar, lines, none"):
        progress(10, "x", "fancy")
