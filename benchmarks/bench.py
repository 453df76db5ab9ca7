"""The ``wmplan bench`` command: load a suite, apply overrides and sweeps, run it,
print a summary table."""

from __future__ import annotations

import argparse
from pathlib import Path

from wmplan.benchmarks.suite import SuiteConfig, apply_sweep, load_suite, parse_sweep


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def suite_from_args(args: argparse.Namespace) -> SuiteConfig:
    """The suite named by ``--suite`` with ``--tasks/--agents/--seeds/--episodes``
    overrides and ``--sweep`` expansion applied."""
    suite = load_suite(args.suite)
    changes: dict = {}
    if args.tasks:
        changes["tasks"] = tuple(_csv(args.tasks))
    if args.agents:
        names = _csv(args.agents)
        known = {a.name: a for a in suite.agents}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(
                f"--agents: unknown agent(s) {unknown}; suite {suite.name!r} has {sorted(known)}"
            )
        changes["agents"] = tuple(known[n] for n in names)
    if args.seeds:
        try:
            changes["seeds"] = tuple(int(s) for s in _csv(args.seeds))
        except ValueError:
            raise ValueError(
                f"--seeds must be comma-separated integers, got {args.seeds!r}"
            ) from None
    if args.episodes is not None:
        changes["episodes"] = args.episodes
    if getattr(args, "skip_missing", False):
        changes["skip_missing"] = True
    if changes:
        suite = suite.replace(**changes)
    return apply_sweep(suite, parse_sweep(args.sweep))


def format_summary(rows: list[dict]) -> str:
    """Aligned text table: task, agent, episodes, success % [CI], plan ms/step."""
    from wmplan.benchmarks.report import agent_order
    from wmplan.benchmarks.stats import summarize
    from wmplan.benchmarks.suite import short_task

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


def bench(args: argparse.Namespace) -> int:
    """Run ``wmplan bench``; returns the exit code."""
    from wmplan.benchmarks.cli import check_output
    from wmplan.benchmarks.results import load_rows
    from wmplan.benchmarks.runner import run_suite

    suite = suite_from_args(args)
    out = Path(args.out) if args.out else Path("runs") / suite.run_name
    check_output(out, "--out")
    print(
        f"suite {suite.name}: {len(suite.tasks)} tasks x {len(suite.agents)} agents x "
        f"{len(suite.seeds)} seeds x {suite.episodes} episodes -> {out}"
    )
    summary = run_suite(
        suite,
        out,
        workers=args.workers,
        backend=args.backend,
        address=args.address,
        progress=args.progress,
        wandb_mode=None if args.wandb == "off" else args.wandb,
        wandb_project=args.wandb_project,
    )
    names = {a.name for a in suite.agents}
    rows = [r for r in load_rows(out) if r["agent"] in names and r["task"] in suite.tasks]
    if rows:
        print(format_summary(rows))
    rate = f" ({summary.episodes_per_second:.2f} episodes/s)" if summary.episodes_run else ""
    print(f"{summary.episodes_run} episodes run in {summary.seconds:.1f} s{rate}; "
          f"{summary.episodes_skipped} already done")  # fmt: skip
    if args.report:
        from wmplan.benchmarks.report import write_report

        print(f"report: {write_report(out)}")
    else:
        print(f"report: wmplan report {out}")
    return 0
