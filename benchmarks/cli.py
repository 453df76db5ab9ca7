"""wmplan command line: the one place that wires envs, world models, planners,
agents and the benchmark harness together.

Each area registers its subcommands in its own ``_add_<area>`` function; heavy
imports happen inside the command functions so ``wmplan envs list`` stays fast.
"""

from __future__ import annotations

import argparse
import sys


# --- envs --------------------------------------------------------------------
def _add_envs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list and show tasks")
    envs_sub = p.add_subparsers(dest="envs_cmd", required=True)
    ls = envs_sub.add_parser("list", help="list registered tasks")
    ls.set_defaults(func=_cmd_envs_list)
    show = envs_sub.add_parser("show", help="contact sheet + random-episode GIF of a task")
    show.add_argument("task_id")
    show.add_argument("--out", required=True, help="output directory")
    show.add_argument("--image-size", type=int, default=64)
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--steps", type=int, default=50)
    show.set_defaults(func=_cmd_envs_show)


def _cmd_envs_list(args: argparse.Namespace) -> int:
    from wmplan.envs.catalog import format_task_table

    print(format_task_table())
    return 0


def _cmd_envs_show(args: argparse.Namespace) -> int:
    from wmplan.envs.catalog import show_task

    paths = show_task(
        args.task_id, args.out, image_size=args.image_size, seed=args.seed, steps=args.steps
    )
    for path in paths:
        print(path)
    return 0


# --- demo ----------------------------------------------------------------------
def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job of `make demo`: tasks, contact sheets, quick suite, report",
        description="Lists the tasks, writes each goal task's observation|goal contact sheet, "
        "runs the `quick` benchmark suite (random vs oracle MPC vs trained world models) and "
        "writes its report. Rerunning skips finished episodes.",
    )
    p.add_argument("--out", default="runs/demo", help="run directory")
    p.add_argument("--workers", type=int, help="worker processes (default: CPU cores)")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wmplan.envs import GOAL_TASKS
    from wmplan.envs.catalog import format_task_table, show_task

    print(format_task_table(), end="\n\n")
    sheets = Path(args.out) / "tasks"
    for task_id in GOAL_TASKS:
        sheet, _ = show_task(task_id, sheets)
        print(f"{task_id}: observation | goal -> {sheet}")
    print()
    bench_argv = ["bench", "--suite", "quick", "--out", args.out, "--report"]
    if args.workers:
        bench_argv += ["--workers", str(args.workers)]
    bench_args = build_parser().parse_args(bench_argv)
    return int(bench_args.func(bench_args) or 0)


# --- data ----------------------------------------------------------------------
def _add_data(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser(
        "collect",
        help="collect episodes of a task into an HDF5 dataset (multi-process, resumable)",
        description="Collect episodes into an HDF5 dataset (schema: docs/dataset.md). "
        "Episode i is seeded from (seed, i): the dataset does not depend on --workers. "
        "A killed run, rerun with the same options, resumes where it stopped.",
    )
    c.add_argument("--task", required=True, help="task id, e.g. wmplan/Reacher-v0")
    c.add_argument("--policy", default="expert", choices=["random", "ou", "colored", "expert"])
    c.add_argument("--episodes", type=int, default=1000)
    c.add_argument("--steps", type=int, default=100, help="env steps (actions) per episode")
    c.add_argument("--workers", type=int, default=2, help="worker processes")
    c.add_argument("--seed", type=int, default=0)
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
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_cmd_collect)

    p = sub.add_parser("data", help="inspect and merge episode datasets")
    data_sub = p.add_subparsers(dest="data_cmd", required=True)
    ins = data_sub.add_parser("inspect", help="summarise a dataset (and check every chunk)")
    ins.add_argument("path")
    ins.add_argument("--video", metavar="DIR", help="write a few episodes as GIFs to DIR")
    ins.add_argument("--video-episodes", type=int, default=4)
    ins.add_argument("--json", action="store_true", help="print the summary as JSON")
    ins.set_defaults(func=_cmd_data_inspect)
    mrg = data_sub.add_parser("merge", help="concatenate compatible datasets into OUT")
    mrg.add_argument("out")
    mrg.add_argument("inputs", nargs="+")
    mrg.set_defaults(func=_cmd_data_merge)


