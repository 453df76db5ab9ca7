"""Human-facing views of the task registry: the task table and contact sheets."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from wmplan.envs import TASKS, check_task_id, make


def format_task_table() -> str:
    """Aligned text table: id, kind, observation, action dims, success predicate."""
    rows = [("id", "kind", "observation", "action", "success")]
    for t in TASKS.values():
        obs = f"pixels HxWx3, state [{t.state_dim}]" + (", goal" if t.kind == "goal" else "")
        rows.append((t.id, t.kind, obs, str(t.action_dim), t.success))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def upscale(image: np.ndarray, min_size: int = 256) -> np.ndarray:
    """Nearest-neighbour upscale of uint8 [H, W, 3] so small frames are visible."""
    factor = max(1, min_size // image.shape[0])
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def side_by_side(*images: np.ndarray, gap: int = 4) -> np.ndarray:
    """Images uint8 [H, W, 3] of one height joined left to right with white gaps."""
    h = images[0].shape[0]
    spacer = np.full((h, gap, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for i, image in enumerate(images):
        if i:
            parts.append(spacer)
        parts.append(image)
    return np.concatenate(parts, axis=1)


def show_task(
    task_id: str, out_dir: str | Path, image_size: int = 64, seed: int = 0, steps: int = 50
) -> list[Path]:
    """Write ``<task>_sheet.png`` (observation | goal) and ``<task>_random.gif`` (a
    random-policy episode, goal beside it) to ``out_dir``; return their paths."""
    info = check_task_id(task_id)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = make(task_id, image_size=image_size)
    try:
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        goal = obs.get("goal_pixels")
        first = [obs["pixels"]] + ([goal] if goal is not None else [])
        frames = [upscale(side_by_side(*first))]
        for _ in range(steps):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            shown = [obs["pixels"]] + ([goal] if goal is not None else [])
            frames.append(upscale(side_by_side(*shown)))
            if terminated or truncated:
                break
    finally:
        env.close()
    name = info.id.split("/")[-1]
    sheet = out / f"{name}_sheet.png"
    gif = out / f"{name}_random.gif"
    imageio.imwrite(sheet, frames[0])
    imageio.mimsave(gif, frames, duration=50, loop=0)  # ms per frame (20 frames/s)
    return [sheet, gif]
