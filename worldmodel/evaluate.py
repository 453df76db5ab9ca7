"""Evaluate a trained world model on held-out episodes.

    wmplan eval-model runs/reacher --data data/reacher.h5 --out runs/reacher/eval

Reports (JSON + PNG plots + a GIF):

- open-loop latent error at horizons 1..H against the copy-last-latent
  baseline (ratio < 1 means the model beats "nothing moves");
- linear-probe R^2 of the true state from the latent (ridge, closed form,
  fitted on training episodes, scored on held-out ones): prediction loss alone
  is no evidence of a useful model, the probe is;
- collapse diagnostics: effective rank of the embeddings and per-dim std;
- a decoder probe: a small decoder trained on frozen latents renders imagined
  rollouts beside the real frames.

Inputs are whole episodes: frames uint8 ``[E, F, H, W, 3]`` (one per action
block), action blocks ``[E, F, k*A]`` (block f leads frame f to f+1) and states
``[E, F, S]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from wmplan.worldmodel.base import WorldModel


@dataclass
class Episodes:
    """Whole episodes at one frame per action block (see module docstring for shapes)."""

    frames: Tensor
    actions: Tensor
    states: Tensor

    def __len__(self) -> int:
        return self.frames.shape[0]

    def subset(self, idx) -> Episodes:
        return Episodes(self.frames[idx], self.actions[idx], self.states[idx])


@torch.no_grad()
def encode_episodes(model: WorldModel, frames: Tensor, batch: int = 16) -> Tensor:
    """Latents of whole episodes: ``frames[E, F, H, W, 3] -> z[E, F, D]`` (eval mode)."""
    model.eval()
    return torch.cat([model.encode(frames[i : i + batch]) for i in range(0, len(frames), batch)])


@torch.no_grad()
def open_loop_errors(
    model: WorldModel, z: Tensor, actions: Tensor, horizon: int
) -> dict[str, list[float]]:
    """Mean squared latent error at horizons 1..H, model vs copy-last.

    From every start t (with a full history) of every episode, roll the model
    out H blocks open loop from ``z[:, t-history+1 : t+1]`` and compare with
    the encoded future. ``z[E, F, D]``, ``actions[E, F, kA]``.
    """
    e, f, d = z.shape
    hist = model.config.history
    starts = list(range(hist - 1, f - horizon))
    if not starts:
        raise ValueError(f"episodes of {f} frames are too short for horizon {horizon}")
    model_err = torch.zeros(horizon)
    copy_err = torch.zeros(horizon)
    for t in starts:
        z_hist = z[:, t - hist + 1 : t + 1]
        acts = actions[:, None, t : t + horizon]  # [E, 1, H, kA]
        pred = model.rollout(z_hist, acts)[:, 0]  # [E, H, D]
        target = z[:, t + 1 : t + 1 + horizon]
        model_err += (pred - target).square().mean(dim=(0, 2))
        copy_err += (z[:, t : t + 1] - target).square().mean(dim=(0, 2))
    model_err /= len(starts)
    copy_err /= len(starts)
    return {
        "model": model_err.tolist(),
        "copy_last": copy_err.tolist(),
        "ratio": (model_err / copy_err.clamp_min(1e-12)).tolist(),
    }


def ridge_probe(
    z_train: Tensor, y_train: Tensor, z_test: Tensor, y_test: Tensor, ridge: float = 1e-3
) -> list[float]:
    """Held-out R^2 per target dim of a linear map ``z -> y`` (closed-form ridge with bias).

    ``z_*[N, D]``, ``y_*[N, S]``; features are standardised with training statistics.
    """
    z_train, y_train = z_train.double(), y_train.double()
    z_test, y_test = z_test.double(), y_test.double()
    mu, sd = z_train.mean(0), z_train.std(0).clamp_min(1e-8)
    x_tr = torch.cat([(z_train - mu) / sd, torch.ones(len(z_train), 1, dtype=z_train.dtype)], 1)
    x_te = torch.cat([(z_test - mu) / sd, torch.ones(len(z_test), 1, dtype=z_test.dtype)], 1)
    reg = ridge * len(x_tr) * torch.eye(x_tr.shape[1], dtype=x_tr.dtype)
    reg[-1, -1] = 0.0  # do not shrink the bias
    w = torch.linalg.solve(x_tr.T @ x_tr + reg, x_tr.T @ y_train)
    resid = (x_te @ w - y_test).square().sum(0)
    total = (y_test - y_test.mean(0)).square().sum(0).clamp_min(1e-12)
    return (1.0 - resid / total).tolist()


def effective_rank(z: Tensor) -> float:
    """exp(entropy) of the normalised singular values of centred ``z[N, D]`` (1 = collapsed)."""
    s = torch.linalg.svdvals((z - z.mean(0)).double())
    p = s / s.sum().clamp_min(1e-12)
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def train_decoder_probe(
    z: Tensor, frames: Tensor, image_size: int, steps: int = 300, batch: int = 128, seed: int = 0
):
    """A small decoder fitted on frozen latents ``z[N, D]`` -> frames ``[N, H, W, 3]``."""
    from wmplan.worldmodel.decoder import Decoder
    from wmplan.worldmodel.encoder import frames_to_float

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
        torch.manual_seed(seed)
        decoder = Decoder(z.shape[1], image_size)
    opt = torch.optim.Adam(decoder.parameters(), lr=2e-3)
    for _ in range(steps):
        idx = torch.randint(0, len(z), (batch,), generator=gen)
        target = frames_to_float(frames[idx])
        loss = torch.nn.functional.mse_loss(decoder(z[idx]), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    decoder.eval()
    return decoder, loss.item()


@torch.no_grad()
def decode_to_uint8(decoder, z: Tensor) -> np.ndarray:
    """``z[N, D]`` -> uint8 frames ``[N, H, W, 3]``."""
    x = decoder(z).permute(0, 2, 3, 1)
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()


def _plots(report: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    ol = report["open_loop"]
    h = np.arange(1, len(ol["model"]) + 1)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(h, ol["model"], "o-", label="world model")
    ax.plot(h, ol["copy_last"], "s--", label="copy last latent")
    ax.set(xlabel="horizon (action blocks)", ylabel="latent MSE", yscale="log",
           title="open-loop prediction error (held-out)")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    paths.append(out / "open_loop.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    r2 = report["probe"]["r2"]
    axes[0].bar(range(len(r2)), np.clip(r2, -0.1, 1.0))
    axes[0].axhline(0.9, color="k", ls=":", lw=1)
    axes[0].set(xlabel="state dim", ylabel="R^2", ylim=(-0.1, 1.0), title="linear probe (held-out)")
    std = report["collapse"]["per_dim_std"]
    axes[1].bar(range(len(std)), sorted(std, reverse=True))
    axes[1].set(xlabel="latent dim (sorted)", ylabel="std",
                title=f"per-dim std, eff. rank {report['collapse']['effective_rank']:.1f}")  # fmt: skip
    fig.tight_layout()
    paths.append(out / "probe_collapse.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def imagined_gif(model, decoder, ep: Episodes, path: Path, horizon: int, episodes: int = 4) -> Path:
    """GIF: per row, real frames | decoded real latents | decoded imagined rollout."""
    import imageio.v3 as iio

    hist = model.config.history
    rows = []
    with torch.no_grad():
        for i in range(min(episodes, len(ep))):
            z = encode_episodes(model, ep.frames[i : i + 1])
            t0 = hist - 1
            acts = ep.actions[i : i + 1, None, t0 : t0 + horizon]
            roll = model.rollout(z[:, :hist], acts)[0, 0]  # [H, D]
            real = ep.frames[i, t0 + 1 : t0 + 1 + horizon].numpy()
            recon = decode_to_uint8(decoder, z[0, t0 + 1 : t0 + 1 + horizon])
            imagined = decode_to_uint8(decoder, roll)
            rows.append(np.concatenate([real, recon, imagined], axis=2))  # [H, S, 3S, 3]
    video = np.concatenate(rows, axis=1)
    scale = max(1, 128 // ep.frames.shape[2])
    video = video.repeat(scale, axis=1).repeat(scale, axis=2)
    iio.imwrite(path, video, duration=300, loop=0)
    return path


def evaluate(
    model: WorldModel,
    train: Episodes,
    test: Episodes,
    out: str | Path | None = None,
    horizon: int = 5,
    decoder_steps: int = 300,
    state_names: list[str] | None = None,
) -> dict[str, Any]:
    """Full report as a JSON-able dict; with ``out``, also writes eval.json, PNGs and a GIF.

    ``train`` episodes fit the probes; ``test`` episodes score everything.
    """
    model.eval()
    z_tr = encode_episodes(model, train.frames)
    z_te = encode_episodes(model, test.frames)
    flat_tr, flat_te = z_tr.flatten(0, 1), z_te.flatten(0, 1)
    ol = open_loop_errors(model, z_te, test.actions.float(), horizon)
    r2 = ridge_probe(flat_tr, train.states.flatten(0, 1), flat_te, test.states.flatten(0, 1))
    # A single frame cannot show velocity; two consecutive latents can.
    pair_tr = torch.cat([z_tr[:, :-1], z_tr[:, 1:]], -1).flatten(0, 1)
    pair_te = torch.cat([z_te[:, :-1], z_te[:, 1:]], -1).flatten(0, 1)
    r2_pair = ridge_probe(
        pair_tr, train.states[:, 1:].flatten(0, 1), pair_te, test.states[:, 1:].flatten(0, 1)
    )
    std = flat_te.std(0)
    report: dict[str, Any] = {
        "episodes": {"train": len(train), "test": len(test)},
        "open_loop": ol,
        "probe": {
            "r2": r2,
            "r2_two_frames": r2_pair,
            "names": state_names or [f"s{i}" for i in range(len(r2))],
        },
        "collapse": {
            "effective_rank": effective_rank(flat_te),
            "latent_dim": int(flat_te.shape[1]),
            "per_dim_std": std.tolist(),
            "min_std": float(std.min()),
            "mean_std": float(std.mean()),
        },
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = _plots(report, out)
        if decoder_steps > 0:
            frames_tr = train.frames.flatten(0, 1)
            decoder, dec_loss = train_decoder_probe(
                flat_tr, frames_tr, train.frames.shape[2], steps=decoder_steps
            )
            report["decoder_probe"] = {"train_mse": dec_loss, "steps": decoder_steps}
            files.append(imagined_gif(model, decoder, test, out / "imagined.gif", horizon))
        report["files"] = [str(p) for p in files]
        (out / "eval.json").write_text(json.dumps(report, indent=1))
    return report


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Short human-readable summary of ``evaluate``'s report."""
    ol = report["open_loop"]
    r2 = report["probe"]["r2"]
    names = report["probe"]["names"]
    c = report["collapse"]
    return [
        "open-loop latent MSE, model / copy-last (ratio) by horizon:",
        *(
            f"  h={i + 1}: {m:.4f} / {cl:.4f}  ({r:.3f})"
            for i, (m, cl, r) in enumerate(
                zip(ol["model"], ol["copy_last"], ol["ratio"], strict=True)
            )
        ),  # fmt: skip
        "linear probe R^2 (held-out): "
        + ", ".join(f"{n} {v:.3f}" for n, v in zip(names, r2, strict=True)),
        "  from two consecutive latents: "
        + ", ".join(
            f"{n} {v:.3f}" for n, v in zip(names, report["probe"]["r2_two_frames"], strict=True)
        ),
        f"effective rank {c['effective_rank']:.1f} of {c['latent_dim']}; per-dim std min "
        f"{c['min_std']:.3f} mean {c['mean_std']:.3f}",
    ]


