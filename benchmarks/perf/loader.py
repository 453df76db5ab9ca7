"""Training-window loader throughput vs what a world-model training step consumes.

Prints, from one run:
  * loader frames/s: ``EpisodeWindows.sample_batch`` + ``to_model_input`` (uint8 ->
    float [B, T, 3, H, W]) with the pixels cached in memory, and read from the HDF5
    file by 2 worker processes (the mode for data that does not fit in RAM);
  * trainer frames/s: a full training step (JEPA losses with SIGReg, backward,
    gradient clipping, AdamW) of wmplan's default world model, the one
    ``wmplan train`` builds, on the same windows;
  * loader / trainer ratio for each mode (target >= 10: the loader is never the
    bottleneck).

Run: ``python benchmarks/perf/loader.py [--data PATH.h5] [--seconds 5]``. Without
``--data`` a synthetic dataset (200 episodes x 100 steps, 64x64) is written to a
temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from wmplan.worldmodel.base import ModelConfig
from wmplan.worldmodel.data.episodes import DatasetMeta, Episode, EpisodeWriter
from wmplan.worldmodel.data.windows import EpisodeWindows, WindowConfig, to_model_input
from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.model import build_model


def moving_square(meta: DatasetMeta, i: int) -> Episode:
    """Episode ``i``: a bright square sliding across a flat background (frames that
    compress like rendered ones), pixel (0, 0) = (step, episode), zero actions and states."""
    t, h = meta.steps, meta.image_size
    yy, xx = np.mgrid[0:h, 0:h]
    cx = (i * 7 + np.arange(t + 1) * 2) % h  # [T+1] square centre per frame
    inside = (abs(xx - cx[:, None, None]) < h // 8) & (abs(yy - h // 2) < h // 8)
    pixels = np.where(inside[..., None], np.uint8([200, 120, 60]), np.uint8(40))
    pixels[:, 0, 0, :2] = np.stack([np.arange(t + 1) % 256, np.full(t + 1, i % 256)], -1)
    s, p = meta.state_dim, meta.physics_state_dim
    return Episode(
        pixels=pixels, actions=np.zeros((t, meta.action_dim)), states=np.zeros((t + 1, s)),
        physics_states=np.zeros((t + 1, p)), rewards=np.zeros(t),
        success=np.arange(t + 1) == t, goal_pixels=pixels[-1], goal_states=np.zeros(s),
        goal_physics_states=np.zeros(p), length=t, episode_index=i, reset_seed=i,
    )  # fmt: skip


def synthetic_dataset(folder: Path, episodes: int = 200) -> Path:
    """A 64x64 stand-in dataset of ``episodes`` x 100 steps."""
    meta = DatasetMeta(
        task_id="wmplan/Synthetic-v0", image_size=64, action_repeat=1, steps=100,
        action_dim=2, state_dim=4, physics_state_dim=5,
    )  # fmt: skip
    path = folder / "synthetic.h5"
    with EpisodeWriter(path, meta) as writer:
        for i in range(episodes):
            writer.append(moving_square(meta, i))
    return path


def loader_fps(path: Path, cache: str, batch: int, frames: int, seconds: float) -> float:
    """Frames/s of sampling + float conversion, after one warm-up batch."""
    config = WindowConfig(frames=frames, block=5, cache=cache, workers=2, prefetch=4)
    with EpisodeWindows(path, config) as windows:
        to_model_input(windows.sample_batch(batch).frames)  # warm up (workers start)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            to_model_input(windows.sample_batch(batch).frames)
            n += 1
        return n * batch * frames / (time.perf_counter() - start)


def trainer_fps(path: Path, batch: int, frames: int, seconds: float) -> float:
    """Frames/s consumed by training steps of the default world model (data pre-loaded)."""
    config = WindowConfig(frames=frames, block=5, cache="memory")
    with EpisodeWindows(path, config) as windows:
        b = windows.sample_batch(batch)
        x, a = to_model_input(b.frames), b.actions
        cfg = ModelConfig(image_size=windows.image_size, action_dim=windows.action_dim)
    torch.manual_seed(0)
    model, loss_cfg = build_model(cfg).train(), LossConfig()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)

    def step() -> None:
        out = model.loss(x, a, loss_cfg, gen)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n * batch * frames / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="dataset .h5 (default: synthetic)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frames", type=int, default=7, help="frames per window (train default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.data or synthetic_dataset(Path(tmp))
        print(f"data {path}; batch {args.batch} windows x {args.frames} frames; "
              f"torch threads {torch.get_num_threads()}")  # fmt: skip
        train = trainer_fps(path, args.batch, args.frames, args.seconds)
        print(f"trainer (world-model training step)   {train:9.0f} frames/s")
        for cache, label in (("memory", "in-memory cache"), ("disk", "HDF5 + 2 workers")):
            fps = loader_fps(path, cache, args.batch, args.frames, args.seconds)
            print(f"loader  ({label:<16})          {fps:9.0f} frames/s   "
                  f"ratio {fps / train:6.1f}x (target >= 10)")  # fmt: skip


if __name__ == "__main__":
    main()
