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

Every plot is always written; when a run has no data for one (no planner agents,
no sweep), the figure says so and the Markdown explains how to get it. An agent
has one colour in every plot (``agent_colors``).
"""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from wmplan.benchmarks import stats
from wmplan.benchmarks.references import REFERENCES, TASK_NAMES, references_for
from wmplan.benchmarks.results import load_rows
from wmplan.benchmarks.suite import PROTOCOL_VERSION, short_task
from wmplan.benchmarks.targets import targets_section

PLOTS = ("success", "success_vs_plan_time", "success_vs_budget", "convergence")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _family(agent: str) -> str:
    """'oracle[iterations=5,num_samples=64]' -> 'oracle' (a sweep's base agent)."""
    return agent.split("[", 1)[0]


def agent_order(name: str) -> tuple:
    """Sort key: family first, then the numbers of a sweep variant numerically
    ('oracle[num_samples=64]' before 'oracle[num_samples=256]')."""
    parts = re.split(r"(\d+(?:\.\d+)?)", name)
    return tuple(
        (0, float(p), "") if re.fullmatch(r"\d+(?:\.\d+)?", p) else (1, 0.0, p) for p in parts
    )


def _planner_budget(agent_config: str) -> tuple[str, float] | None:
    """(planner name, samples x iterations) of an agent, if it has a planner whose
    budget is known (from its settings or the planner's defaults)."""
    cfg = json.loads(agent_config)
    planner = cfg.get("planner")
    if not planner:
        return None
    samples, iters = planner.get("num_samples"), planner.get("iterations")
    if samples is None or iters is None:
        try:
            from wmplan.planners import make_config

            default = make_config(planner["name"])
            samples = samples if samples is not None else getattr(default, "num_samples", None)
            iters = iters if iters is not None else getattr(default, "iterations", None)
        except (ImportError, AttributeError, TypeError, ValueError):
            return None
    if samples is None or iters is None:
        return None
    return planner["name"], float(samples) * float(iters)


def agent_colors(names: list[str]) -> dict[str, Any]:
    """One colour per agent (and per sweep family), fixed for the whole report:
    tab10 order for up to 10 names, tab20 up to 20, then evenly spaced hues."""
    from matplotlib import colormaps

    names = sorted(set(names) | {_family(n) for n in names}, key=agent_order)
    if len(names) <= 10:
        cmap, pos = colormaps["tab10"], list(range(len(names)))
    elif len(names) <= 20:
        cmap, pos = colormaps["tab20"], list(range(len(names)))
    else:
        cmap, pos = colormaps["hsv"], list(np.linspace(0, 1, len(names), endpoint=False))
    return {n: cmap(p) for n, p in zip(names, pos, strict=True)}


def _log_x(ax) -> None:
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short ranges


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _task_axes(plt, n: int, title: str):
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    fig.suptitle(title)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat


def plot_success(summary: list[dict[str, Any]], path: Path, colors: dict[str, Any]) -> None:
    """Grouped bars: success per task (groups) and agent (bars), 95% Clopper-Pearson
    error bars; published numbers as hollow markers (not run here)."""
    plt = _pyplot()
    tasks = sorted({s["task"] for s in summary})
    agents = sorted({s["agent"] for s in summary}, key=agent_order)
    by = {(s["task"], s["agent"]): s["success"] for s in summary}
    fig, ax = plt.subplots(figsize=(max(7.0, 1.5 + 0.45 * len(tasks) * (len(agents) + 1)), 5.0))
    width = 0.8 / max(len(agents), 1)
    x = np.arange(len(tasks))
    for i, agent in enumerate(agents):
        est = [by.get((t, agent)) for t in tasks]
        vals = np.array([e.value * 100 if e else np.nan for e in est])
        err = np.array(
            [[(e.value - e.low) * 100, (e.high - e.value) * 100] if e else [0, 0] for e in est]
        ).T
        ax.bar(x + (i - (len(agents) - 1) / 2) * width, vals, width, yerr=err, capsize=3,
               label=agent, color=colors[agent])  # fmt: skip
    shown = False
    for j, task in enumerate(tasks):
        for ref in references_for(task):
            if ref.success is None:
                continue
            ax.plot(x[j] + 0.45, ref.success, marker="D", mfc="none", mec="k", ms=5,
                    label=None if shown else "published (not run here)")  # fmt: skip
            shown = True
    ax.set_xticks(x, [short_task(t) for t in tasks])
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Success per task and agent (95% Clopper-Pearson interval)")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_success_vs_plan_time(
    summary: list[dict[str, Any]], path: Path, colors: dict[str, Any]
) -> None:
    """Per task: success vs mean planning time per env step (log x), CI bars, and the
    Pareto front (agents no other beats on both)."""
    plt = _pyplot()
    tasks = sorted({s["task"] for s in summary})
    fig, axes = _task_axes(plt, len(tasks), "Success vs planning time per env step")
    for ax, task in zip(axes, tasks, strict=False):
        pts = sorted(
            (s for s in summary if s["task"] == task), key=lambda s: agent_order(s["agent"])
        )
        times = [max(s["plan_time_per_step"], 1e-6) * 1e3 for s in pts]
        succ = [s["success"].value * 100 for s in pts]
        for s, t, v in zip(pts, times, succ, strict=True):
            e = s["success"]
            ax.errorbar(t, v, yerr=[[v - e.low * 100], [e.high * 100 - v]], fmt="o", capsize=2,
                        label=s["agent"], color=colors[s["agent"]])  # fmt: skip
        front = stats.pareto_front(list(zip(times, succ, strict=True)))
        if len(front) > 1:
            ax.plot(
                [times[i] for i in front],
                [succ[i] for i in front],
                "k--",
                lw=1,
                label="Pareto front",
            )
        _log_x(ax)
        ax.set_xlabel("planning time per env step (ms, log)")
        ax.set_ylabel("success (%)")
        ax.set_ylim(-3, 103)
        ax.set_title(short_task(task))
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_success_vs_budget(
    summary: list[dict[str, Any]], configs: dict[str, str], path: Path, colors: dict[str, Any]
) -> bool:
    """Per task: success vs planner budget (samples x iterations, log x), one line
    per agent family. Returns False if no agent has a known planner budget."""
    plt = _pyplot()
    tasks = sorted({s["task"] for s in summary})
    budgets = {a: _planner_budget(c) for a, c in configs.items()}
    has = any(b is not None for b in budgets.values())
    fig, axes = _task_axes(plt, len(tasks), "Success vs planner budget (samples x iterations)")
    for ax, task in zip(axes, tasks, strict=False):
        lines: dict[str, list[tuple[float, Any]]] = defaultdict(list)
        for s in summary:
            b = budgets.get(s["agent"])
            if s["task"] == task and b is not None:
                lines[_family(s["agent"])].append((b[1], s["success"]))
        if not lines:
            _no_data(ax, "no planner agents with a known budget")
            continue
        for family, pts in sorted(lines.items()):
            pts.sort(key=lambda p: p[0])
            xs = [p[0] for p in pts]
            ys = np.array([p[1].value * 100 for p in pts])
            lo = np.array([p[1].low * 100 for p in pts])
            hi = np.array([p[1].high * 100 for p in pts])
            ax.plot(xs, ys, "o-", label=family, color=colors[family])
            ax.fill_between(xs, lo, hi, alpha=0.2, color=colors[family])
        _log_x(ax)
        ax.set_xlabel("samples x iterations per plan (log)")
        ax.set_ylabel("success (%)")
        ax.set_ylim(-3, 103)
        ax.set_title(short_task(task))
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return has