def _cmd_collect(args: argparse.Namespace) -> int:
    import time

    from wmplan.envs.policies import PolicyConfig
    from wmplan.worldmodel.collect import CollectConfig, collect
    from wmplan.worldmodel.dataset import inspect

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
    start = time.perf_counter()
    out = collect(config, args.out, workers=args.workers, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    summary = inspect(out, verify=False)
    print(
        f"{out}: {summary['episodes']} episodes, {summary['frames']} frames, "
        f"{summary['size_bytes'] / 1e6:.1f} MB in {elapsed:.1f} s "
        f"({summary['frames'] / elapsed:.0f} frames/s)"
    )
    return 0


def _cmd_data_inspect(args: argparse.Namespace) -> int:
    import json

    from wmplan.worldmodel.dataset import format_summary, inspect, write_videos

    summary = inspect(args.path)
    print(json.dumps(summary, indent=1) if args.json else format_summary(summary))
    if args.video:
        for path in write_videos(args.path, args.video, episodes=args.video_episodes):
            print(path)
    return 0


def _cmd_data_merge(args: argparse.Namespace) -> int:
    from wmplan.worldmodel.dataset import inspect, merge

    out = merge(args.out, args.inputs)
    summary = inspect(out, verify=False)
    print(f"{out}: {summary['episodes']} episodes from {len(args.inputs)} datasets")
    return 0


# --- worldmodel ------------------------------------------------------------------
def _add_worldmodel(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "train",
        help="train a JEPA world model on a dataset (resumes an interrupted run)",
        description="Train a world model; rerun the same command to resume from the newest "
        "checkpoint in --out. Config fields come from --config (JSON/YAML), then the flags.",
    )
    t.add_argument("--task", default="", help="task id the dataset must hold")
    t.add_argument("--data", required=True, help="HDF5 dataset from `wmplan collect`")
    t.add_argument("--out", required=True, help="run directory (checkpoints, metrics.jsonl)")
    t.add_argument("--config", help="JSON or YAML TrainConfig (model:/loss: sections nested)")
    t.add_argument("--steps", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--threads", type=int)
    t.add_argument("--kind", choices=["jepa", "recon"], help="model kind (recon: pixel baseline)")
    t.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    t.add_argument("--wandb", action="store_true", default=None, help="log to wandb (offline)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("eval-model", help="evaluate a world model: open loop, probes, collapse")
    e.add_argument("checkpoint", help="run directory or checkpoint directory")
    e.add_argument("--data", required=True, help="dataset (held-out episodes as in training)")
    e.add_argument("--out", help="output directory (default: <checkpoint>/eval)")
    e.add_argument("--horizon", type=int, default=5, help="open-loop horizon in action blocks")
    e.add_argument("--train-episodes", type=int, default=200, help="episodes to fit probes on")
    e.add_argument("--decoder-steps", type=int, default=300, help="decoder-probe steps (0: off)")
    e.set_defaults(func=_cmd_eval_model)


def _cmd_train(args: argparse.Namespace) -> int:
    from wmplan.worldmodel.train import train_from_options

    result = train_from_options(
        config_file=args.config, task=args.task, data=args.data, out=args.out,
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        threads=args.threads, kind=args.kind, compile=args.compile, wandb=args.wandb,
        progress=False if args.quiet else None,
    )  # fmt: skip
    print(result.summary())
    return 0


def _cmd_eval_model(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wmplan.worldmodel.evaluate import evaluate_checkpoint, summary_lines

    out = args.out or str(Path(args.checkpoint) / "eval")
    report = evaluate_checkpoint(
        args.checkpoint, args.data, out=out, horizon=args.horizon,
        max_train=args.train_episodes, decoder_steps=args.decoder_steps,
    )  # fmt: skip
    print("\n".join(summary_lines(report)))
    print(f"wrote {out}/eval.json and plots")
    return 0


# --- bench -----------------------------------------------------------------------
def _add_bench(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser(
        "bench",
        help="run a benchmark suite into a results database (resumable)",
        description="Run tasks x agents x seeds x episodes under the goal protocol. Results "
        "go to RUN_DIR/results.sqlite, one row per episode; rerunning the same command "
        "skips finished episodes, so a killed run resumes where it stopped.",
    )
    b.add_argument(
        "--suite", default="quick", help="built-in suite (quick, standard) or a .yaml file"
    )
    b.add_argument("--out", help="run directory (default: runs/<suite run_name>)")
    b.add_argument("--workers", type=int, help="worker processes (default: CPU cores)")
    b.add_argument("--backend", default="local", choices=["local", "ray"])
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
    b.add_argument("--episodes", type=int, help="episodes per task, agent and seed")
    b.add_argument(
        "--wandb",
        nargs="?",
        const="offline",
        choices=["offline", "online"],
        help="also log to wandb (offline unless 'online')",
    )
    b.add_argument("--wandb-project", default="wmplan")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.add_argument("--report", action="store_true", help="write the report when done")
    b.set_defaults(func=_cmd_bench)

    r = sub.add_parser("report", help="Markdown report with plots and videos of a run")
    r.add_argument("run_dir")
    r.add_argument("--out", help="output directory (default: RUN_DIR/report)")
    r.set_defaults(func=_cmd_report)


def _cmd_bench(args: argparse.Namespace) -> int:
    from wmplan.benchmarks.bench import bench

    return bench(args)


def _cmd_report(args: argparse.Namespace) -> int:
    from wmplan.benchmarks.report import write_report

    print(write_report(args.run_dir, args.out))
    return 0


# --- plan ------------------------------------------------------------------------
def _add_plan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
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
    p.add_argument("--checkpoint", help="world-model run or checkpoint dir (--agent wm)")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--goal-offset", type=int, default=25)
    p.add_argument("--budget", type=int, default=50)
    p.add_argument("--video", help="directory for GIFs (observation | goal) of every episode")
    p.set_defaults(func=_cmd_plan)


def _parse_options(pairs: list[str]) -> dict:
    """``["num_samples=300", ...]`` -> ``{"num_samples": 300}`` (YAML scalars)."""
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"planner option must look like KEY=VALUE, got {pair!r}")
        options[key] = yaml.safe_load(value)
    return options


def _cmd_plan(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    import numpy as np

    from wmplan.benchmarks.agents import build_agent, is_privileged
    from wmplan.benchmarks.episode import encode_gif, episode_seeds, run_episode
    from wmplan.benchmarks.suite import AgentSpec, PlannerSpec, ProtocolConfig
    from wmplan.envs import check_task_id, make

    if check_task_id(args.task).kind != "goal":
        raise ValueError(f"--task must be a goal task for `wmplan plan`, got {args.task}")
    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    if args.agent == "wm" and not args.checkpoint:
        raise ValueError("--agent wm needs --checkpoint RUN_DIR")
    planner = None
    if args.agent != "random":
        planner = PlannerSpec(args.planner, tuple(_parse_options(args.planner_opt).items()))
    spec = AgentSpec(args.agent, args.agent, planner=planner, checkpoint=args.checkpoint)
    protocol = ProtocolConfig(goal_offset=args.goal_offset, budget=args.budget)
    env = make(args.task, max_episode_steps=max(args.budget, 200))
    video = Path(args.video) if args.video else None
    if video:
        video.mkdir(parents=True, exist_ok=True)
    rows, start = [], time.perf_counter()
    try:
        for episode in range(args.episodes):
            env_seed, agent_seed = episode_seeds(args.seed, episode)
            agent = build_agent(spec, args.task, env, agent_seed)
            m, frames = run_episode(
                env, agent, protocol, env_seed, is_privileged(spec), record=video is not None
            )
            rows.append(m)
            if video and frames:
                (video / f"episode{episode:03d}.gif").write_bytes(encode_gif(frames))
            print(
                f"episode {episode:3d}: {'success' if m['success'] else 'failure'} "
                f"steps {m['steps']:3d} final distance {m['final_distance']:.3f} "
                f"plan {m['plan_time_per_step'] * 1e3:.0f} ms/step", flush=True
            )  # fmt: skip
    finally:
        env.close()
    wins = sum(r["success"] for r in rows)
    plan_ms = 1e3 * float(np.mean([r["plan_time_per_step"] for r in rows]))
    print(
        f"{args.task} agent={args.agent} planner={args.planner if planner else '-'}: "
        f"success {wins}/{len(rows)} = {wins / len(rows):.0%}, planning {plan_ms:.0f} ms per "
        f"env step, wall {time.perf_counter() - start:.0f} s"
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
    parser = argparse.ArgumentParser(
        prog="wmplan",
        description="Planning with learned world models on simulated robot tasks.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _AREAS:
        add(sub)
    return parser


_AREAS = [_add_envs, _add_demo, _add_plan, _add_data, _add_worldmodel, _add_bench, _add_baseline]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        # Bad input: one clear line naming what is wrong, not a traceback.
        print(f"wmplan {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