def load_episodes(
    path: str | Path,
    action_block: int,
    val_fraction: float = 0.05,
    split_seed: int = 0,
    max_train: int = 200,
    max_test: int | None = None,
    task: str | None = None,
) -> tuple[Episodes, Episodes]:
    """Whole episodes of a dataset, split as training split them (by episode, same seed).

    Returns ``(train, test)``: up to ``max_train`` training episodes (for the
    probes) and the held-out ones. Frames are taken every ``action_block`` steps.
    """
    from wmplan.worldmodel.data.episodes import Dataset
    from wmplan.worldmodel.data.windows import open_windows

    with Dataset(path) as d:
        frames = d.meta.steps // action_block
    # Disk mode: read only the episodes evaluated, not the whole file into memory.
    ew = open_windows(path, window=frames, action_block=action_block, val_fraction=val_fraction,
                      task=task, split_seed=split_seed, cache="disk", workers=0)  # fmt: skip
    with ew:
        full = ew.lengths >= frames * action_block
        train_ids = ew.train_episodes[full[ew.train_episodes]][:max_train]
        test_ids = ew.val_episodes[full[ew.val_episodes]][:max_test]
        if len(test_ids) == 0 or len(train_ids) == 0:
            raise ValueError(f"{path}: no complete held-out or training episodes to evaluate on")

        def read(ids: np.ndarray) -> Episodes:
            b = ew.read(ids, np.zeros(len(ids), np.int64))
            return Episodes(b.frames, b.actions, b.states)

        return read(train_ids), read(test_ids)


