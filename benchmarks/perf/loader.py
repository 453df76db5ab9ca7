"""Training-window loader throughput vs what a world-model training step consumes.

Prints, from one run:
  * loader frames/s: ``EpisodeWindows.sample_batch`` + ``to_model_input`` (uint8 ->
    float [B, T, 3, H, W]) with the pixels cached in memory, and read from the HDF5
    file by 2 worker processes (the mode for data that does not fit in RAM);
  * trainer frames/s: forward + backward + Adam step of a stand-in world model of
    the size of the design's CPU probe (4 stride-2 convs 32-64-128-128, MLP to
    D=64, MLP predictor 512-512 on two past latents and an action block);
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

import torch
from torch import nn

from wmplan.worldmodel.data import EpisodeWindows, WindowConfig, to_model_input
from wmplan.worldmodel.dataset import DatasetMeta, EpisodeWriter, synthetic_episodes


class StandInWorldModel(nn.Module):
    """CNN encoder [B*T, 3, H, W] -> [B*T, D]; MLP predictor (z_{t-1}, z_t, a_t) -> z_{t+1}."""

    def __init__(self, image_size: int, action_block_dim: int, latent: int = 64):
        super().__init__()
        chans = [3, 32, 64, 128, 128]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans[:-1], chans[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.conv = nn.Sequential(*layers, nn.Flatten())
        flat = 128 * (image_size // 16) ** 2
        self.head = nn.Sequential(nn.Linear(flat, 512), nn.ReLU(), nn.Linear(512, latent))
        self.predictor = nn.Sequential(
            nn.Linear(2 * latent + action_block_dim, 512), nn.ReLU(),
            nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, latent),
        )  # fmt: skip

    def loss(self, frames: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """frames float [B, T, 3, H, W], actions [B, T, k*A] -> teacher-forced MSE."""
        b, t = frames.shape[:2]
        z = self.head(self.conv(frames.flatten(0, 1))).view(b, t, -1)
        inp = torch.cat([z[:, :-2], z[:, 1:-1], actions[:, 1:-1]], dim=-1)
        pred = z[:, 1:-1] + self.predictor(inp)
        return (pred - z[:, 2:].detach()).square().mean()


def synthetic_dataset(folder: Path, episodes: int = 200) -> Path:
    """A 64x64 stand-in dataset of ``episodes`` x 100 steps."""
    meta = DatasetMeta(
        task_id="wmplan/Synthetic-v0", image_size=64, action_repeat=1, steps=100,
        action_dim=2, state_dim=4, physics_state_dim=5,
    )  # fmt: skip
    path = folder / "synthetic.h5"
    with EpisodeWriter(path, meta) as writer:
        for episode in synthetic_episodes(meta, episodes):
            writer.append(episode)
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
    """Frames/s consumed by training steps of the stand-in model (data pre-loaded)."""
    config = WindowConfig(frames=frames, block=5, cache="memory")
    with EpisodeWindows(path, config) as windows:
        b = windows.sample_batch(batch)
        x, a = to_model_input(b.frames), b.actions
        model = StandInWorldModel(windows.image_size, windows.action_block_dim)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        loss = model.loss(x, a)
        opt.zero_grad(set_to_none=True)
        loss.backward()
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
    parser.add_argument("--frames", type=int, default=6, help="frames per window")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.data or synthetic_dataset(Path(tmp))
        print(f"data {path}; batch {args.batch} windows x {args.frames} frames; "
              f"torch threads {torch.get_num_threads()}")  # fmt: skip
        train = trainer_fps(path, args.batch, args.frames, args.seconds)
        print(f"trainer (stand-in world model step)   {train:9.0f} frames/s")
        for cache, label in (("memory", "in-memory cache"), ("disk", "HDF5 + 2 workers")):
            fps = loader_fps(path, cache, args.batch, args.frames, args.seconds)
            print(f"loader  ({label:<16})          {fps:9.0f} frames/s   "
                  f"ratio {fps / train:6.1f}x (target >= 10)")  # fmt: skip


if __name__ == "__main__":
    main()
