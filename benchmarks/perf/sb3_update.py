"""Pixel SAC update time: wmplan's channels-last NatureCNN against SB3's default, in one run.

Builds two SB3 ``SAC("CnnPolicy")`` learners on random stacked 64 px frames (3 frames x
RGB = 9 channels, as ``wmplan baseline train sac --obs pixels``): one with SB3's
``NatureCNN``, one with ``ChannelsLastNatureCNN`` (same layers and weights), times
``train(gradient_steps)`` for each at the same batch size and thread count, and
prints ms per gradient update and the speedup (reference: SB3's default extractor).
The update is the pixel baselines' hot path (one per env step).

Run: ``python benchmarks/perf/sb3_update.py [--threads 2] [--batch-size 128] [--updates 6]``.
Add ``--json`` for a machine-readable line.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces


class RandomFrames(gym.Env):
    """Random uint8 frames [9, 64, 64] and a 1-d action: only the update is timed."""

    observation_space = spaces.Box(0, 255, (9, 64, 64), np.uint8)
    action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def ms_per_update(extractor: type | None, batch_size: int, updates: int) -> float:
    """Best of three timings of ``updates`` SAC gradient updates, in ms per update."""
    from stable_baselines3 import SAC

    kwargs = {} if extractor is None else {"features_extractor_class": extractor}
    model = SAC("CnnPolicy", RandomFrames(), buffer_size=1000, batch_size=batch_size,
                learning_starts=10**9, device="cpu", seed=0, policy_kwargs=kwargs)  # fmt: skip
    model.learn(batch_size + 10)  # fill the buffer; no updates before learning_starts
    model.train(gradient_steps=2, batch_size=batch_size)  # warm up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        model.train(gradient_steps=updates, batch_size=batch_size)
        best = min(best, (time.perf_counter() - start) / updates)
    return 1000 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--updates", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from wmplan.agents.baselines.sb3_nets import ChannelsLastNatureCNN

    reference = ms_per_update(None, args.batch_size, args.updates)
    ours = ms_per_update(ChannelsLastNatureCNN, args.batch_size, args.updates)
    result = {
        "threads": args.threads,
        "batch_size": args.batch_size,
        "sb3_nature_cnn_ms": round(reference, 1),
        "channels_last_ms": round(ours, 1),
        "speedup": round(reference / ours, 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"SAC pixel update, batch {args.batch_size}, {args.threads} threads: SB3 NatureCNN "
          f"{reference:.0f} ms, ChannelsLastNatureCNN {ours:.0f} ms: {reference / ours:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
