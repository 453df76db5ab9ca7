"""What a dataset holds, for people: ``inspect`` (a JSON-able summary, decoding every
chunk to find corruption), ``format_summary`` (its text) and ``write_videos`` (GIFs of
episodes beside their goal images)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from wmplan.worldmodel.data.episodes import Dataset, check_finite


def inspect(path: str | Path, verify: bool = True) -> dict[str, Any]:
    """Summary of a dataset as a JSON-able dict (see ``format_summary``).

    With ``verify`` every chunk is decoded, so corruption is reported here.
    """
    with Dataset(path) as d:
        n = d.num_episodes
        lengths = d.lengths
        summary: dict[str, Any] = {
            "path": str(d.path),
            "episodes": n,
            "steps": int(lengths.sum()),
            "frames": int((lengths + 1).sum()),
            "size_bytes": d.path.stat().st_size,
            "pixel_bytes_uncompressed": int((lengths + 1).sum()) * d.meta.image_size**2 * 3,
            "attributes": {k: v for k, v in asdict(d.meta).items()},
        }
        if n:
            actions = d.read("actions")
            states = d.read("states")
            rewards = d.read("rewards")
            success = d.read("success")
            for name, array in (("actions", actions), ("states", states), ("rewards", rewards)):
                check_finite(d.path, name, array)
            valid_a = np.arange(d.meta.steps)[None, :] < lengths[:, None]
            valid_s = np.arange(d.meta.steps + 1)[None, :] <= lengths[:, None]
            a, s = actions[valid_a], states[valid_s]
            final_success = success[np.arange(n), lengths]
            summary.update(
                action_min=a.min(0).tolist() if a.size else [],
                action_max=a.max(0).tolist() if a.size else [],
                action_mean=a.mean(0).tolist() if a.size else [],
                action_std=a.std(0).tolist() if a.size else [],
                state_min=s.min(0).tolist() if s.size else [],
                state_max=s.max(0).tolist() if s.size else [],
                reward_mean_per_episode=float(rewards.sum(1).mean()),
                success_any_rate=float((success & valid_s).any(1).mean()),
                success_final_rate=float(final_success.mean()),
            )
            if verify:
                d.verify()
        return summary


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable text of ``inspect``'s summary."""
    attrs = summary["attributes"]
    size = summary["size_bytes"]
    raw = summary["pixel_bytes_uncompressed"]
    lines = [
        f"dataset      {summary['path']}",
        f"task         {attrs['task_id']}  ({attrs['image_size']}px, action_repeat "
        f"{attrs['action_repeat']}, camera {attrs['camera'] or '-'})",
        f"episodes     {summary['episodes']}  x  {attrs['steps']} steps  "
        f"({summary['frames']} frames, {summary['steps']} actions)",
        f"size         {size / 1e6:.1f} MB on disk; pixels {raw / 1e6:.1f} MB uncompressed "
        f"({raw / max(size, 1):.1f}x, {attrs['compression']})",
        f"policy       {attrs['policy']} {json.dumps(attrs['policy_params'])}",
        f"seed         {attrs['seed']}",
        f"created      {attrs['created']}",
        "versions     " + ", ".join(f"{k} {v}" for k, v in attrs["versions"].items()),
    ]
    if summary["episodes"]:
        lines += [
            f"actions      min {_fmt(summary['action_min'])} max {_fmt(summary['action_max'])}",
            f"             mean {_fmt(summary['action_mean'])} std {_fmt(summary['action_std'])}",
            f"states       min {_fmt(summary['state_min'])}",
            f"             max {_fmt(summary['state_max'])}",
            f"success      {summary['success_any_rate']:.1%} of episodes reach their goal at some "
            f"step, {summary['success_final_rate']:.1%} at the last step",
            f"reward       {summary['reward_mean_per_episode']:.3f} per episode (mean)",
        ]
    if attrs["sources"]:
        lines.append(f"merged from  {len(attrs['sources'])} files:")
        lines += [
            f"  {s['path']} ({s['episodes']} episodes, {s['policy']}, seed {s['seed']})"
            for s in attrs["sources"]
        ]
    return "\n".join(lines)


def _fmt(values: list[float]) -> str:
    return "[" + " ".join(f"{v:+.2f}" for v in values) + "]"


def write_videos(
    path: str | Path, out_dir: str | Path, episodes: int = 4, fps: int = 20
) -> list[Path]:
    """Write the first ``episodes`` episodes as GIFs (upscaled to >= 128 px) with the
    goal image beside each frame; returns the files written."""
    import imageio.v3 as iio

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with Dataset(path) as d:
        scale = max(1, math.ceil(128 / d.meta.image_size))
        for e in range(min(episodes, d.num_episodes)):
            n = int(d.lengths[e]) + 1
            frames = d.read("pixels", e)[:n]
            goal = np.broadcast_to(d.read("goal_pixels", e), frames.shape)
            both = np.concatenate([frames, goal], axis=2)  # [T+1, H, 2W, 3]
            both = both.repeat(scale, axis=1).repeat(scale, axis=2)
            target = out_dir / f"{Path(path).stem}_ep{e:04d}.gif"
            iio.imwrite(target, both, duration=1000 / fps, loop=0)
            written.append(target)
    return written
