"""Success against training time: where a world model's MPC success saturates.

Every checkpoint a training run kept (``RUN/checkpoints/step_*``; train with
``checkpoint_every``/``keep_checkpoints`` set to keep them) plans the same protocol
episodes with the same planner, so the curve isolates what more training buys:

    wmplan curve runs/curve-reacher --task wmplan/Reacher-v0 --episodes 50 --seed 100 \
        --out runs/curve-reacher/curve --agent-opt horizon=3

Each checkpoint's result is written to ``rows.jsonl`` once all its episodes ran:
a killed run resumes at the first checkpoint without a row (redoing only the
episodes of that checkpoint, never recording one twice). Then ``curve.json``
(step, training wall seconds, success with its 95% Clopper-Pearson interval) and
``curve.png``. Use tuning seeds: the curve is for choosing a training length.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wmplan.agents import AgentSpec
from wmplan.benchmarks.stats import binomial_ci
from wmplan.worldmodel.checkpoint import read_config
from wmplan.worldmodel.files import (
    append_jsonl_durable,
    atomic_path,
    read_jsonl,
    write_json_atomic,
)

ROWS, SUMMARY, PLOT = "rows.jsonl", "curve.json", "curve.png"


def run_checkpoints(run: str | Path) -> list[Path]:
    """The step directories a run kept, oldest first (``RUN/checkpoints/step_*``)."""
    ckpts = Path(run) / "checkpoints"
    steps = sorted(p for p in ckpts.glob("step_*") if p.is_dir() and p.name[5:].isdigit())
    if not steps:
        raise FileNotFoundError(f"{ckpts}: no step_* checkpoints (is {run} a training run?)")
    return steps


def train_wall_s(ckpt: Path) -> float | None:
    """Training wall seconds when ``ckpt`` was written (its metadata), or None for
    checkpoints of wmplan versions that did not record it."""
    wall = read_config(ckpt).get("metadata", {}).get("train_wall_s")
    return float(wall) if isinstance(wall, int | float) else None


def _done(path: Path) -> dict[int, dict[str, Any]]:
    return {r["step"]: r for r in read_jsonl(path)}


def run_curve(
    run: str | Path,
    task: str,
    spec: AgentSpec,
    episodes: int,
    seed: int,
    out: str | Path,
    log: Any = print,
) -> list[dict[str, Any]]:
    """Plan ``episodes`` protocol episodes (seed ``seed``) with ``spec`` pointed at each
    checkpoint of ``run`` not yet in ``out/rows.jsonl``; write the summary and plot.

    ``spec`` is a world-model agent; its ``checkpoint`` is replaced per step. The rows
    record the spec so a resumed run with other settings is refused, not mixed in.
    """
    import dataclasses

    from wmplan.benchmarks.api import run_episodes

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / ROWS
    done = _done(rows_path)
    setting = {"task": task, "episodes": episodes, "seed": seed,
               "planner": spec.planner.to_dict() if spec.planner else None,
               "options": dict(spec.options)}  # fmt: skip
    for step, row in done.items():
        if row["setting"] != setting:
            raise ValueError(
                f"{rows_path}: step {step} was measured with {row['setting']}, not {setting}; "
                "use another --out for other settings"
            )
    for ckpt in run_checkpoints(run):
        step = int(ckpt.name[5:])
        if step in done:
            continue
        res = run_episodes(task, dataclasses.replace(spec, checkpoint=str(ckpt)),
                           episodes=episodes, seed=seed)  # fmt: skip
        row = {"step": step, "train_wall_s": train_wall_s(ckpt), "successes": res.successes,
               "n": len(res.episodes), "plan_time_per_step": res.plan_time_per_step,
               "setting": setting}  # fmt: skip
        append_jsonl_durable(rows_path, row)
        done[step] = row
        log(f"step {step} ({row['train_wall_s']} s of training): {res.successes}/{row['n']}")
    summary = summarize(list(done.values()))
    write_json_atomic(out / SUMMARY, {"run": str(run), **setting, "points": summary})
    plot(summary, task, out / PLOT)
    return summary


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points sorted by step: ``{step, train_wall_s, successes, n, rate, ci95}``."""
    points = []
    for r in sorted(rows, key=lambda r: r["step"]):
        ci = binomial_ci(r["successes"], r["n"])
        points.append({"step": r["step"], "train_wall_s": r["train_wall_s"],
                       "successes": r["successes"], "n": r["n"],
                       "rate": r["successes"] / r["n"], "ci95": [ci.low, ci.high],
                       "plan_time_per_step": r["plan_time_per_step"]})  # fmt: skip
    return points


def plot(points: list[dict[str, Any]], task: str, path: Path) -> None:
    """Success (95% Clopper-Pearson bars) against training wall time (or steps, when a
    checkpoint did not record its time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = all(p["train_wall_s"] is not None for p in points)
    x = [p["train_wall_s"] / 60 if timed else p["step"] for p in points]
    y = [100 * p["rate"] for p in points]
    err = [[max(0.0, 100 * (p["rate"] - p["ci95"][0])) for p in points],
           [max(0.0, 100 * (p["ci95"][1] - p["rate"])) for p in points]]  # fmt: skip
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.errorbar(x, y, yerr=err, marker="o", capsize=3)
    ax.set_title(task.split("/")[-1])
    ax.set_xlabel("training wall time (min)" if timed else "training steps")
    ax.set_ylabel("success % (95% Clopper-Pearson)")
    ax.set_ylim(-5, 105)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
