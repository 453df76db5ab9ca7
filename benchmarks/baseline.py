"""``wmplan baseline train``: train a model-free baseline, scoring it under the
evaluation protocol as it learns; ``wmplan baseline eval RUN --episodes N``: score a
trained one again, on more episodes of the same evaluation seeds.

    wmplan baseline train sac --task wmplan/dmc-cartpole-swingup-v0 --obs state \\
        --steps 100000 --seed 0 --out runs/sac-cartpole
    wmplan baseline train gcbc --task wmplan/TwoRoom-v0 --data data/tworoom.h5 \\
        --obs pixels --steps 20000 --out runs/gcbc-tworoom

SAC/PPO count ``--steps`` in env steps (online), GCBC/GCIQL in gradient steps on
the dataset's transitions (offline). The run directory gets checkpoints
(safetensors + JSON), ``metrics.jsonl``, ``log.jsonl`` (and wandb when asked),
and ``learning_curve.png``; rerunning the same command resumes a killed run.
Evaluation episodes use seeds of their own (``EVAL_SEED_BASE + seed``), never
those of a benchmark suite.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from wmplan.agents.baselines import OFFLINE_ALGOS as OFFLINE
from wmplan.agents.baselines import ONLINE_ALGOS as ONLINE

EVAL_SEED_BASE = 1_000_000


def add_parser(sub: argparse._SubParsersAction, func: Any) -> None:
    """Register ``baseline train`` and ``baseline eval`` under ``sub``; ``func`` runs them."""
    p = sub.add_parser(
        "baseline", help="train and score model-free baselines (SAC, PPO, GCBC, GCIQL)"
    )
    bsub = p.add_subparsers(dest="baseline_cmd", required=True)
    t = bsub.add_parser(
        "train",
        help="train a baseline (rerun the same command to resume)",
        description="Online SAC/PPO (Stable-Baselines3; --steps = env steps) or offline "
        "GCBC/GCIQL on a `wmplan collect` dataset (--steps = gradient steps). Unset options "
        "take the algorithm config's defaults.",
    )
    t.add_argument("algo", choices=ONLINE + OFFLINE)
    t.add_argument("--task", required=True, help="task id, e.g. wmplan/TwoRoom-v0")
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--obs", choices=["state", "pixels"], help="policy input")
    t.add_argument("--data", help="HDF5 dataset (gcbc, gciql)")
    t.add_argument("--steps", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--eval-every", type=int, help="steps between evaluations (0: at the end)")
    t.add_argument("--eval-episodes", type=int, default=20, help="episodes per evaluation")
    t.add_argument("--checkpoint-every", type=int)
    t.add_argument("--threads", type=int)
    t.add_argument("--her", action=argparse.BooleanOptionalAction, help="sac: HER replay")
    t.add_argument("--reward", choices=["sparse", "dense"], help="sac/ppo on goal tasks")
    t.add_argument("--frame-stack", type=int, help="sac/ppo from pixels")
    t.add_argument(
        "--action-repeat", type=int,
        help="sac/ppo on reward tasks: each action held this many control steps (frames = "
        "env steps x action repeat; DMC pixel benchmarks use 2-8)",
    )  # fmt: skip
    t.add_argument("--max-episodes", type=int, help="gcbc/gciql: use the first N episodes")
    t.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="any other config field, repeatable (e.g. buffer_size=50000, expectile=0.7)",
    )  # fmt: skip
    t.add_argument("--wandb", nargs="?", const="offline", choices=["offline", "online"])
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=func)
    e = bsub.add_parser(
        "eval",
        help="score a trained baseline on its evaluation seeds",
        description="Load a baseline checkpoint (safetensors + JSON) and run it on EPISODES "
        "episodes of its task, at the action repeat it was trained with, on the seeds "
        "`baseline train` evaluates on (EVAL_SEED_BASE + --seed), never a suite's.",
    )
    e.add_argument("checkpoint", help="run directory or checkpoint directory")
    e.add_argument("--episodes", type=int, default=20)
    e.add_argument("--seed", type=int, default=0, help="the training run's --seed (default 0)")
    e.add_argument("--out", help="write the metrics to this JSON file")
    e.set_defaults(func=func)


def make_evaluator(
    task: str, episodes: int, seed: int, budget: int | None = None, action_repeat: int = 1
):
    """``evaluate(agent) -> {success_rate, success_low, success_high, return_mean,
    final_distance_mean, ...}``
    over ``episodes`` protocol episodes of ``task`` (a reward task runs whole episodes,
    each agent step repeated ``action_repeat`` times, as the agent was trained)."""
    import wmplan.envs
    from wmplan.benchmarks.episode import episode_seeds, run_episode
    from wmplan.benchmarks.stats import bootstrap_ci
    from wmplan.benchmarks.suite import ProtocolConfig

    info = wmplan.envs.check_task_id(task)
    if budget is None:
        budget = 50 if info.kind == "goal" else info.max_episode_steps
    protocol = ProtocolConfig(budget=budget)
    env = wmplan.envs.make(task, max_episode_steps=max(budget, info.max_episode_steps),
                           action_repeat=action_repeat)  # fmt: skip

    def evaluate(agent: Any) -> dict[str, Any]:
        rows = []
        for episode in range(episodes):
            env_seed, _ = episode_seeds(EVAL_SEED_BASE + seed, episode)
            metrics, _ = run_episode(env, agent, protocol, env_seed, False, False)
            rows.append(metrics)
        success = np.array([r["success"] for r in rows], np.float64)
        est = bootstrap_ci(success)
        return {
            "eval_episodes": episodes,
            "success_rate": est.value,
            "success_low": est.low,
            "success_high": est.high,
            "return_mean": float(np.mean([r["return"] for r in rows])),
            "final_distance_mean": float(np.mean([r["final_distance"] for r in rows])),
        } if info.kind == "goal" else {
            "eval_episodes": episodes,
            "return_mean": float(np.mean([r["return"] for r in rows])),
            "return_std": float(np.std([r["return"] for r in rows])),
        }  # fmt: skip

    return evaluate


def _options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """Config fields the user set: (flags, --option KEY=VALUE pairs)."""
    import yaml

    fields = {"obs": args.obs, "steps": args.steps, "seed": args.seed, "lr": args.lr,
              "batch_size": args.batch_size, "eval_every": args.eval_every,
              "checkpoint_every": args.checkpoint_every, "threads": args.threads}  # fmt: skip
    if args.algo in ONLINE:
        fields.update(her=args.her, reward=args.reward, frame_stack=args.frame_stack,
                      eval_episodes=args.eval_episodes, action_repeat=args.action_repeat)  # fmt: skip
        for flag in ("data", "max_episodes"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag.replace('_', '-')} is for gcbc/gciql, not {args.algo}")
    else:
        if not args.data:
            raise ValueError(f"{args.algo} trains offline: give --data DATASET.h5 (wmplan collect)")
        fields.update(data=args.data, max_episodes=args.max_episodes)
        for flag in ("her", "reward", "frame_stack", "action_repeat"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag.replace('_', '-')} is for sac/ppo, not {args.algo}")
    extra = {}
    for pair in args.option:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option must look like KEY=VALUE, got {pair!r}")
        extra[key] = yaml.safe_load(value)
    return {k: v for k, v in fields.items() if v is not None}, extra


def _one_line(items: Any) -> str:
    """``(name, value)`` pairs as ``name value, ...``, floats to 4 significant digits."""
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in items)


def cmd_eval(args: argparse.Namespace) -> int:
    """Body of ``wmplan baseline eval``: the checkpoint's task and action repeat come from
    its JSON config; prints (and with ``--out`` writes) the evaluator's metrics."""
    from wmplan.agents.baselines import checkpoint as bckpt
    from wmplan.agents.baselines.agent import load_agent
    from wmplan.worldmodel.files import write_json_atomic

    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    config = bckpt.read_config(args.checkpoint)
    task = config.get("metadata", {}).get("task")
    if not isinstance(task, str):
        raise ValueError(f"{args.checkpoint}: the checkpoint's config names no task")
    repeat = int(config["model"].get("action_repeat", 1))
    agent = load_agent(args.checkpoint)
    start = time.perf_counter()
    metrics = make_evaluator(task, args.episodes, args.seed, action_repeat=repeat)(agent)
    result = {"checkpoint": str(args.checkpoint), "task": task, "action_repeat": repeat,
              "env_steps": config["metadata"].get("env_steps", config["metadata"].get("step")),
              "seed": args.seed, **metrics, "eval_wall_s": round(time.perf_counter() - start, 1)}  # fmt: skip
    if args.out:
        write_json_atomic(args.out, result)
    print(_one_line(result.items()))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Body of ``wmplan baseline train``."""
    import dataclasses

    from wmplan.benchmarks.runlog import RunLog

    fields, extra = _options(args)
    if args.algo in ONLINE:
        try:
            from wmplan.agents.baselines.sb3 import Sb3Config, train_sb3
        except ImportError as exc:
            raise ValueError(
                f"{args.algo} needs Stable-Baselines3: pip install 'wmplan[sb3]' ({exc})"
            ) from None
        known = {f.name for f in dataclasses.fields(Sb3Config)}
        unknown = sorted(set(extra) - known)
        if unknown:
            raise ValueError(f"--option: unknown field(s) {unknown}; valid: {sorted(known)}")
        cfg: Any = Sb3Config(algo=args.algo, task=args.task, out=args.out, **fields, **extra)
        train, seed = train_sb3, cfg.seed
    else:
        from wmplan.agents.baselines.offline import OfflineConfig, train_offline

        known = {f.name for f in dataclasses.fields(OfflineConfig)} - {"options"}
        direct = {k: v for k, v in extra.items() if k in known}
        algo_options = {k: v for k, v in extra.items() if k not in known}
        cfg = OfflineConfig(algo=args.algo, task=args.task, out=args.out, **fields, **direct,
                            options=algo_options)  # fmt: skip
        train, seed = train_offline, cfg.seed
    repeat = getattr(cfg, "action_repeat", 1)
    evaluate = (make_evaluator(args.task, args.eval_episodes, seed, action_repeat=repeat)
                if args.eval_episodes else None)  # fmt: skip
    run_log = RunLog(args.out, wandb_mode=args.wandb, config=cfg.to_dict(), name=args.algo)
    start = time.perf_counter()
    try:
        last = train(cfg, evaluate=evaluate, progress=not args.quiet,
                     sink=lambda record: run_log.metrics("train", record))  # fmt: skip
    finally:
        run_log.close()
    keys = ("env_steps", "step", "success_rate", "return_mean", "train_wall_s", "loss")
    shown = _one_line((k, last[k]) for k in keys if k in last)
    print(f"{args.out}: {shown}; this command {time.perf_counter() - start:.0f} s; "
          f"curve {args.out}/learning_curve.png")  # fmt: skip
    return 0