def plot_convergence(rows: list[dict[str, Any]], path: Path, colors: dict[str, Any]) -> bool:
    """Per task: the planner's best cost per iteration (mean over planning calls and
    episodes, divided by its first-iteration value when positive). Returns False if
    no agent recorded planner info."""
    plt = _pyplot()
    tasks = sorted({r["task"] for r in rows})
    curves: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    for r in rows:
        info = r.get("plan_info")
        if info and info.get("best_cost"):
            curves[(r["task"], r["agent"])].append(
                np.array([np.nan if v is None else v for v in info["best_cost"]], dtype=np.float64)
            )
    fig, axes = _task_axes(plt, len(tasks), "Planner convergence: best cost per iteration")
    for ax, task in zip(axes, tasks, strict=False):
        mine = {a: c for (t, a), c in curves.items() if t == task}
        if not mine:
            _no_data(ax, "no planner info recorded")
            continue
        relative = True
        for agent, cs in sorted(mine.items(), key=lambda kv: agent_order(kv[0])):
            width = max(len(c) for c in cs)
            m = np.full((len(cs), width), np.nan)
            for i, c in enumerate(cs):
                m[i, : len(c)] = c
            mean = np.nanmean(m, axis=0)
            if mean[0] > 0:
                mean = mean / mean[0]
            else:
                relative = False
            ax.plot(np.arange(1, width + 1), mean, label=agent, color=colors[agent])
        ax.set_xlabel("iteration")
        ax.set_ylabel("best cost / first iteration" if relative else "best cost")
        ax.set_title(short_task(task))
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return bool(curves)


