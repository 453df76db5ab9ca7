"""Reachability head: how many env steps separate two latents (a learned temporal distance).

A latent distance ``||z - z_goal||`` is a poor guide where the straight line is
blocked: in TwoRoom the nearest latent to the goal is often across the wall, and
world-model MPC parks there (RC-aux's finding; it adds a reachability objective
and plans on it). This module learns that distance after the world model is
trained, on its frozen encoder, from the same episodes:

    z = encode(every frame of every episode)                      # [E, T+1, D]
    pairs (z_i, z_j) of one episode, d = j - i in [0, max_offset]
    head(z_i, z_j) -> d_hat >= 0, fit by the pinball loss at ``quantile``

A low quantile (0.25) reads "how soon can this be reached", not "how long did the
data policy take": the data wander, the shortest way does not. Planning uses it
through ``wmplan.agents.costs.LatentGoalCost(metric="reach")``.

Files (beside the world model, so one directory holds everything the agent
loads and the results key hashes both): ``reach.safetensors`` (weights) and
``reach.json`` (config, dataset, validation metrics).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from wmplan.worldmodel.configs import check_ints

REACH_WEIGHTS, REACH_JSON = "reach.safetensors", "reach.json"
FORMAT = "wmplan.reach"


@dataclass(frozen=True)
class ReachConfig:
    """Training settings of a reachability head."""

    hidden: int = 256
    max_offset: int = 60  # env steps: pairs farther apart are not seen
    quantile: float = 0.25
    steps: int = 3000
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_episodes: int = 50  # the dataset's last episodes, held out
    seed: int = 0

    def __post_init__(self) -> None:
        check_ints(self, ("hidden", "max_offset", "steps", "batch_size", "val_episodes"))
        if not 0.0 < self.quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {self.quantile}")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ValueError(f"lr must be > 0 and weight_decay >= 0, got {self.lr}, "
                             f"{self.weight_decay}")  # fmt: skip


class ReachHead(nn.Module):
    """MLP on ``[z_a, z_b, z_a - z_b]``: ``z_a[..., D], z_b[..., D] -> steps[...]`` (>= 0)."""

    def __init__(self, latent_dim: int, hidden: int = 256, scale: float = 10.0):
        super().__init__()
        self.latent_dim, self.hidden, self.scale = latent_dim, hidden, scale
        self.net = nn.Sequential(
            nn.Linear(3 * latent_dim, hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.GELU(),
            nn.Linear(hidden, 1),
        )  # fmt: skip

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        z_a, z_b = torch.broadcast_tensors(z_a, z_b)
        out = self.net(torch.cat([z_a, z_b, z_a - z_b], dim=-1))[..., 0]
        return nn.functional.softplus(out) * self.scale


def pinball(pred: Tensor, target: Tensor, quantile: float) -> Tensor:
    """Quantile (pinball) loss, mean over elements."""
    err = target - pred
    return torch.maximum(quantile * err, (quantile - 1.0) * err).mean()


@torch.no_grad()
def encode_episodes(model: Any, data: Any, batch: int = 256) -> tuple[Tensor, np.ndarray]:
    """Latents of every recorded frame: ``(z[E, T+1, D], lengths[E])`` (frames past an
    episode's length are left zero). ``model`` has ``encode(uint8 [B, T, H, W, 3])``;
    ``data`` is an open ``wmplan.worldmodel.data.episodes.Dataset``."""
    e_count = data.num_episodes
    lengths = np.asarray(data.lengths, dtype=np.int64)
    z: Tensor | None = None
    for e in range(e_count):
        frames = data.read("pixels", e)[: lengths[e] + 1]
        parts = [model.encode(torch.as_tensor(frames[i : i + batch])[None])[0]
                 for i in range(0, len(frames), batch)]  # fmt: skip
        ze = torch.cat(parts)
        if z is None:
            z = torch.zeros(e_count, data.meta.steps + 1, ze.shape[-1])
        z[e, : len(ze)] = ze
    if z is None:
        raise ValueError(f"{data.path}: no episodes to learn reachability from")
    return z, lengths


def _pairs(z: Tensor, lengths: Tensor, episodes: Tensor, max_offset: int,
           g: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """``(z_i[n, D], z_j[n, D], j - i [n])`` with i <= j in one episode of ``episodes``."""
    n = episodes.shape[0]
    frames = lengths[episodes] + 1
    d = torch.minimum((torch.rand(n, generator=g) * (max_offset + 1)).long(), frames - 1)
    i = (torch.rand(n, generator=g) * (frames - d)).long()
    return z[episodes, i], z[episodes, i + d], d.float()


def train_reach(z: Tensor, lengths: np.ndarray, cfg: ReachConfig) -> tuple[ReachHead, dict]:
    """Fit a ``ReachHead`` on latents ``z[E, T+1, D]``; returns it and validation metrics
    (pinball loss, mean absolute error and correlation on held-out episodes)."""
    e_count = z.shape[0]
    n_val = min(cfg.val_episodes, e_count // 5)
    if e_count - n_val < 1:
        raise ValueError(f"need at least 2 episodes to learn reachability, got {e_count}")
    lens = torch.as_tensor(lengths)
    g = torch.Generator().manual_seed(cfg.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        head = ReachHead(z.shape[-1], cfg.hidden)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    train_eps = torch.arange(e_count - n_val)
    for step in range(cfg.steps):
        pick = train_eps[torch.randint(0, len(train_eps), (cfg.batch_size,), generator=g)]
        z_a, z_b, d = _pairs(z, lens, pick, cfg.max_offset, g)
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        loss = pinball(head(z_a, z_b), d, cfg.quantile) / head.scale
        if not torch.isfinite(loss):
            raise FloatingPointError(f"reach head: non-finite loss at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    head.eval().requires_grad_(False)
    metrics: dict[str, float] = {}
    if n_val:
        vg = torch.Generator().manual_seed(12345)
        val_eps = torch.arange(e_count - n_val, e_count)
        pick = val_eps[torch.randint(0, n_val, (8192,), generator=vg)]
        z_a, z_b, d = _pairs(z, lens, pick, cfg.max_offset, vg)
        pred = head(z_a, z_b)
        metrics = {
            "val_pinball": float(pinball(pred, d, cfg.quantile)),
            "val_mae_steps": float((pred - d).abs().mean()),
            "val_corr": float(np.corrcoef(pred.numpy(), d.numpy())[0, 1]),
        }
    return head, metrics


def save_reach(directory: str | Path, head: ReachHead, info: dict[str, Any]) -> None:
    """Write ``reach.safetensors`` + ``reach.json`` into a checkpoint directory, atomically."""
    from safetensors.torch import save_file

    from wmplan.worldmodel.checkpoint import state_to_tensors
    from wmplan.worldmodel.files import atomic_path, write_json_atomic

    directory = Path(directory)
    with atomic_path(directory / REACH_WEIGHTS) as tmp:
        save_file(state_to_tensors(head), str(tmp))
    write_json_atomic(directory / REACH_JSON, {
        "format": FORMAT, "latent_dim": head.latent_dim, "hidden": head.hidden,
        "scale": head.scale, **info,
    })  # fmt: skip


def load_reach(directory: str | Path, latent_dim: int) -> ReachHead | None:
    """The reachability head stored in a checkpoint directory, or None if it has none.
    Safetensors + JSON only; non-finite weights or a head for another latent width are
    refused (``CheckpointError``)."""
    from wmplan.worldmodel.checkpoint import (
        CheckpointError,
        _read_json,
        _read_safetensors,
        load_tensors_into,
    )

    directory = Path(directory)
    if not (directory / REACH_JSON).exists() and not (directory / REACH_WEIGHTS).exists():
        return None
    info = _read_json(directory / REACH_JSON)
    if info.get("format") != FORMAT or info.get("latent_dim") != latent_dim:
        raise CheckpointError(
            f"{directory / REACH_JSON}: not a reach head for latent_dim {latent_dim} "
            f"(format {info.get('format')!r}, latent_dim {info.get('latent_dim')!r})"
        )
    head = ReachHead(latent_dim, int(info["hidden"]), float(info["scale"]))
    tensors = _read_safetensors(directory / REACH_WEIGHTS)
    bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{directory / REACH_WEIGHTS}: non-finite values in {bad[:3]}")
    load_tensors_into(head, tensors, directory / REACH_WEIGHTS)
    return head.eval().requires_grad_(False)


def fit_reach(checkpoint: str | Path, data: str | Path, cfg: ReachConfig | None = None,
              log: Any = print) -> dict[str, Any]:  # fmt: skip
    """Train a reachability head for the world model at ``checkpoint`` (run or
    checkpoint directory) on dataset ``data`` and store it beside the weights.
    The dataset must hold the model's task at its image size. Returns ``reach.json``."""
    from wmplan.worldmodel.checkpoint import load_model, resolve
    from wmplan.worldmodel.data.episodes import Dataset

    cfg = cfg or ReachConfig()
    directory = resolve(checkpoint)
    model, config = load_model(directory)
    task = config.get("metadata", {}).get("task") or None
    t0 = time.perf_counter()
    with Dataset(data) as ds:
        ds.check(task_id=task, image_size=model.config.image_size)
        z, lengths = encode_episodes(model, ds)
    t_encode = time.perf_counter() - t0
    log(f"encoded {int(lengths.sum() + len(lengths))} frames in {t_encode:.0f} s; "
        f"training the reach head ({cfg.steps} steps)")  # fmt: skip
    head, metrics = train_reach(z, lengths, cfg)
    info = {"config": dataclasses.asdict(cfg), "data": str(data), "task": task,
            "metrics": metrics, "wall_s": round(time.perf_counter() - t0, 1)}  # fmt: skip
    save_reach(directory, head, info)
    log(f"{directory / REACH_WEIGHTS}: " + json.dumps(metrics))
    return info
