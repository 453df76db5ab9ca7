"""The ``wmplan bench`` command: load a suite, apply overrides and sweeps, run it,
print a summary table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wmplan.benchmarks.suite import SuiteConfig, apply_sweep, load_suite, parse_sweep


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


@dataclass(frozen=True)
class SuiteChoice:
    """Which suite to run and the command line's overrides of it: comma-separated
    ``tasks``/``agents``/``seeds`` (None: the suite's), ``episodes``, ``skip_missing``
    and ``sweep`` items (``planner.num_samples=64,128``)."""

    suite: str = "quick"
    tasks: str | None = None
    agents: str | None = None
    seeds: str | None = None
    episodes: int | None = None
    skip_missing: bool = False
    sweep: tuple[str, ...] = ()


def choose_suite(choice: SuiteChoice) -> SuiteConfig:
    """The suite ``choice.suite`` names with its overrides and sweep applied."""
    suite = load_suite(choice.suite)
    changes: dict = {}
    if choice.tasks:
        changes["tasks"] = tuple(_csv(choice.tasks))
    if choice.agents:
        names = _csv(choice.agents)
        known = {a.name: a for a in suite.agents}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(
                f"--agents: unknown agent(s) {unknown}; suite {suite.name!r} has {sorted(known)}"
            )
        changes["agents"] = tuple(known[n] for n in names)
    if choice.seeds:
        try:
            changes["seeds"] = tuple(int(s) for s in _csv(choice.seeds))
        except ValueError:
            raise ValueError(
                f"--seeds must be comma-separated integers, got {choice.seeds!r}"
            ) from None
    if choice.episodes is not None:
        changes["episodes"] = choice.episodes
    if choice.skip_missing:
        changes["skip_missing"] = True
    if changes:
        suite = suite.replace(**changes)
    return apply_sweep(suite, parse_sweep(list(choice.sweep)))


def success_table(rows: list[dict]) -> str:
    """Aligned text table: task, agent, episodes, success % [CI], plan ms/step."""
    from wmplan.benchmarks.plots import agent_order
    from wmplan.benchmarks.stats import summarize
    from wmplan.envs import short_task

    summary = sorted(summarize(rows), key=lambda s: (s["task"], agent_order(s["agent"])))
    width = max([5] + [len(s["agent"]) for s in summary])
    lines = [
        f"{'task':<10} {'agent':<{width}} {'episodes':>8}  {'success % [95% CI]':<22} {'plan ms/step':>12}"
    ]
    for s in summary:
        lines.append(
            f"{short_task(s['task']):<10} {s['agent']:<{width}} {s['episodes']:>8}  "
            f"{s['success'].fmt():<22} {s['plan_time_per_step'] * 1e3:>12.2f}"
        )
    return "\n".join(lines)


def bench(choice: SuiteChoice, *, out: str | None = None, report: bool = False, **run: Any) -> int:
    """Run ``wmplan bench``: ``choice`` into ``out`` (default ``runs/<run_name>``),
    print a success table, write the report if ``report``; ``run``: the keyword
    arguments of ``run_suite`` (workers, backend, progress, wandb_mode, ...).
    Returns the exit code."""
    from wmplan.benchmarks.output_paths import check_output
    from wmplan.benchmarks.results import load_rows
    from wmplan.benchmarks.runner import run_suite

    suite = choose_suite(choice)
    run_dir = Path(out) if out else Path("runs") / suite.run_name
    check_output(run_dir, "--out")
    print(
        f"suite {suite.name}: {len(suite.tasks)} tasks x {len(suite.agents)} agents x "
        f"{len(suite.seeds)} seeds x {suite.episodes} episodes -> {run_dir}"
    )
    summary = run_suite(suite, run_dir, **run)
    names = {a.name for a in suite.agents}
    rows = [r for r in load_rows(run_dir) if r["agent"] in names and r["task"] in suite.tasks]
    if rows:
        print(success_table(rows))
    rate = f" ({summary.episodes_per_second:.2f} episodes/s)" if summary.episodes_run else ""
    print(f"{summary.episodes_run} episodes run in {summary.seconds:.1f} s{rate}; "
          f"{summary.episodes_skipped} already done")  # fmt: skip
    if report:
        from wmplan.benchmarks.report import write_report

        print(f"report: {write_report(run_dir)}")
    else:
        print(f"report: wmplan report {run_dir}")
    return 0
