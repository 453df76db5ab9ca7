"""The report's world-model targets table: numbers recomputed from the rows it is given."""

from __future__ import annotations

import json

from wmplan.benchmarks.targets import targets_section


def _row(task, agent, kind, success):
    return {"task": task, "agent": agent, "success": success,
            "agent_config": json.dumps({"name": agent, "kind": kind})}  # fmt: skip


def test_targets_table_counts_world_model_agents_only_and_marks_misses():
    rows = [_row("wmplan/TwoRoom-v0", "wm-cem", "wm", i < 99) for i in range(100)]
    rows += [_row("wmplan/TwoRoom-v0", "oracle-cem", "oracle", True) for _ in range(10)]
    rows += [_row("wmplan/Push-v0", "wm-cem", "wm", i < 30) for i in range(100)]
    lines = targets_section(rows)
    text = "\n".join(lines)
    assert "oracle-cem" not in text
    tworoom = next(ln for ln in lines if ln.startswith("| TwoRoom"))
    push = next(ln for ln in lines if ln.startswith("| Push"))
    assert "99.0% [" in tworoom and "| 100 | point estimate only" in tworoom
    assert "30.0% [" in push and "no (-65.0 pts)" in push
    sure = targets_section([_row("wmplan/Reacher-v0", "wm", "wm", True) for _ in range(400)])
    assert "| 400 | yes |" in "\n".join(sure)


def test_targets_table_is_empty_without_world_model_rows():
    assert targets_section([_row("wmplan/Reacher-v0", "random", "random", False)]) == []