def pick_videos(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Best and worst recorded episode per (task, agent): best = success in the
    fewest steps, else the smallest final distance; worst = the reverse."""
    out: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.get("video"):
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
    import yaml

    out = []
    for p in sorted((run_dir / "suites").glob("*.yaml")):
        d = yaml.safe_load(p.read_text())
        proto = d.get("protocol", {})
        out.append(
            f"`{d.get('name')}`: {len(d.get('tasks', []))} tasks x {len(d.get('agents', []))} agents x "
            f"seeds {d.get('seeds')} x {d.get('episodes')} episodes; goal offset "
            f"{proto.get('goal_offset')}, budget {proto.get('budget')} env steps, "
            f"{proto.get('image_size')} px"
        )
    return out


def _skipped_notes(run_dir: Path, ran: set[tuple[str, str]]) -> list[str]:
    """Notes of agents left out as unavailable (from the run's JSONL log), except
    those that have run since: ``ran`` holds the (task, agent) pairs with rows."""
    path = run_dir / "log.jsonl"
    if not path.is_file():
        return []
    notes = []
    for line in path.read_text().splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill
        if event.get("event") == "skip":
            m = re.match(r"skipped (\S+) on (\S+):", event["note"])
            if m is None or (m.group(2), m.group(1)) not in ran:
                notes.append(event["note"])
    return list(dict.fromkeys(notes))


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
    md += [
        "Success is the task's own predicate holding at any step within the budget. "
        "Intervals: a task's success rate has a 95% Clopper-Pearson (exact binomial) "
        "interval, which does not collapse at 0% or 100% (20/20 shows [83.2, 100.0]); "
        "means over tasks and paired differences have 95% percentile-bootstrap CIs "
        f"({stats.N_BOOT} resamples), the mean over tasks weighing every task equally "
        "and resampling each task separately.",
        "",
    ]

    # Success table: agents x tasks, plus published rows.
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
    md += [
        "## Success by task (%, 95% Clopper-Pearson interval; mean over tasks: bootstrap CI)",
        "",
        _md_table(header, table),
        "",
    ]
    md += [
        "Published rows come from other implementations of similar tasks "
        f"({', '.join(f'{short_task(k)} ~ {v}' for k, v in TASK_NAMES.items())}) at 224 px "
        "on GPUs; see *Published numbers* below for sources and settings.",
        "",
        "![success per task and agent](plots/success.png)",
        "",
    ]
    md += targets_section(rows)

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
    md += [
        "## Per task and agent",
        "",
        _md_table(
            [
                "task",
                "agent",
                "episodes",
                "success % [Clopper-Pearson]",
                "per seed %",
                "IQM return [bootstrap CI]",
                "final goal distance",
                "steps",
                "plan ms / env step",
                "wall s / episode",
            ],
            detail,
        ),  # fmt: skip
        "",
        "## Aggregate over tasks",
        "",
        _md_table(
            ["agent", "tasks", "episodes", "mean success % [bootstrap CI]", "plan ms / env step"],
            [
                [
                    f"`{a['agent']}`",
                    str(a["tasks"]),
                    str(a["episodes"]),
                    a["success"].fmt(),
                    f"{a['plan_time_per_step'] * 1e3:.2f}",
                ]
                for a in agg
            ],
        ),  # fmt: skip
        "",
    ]

    # Paired differences: all pairs when few agents, else each against the best.
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
    md += ["## Paired differences in success (percentage points, 95% bootstrap CI)", ""]
    if diff_rows:
        md += [
            "Episode i of a seed has the same start and goal for every agent, so "
            "differences are paired by (task, seed, episode).",
            "",
            _md_table(["pair"] + [short_task(t) for t in tasks] + ["mean over tasks"], diff_rows),
            "",
        ]
    else:
        md += ["Only one agent ran: nothing to compare.", ""]

    md += [
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

    picks = pick_videos(rows)
    md += ["## Best and worst episodes (observation | goal)", ""]
    if picks:
        (out / "videos").mkdir(exist_ok=True)
        vid_rows = []
        for (task, agent), pick in sorted(picks.items()):
            cells = []
            for which in ("best", "worst"):
                r = pick[which]
                name = Path(r["video"]).name
                shutil.copyfile(run_dir / r["video"], out / "videos" / name)
                verdict = f"success at step {r['success_step']}" if r["success"] else "failure"
                dist = (
                    "" if r["final_distance"] is None else f", distance {r['final_distance']:.3f}"
                )
                cells.append(
                    f"![{which}](videos/{name})<br>seed {r['seed']} episode {r['episode']}: {verdict}{dist}"
                )
            vid_rows.append([short_task(task), f"`{agent}`", *cells])
        md += [_md_table(["task", "agent", "best", "worst"], vid_rows), ""]
    else:
        md += ["No episode was recorded (suite `record_episodes: 0`).", ""]

    skipped = _skipped_notes(run_dir, {(r["task"], r["agent"]) for r in rows})
    if skipped:
        md += ["## Agents not run", ""] + [f"- {n}" for n in skipped] + [""]

    md += ["## Published numbers (not run here)", ""]
    md += [
        _md_table(
            ["method", "task", "success %", "settings", "source", "note"],
            [[r.method, r.task, r.fmt(), r.settings, r.source, r.note] for r in REFERENCES],
        ),
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(md))
    return path
