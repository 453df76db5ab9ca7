"""Oracle-rollout throughput: MuJoCo steps/s of ``mujoco.rollout`` (C threads)
vs a Python loop over ``mj_step``, on each goal task. Prints figures, asserts
nothing.

Workload: one oracle planner iteration, 300 candidates x 25 env steps from the
env's current state (x ``n_substeps`` MuJoCo steps per env step), as
``agents/oracle.py`` runs it (``SimulatorRollout``).

Run: ``python benchmarks/perf/oracle.py [--samples 300] [--steps 25] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

import wmplan.envs
from wmplan.agents.oracle import SimulatorRollout


def python_loop(task, state: np.ndarray, actions: np.ndarray) -> None:
    """The baseline: set the state, then ``mj_step`` one control step at a time."""
    model, data = task.model, mujoco.MjData(task.model)
    ctrl = task.action_to_ctrl(actions)  # [N, S, nu]
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    for i in range(len(ctrl)):
        mujoco.mj_setState(model, data, state, spec)
        for t in range(ctrl.shape[1]):
            data.ctrl[:] = ctrl[i, t]
            for _ in range(task.n_substeps):
                mujoco.mj_step(model, data)


def best_of(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--steps", type=int, default=25, help="env steps per rollout")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(
        f"MuJoCo steps/s, {args.samples} rollouts x {args.steps} env steps (mujoco {mujoco.__version__})"
    )
    print(
        f"{'task':<12} {'substeps':>8} {'python loop':>12} {'rollout 1T':>11} {'rollout 2T':>11} {'2T/loop':>8}"
    )
    for task_id in wmplan.envs.GOAL_TASKS:
        substeps, loop, one, two = measure(task_id, args.samples, args.steps, args.repeats, rng)
        name = task_id.split("/")[-1]
        print(f"{name:<12} {substeps:>8} {loop:>12,.0f} {one:>11,.0f} {two:>11,.0f} "
              f"{two / loop:>7.1f}x")  # fmt: skip


def measure(task_id: str, samples: int, steps: int, repeats: int, rng) -> tuple:
    """(substeps, loop steps/s, rollout 1-thread steps/s, rollout 2-thread steps/s)."""
    env = wmplan.envs.make(task_id)
    env.reset(seed=0)
    task = env.unwrapped
    state = task.get_state()
    actions = rng.uniform(-1, 1, (samples, steps, task.action_space.shape[0]))
    mj_steps = samples * steps * task.n_substeps
    loop = mj_steps / best_of(lambda: python_loop(task, state, actions), repeats)
    rates = []
    for nthread in (1, 2):
        sim = SimulatorRollout(task, nthread)
        rates.append(mj_steps / best_of(lambda: sim(state, actions), repeats))  # noqa: B023
        sim.close()
    env.close()
    return task.n_substeps, loop, rates[0], rates[1]


if __name__ == "__main__":
    main()
