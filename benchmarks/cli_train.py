"""``wmplan collect``, ``wmplan data ...``, ``wmplan train``, ``eval-model``,
``train-reach`` and ``curve``: the subcommands that make datasets and world models and
measure a training run (registered by ``benchmarks/cli.py``, which wires every command)."""

from __future__ import annotations

import argparse
from pathlib import Path

from wmplan.benchmarks.cli_flags import (
    add_parser,
    add_planner_flags,
    add_progress,
    add_wandb,
    add_workers,
    at_least,
    default_of,
    given,
    parse_options,
    workers_of,
)
from wmplan.benchmarks.output_paths import check_output


# --- data ----------------------------------------------------------------------
def add_data(sub: argparse._SubParsersAction) -> None:
    c = add_parser(
        sub,
        "collect",
        "wmplan collect --task wmplan/Reacher-v0 --episodes 100 --out data/reacher.h5",
        help="collect episodes of a task into an HDF5 dataset (multi-process, resumable)",
        description="Collect episodes into an HDF5 dataset (schema: docs/dataset.md). "
        "Episode i is seeded from (seed, i): the dataset does not depend on --workers. "
        "A killed run, rerun with the same options, resumes where it stopped.",
    )
    c.add_argument("--task", required=True, help="task id, e.g. wmplan/Reacher-v0")
    from wmplan.envs.policies import POLICY_NAMES, PolicyConfig
    from wmplan.worldmodel.data.collect import CollectConfig

    def dflt(cls: type, name: str) -> str:
        return f"(default: {default_of(cls, name)})"

    c.add_argument("--policy", choices=list(POLICY_NAMES), help=dflt(PolicyConfig, "name"))
    c.add_argument("--episodes", type=at_least(1), help=dflt(CollectConfig, "episodes"))
    c.add_argument(
        "--steps", type=at_least(1),
        help="env steps (actions) per episode " + dflt(CollectConfig, "steps"),
    )  # fmt: skip
    add_workers(c)
    c.add_argument("--seed", type=at_least(0), help=dflt(CollectConfig, "seed"))
    c.add_argument("--out", required=True, help="output .h5 file")
    c.add_argument("--image-size", type=int, help=dflt(CollectConfig, "image_size"))
    c.add_argument("--action-repeat", type=int, help=dflt(CollectConfig, "action_repeat"))
    c.add_argument(
        "--noise", type=float,
        help="expert: Gaussian action noise std " + dflt(PolicyConfig, "noise"),
    )  # fmt: skip
    c.add_argument(
        "--mix", type=float,
        help="expert: fraction of steps played by colored noise instead " + dflt(PolicyConfig, "mix"),
    )  # fmt: skip
    c.add_argument(
        "--beta", type=float, help="colored noise exponent (1/f^beta) " + dflt(PolicyConfig, "beta")
    )
    c.add_argument(
        "--scale", type=float, help="ou/colored noise std " + dflt(PolicyConfig, "scale")
    )
    c.add_argument(
        "--shard-episodes", type=int,
        help="episodes per resumable shard " + dflt(CollectConfig, "shard_episodes"),
    )  # fmt: skip
    c.add_argument(
        "--compression", help="gzip-1..gzip-9, lzf or none " + dflt(CollectConfig, "compression")
    )
    add_progress(c)
    c.set_defaults(func=_cmd_collect)

    p = add_parser(
        sub, "data", "wmplan data inspect data/reacher.h5", help="inspect and merge datasets"
    )
    data_sub = p.add_subparsers(dest="data_cmd", required=True)
    ins = add_parser(
        data_sub, "inspect", "wmplan data inspect data/reacher.h5 --video runs/videos",
        help="summarise a dataset (and check every chunk)",
    )  # fmt: skip
    ins.add_argument("path")
    ins.add_argument("--video", metavar="DIR", help="write a few episodes as GIFs to DIR")
    ins.add_argument("--video-episodes", type=at_least(1), default=4)
    ins.add_argument("--json", action="store_true", help="print the summary as JSON")
    ins.set_defaults(func=_cmd_data_inspect)
    mrg = add_parser(
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
        **given(args, name="policy", noise="noise", mix="mix", beta="beta", scale="scale")
    )
    config = CollectConfig(
        task_id=args.task,
        policy=policy,
        **given(
            args, episodes="episodes", steps="steps", seed="seed", image_size="image_size",
            action_repeat="action_repeat", shard_episodes="shard_episodes",
            compression="compression",
        ),
    )  # fmt: skip
    check_output(args.out, "--out", kind="file")
    existed = Path(args.out).exists()
    start = time.perf_counter()
    out = collect(config, args.out, workers=workers_of(args), progress=args.progress)
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
def add_worldmodel(sub: argparse._SubParsersAction) -> None:
    t = add_parser(
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
    t.add_argument("--steps", type=at_least(1), help="optimizer steps" + keep)
    t.add_argument("--batch-size", type=at_least(1), help="windows per step" + keep)
    t.add_argument("--lr", type=float, help="peak learning rate" + keep)
    t.add_argument("--seed", type=at_least(0), help="seed of init and sampling" + keep)
    t.add_argument("--threads", type=at_least(1), help="torch threads" + keep)
    t.add_argument("--kind", choices=["jepa", "recon"], help="model kind (recon: pixel baseline)")
    t.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    t.add_argument(
        "--allow-data-change", action="store_true", default=None,
        help="resume even though the dataset at --data differs from the one the run began on",
    )  # fmt: skip
    add_wandb(t)
    add_progress(t)
    t.set_defaults(func=_cmd_train)

    e = add_parser(
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
        "--horizon", type=at_least(1), default=5, help="open-loop horizon in action blocks"
    )
    e.add_argument(
        "--train-episodes", type=at_least(1), default=200, help="episodes to fit probes on"
    )
    e.add_argument(
        "--decoder-steps", type=at_least(0), default=300, help="decoder-probe steps (0: off)"
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
    r.add_argument("--steps", type=at_least(1), help="training steps (default: ReachConfig's)")
    r.add_argument("--max-offset", type=at_least(1), help="largest step gap between paired frames")
    r.add_argument("--quantile", type=float, help="pinball-loss quantile in (0, 1)")
    r.add_argument("--seed", type=at_least(0))
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


# --- success against training time ---------------------------------------------
def add_curve(sub: argparse._SubParsersAction) -> None:
    c = add_parser(
        sub,
        "curve",
        "wmplan curve runs/wm-reacher --task wmplan/Reacher-v0 --episodes 50 --seed 100 "
        "--out runs/wm-reacher/curve",
        help="world-model MPC success of every kept checkpoint of a training run",
        description="Plan the same protocol episodes with each checkpoint a training run "
        "kept (train with checkpoint_every/keep_checkpoints to keep them) and plot success "
        "against training wall time; resumable. Use tuning seeds, not evaluation seeds.",
    )
    c.add_argument("run", help="training run directory (RUN/checkpoints/step_*)")
    c.add_argument("--task", required=True)
    c.add_argument("--out", required=True, help="directory for rows.jsonl, curve.json/png")
    add_planner_flags(c)
    c.add_argument("--episodes", type=at_least(1), default=50)
    c.add_argument("--seed", type=at_least(0), default=100)
    c.set_defaults(func=_cmd_curve)


def _cmd_curve(args: argparse.Namespace) -> int:
    check_output(args.out, "--out")
    import torch

    from wmplan.benchmarks.api import agent_spec
    from wmplan.benchmarks.training_curve import run_checkpoints, run_curve
    from wmplan.envs import check_task_id

    if check_task_id(args.task).kind != "goal":
        raise ValueError(f"--task must be a goal task for `wmplan curve`, got {args.task}")
    first = run_checkpoints(args.run)[0]
    spec = agent_spec("wm", planner=args.planner, planner_options=parse_options(args.planner_opt),
                      checkpoint=str(first), **parse_options(args.agent_opt))  # fmt: skip
    torch.set_num_threads(1)
    points = run_curve(args.run, args.task, spec, args.episodes, args.seed, args.out)
    for p in points:
        wall = "-" if p["train_wall_s"] is None else f"{p['train_wall_s']:.0f} s"
        print(f"step {p['step']:6d}  train {wall:>7}  success {p['successes']}/{p['n']} "
              f"[{100 * p['ci95'][0]:.0f}, {100 * p['ci95'][1]:.0f}]")  # fmt: skip
    print(f"wrote {args.out}/curve.json and curve.png")
    return 0
