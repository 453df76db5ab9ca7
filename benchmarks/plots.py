"""The report's figures (``RUN_DIR/report/plots/*.png``), one function per plot.

An agent has one colour in every plot (``agent_colors``); a figure with no data
for a task says so in its panel. ``wmplan report`` (``benchmarks/report.py``)
calls these and writes the Markdown around them.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from wmplan.benchmarks import stats
from wmplan.benchmarks.references import references_for
from wmplan.envs import short_task
from wmplan.planners import make_config

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
            default = make_config(planner["name"])
        except ValueError:  # a planner this version does not have
            return None
        samples = samples if samples is not None else getattr(default, "num_samples", None)
        iters = iters if iters is not None else getattr(default, "iterations", None)
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


def _success_panel(ax, xlabel: str, task: str) -> None:
    """Log x, success % on y, the task as title: a success-vs-cost panel."""
    _log_x(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("success (%)")
    ax.set_ylim(-3, 103)
    ax.set_title(short_task(task))
    ax.legend(fontsize=6)


def _save(plt, fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    _save(plt, fig, path)


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
        _success_panel(ax, "planning time per env step (ms, log)", task)
    _save(plt, fig, path)


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
            b = budgets[s["agent"]]
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
        _success_panel(ax, "samples x iterations per plan (log)", task)
    _save(plt, fig, path)
    return has


def plot_convergence(rows: list[dict[str, Any]], path: Path, colors: dict[str, Any]) -> bool:
    """Per task: the planner's best cost per iteration (mean over planning calls and
    episodes, divided by its first-iteration value when positive). Returns False if
    no agent recorded planner info."""
    plt = _pyplot()
    tasks = sorted({r["task"] for r in rows})
    curves: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    for r in rows:
        info = r["plan_info"]
        if info and info["best_cost"]:
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
    _save(plt, fig, path)
    return bool(curves)
