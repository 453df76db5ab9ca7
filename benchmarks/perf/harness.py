"""Harness throughput: episodes/s with 2 workers vs 1, and Ray's overhead vs local.

Prints, from one run, on the same jobs (random agent, goal protocol, fresh run
directories so nothing is skipped):
  * episodes/s of the local backend with 1 and 2 workers, end to end (worker
    start-up included) and steady state (first to last finished episode);
  * their ratio (target >= 1.8 on 2 free cores);
  * the Ray backend with 2 workers: end-to-end time vs local, and the part of it
    spent starting Ray (if ray is installed).

Run: ``python benchmarks/perf/harness.py [--episodes 160] [--task wmplan/Reacher-v0]``.
The default 160 episodes is the size of the ``quick`` suite (180); with 40 the
run lasts ~4 s and worker start-up (~1 s: spawn, import torch and MuJoCo) is a
large part of it, so the end-to-end ratio drops (measured 1.74x vs 1.87x).
The figures depend on how busy the machine is: compare numbers from one run only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from wmplan.agents import AgentSpec
from wmplan.benchmarks.results import load_rows
from wmplan.benchmarks.runner import run_suite
from wmplan.benchmarks.suite import ProtocolConfig, SuiteConfig


def make_suite(task: str, episodes: int, budget: int) -> SuiteConfig:
    """Random-agent episodes: env stepping and rendering, no planning."""
    return SuiteConfig(
        name="perf-harness",
        tasks=(task,),
        agents=(AgentSpec("random", "random"),),
        episodes=episodes,
        episodes_per_job=max(1, episodes // 8),
        record_episodes=0,
        protocol=ProtocolConfig(budget=budget),
    )


def measure(suite: SuiteConfig, workers: int, backend: str = "local") -> dict[str, float]:
    """Run ``suite`` into a fresh directory; returns wall seconds, episodes/s end to
    end and in steady state."""
    with tempfile.TemporaryDirectory(prefix="wmplan-perf-") as tmp:
        start = time.perf_counter()
        summary = run_suite(
            suite, Path(tmp) / "run", workers=workers, backend=backend, progress=False,
            echo=lambda s: None,
        )  # fmt: skip
        wall = time.perf_counter() - start
        finished = sorted(r["finished_at"] for r in load_rows(Path(tmp) / "run"))
    steady = (len(finished) - 1) / (finished[-1] - finished[0]) if len(finished) > 1 else 0.0
    return {
        "wall": wall,
        "eps": summary.episodes_run / wall,
        "steady_eps": steady,
        "episodes": summary.episodes_run,
    }


def _median(results: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.median([r[k] for r in results])) for k in results[0]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="wmplan/Reacher-v0")
    parser.add_argument("--episodes", type=int, default=160)
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="alternating 1/2-worker runs")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray comparison")
    args = parser.parse_args(argv)

    suite = make_suite(args.task, args.episodes, args.budget)
    print(f"{args.episodes} random-agent episodes of {args.task}, budget {args.budget}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    # Alternate 1- and 2-worker runs and take medians: the load of a shared machine
    # drifts, and alternating spreads the drift over both.
    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    for _ in range(args.repeats):
        for w in (1, 2):
            runs[w].append(measure(suite, w))
    one, two = (_median(runs[w]) for w in (1, 2))
    print(f"median of {args.repeats} alternating runs each")
    print(f"{'backend':<8} {'workers':>7} {'wall s':>8} {'episodes/s':>11} {'steady ep/s':>12}")
    for name, w, r in (("local", 1, one), ("local", 2, two)):
        print(f"{name:<8} {w:>7} {r['wall']:>8.1f} {r['eps']:>11.2f} {r['steady_eps']:>12.2f}")
    print(f"2 workers vs 1: {two['eps'] / one['eps']:.2f}x end to end, "
          f"{two['steady_eps'] / one['steady_eps']:.2f}x steady state (target >= 1.8x)")  # fmt: skip

    if args.no_ray:
        return
    try:
        import ray
    except ImportError:
        print("ray: not installed (pip install 'wmplan[ray]'); no Ray comparison")
        return
    env_vars = {k: os.environ[k] for k in ("MUJOCO_GL", "PYOPENGL_PLATFORM") if k in os.environ}
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": env_vars})  # fmt: skip
    init_s = time.perf_counter() - start
    try:
        warm = measure(suite, 2, backend="ray")  # Ray already up: its per-task overhead
    finally:
        ray.shutdown()
    cold_wall = warm["wall"] + init_s
    print(f"{'ray':<8} {2:>7} {warm['wall']:>8.1f} {warm['eps']:>11.2f} {warm['steady_eps']:>12.2f}"
          f"   (+ {init_s:.1f} s ray.init)")  # fmt: skip
    print(f"Ray vs local (2 workers): {warm['wall'] / two['wall']:.2f}x wall time with Ray "
          f"already running, {cold_wall / two['wall']:.2f}x including ray.init; "
          f"steady state {warm['steady_eps'] / two['steady_eps']:.2f}x the local episodes/s")  # fmt: skip


if __name__ == "__main__":
    main()
