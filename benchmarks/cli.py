"""wmplan command line: the one place that wires envs, world models, planners,
agents and the benchmark harness together.

Each area registers its subcommands in its own ``_add_<area>`` function (the
dataset and model commands in ``cli_train.py``, shared flags in ``cli_flags.py``);
heavy imports happen inside the command functions so ``wmplan envs list`` stays fast.
(~450 lines: the wiring of every command is kept in this one file on purpose.)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wmplan.benchmarks.cli_flags import (
    HelpFormatter,
    Parser,
    add_parser,
    add_planner_flags,
    add_progress,
    add_wandb,
    add_workers,
    at_least,
    default_of,
    parse_options,
    workers_of,
)
from wmplan.benchmarks.cli_train import add_curve, add_data, add_worldmodel
from wmplan.benchmarks.output_paths import check_output

if TYPE_CHECKING:
    from wmplan.benchmarks.bench import SuiteChoice


# --- envs --------------------------------------------------------------------
def _add_envs(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "envs", "wmplan envs list", help="list and show tasks")
    envs_sub = p.add_subparsers(dest="envs_cmd", required=True)
    ls = add_parser(envs_sub, "list", "wmplan envs list", help="list registered tasks")
    ls.set_defaults(func=_cmd_envs_list)
    show = add_parser(
        envs_sub, "show", "wmplan envs show wmplan/Push-v0 --out runs/show",
        help="contact sheet + random-episode GIF of a task",
    )  # fmt: skip
    show.add_argument("task_id")
    show.add_argument("--out", required=True, help="output directory")
    show.add_argument("--image-size", type=at_least(16), default=64)
    show.add_argument("--seed", type=at_least(0), default=0)
    show.add_argument("--steps", type=at_least(1), default=50)
    show.set_defaults(func=_cmd_envs_show)


def _cmd_envs_list(args: argparse.Namespace) -> int:
    from wmplan.envs.catalog import format_task_table

    print(format_task_table())
    return 0


def _cmd_envs_show(args: argparse.Namespace) -> int:
    check_output(args.out, "--out")
    from wmplan.envs.catalog import show_task

    paths = show_task(
        args.task_id, args.out, image_size=args.image_size, seed=args.seed, steps=args.steps
    )
    for path in paths:
        print(path)
    return 0


# --- demo ----------------------------------------------------------------------
def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = add_parser(
        sub,
        "demo",
        "wmplan demo --out runs/demo",
        help="the main job of `make demo`: tasks, contact sheets, quick suite, report",
        description="Lists the tasks, writes each goal task's observation|goal contact sheet, "
        "runs the `quick` benchmark suite (random vs oracle MPC vs trained world models) and "
        "writes its report. Rerunning skips finished episodes.",
    )
    p.add_argument("--out", default="runs/demo", help="run directory")
    add_workers(p)
    add_progress(p)
    p.add_argument("--suite", default="quick", help="suite name or YAML file to run")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from wmplan.envs import GOAL_TASKS
    from wmplan.envs.catalog import format_task_table, show_task

    check_output(args.out, "--out")
    print(format_task_table(), end="\n\n")
    sheets = Path(args.out) / "tasks"
    for task_id in GOAL_TASKS:
        sheet, _ = show_task(task_id, sheets)
        print(f"{task_id}: observation | goal -> {sheet}")
    print()
    bench_argv = ["bench", "--suite", args.suite, "--out", args.out, "--report"]
    bench_argv += ["--progress", args.progress, "--workers", str(workers_of(args))]
    bench_args = build_parser().parse_args(bench_argv)
    return int(bench_args.func(bench_args) or 0)


def _add_recipe(sub: argparse._SubParsersAction) -> None:
    from wmplan.benchmarks.recipe import RECIPE_NAMES

    r = sub.add_parser(
        "recipe",
        help="make a task's reference world model: collect, train, evaluate, model card",
        description="Run a task's recipe (benchmarks/recipe.py): each stage is printed as the "
        "wmplan command it runs; rerunning resumes. Example: wmplan recipe tworoom --out "
        "runs/recipe-tworoom. Size flags shrink a recipe for a quick try (the card says so).",
    )
    r.add_argument("name", choices=sorted(RECIPE_NAMES))
    r.add_argument("--out", required=True, help="directory for data, model, evaluation, card")
    r.add_argument(
        "--workers", type=at_least(1), default=2, help="collection / evaluation processes"
    )
    r.add_argument(
        "--episodes", type=at_least(1), help="collected episodes (default: the recipe's)"
    )
    r.add_argument("--steps", type=at_least(1), help="env steps per episode")
    r.add_argument("--train-steps", type=at_least(1), help="world-model training steps")
    r.add_argument("--reach-steps", type=at_least(1), help="reachability-head training steps")
    r.add_argument(
        "--decoder-steps", type=at_least(0), help="eval-model decoder-probe steps (0: off)"
    )
    r.add_argument(
        "--eval-episodes", type=at_least(1), help="protocol episodes per evaluation seed"
    )
    r.set_defaults(func=_cmd_recipe)


def _cmd_recipe(args: argparse.Namespace) -> int:
    import dataclasses

    check_output(args.out, "--out")
    from wmplan.benchmarks.recipe import RECIPES, run_recipe

    sizes = {"episodes": args.episodes, "steps": args.steps, "train_steps": args.train_steps,
             "reach_steps": args.reach_steps, "decoder_steps": args.decoder_steps,
             "eval_episodes": args.eval_episodes}  # fmt: skip
    recipe = dataclasses.replace(
        RECIPES[args.name], **{k: v for k, v in sizes.items() if v is not None}
    )
    return run_recipe(recipe, args.out, main, workers=args.workers)


def _add_distance(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser(
        "distance",
        help="success against goal distance (offsets 25, 50, 100; budget 2x) per agent",
        description="Run a suite's agents with goals farther out than the protocol's 25 "
        "steps (budget twice the offset) and plot success against the offset; resumable. "
        "Example: wmplan distance --suite quick --agents random,oracle-cem,wm-cem "
        "--episodes 10 --out runs/distance",
    )
    d.add_argument("--suite", default="quick", help="built-in suite name or YAML file")
    d.add_argument("--out", required=True, help="directory for rows, distance.json/png")
    d.add_argument("--offsets", default="25,50,100", help="comma-separated goal offsets")
    d.add_argument("--tasks", help="comma-separated task ids (default: the suite's)")
    d.add_argument("--agents", help="comma-separated agent names (default: the suite's)")
    d.add_argument("--seeds", help="comma-separated seeds (default: the suite's)")
    d.add_argument("--episodes", type=at_least(1), help="episodes per task, agent, offset and seed")
    d.set_defaults(func=_cmd_distance, sweep=[])


def _cmd_distance(args: argparse.Namespace) -> int:
    check_output(args.out, "--out")
    from wmplan.benchmarks.bench import choose_suite
    from wmplan.benchmarks.distance import run_distance

    try:
        offsets = [int(o) for o in args.offsets.split(",") if o.strip()]
    except ValueError:
        raise ValueError(
            f"--offsets must be comma-separated integers, got {args.offsets!r}"
        ) from None
    import torch

    torch.set_num_threads(1)
    summary = run_distance(choose_suite(suite_choice(args)), offsets, args.out)
    for task, agents in summary.items():
        for agent, points in agents.items():
            cells = ", ".join(f"{p['offset']}: {p['successes']}/{p['n']}" for p in points)
            print(f"{task} {agent}: {cells}")
    print(f"wrote {args.out}/distance.json and distance.png")
    return 0


# --- bench -----------------------------------------------------------------------
def _add_bench(sub: argparse._SubParsersAction) -> None:
    b = add_parser(
        sub,
        "bench",
        "wmplan bench --suite quick --out runs/quick --report",
        help="run a benchmark suite into a results database (resumable)",
        description="Run tasks x agents x seeds x episodes under the goal protocol. Results "
        "go to RUN_DIR/results.sqlite, one row per episode; rerunning the same command "
        "skips finished episodes, so a killed run resumes where it stopped.",
    )
    b.add_argument(
        "--suite", default="quick", help="built-in suite (quick, standard) or a .yaml file"
    )
    b.add_argument("--out", help="run directory (default: runs/<suite run_name>)")
    add_workers(b)
    b.add_argument(
        "--threads", type=at_least(1),
        help="torch threads per local worker (default: the cores shared out among workers; "
        "on a machine other jobs share, 1 avoids threads waiting on a busy core)",
    )  # fmt: skip
    b.add_argument("--backend", default="local", choices=["local", "ray"], help="where jobs run")
    b.add_argument("--address", help="Ray cluster address (default: start Ray locally)")
    b.add_argument(
        "--sweep",
        nargs="+",
        default=[],
        metavar="KEY=V1,V2",
        help="e.g. planner.num_samples=64,128,300 planner.iterations=5,10,30",
    )
    b.add_argument("--tasks", help="comma-separated task ids (default: the suite's)")
    b.add_argument("--agents", help="comma-separated agent names (default: the suite's)")
    b.add_argument("--seeds", help="comma-separated seeds (default: the suite's)")
    b.add_argument("--episodes", type=at_least(1), help="episodes per task, agent and seed")
    b.add_argument(
        "--skip-missing",
        action="store_true",
        help="skip (with a note) agents whose model or code is missing instead of failing",
    )
    add_wandb(b)
    b.add_argument("--wandb-project", default="wmplan", help="wandb project name")
    add_progress(b)
    b.add_argument("--report", action="store_true", help="write the report when done")
    b.set_defaults(func=_cmd_bench)

    r = add_parser(
        sub, "report", "wmplan report runs/quick",
        help="Markdown report with plots and videos of a run",
    )  # fmt: skip
    r.add_argument("run_dir")
    r.add_argument("--out", help="output directory (default: RUN_DIR/report)")
    r.set_defaults(func=_cmd_report)


def suite_choice(args: argparse.Namespace) -> SuiteChoice:
    """The suite and overrides that ``wmplan bench``/``distance`` flags name."""
    from wmplan.benchmarks.bench import SuiteChoice

    return SuiteChoice(args.suite, args.tasks, args.agents, args.seeds, args.episodes,
                       getattr(args, "skip_missing", False), tuple(args.sweep))  # fmt: skip


def _cmd_bench(args: argparse.Namespace) -> int:
    from wmplan.benchmarks.bench import bench

    return bench(
        suite_choice(args), out=args.out, workers=args.workers, threads=args.threads,
        backend=args.backend, address=args.address, progress=args.progress,
        wandb_mode=None if args.wandb == "off" else args.wandb,
        wandb_project=args.wandb_project, report=args.report,
    )  # fmt: skip


def _cmd_report(args: argparse.Namespace) -> int:
    check_output(args.out or Path(args.run_dir) / "report", "--out")
    from wmplan.benchmarks.report import write_report

    print(write_report(args.run_dir, args.out))
    return 0


# --- plan ------------------------------------------------------------------------
def _add_plan(sub: argparse._SubParsersAction) -> None:
    from wmplan.benchmarks.protocol import ProtocolConfig

    p = add_parser(
        sub,
        "plan",
        "wmplan plan --task wmplan/Reacher-v0 --agent oracle --episodes 5",
        help="run an agent on a goal task under the protocol and print its success rate",
        description="Episodes under the evaluation protocol (goal offset, budget; success "
        "if the predicate holds at any step), seeded as `wmplan bench` seeds them.",
    )
    p.add_argument("--task", required=True)
    p.add_argument("--agent", default="oracle", choices=["oracle", "wm", "random"])
    add_planner_flags(p)
    p.add_argument(
        "--checkpoint",
        help="world-model run or checkpoint dir, or a shipped model name (wm-reacher; --agent wm)",
    )
    p.add_argument("--episodes", type=at_least(1), default=10)
    p.add_argument("--seed", type=at_least(0), default=0)
    p.add_argument(
        "--goal-offset", type=at_least(1),
        help=f"env steps from start to goal (default: {default_of(ProtocolConfig, 'goal_offset')})",
    )  # fmt: skip
    p.add_argument(
        "--budget", type=at_least(1),
        help=f"env steps the agent gets (default: {default_of(ProtocolConfig, 'budget')})",
    )  # fmt: skip
    p.add_argument(
        "--agent-seed-offset", type=at_least(0), default=0,
        help="same episodes, another draw of the planner's randomness (0: as `wmplan bench`); "
        "rerun with 1, 2, ... to see how much of a success count is planner noise",
    )  # fmt: skip
    p.add_argument("--video", help="directory for GIFs (observation | goal) of every episode")
    p.set_defaults(func=_cmd_plan)


def _cmd_plan(args: argparse.Namespace) -> int:
    import time

    from wmplan.agents import availability, check_settings
    from wmplan.benchmarks.api import agent_spec, run_episodes
    from wmplan.benchmarks.episode import encode_gif
    from wmplan.envs import check_task_id

    if check_task_id(args.task).kind != "goal":
        raise ValueError(f"--task must be a goal task for `wmplan plan`, got {args.task}")
    if args.agent == "wm" and not args.checkpoint:
        raise ValueError("--agent wm needs --checkpoint RUN_DIR (or a shipped model: wm-reacher)")
    if args.agent == "random" and args.planner_opt:
        raise ValueError(
            f"--planner-opt {args.planner_opt[0]}: --agent random uses no planner; drop "
            "--planner-opt or use --agent oracle/wm"
        )
    if args.agent != "wm" and args.checkpoint:
        raise ValueError(f"--checkpoint is only for --agent wm, not --agent {args.agent}")
    if args.video:
        check_output(args.video, "--video")
    planner = None if args.agent == "random" else args.planner
    spec = agent_spec(
        args.agent, planner=planner, planner_options=parse_options(args.planner_opt),
        checkpoint=args.checkpoint, **parse_options(args.agent_opt),
    )  # fmt: skip
    check_settings(spec)
    reason = availability(spec, args.task)
    if reason is not None:
        raise ValueError(reason)
    video = Path(args.video) if args.video else None
    if video:
        video.mkdir(parents=True, exist_ok=True)

    def show(episode: int, m: dict, frames: list) -> None:
        if video and frames:
            (video / f"episode{episode:03d}.gif").write_bytes(encode_gif(frames))
        print(
            f"episode {episode:3d}: {'success' if m['success'] else 'failure'} "
            f"steps {m['steps']:3d} final distance {m['final_distance']:.3f} "
            f"plan {m['plan_time_per_step'] * 1e3:.0f} ms/step", flush=True
        )  # fmt: skip

    start = time.perf_counter()
    results = run_episodes(
        args.task, spec, episodes=args.episodes, seed=args.seed,
        goal_offset=args.goal_offset, budget=args.budget, on_episode=show,
        record=video is not None, agent_seed_offset=args.agent_seed_offset,
    )  # fmt: skip
    print(
        f"{args.task} agent={args.agent} planner={planner or '-'}: "
        f"success {results.successes}/{len(results.episodes)} = {results.success_rate:.0%}, "
        f"planning {results.plan_time_per_step * 1e3:.0f} ms per env step, "
        f"wall {time.perf_counter() - start:.0f} s"
    )
    return 0


# --- baselines ---------------------------------------------------------------------
def _add_baseline(sub: argparse._SubParsersAction) -> None:
    from wmplan.benchmarks.baseline import add_parser

    add_parser(sub, _cmd_baseline)


def _cmd_baseline(args: argparse.Namespace) -> int:
    from wmplan.benchmarks.baseline import cmd_eval, cmd_train

    return (cmd_train if args.baseline_cmd == "train" else cmd_eval)(args)


# --- end of area functions ---------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="wmplan",
        description="Planning with learned world models on simulated robot tasks.",
        formatter_class=HelpFormatter,
        epilog="example:\n  wmplan bench --suite quick --report    # `wmplan CMD --help` for more",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add in _AREAS:
        add(sub)
    _show_defaults(parser)
    return parser


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Give flags without a help text one that shows their default (argparse lists
    a flag without help and without its default otherwise)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                _show_defaults(child)
        elif action.help is None and action.default not in (None, False, []):
            action.help = "(default: %(default)s)"


def _version() -> str:
    from wmplan.worldmodel.provenance import git_commit, package_version

    sha = git_commit()
    return package_version("wmplan") + (f" (git {sha})" if sha else "")


_AREAS = [
    _add_envs, _add_demo, _add_plan, add_data, add_worldmodel, _add_recipe, _add_distance, add_curve,
    _add_bench, _add_baseline,
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # `wmplan data inspect X | head`: the reader left; that is not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if not _user_error(exc):
            raise
        # Bad input: one clear line naming what is wrong, not a traceback.
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        lines = message.strip().splitlines()
        words = [args.command, getattr(args, "envs_cmd", None), getattr(args, "data_cmd", None)]
        command = " ".join(w for w in words if w)
        print(f"wmplan {command}: error: {lines[0] if lines else repr(exc)}", file=sys.stderr)
        return 2


def _user_error(exc: Exception) -> bool:
    """Errors that name bad input or a failed job: reported in one line, exit 2."""
    import sqlite3

    runner = sys.modules.get("wmplan.benchmarks.runner")  # imported only by bench
    job_failed = (runner.JobFailed,) if runner is not None else ()
    return isinstance(exc, (ValueError, OSError, KeyError, sqlite3.Error) + job_failed)


if __name__ == "__main__":
    sys.exit(main())
