"""Rendering throughput: wmplan's step+render vs dm_control's and mujoco.Renderer's.

Prints, from one run, on the same MuJoCo models at 64x64:
  * frames/s of a wmplan task's ``env.step`` (physics + render), one process;
  * frames/s of dm_control's default ``physics.step(); physics.render(64, 64)``;
  * frames/s of a plain ``mujoco.Renderer`` (default scene: shadows, reflections,
    skybox on) and of ``mujoco.Renderer`` with wmplan's flags off (what wmplan's
    renderer is built on: the same pixels, so the same speed is expected);
  * the ratio wmplan / dm_control (target >= 5 on one core);
  * total frames/s of 2 worker processes vs 1 (target >= 1.8x).

Run: ``python benchmarks/perf/render.py [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from pathlib import Path

# One core per process: the figures are per-core throughput.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import wmplan.envs  # noqa: E402  (picks the GL backend before dm_control loads)


def wmplan_fps(task_id: str, seconds: float, seed: int = 0) -> float:
    """Frames/s of ``env.step`` (physics + render) with random actions."""
    env = wmplan.envs.make(task_id, image_size=64)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    actions = rng.uniform(-1, 1, (1000, *env.action_space.shape)).astype(np.float32)
    for a in actions[:20]:  # warm up the GL context
        env.step(a)
    frames, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(actions[frames % len(actions)])
        frames += 1
        if terminated or truncated:
            env.reset()
    fps = frames / (time.perf_counter() - start)
    env.close()
    return fps


def dm_control_fps(physics, seconds: float, seed: int = 0) -> float:
    """Frames/s of dm_control's default path: ``physics.step()`` + ``physics.render``."""
    rng = np.random.default_rng(seed)
    nu = physics.model.nu
    for _ in range(5):
        physics.render(64, 64, camera_id=0)
    frames, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        physics.set_control(rng.uniform(-1, 1, nu))
        physics.step()
        physics.render(64, 64, camera_id=0)
        frames += 1
    return frames / (time.perf_counter() - start)


def mujoco_renderer_fps(physics, seconds: float, flags_off: bool, seed: int = 0) -> float:
    """Frames/s of ``mj_step`` + ``mujoco.Renderer`` (default scene, or wmplan's
    flags off) on the same model as ``physics``."""
    import mujoco

    from wmplan.envs.render import OFF_FLAGS

    model, data = physics.model.ptr, physics.data.ptr
    renderer = mujoco.Renderer(model, 64, 64)
    if flags_off:
        for flag in OFF_FLAGS:
            renderer.scene.flags[flag] = 0
    rng = np.random.default_rng(seed)
    frames, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        data.ctrl[:] = rng.uniform(-1, 1, model.nu)
        mujoco.mj_step(model, data)
        renderer.update_scene(data, 0)
        renderer.render()
        frames += 1
    fps = frames / (time.perf_counter() - start)
    renderer.close()
    return fps


def _worker(args: tuple[str, float, int]) -> float:
    return wmplan_fps(*args)


def parallel_fps(task_id: str, seconds: float, workers: int) -> float:
    """Total frames/s of ``workers`` processes each stepping their own env."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        return sum(pool.map(_worker, [(task_id, seconds, i) for i in range(workers)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    from dm_control import mujoco as dm_mujoco
    from dm_control import suite

    # Every column renders with one llvmpipe thread per process (wmplan's fork-safe
    # setting, envs/render.py), so each figure is per-core throughput.
    print(
        f"GL backend: {os.environ.get('MUJOCO_GL')}; LP_NUM_THREADS="
        f"{os.environ.get('LP_NUM_THREADS')}; image 64x64; {args.seconds:.0f} s per figure"
    )
    rows = []
    xml = Path(wmplan.envs.__file__).with_name("reacher.xml")
    pairs = [
        ("wmplan/Reacher-v0", "reacher.xml", dm_mujoco.Physics.from_xml_path(str(xml))),
        ("wmplan/dmc-reacher-easy-v0", "suite reacher-easy", suite.load("reacher", "easy").physics),
        ("wmplan/dmc-cheetah-run-v0", "suite cheetah-run", suite.load("cheetah", "run").physics),
    ]
    for task_id, model_name, physics in pairs:
        ours = wmplan_fps(task_id, args.seconds)
        theirs = dm_control_fps(physics, args.seconds)
        plain = mujoco_renderer_fps(physics, args.seconds, flags_off=False)
        same = mujoco_renderer_fps(physics, args.seconds, flags_off=True)
        rows.append((task_id, model_name, ours, theirs, plain, same))
    print(
        f"\n{'wmplan task':<28} {'model':<20} {'wmplan f/s':>10} {'dm_control f/s':>15} "
        f"{'ratio':>6} {'mujoco.Renderer f/s':>20} {'ratio':>6} {'same flags f/s':>15}"
    )
    for task_id, model_name, ours, theirs, plain, same in rows:
        print(
            f"{task_id:<28} {model_name:<20} {ours:>10.0f} {theirs:>15.0f} {ours / theirs:>6.2f} "
            f"{plain:>20.0f} {ours / plain:>6.2f} {same:>15.0f}"
        )
    print(
        "ratios: wmplan / dm_control's physics.render, wmplan / plain mujoco.Renderer "
        "(default scene); 'same flags' is mujoco.Renderer with wmplan's flags off"
    )

    task = "wmplan/Reacher-v0"
    one = parallel_fps(task, args.seconds, 1)
    two = parallel_fps(task, args.seconds, 2)
    print(f"\n{task} step+render, worker processes: 1 -> {one:.0f} f/s, 2 -> {two:.0f} f/s, "
          f"scaling {two / one:.2f}x (target >= 1.8x)")  # fmt: skip
    print(f"target ratio >= 5 on one core: reacher.xml ratio {rows[0][2] / rows[0][3]:.2f}")


if __name__ == "__main__":
    main()
