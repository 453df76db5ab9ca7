"""Success against goal distance: how far each agent can plan in one shot.

The protocol puts the goal ``goal_offset`` expert steps from the start (25 by
default). Here the same agents meet goals 25, 50 and 100 steps out, with a budget
of twice the offset, so a curve shows where one-shot latent planning stops
working (no anchor reports this).

    wmplan distance --suite quick --agents random,oracle-cem,wm-cem --offsets 25,50,100 \
        --episodes 10 --out runs/distance

Episodes are seeded exactly as the harness seeds them (``episode_seeds(seed, i)``), so
offset 25 repeats the protocol's episodes. Rows go to ``rows.jsonl`` one episode at a
time: a killed run resumes where it stopped, and an episode is never run twice.
Then ``distance.json`` (success and 95% Clopper-Pearson interval per point) and
``distance.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wmplan.benchmarks.suite import SuiteConfig
from wmplan.worldmodel.files import (
    append_jsonl_durable,
    atomic_path,
    read_jsonl,
    write_json_atomic,
)

ROWS, SUMMARY, PLOT = "rows.jsonl", "distance.json", "distance.png"


def _done(path: Path) -> dict[tuple, dict[str, Any]]:
    return {
        (r["task"], r["agent"], r["offset"], r["seed"], r["episode"]): r for r in read_jsonl(path)
    }


def run_distance(suite: SuiteConfig, offsets: list[int], out: str | Path, log: Any = print) -> dict:
    """Run every (task, agent, offset, seed, episode) of ``suite``
    not yet in ``out/rows.jsonl``; write the summary and plot; return the summary."""
    from wmplan.benchmarks.episode import _env_for, episode_seeds, run_episode
    from wmplan.benchmarks.workers import build_agent

    if not offsets or any(not isinstance(o, int) or o < 1 for o in offsets):
        raise ValueError(f"offsets must be integers >= 1, got {offsets}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / ROWS
    done = _done(rows_path)
    for task in suite.tasks:
        for agent in suite.agents:
            for offset in offsets:
                protocol = type(suite.protocol)(
                    goal_offset=offset, budget=2 * offset, image_size=suite.protocol.image_size,
                    action_repeat=suite.protocol.action_repeat,
                )  # fmt: skip
                env = _env_for(task, protocol)
                for seed in suite.seeds:
                    for episode in range(suite.episodes):
                        key = (task, agent.name, offset, seed, episode)
                        if key in done:
                            continue
                        env_seed, agent_seed = episode_seeds(seed, episode)
                        built = build_agent(agent, task, env, agent_seed)
                        m, _ = run_episode(env, built, protocol, env_seed,
                                           agent.privileged, False)  # fmt: skip
                        row = {"task": task, "agent": agent.name, "offset": offset,
                               "budget": 2 * offset, "seed": seed, "episode": episode,
                               "success": bool(m["success"]), "steps": m["steps"],
                               "plan_time_per_step": m["plan_time_per_step"]}  # fmt: skip
                        append_jsonl_durable(rows_path, row)
                        done[key] = row
                log(f"{task} {agent.name} offset {offset}: "
                    f"{_rate(done, task, agent.name, offset)}")  # fmt: skip
    summary = summarize(list(done.values()))

    write_json_atomic(out / SUMMARY, summary)
    plot(summary, out / PLOT)
    return summary


def _rate(done: dict, task: str, agent: str, offset: int) -> str:
    hits = [r["success"] for k, r in done.items() if k[:3] == (task, agent, offset)]
    return f"{sum(hits)}/{len(hits)}"


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``{task: {agent: [{offset, budget, n, successes, rate, ci95}, ...]}}`` with the
    report's 95% Clopper-Pearson interval."""
    from wmplan.benchmarks.stats import binomial_ci

    out: dict[str, Any] = {}
    keys = sorted({(r["task"], r["agent"], r["offset"]) for r in rows})
    for task, agent, offset in keys:
        hits = [r["success"] for r in rows if (r["task"], r["agent"], r["offset"]) ==
                (task, agent, offset)]  # fmt: skip
        wins, n = sum(hits), len(hits)
        out.setdefault(task, {}).setdefault(agent, []).append({
            "offset": offset, "budget": 2 * offset, "n": n, "successes": wins,
            "rate": wins / n,
            "ci95": [binomial_ci(wins, n).low, binomial_ci(wins, n).high],
        })  # fmt: skip
    return out


def plot(summary: dict[str, Any], path: Path) -> None:
    """One panel per task: success (95% Clopper-Pearson bars) against goal offset, a line per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted(summary)
    agents = sorted({a for t in tasks for a in summary[t]})
    colours = {a: plt.get_cmap("tab10")(i % 10) for i, a in enumerate(agents)}
    fig, axes = plt.subplots(1, max(1, len(tasks)), figsize=(4 * max(1, len(tasks)), 3.2),
                             squeeze=False)  # fmt: skip
    for ax, task in zip(axes[0], tasks, strict=False):
        for agent, points in sorted(summary[task].items()):
            x = [p["offset"] for p in points]
            y = [100 * p["rate"] for p in points]
            err = [[max(0.0, 100 * (p["rate"] - p["ci95"][0])) for p in points],
                   [max(0.0, 100 * (p["ci95"][1] - p["rate"])) for p in points]]  # fmt: skip
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=agent,
                        color=colours[agent])  # fmt: skip
        ax.set_title(task.split("/")[-1])
        ax.set_xlabel("goal offset (env steps; budget 2x)")
        ax.set_ylim(-5, 105)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({p["offset"] for a in summary[task].values() for p in a}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes[0][0].set_ylabel("success % (95% Clopper-Pearson)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
