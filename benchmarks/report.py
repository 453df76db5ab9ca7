"""``wmplan report RUN_DIR``: a Markdown report with tables, PNG plots and videos.

Writes ``RUN_DIR/report/``::

    report.md                      tables (success with CIs, details, aggregate,
                                   paired differences, published numbers)
    plots/success.png              success per task and agent, 95% Clopper-Pearson bars
    plots/success_vs_plan_time.png success vs planning time per env step, Pareto front
    plots/success_vs_budget.png    success vs planner budget (samples x iterations)
    plots/convergence.png          planner best cost per iteration
    videos/*.gif                   best and worst recorded episode per task and agent
                                   (observation | goal)

Every plot is always written (``benchmarks/plots.py``); when a run has no data for
one (no planner agents, no sweep), the figure says so and the Markdown explains how
to get it. Each section of ``report.md`` is one ``*_section`` function below,
returning its Markdown lines.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from wmplan.benchmarks import stats
from wmplan.benchmarks.plots import (
    agent_colors,
    agent_order,
    plot_convergence,
    plot_success,
    plot_success_vs_budget,
    plot_success_vs_plan_time,
)
from wmplan.benchmarks.references import REFERENCES, TASK_NAMES, references_for
from wmplan.benchmarks.results import load_rows, read_skipped
from wmplan.benchmarks.suite import PROTOCOL_VERSION
from wmplan.benchmarks.targets import targets_section
from wmplan.benchmarks.training_cost import training_cost
from wmplan.envs import short_task
from wmplan.worldmodel.files import write_text_atomic

Row = dict[str, Any]  # a result row, or a summary/aggregate row of ``stats``


def pick_videos(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Best and worst recorded episode per (task, agent): best = success in the
    fewest steps, else the smallest final distance; worst = the reverse."""
    out: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["video"]:
            by[(r["task"], r["agent"])].append(r)
    for key, group in by.items():

        def score(r: dict[str, Any]) -> tuple:
            dist = r["final_distance"] if r["final_distance"] is not None else np.inf
            return (not r["success"], r["steps"] if r["success"] else 0, dist)

        ranked = sorted(group, key=score)
        out[key] = {"best": ranked[0], "worst": ranked[-1]}
    return out


def _pct(x: float) -> str:
    return f"{x * 100:.1f}"


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _protocols(run_dir: Path) -> list[str]:
    """One line per suite snapshot in ``RUN_DIR/suites/`` (the suites as run)."""
    out = []
    for p in sorted((run_dir / "suites").glob("*.yaml")):
        d = yaml.safe_load(p.read_text())
        proto = d["protocol"]
        out.append(
            f"`{d['name']}`: {len(d['tasks'])} tasks x {len(d['agents'])} agents x "
            f"seeds {d['seeds']} x {d['episodes']} episodes; goal offset "
            f"{proto['goal_offset']}, budget {proto['budget']} env steps, "
            f"{proto['image_size']} px"
        )
    return out


def header_section(
    run_dir: Path, rows: list[Row], tasks: list[str], agents: list[str]
) -> list[str]:
    """Title, what ran (episodes, code, suites and protocol), how intervals are made."""
    md: list[str] = [f"# wmplan benchmark report: `{run_dir.name}`", ""]
    versions = sorted({r["code_version"] for r in rows})
    md += [
        f"{len(rows)} episodes, {len(tasks)} tasks, {len(agents)} agents; code: {', '.join(versions)}.",
        "",
    ]
    md += [f"- {p}" for p in _protocols(run_dir)] + [""]
    old = sum(r["protocol_version"] < PROTOCOL_VERSION for r in rows)
    if old:
        md += [
            f"**{old} of {len(rows)} episodes ran under an older protocol version** (before "
            f"v{PROTOCOL_VERSION}: starts that already satisfied the goal were kept, which "
            "inflates every agent's success); rerun them into a new `--out` to compare.",
            "",
        ]
    return md + [
        "Success is the task's own predicate holding at any step within the budget. "
        "Intervals: a task's success rate has a 95% Clopper-Pearson (exact binomial) "
        "interval, which does not collapse at 0% or 100% (20/20 shows [83.2, 100.0]); "
        "means over tasks and paired differences have 95% percentile-bootstrap CIs "
        f"({stats.N_BOOT} resamples), the mean over tasks weighing every task equally "
        "and resampling each task separately.",
        "",
    ]


