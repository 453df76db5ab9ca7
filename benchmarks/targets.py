"""The world-model targets (issue 13) beside what a run measured: a report section.

``BEFORE`` is what world-model MPC scored with the reference models shipped before the
reachability head and per-model planning settings (CEM 100x10 and 300x30, 50 episodes,
models/README.md); the report puts each run's world-model agents beside it.
"""

from __future__ import annotations

import json
from typing import Any

TARGETS = {"wmplan/Reacher-v0": 98.0, "wmplan/TwoRoom-v0": 99.0, "wmplan/Push-v0": 95.0}
BEFORE = {"wmplan/Reacher-v0": "90-94", "wmplan/TwoRoom-v0": "86-92", "wmplan/Push-v0": "26-40"}


def _is_world_model(row: dict[str, Any]) -> bool:
    return json.loads(row["agent_config"]).get("kind") == "wm"


def targets_section(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: per goal task, the target, the score before, and each world-model
    agent's success now with the report's 95% Clopper-Pearson interval over its episodes
    (all seeds)."""
    from wmplan.benchmarks.stats import binomial_ci

    wm_rows = [r for r in rows if r["task"] in TARGETS and _is_world_model(r)]
    if not wm_rows:
        return []
    lines = [
        "## World-model targets",
        "",
        "World-model MPC against the targets of issue 13; *before* is the reference models "
        "shipped before the reachability head and per-model planning settings "
        "(models/README.md). Interval: 95% Clopper-Pearson over episodes.",
        "",
        "| task | agent | target | before | now | episodes | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in TARGETS:
        for agent in sorted({r["agent"] for r in wm_rows if r["task"] == task}):
            hits = [bool(r["success"]) for r in wm_rows if (r["task"], r["agent"]) == (task, agent)]
            wins, n = sum(hits), len(hits)
            est = binomial_ci(wins, n)
            lo, hi = est.low, est.high
            rate = 100 * wins / n
            if 100 * lo >= TARGETS[task]:
                met = "yes"
            elif rate >= TARGETS[task]:
                met = "point estimate only (interval reaches below)"
            else:
                met = f"no ({rate - TARGETS[task]:+.1f} pts)"
            lines.append(
                f"| {task.split('/')[-1]} | {agent} | >= {TARGETS[task]:.0f}% | {BEFORE[task]}% | "
                f"{rate:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}] | {n} | {met} |"
            )
    return lines + [""]
