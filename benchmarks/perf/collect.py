"""Collection throughput: ``wmplan collect`` with 2 workers vs 1, in the same run.

Runs the same collection (same seed, so the same episodes) end to end — worker
start-up, simulation, rendering, compression, shard files and consolidation —
with 1 and then 2 worker processes, checks the two datasets are identical, and
prints frames/s of each and their ratio (target >= 1.8x on 2 cores). The
per-episode cost also gives the time a default dataset (1,000 episodes x 100
steps) would take.

Run: ``python benchmarks/perf/collect.py [--task wmplan/Reacher-v0] [--episodes 40]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from wmplan.envs.policies import PolicyConfig
from wmplan.worldmodel.data.collect import CollectConfig, collect
from wmplan.worldmodel.data.episodes import FIELDS, Dataset


def _cpu_seconds() -> float:
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def timed_collect(config: CollectConfig, out: Path, workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its workers) to collect ``config``."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    collect(config, out, workers=workers, progress=False)
    return time.perf_counter() - start, _cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="wmplan/Reacher-v0")
    parser.add_argument("--policy", default="expert")
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--default-episodes", type=int, default=1000,
                        help="size of the default dataset to extrapolate to")  # fmt: skip
    args = parser.parse_args()
    config = CollectConfig(
        task_id=args.task,
        episodes=args.episodes,
        steps=args.steps,
        image_size=args.image_size,
        policy=PolicyConfig(name=args.policy),
        shard_episodes=5,
    )
    frames = args.episodes * (args.steps + 1)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        t1, c1 = timed_collect(config, Path(tmp) / "w1.h5", 1)
        t2, c2 = timed_collect(config, Path(tmp) / "w2.h5", 2)
        with Dataset(Path(tmp) / "w1.h5") as a, Dataset(Path(tmp) / "w2.h5") as b:
            same = all(np.array_equal(a.read(n), b.read(n)) for n in FIELDS)
            size = (Path(tmp) / "w2.h5").stat().st_size
    print(f"{args.task}: {args.episodes} episodes x {args.steps} steps at "
          f"{args.image_size}px, policy {args.policy} ({frames} frames); "
          f"load average before: {load[0]:.1f}")  # fmt: skip
    print(f"1 worker   {t1:7.1f} s  {frames / t1:7.0f} frames/s  ({c1 / t1:.2f} cores busy)")
    print(f"2 workers  {t2:7.1f} s  {frames / t2:7.0f} frames/s  ({c2 / t2:.2f} cores busy)")
    print(f"ratio      {t1 / t2:7.2f}x (target >= 1.8); datasets identical: {same}")
    # On a shared machine the 2-worker run may not get 2 cores; the CPU time is
    # what the work costs, so 2 * c1 / c2 is the ratio two free cores would give.
    print(f"CPU-normalised ratio {2 * c1 / c2:.2f}x (2 x CPU-s of 1 worker / CPU-s of 2 workers)")
    per_episode = t2 / args.episodes
    print(f"default dataset ({args.default_episodes} episodes, 2 workers): "
          f"~{per_episode * args.default_episodes / 60:.1f} min, "
          f"~{size / args.episodes * args.default_episodes / 1e6:.0f} MB (extrapolated)")  # fmt: skip


if __name__ == "__main__":
    main()