def success_section(
    summary: list[Row], agg: list[Row], tasks: list[str], agents: list[str]
) -> list[str]:
    """Success table (agents x tasks, with published rows) and its bar plot."""
    by = {(s["task"], s["agent"]): s for s in summary}
    agg_by = {a["agent"]: a for a in agg}
    header = ["agent"] + [short_task(t) for t in tasks] + ["mean over tasks"]
    table = []
    for agent in agents:
        cells = [by[(t, agent)]["success"].fmt() if (t, agent) in by else "-" for t in tasks]
        table.append([f"`{agent}`", *cells, agg_by[agent]["success"].fmt()])
    methods = list(dict.fromkeys(r.method for r in REFERENCES))
    for method in methods:
        cells = []
        for t in tasks:
            refs = [r for r in references_for(t) if r.method == method]
            cells.append(f"*{refs[0].fmt()}*" if refs else "")
        if any(cells):
            table.append([f"*{method} (published, not run here)*", *cells, ""])
    return [
        "## Success by task (%, 95% Clopper-Pearson interval; mean over tasks: bootstrap CI)",
        "",
        _md_table(header, table),
        "",
        "Published rows come from other implementations of similar tasks "
        f"({', '.join(f'{short_task(k)} ~ {v}' for k, v in TASK_NAMES.items())}) at 224 px "
        "on GPUs; see *Published numbers* below for sources and settings.",
        "",
        "![success per task and agent](plots/success.png)",
        "",
    ]


def training_section(rows: list[Row], summary: list[Row]) -> list[str]:
    """Per task and trained agent: the experience it learned from, its training wall
    time (as recorded by its checkpoint) and its success, so agents compare at equal
    experience. Empty when no agent in the run was trained."""
    by = {(s["task"], s["agent"]): s for s in summary}
    configs = {(r["task"], r["agent"]): r["agent_config"] for r in rows}
    table = []
    for (task, agent), config in sorted(
        configs.items(), key=lambda kv: (kv[0][0], agent_order(kv[0][1]))
    ):
        cost = training_cost(json.loads(config), task)
        if cost is None:
            continue
        table.append([short_task(task), f"`{agent}`", cost.experience(), cost.wall(),
                      by[(task, agent)]["success"].fmt()])  # fmt: skip
    if not table:
        return []
    return [
        "## Training cost beside success",
        "",
        "Experience each trained agent learned from and its training wall time, as its "
        "checkpoint records them (measured on the 2-core machine it was trained on; '-' "
        "where a checkpoint predates the record). World models and GCBC/GCIQL learn from "
        "the same offline datasets; SAC/PPO from online env steps.",
        "",
        _md_table(["task", "agent", "experience", "train wall", "success %"], table),
        "",
    ]


def details_section(summary: list[dict[str, Any]], agg: list[dict[str, Any]]) -> list[str]:
    """Per (task, agent) details, then the aggregate over tasks per agent."""
    detail = []
    for s in summary:
        per_seed = " / ".join(_pct(v) for v in s["per_seed"].values())
        detail.append(
            [
                short_task(s["task"]),
                f"`{s['agent']}`",
                str(s["episodes"]),
                s["success"].fmt(),
                per_seed,
                s["iqm_return"].fmt(scale=1.0, digits=2),
                f"{s['final_distance']:.3f}",
                f"{s['steps']:.1f}",
                f"{s['plan_time_per_step'] * 1e3:.2f}",
                f"{s['wall_clock']:.2f}",
            ]
        )
    header = ["task", "agent", "episodes", "success % [Clopper-Pearson]", "per seed %",
              "IQM return [bootstrap CI]", "final goal distance", "steps", "plan ms / env step",
              "wall s / episode"]  # fmt: skip
    aggregate = [
        [f"`{a['agent']}`", str(a["tasks"]), str(a["episodes"]), a["success"].fmt(),
         f"{a['plan_time_per_step'] * 1e3:.2f}"]
        for a in agg
    ]  # fmt: skip
    return [
        "## Per task and agent",
        "",
        _md_table(header, detail),
        "",
        "## Aggregate over tasks",
        "",
        _md_table(
            ["agent", "tasks", "episodes", "mean success % [bootstrap CI]", "plan ms / env step"],
            aggregate,
        ),
        "",
    ]


def pairs_section(
    rows: list[Row], agg: list[Row], tasks: list[str], agents: list[str], rng: int
) -> list[str]:
    """Paired differences in success: all pairs when few agents, else each against
    the best."""
    ranked = sorted(agg, key=lambda a: -a["success"].value)
    if len(agents) <= 6:
        pairs = [(a, b) for i, a in enumerate(agents) for b in agents[i + 1 :]]
    else:
        best = ranked[0]["agent"]
        pairs = [(best, a) for a in agents if a != best]
    diff_rows = []
    for a, b in pairs:
        d = stats.paired_difference(rows, a, b, rng=rng)
        if d["overall"].n == 0:
            continue
        cells = [d["per_task"][t].fmt() if t in d["per_task"] else "-" for t in tasks]
        diff_rows.append([f"`{a}` - `{b}`", *cells, d["overall"].fmt()])
    md = ["## Paired differences in success (percentage points, 95% bootstrap CI)", ""]
    if not diff_rows:
        return md + ["Only one agent ran: nothing to compare.", ""]
    return md + [
        "Episode i of a seed has the same start and goal for every agent, so "
        "differences are paired by (task, seed, episode).",
        "",
        _md_table(["pair"] + [short_task(t) for t in tasks] + ["mean over tasks"], diff_rows),
        "",
    ]