def evaluate_checkpoint(
    checkpoint: str | Path,
    data: str | Path | None = None,
    out: str | Path | None = None,
    horizon: int = 5,
    max_train: int = 200,
    max_test: int | None = None,
    decoder_steps: int = 300,
) -> dict[str, Any]:
    """Load a checkpoint and evaluate it on ``data``'s held-out episodes (same split as
    training, read from the checkpoint's metadata). ``data`` defaults to the dataset
    the checkpoint was trained on (resolved from its run directory); a dataset of
    another task than the checkpoint's is refused (DatasetError naming both)."""
    from wmplan.worldmodel.checkpoint import load_model, resolve
    from wmplan.worldmodel.provenance import data_path_of

    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    model, config = load_model(checkpoint)
    metadata = config.get("metadata", {})
    if data is None:
        data = data_path_of(resolve(checkpoint), metadata)
        if data is None:
            raise ValueError(f"{checkpoint}: the checkpoint records no dataset; pass --data")
    train_cfg = metadata.get("train", {})
    train_cfg = train_cfg if isinstance(train_cfg, dict) else {}
    task = metadata.get("task") or train_cfg.get("task") or None
    train, test = load_episodes(
        data,
        model.config.action_block,
        val_fraction=train_cfg.get("val_fraction", 0.05),
        max_train=max_train,
        max_test=max_test,
        task=task,
    )
    report = evaluate(model, train, test, out=out, horizon=horizon, decoder_steps=decoder_steps)
    report["checkpoint"] = str(resolve(checkpoint))
    report["data"] = str(data)
    if out is not None:
        (Path(out) / "eval.json").write_text(json.dumps(report, indent=1))
    return report
