"""wmplan command line: the one place that wires envs, world models, planners,
agents and the benchmark harness together.

Each area registers its subcommands in its own ``_add_<area>`` function; heavy
imports happen inside the command functions so ``wmplan envs list`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wmplan.benchmarks.output_paths import check_output

if TYPE_CHECKING:
    from wmplan.benchmarks.bench import SuiteChoice


# --- shared flags and checks -----------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``wmplan plan: error: argument --seed: ...``), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.HelpFormatter):
    """Keeps the examples' line breaks and shows each flag's default when it has one."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS, [])
        if shown and "%(default)" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _add_parser(sub: argparse._SubParsersAction, name: str, example: str, **kwargs):
    """A subcommand parser with defaults in its help and ``example`` as its epilog."""
    return sub.add_parser(
        name, formatter_class=_HelpFormatter, epilog=f"example:\n  {example}", **kwargs
    )


def _at_least(low: int):
    """argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _add_workers(p: argparse.ArgumentParser) -> None:
    """``--workers``: the same flag and default rule (one per CPU core) everywhere."""
    p.add_argument(
        "--workers", type=_at_least(1), help="worker processes (default: one per CPU core)"
    )


def _workers(args: argparse.Namespace) -> int:
    from wmplan.benchmarks.runner import default_workers

    return args.workers if args.workers is not None else default_workers()


def _add_progress(p: argparse.ArgumentParser) -> None:
    """``--progress``: a bar on a terminal, a plain line every few seconds in a log."""
    p.add_argument(
        "--progress", choices=["auto", "bar", "lines", "none"], default="auto",
        help="progress output; auto: a bar on a terminal, a plain line every 10 s otherwise",
    )  # fmt: skip
    p.add_argument(
        "--quiet", dest="progress", action="store_const", const="none",
        help="no progress output (= --progress none)",
    )  # fmt: skip


def _add_wandb(p: argparse.ArgumentParser) -> None:
    """``--wandb off|offline|online``: the same in every command (bare --wandb: offline)."""
    p.add_argument(
        "--wandb", nargs="?", const="offline", default="off",
        choices=["off", "offline", "online"],
        help="log to wandb; offline needs no network (sync later with `wandb sync`)",
    )  # fmt: skip


# --- envs --------------------------------------------------------------------
def _add_envs(sub: argparse._SubParsersAction) -> None:
    p = _add_parser(sub, "envs", "wmplan envs list", help="list and show tasks")
    envs_sub = p.add_subparsers(dest="envs_cmd", required=True)
    ls = _add_parser(envs_sub, "list", "wmplan envs list", help="list registered tasks")
    ls.set_defaults(func=_cmd_envs_list)
    show = _add_parser(
        envs_sub, "show", "wmplan envs show wmplan/Push-v0 --out runs/show",
        help="contact sheet + random-episode GIF of a task",
    )  # fmt: skip
    show.add_argument("task_id")
    show.add_argument("--out", required=True, help="output directory")
    show.add_argument("--image-size", type=_at_least(16), default=64)
    show.add_argument("--seed", type=_at_least(0), default=0)
    show.add_argument("--steps", type=_at_least(1), default=50)
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
    p = _add_parser(
        sub,
        "demo",
        "wmplan demo --out runs/demo",
        help="the main job of `make demo`: tasks, contact sheets, quick suite, report",
        description="Lists the tasks, writes each goal task's observation|goal contact sheet, "
        "runs the `quick` benchmark suite (random vs oracle MPC vs trained world models) and "
        "writes its report. Rerunning skips finished episodes.",
    )
    p.add_argument("--out", default="runs/demo", help="run directory")
    _add_workers(p)
    _add_progress(p)
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
    bench_argv += ["--progress", args.progress, "--workers", str(_workers(args))]
    bench_args = build_parser().parse_args(bench_argv)
    return int(bench_args.func(bench_args) or 0)


# --- data ----------------------------------------------------------------------
def _add_data(sub: argparse._SubParsersAction) -> None:
    c = _add_parser(
        sub,
        "collect",
        "wmplan collect --task wmplan/Reacher-v0 --episodes 100 --out data/reacher.h5",
        help="collect episodes of a task into an HDF5 dataset (multi-process, resumable)",
        description="Collect episodes into an HDF5 dataset (schema: docs/dataset.md). "
        "Episode i is seeded from (seed, i): the dataset does not depend on --workers. "
        "A killed run, rerun with the same options, resumes where it stopped.",
    )
    c.add_argument("--task", required=True, help="task id, e.g. wmplan/Reacher-v0")
    c.add_argument("--policy", default="expert", choices=["random", "ou", "colored", "expert"])
    c.add_argument("--episodes", type=_at_least(1), default=1000)
    c.add_argument(
        "--steps", type=_at_least(1), default=100, help="env steps (actions) per episode"
    )
    _add_workers(c)
    c.add_argument("--seed", type=_at_least(0), default=0)
    c.add_argument("--out", required=True, help="output .h5 file")
    c.add_argument("--image-size", type=int, default=64)
    c.add_argument("--action-repeat", type=int, default=1)
    c.add_argument("--noise", type=float, default=0.1, help="expert: Gaussian action noise std")
    c.add_argument(
        "--mix",
        type=float,
        default=0.5,
        help="expert: fraction of steps played by colored noise instead",
    )
    c.add_argument("--beta", type=float, default=1.0, help="colored noise exponent (1/f^beta)")
    c.add_argument("--scale", type=float, default=0.6, help="ou/colored noise std")
    c.add_argument("--shard-episodes", type=int, default=10, help="episodes per resumable shard")
    c.add_argument("--compression", default="gzip-6", help="gzip-1..gzip-9, lzf or none")
    _add_progress(c)
    c.set_defaults(func=_cmd_collect)

    p = _add_parser(
        sub, "data", "wmplan data inspect data/reacher.h5", help="inspect and merge datasets"
    )
    data_sub = p.add_subparsers(dest="data_cmd", required=True)
    ins = _add_parser(
        data_sub, "inspect", "wmplan data inspect data/reacher.h5 --video runs/videos",
        help="summarise a dataset (and check every chunk)",
    )  # fmt: skip
    ins.add_argument("path")
    ins.add_argument("--video", metavar="DIR", help="write a few episodes as GIFs to DIR")
    ins.add_argument("--video-episodes", type=_at_least(1), default=4)
    ins.add_argument("--json", action="store_true", help="print the summary as JSON")
    ins.set_defaults(func=_cmd_data_inspect)
    mrg = _add_parser(
        data_sub, "merge", "wmplan data merge data/all.h5 data/part1.h5 data/part2.h5",
        help="concatenate compatible datasets into OUT (every episode verified)",
    )  # fmt: skip
    mrg.add_argument("out")
    mrg.add_argument("inputs", nargs="+")
    mrg.add_argument("--force", action="store_true", help="replace OUT if it exists")
    mrg.set_defaults(func=_cmd_data_merge)
    exp = data_sub.add_parser(
        "export",
        help="export a dataset to another format (minari)",
        description="Write DATA as a Minari dataset (lossless images, goal fields in the "
        "observations, the env spec stored). Example: wmplan data export --format minari "
        "data/reacher.h5",
    )
    exp.add_argument("path", help="wmplan .h5 dataset")
    exp.add_argument("--format", required=True, choices=["minari"])
    exp.add_argument("--dataset-id", help="Minari id (default: wmplan/<task>-<policy>-v0)")
    exp.add_argument(
        "--root", help="Minari datasets directory (default: $MINARI_DATASETS_PATH or ~/.minari)"
    )
    exp.set_defaults(func=_cmd_data_export)


def _cmd_data_export(args: argparse.Namespace) -> int:
    from wmplan.worldmodel.export import export_minari

    print(export_minari(args.path, args.dataset_id, args.root))
    return 0


def _cmd_collect(args: argparse.Namespace) -> int:
    import time

    from wmplan.envs.policies import PolicyConfig
    from wmplan.worldmodel.data.collect import CollectConfig, collect
    from wmplan.worldmodel.data.inspect import inspect

    policy = PolicyConfig(
        name=args.policy, noise=args.noise, mix=args.mix, beta=args.beta, scale=args.scale
    )
    config = CollectConfig(
        task_id=args.task,
        episodes=args.episodes,
        steps=args.steps,
        seed=args.seed,
        image_size=args.image_size,
        action_repeat=args.action_repeat,
        policy=policy,
        shard_episodes=args.shard_episodes,
        compression=args.compression,
    )
    check_output(args.out, "--out", kind="file")
    existed = Path(args.out).exists()
    start = time.perf_counter()
    out = collect(config, args.out, workers=_workers(args), progress=args.progress)
    elapsed = time.perf_counter() - start
    summary = inspect(out, verify=False)
    size = f"{summary['episodes']} episodes, {summary['frames']} frames, "
    size += f"{summary['size_bytes'] / 1e6:.1f} MB"
    if existed:  # a complete dataset was already there: nothing was collected
        print(f"{out}: already complete, nothing collected ({size})")
    else:
        print(f"{out}: {size} in {elapsed:.1f} s ({summary['frames'] / elapsed:.0f} frames/s)")
    return 0


def _cmd_data_inspect(args: argparse.Namespace) -> int:
    import json

    from wmplan.worldmodel.data.inspect import format_summary, inspect, write_videos

    if args.video:
        check_output(args.video, "--video")
    summary = inspect(args.path)
    print(json.dumps(summary, indent=1) if args.json else format_summary(summary))
    if args.video:
        for path in write_videos(args.path, args.video, episodes=args.video_episodes):
            print(path)
    return 0


def _cmd_data_merge(args: argparse.Namespace) -> int:
    from wmplan.worldmodel.data.episodes import merge
    from wmplan.worldmodel.data.inspect import inspect

    check_output(args.out, "OUT", kind="file")
    out = merge(args.out, args.inputs, force=args.force)
    summary = inspect(out, verify=False)
    print(f"{out}: {summary['episodes']} episodes from {len(args.inputs)} datasets")
    return 0


# --- worldmodel ------------------------------------------------------------------
def _add_worldmodel(sub: argparse._SubParsersAction) -> None:
    t = _add_parser(
        sub,
        "train",
        "wmplan train --task wmplan/Reacher-v0 --data data/reacher.h5 --out runs/wm-reacher",
        help="train a JEPA world model on a dataset (resumes an interrupted run)",
        description="Train a world model; rerun the same command to resume from the newest "
        "checkpoint in --out. Config fields come from --config (JSON/YAML), then the flags.",
    )
    t.add_argument("--task", default="", help="task id the dataset must hold")
    t.add_argument("--data", required=True, help="HDF5 dataset from `wmplan collect`")
    t.add_argument("--out", required=True, help="run directory (checkpoints, metrics.jsonl)")
    t.add_argument("--config", help="JSON or YAML TrainConfig (model:/loss: sections nested)")
    keep = " (default: --config's, else TrainConfig's)"
    t.add_argument("--steps", type=_at_least(1), help="optimizer steps" + keep)
    t.add_argument("--batch-size", type=_at_least(1), help="windows per step" + keep)
    t.add_argument("--lr", type=float, help="peak learning rate" + keep)
    t.add_argument("--seed", type=_at_least(0), help="seed of init and sampling" + keep)
    t.add_argument("--threads", type=_at_least(1), help="torch threads" + keep)
    t.add_argument("--kind", choices=["jepa", "recon"], help="model kind (recon: pixel baseline)")
    t.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    t.add_argument(
        "--allow-data-change", action="store_true", default=None,
        help="resume even though the dataset at --data differs from the one the run began on",
    )  # fmt: skip
    _add_wandb(t)
    _add_progress(t)
    t.set_defaults(func=_cmd_train)

    e = _add_parser(
        sub, "eval-model", "wmplan eval-model runs/wm-reacher --data data/reacher.h5",
        help="evaluate a world model: open loop, probes, collapse",
    )  # fmt: skip
    e.add_argument("checkpoint", help="run directory or checkpoint directory")
    e.add_argument(
        "--data",
        help="dataset (held-out episodes as in training; default: the one it was trained on)",
    )
    e.add_argument("--out", help="output directory (default: <checkpoint>/eval)")
    e.add_argument(
        "--horizon", type=_at_least(1), default=5, help="open-loop horizon in action blocks"
    )
    e.add_argument(
        "--train-episodes", type=_at_least(1), default=200, help="episodes to fit probes on"
    )
    e.add_argument(
        "--decoder-steps", type=_at_least(0), default=300, help="decoder-probe steps (0: off)"
    )
    e.set_defaults(func=_cmd_eval_model)

    r = sub.add_parser(
        "train-reach",
        help="learn a world model's temporal distance between latents (stored beside it)",
        description="Fit a reachability head on the frozen encoder of CHECKPOINT from the "
        "episodes of --data and write reach.safetensors + reach.json into the checkpoint; "
        "world-model MPC then plans on it (cost metric 'auto'). "
        "Example: wmplan train-reach runs/wm-tworoom --data data/tworoom.h5",
    )
    r.add_argument("checkpoint", help="run directory or checkpoint directory")
    r.add_argument("--data", required=True, help="dataset of the model's task")
    r.add_argument("--steps", type=_at_least(1), help="training steps (default: ReachConfig's)")
    r.add_argument("--max-offset", type=_at_least(1), help="largest step gap between paired frames")
    r.add_argument("--quantile", type=float, help="pinball-loss quantile in (0, 1)")
    r.add_argument("--seed", type=_at_least(0))
    r.set_defaults(func=_cmd_train_reach)


def _cmd_train(args: argparse.Namespace) -> int:
    check_output(args.out, "--out")
    import dataclasses

    from wmplan.worldmodel.train import TrainConfig, train

    wandb = {"off": {}, "offline": {"wandb": True, "wandb_mode": "offline"},
             "online": {"wandb": True, "wandb_mode": "online"}}[args.wandb]  # fmt: skip
    options = dict(
        task=args.task, data=args.data, out=args.out, steps=args.steps,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed, threads=args.threads,
        compile=args.compile, allow_data_change=args.allow_data_change,
        progress=args.progress, **wandb,
    )  # fmt: skip
    options = {k: v for k, v in options.items() if v is not None}  # None: the config's
    cfg = TrainConfig.from_file(args.config, **options) if args.config else TrainConfig(**options)
    if args.kind is not None:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, kind=args.kind))
    print(train(cfg).summary())
    return 0


def _cmd_eval_model(args: argparse.Namespace) -> int:
    out = args.out or str(Path(args.checkpoint) / "eval")
    check_output(out, "--out")
    from wmplan.worldmodel.evaluate import evaluate_checkpoint, summary_lines

    report = evaluate_checkpoint(
        args.checkpoint, args.data, out=out, horizon=args.horizon,
        max_train=args.train_episodes, decoder_steps=args.decoder_steps,
    )  # fmt: skip
    print("\n".join(summary_lines(report)))
    print(f"wrote {out}/eval.json and plots")
    return 0


def _cmd_train_reach(args: argparse.Namespace) -> int:
    import torch

    from wmplan.worldmodel.reach import ReachConfig, fit_reach

    fields = {"steps": args.steps, "max_offset": args.max_offset, "quantile": args.quantile,
              "seed": args.seed}  # fmt: skip
    cfg = ReachConfig(**{k: v for k, v in fields.items() if v is not None})
    torch.set_num_threads(min(2, torch.get_num_threads()))
    fit_reach(args.checkpoint, args.data, cfg)
    return 0


def _add_recipe(sub: argparse._SubParsersAction) -> None:
    from wmplan.benchmarks.recipe import RECIPES

    r = sub.add_parser(
        "recipe",
        help="make a task's reference world model: collect, train, evaluate, model card",
        description="Run a task's recipe (benchmarks/recipe.py): each stage is printed as the "
        "wmplan command it runs; rerunning resumes. Example: wmplan recipe tworoom --out "
        "runs/recipe-tworoom. Size flags shrink a recipe for a quick try (the card says so).",
    )
    r.add_argument("name", choices=sorted(RECIPES))
    r.add_argument("--out", required=True, help="directory for data, model, evaluation, card")
    r.add_argument(
        "--workers", type=_at_least(1), default=2, help="collection / evaluation processes"
    )
    r.add_argument(
        "--episodes", type=_at_least(1), help="collected episodes (default: the recipe's)"
    )
    r.add_argument("--steps", type=_at_least(1), help="env steps per episode")
    r.add_argument("--train-steps", type=_at_least(1), help="world-model training steps")
    r.add_argument("--reach-steps", type=_at_least(1), help="reachability-head training steps")
    r.add_argument(
        "--decoder-steps", type=_at_least(0), help="eval-model decoder-probe steps (0: off)"
    )
    r.add_argument(
        "--eval-episodes", type=_at_least(1), help="protocol episodes per evaluation seed"
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
    d.add_argument(
        "--episodes", type=_at_least(1), help="episodes per task, agent, offset and seed"
    )
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
    b = _add_parser(
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
    _add_workers(b)
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
    b.add_argument("--episodes", type=_at_least(1), help="episodes per task, agent and seed")
    b.add_argument(
        "--skip-missing",
        action="store_true",
        help="skip (with a note) agents whose model or code is missing instead of failing",
    )
    _add_wandb(b)
    b.add_argument("--wandb-project", default="wmplan", help="wandb project name")
    _add_progress(b)
    b.add_argument("--report", action="store_true", help="write the report when done")
    b.set_defaults(func=_cmd_bench)

    r = _add_parser(
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
        suite_choice(args), out=args.out, workers=args.workers, backend=args.backend,
        address=args.address, progress=args.progress,
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
    p = _add_parser(
        sub,
        "plan",
        "wmplan plan --task wmplan/Reacher-v0 --agent oracle --episodes 5",
        help="run an agent on a goal task under the protocol and print its success rate",
        description="Episodes under the evaluation protocol (goal offset, budget; success "
        "if the predicate holds at any step), seeded as `wmplan bench` seeds them.",
    )
    p.add_argument("--task", required=True)
    p.add_argument("--agent", default="oracle", choices=["oracle", "wm", "random"])
    p.add_argument("--planner", default="cem", help="cem, mppi, icem, gradient, random")
    p.add_argument(
        "--planner-opt", action="append", default=[], metavar="KEY=VALUE",
        help="planner setting, repeatable (e.g. num_samples=300 iterations=30)",
    )  # fmt: skip
    p.add_argument(
        "--checkpoint",
        help="world-model run or checkpoint dir, or a shipped model name (wm-reacher; --agent wm)",
    )
    p.add_argument(
        "--agent-opt", action="append", default=[], metavar="KEY=VALUE",
        help="agent option, repeatable (wm: horizon=3, cost_metric=latent, ...)",
    )  # fmt: skip
    p.add_argument("--episodes", type=_at_least(1), default=10)
    p.add_argument("--seed", type=_at_least(0), default=0)
    p.add_argument("--goal-offset", type=_at_least(1), default=25)
    p.add_argument("--budget", type=_at_least(1), default=50)
    p.add_argument("--video", help="directory for GIFs (observation | goal) of every episode")
    p.set_defaults(func=_cmd_plan)


def _parse_options(pairs: list[str]) -> dict:
    """``["num_samples=300", ...]`` -> ``{"num_samples": 300}`` (YAML scalars)."""
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"option must look like KEY=VALUE, got {pair!r}")
        options[key] = yaml.safe_load(value)
    return options


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
        args.agent, planner=planner, planner_options=_parse_options(args.planner_opt),
        checkpoint=args.checkpoint, **_parse_options(args.agent_opt),
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
        record=video is not None,
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

    add_parser(sub, _cmd_baseline_train)


def _cmd_baseline_train(args: argparse.Namespace) -> int:
    from wmplan.benchmarks.baseline import cmd_train

    return cmd_train(args)


# --- end of area functions ---------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wmplan",
        description="Planning with learned world models on simulated robot tasks.",
        formatter_class=_HelpFormatter,
        epilog="example:\n  wmplan bench --suite quick --report    # `wmplan CMD --help` for more",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
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
    _add_envs, _add_demo, _add_plan, _add_data, _add_worldmodel, _add_recipe, _add_distance,
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