def cost_section(has_budget: bool, has_conv: bool) -> list[str]:
    """The cost/quality plots, each with what to run when it has no data."""
    md = [
        "## Cost and quality",
        "",
        "![success vs planning time](plots/success_vs_plan_time.png)",
        "",
        "The dashed line is the Pareto front: agents that no other agent beats on both "
        "success and planning time.",
        "",
        "![success vs planner budget](plots/success_vs_budget.png)",
        "",
    ]
    if not has_budget:
        md += ["No agent with a planner ran, so there is no budget curve.", ""]
    else:
        md += [
            "One point per agent; a budget sweep draws curves, e.g. "
            "`wmplan bench --suite quick --sweep planner.num_samples=64,128,300 "
            "planner.iterations=5,10,30`.",
            "",
        ]
    md += ["![planner convergence](plots/convergence.png)", ""]
    if not has_conv:
        md += ["No agent recorded planner info (PlanInfo), so there are no convergence curves.", ""]
    return md


def videos_section(rows: list[dict[str, Any]], run_dir: Path, out: Path) -> list[str]:
    """Best and worst recorded episode per (task, agent); copies their GIFs to ``out``."""
    picks = pick_videos(rows)
    md = ["## Best and worst episodes (observation | goal)", ""]
    if not picks:
        return md + ["No episode was recorded (suite `record_episodes: 0`).", ""]
    (out / "videos").mkdir(exist_ok=True)
    vid_rows = []
    for (task, agent), pick in sorted(picks.items()):
        cells = []
        for which in ("best", "worst"):
            r = pick[which]
            name = Path(r["video"]).name
            verdict = f"success at step {r['success_step']}" if r["success"] else "failure"
            dist = "" if r["final_distance"] is None else f", distance {r['final_distance']:.3f}"
            caption = f"seed {r['seed']} episode {r['episode']}: {verdict}{dist}"
            src = run_dir / r["video"]
            if not src.is_file():  # e.g. a results database copied without its videos
                cells.append(f"(video missing: {r['video']})<br>{caption}")
                continue
            shutil.copyfile(src, out / "videos" / name)
            cells.append(f"![{which}](videos/{name})<br>{caption}")
        vid_rows.append([short_task(task), f"`{agent}`", *cells])
    return md + [_md_table(["task", "agent", "best", "worst"], vid_rows), ""]


def skipped_section(run_dir: Path, rows: list[dict[str, Any]]) -> list[str]:
    """Agents the runner left out as unavailable (``RUN_DIR/skipped.json``), except
    those that have run since."""
    ran = {(r["task"], r["agent"]) for r in rows}
    notes = [s.note for s in read_skipped(run_dir) if (s.task, s.agent) not in ran]
    if not notes:
        return []
    return ["## Agents not run", ""] + [f"- {n}" for n in dict.fromkeys(notes)] + [""]


def published_section() -> list[str]:
    """The published numbers the success table quotes, with sources and settings."""
    return [
        "## Published numbers (not run here)",
        "",
        _md_table(
            ["method", "task", "success %", "settings", "source", "note"],
            [[r.method, r.task, r.fmt(), r.settings, r.source, r.note] for r in REFERENCES],
        ),
        "",
    ]


def write_report(run_dir: str | Path, out_dir: str | Path | None = None, rng: int = 0) -> Path:
    """Write the report of ``run_dir`` (default into ``RUN_DIR/report``); returns the
    path of ``report.md``."""
    run_dir = Path(run_dir)
    rows = load_rows(run_dir)
    if not rows:
        raise ValueError(f"{run_dir} has no finished episodes yet; run `wmplan bench` first")
    out = Path(out_dir) if out_dir is not None else run_dir / "report"
    (out / "plots").mkdir(parents=True, exist_ok=True)
    summary = stats.summarize(rows, rng=rng)
    agg = stats.aggregate(rows, rng=rng)
    configs = {r["agent"]: r["agent_config"] for r in rows}
    tasks = sorted({r["task"] for r in rows})
    agents = sorted({s["agent"] for s in summary}, key=agent_order)
    summary.sort(key=lambda s: (s["task"], agent_order(s["agent"])))
    agg.sort(key=lambda a: agent_order(a["agent"]))

    colors = agent_colors(agents)
    plots = out / "plots"
    plot_success(summary, plots / "success.png", colors)
    plot_success_vs_plan_time(summary, plots / "success_vs_plan_time.png", colors)
    has_budget = plot_success_vs_budget(summary, configs, plots / "success_vs_budget.png", colors)
    has_conv = plot_convergence(rows, plots / "convergence.png", colors)

    md = header_section(run_dir, rows, tasks, agents)
    md += success_section(summary, agg, tasks, agents)
    md += targets_section(rows)
    md += training_section(rows, summary)
    md += details_section(summary, agg)
    md += pairs_section(rows, agg, tasks, agents, rng)
    md += cost_section(has_budget, has_conv)
    md += videos_section(rows, run_dir, out)
    md += skipped_section(run_dir, rows)
    md += published_section()
    path = out / "report.md"
    write_text_atomic(path, "\n".join(md))
    return path
