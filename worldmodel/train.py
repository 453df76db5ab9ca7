"""Train a world model on an episode dataset: one readable loop (CleanRL style).

    wmplan train --task wmplan/Reacher-v0 --data data/reacher.h5 --out runs/reacher

AdamW with linear warmup + cosine decay, gradient clipping, a tqdm progress
bar, metrics as JSONL every ``log_every`` steps, optional wandb (offline by
default) and ``torch.compile``. Every ``checkpoint_every`` steps the run is
checkpointed atomically (see ``checkpoint.py``); rerunning the same command
resumes from the newest checkpoint, and in deterministic mode (the default on
CPU) the final weights equal those of an uninterrupted run: every random
source (data sampler, SIGReg directions) is a seeded generator whose state is
part of the checkpoint, and the learning rate is a pure function of the step.

(~450 lines: the config, the loop and its resume/provenance checks stay in one file
so the loop reads top to bottom.)
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from wmplan.worldmodel import checkpoint as ckpt
from wmplan.worldmodel.base import ModelConfig, WorldModel, drop_retired_fields
from wmplan.worldmodel.configs import check_ints, read_config_file
from wmplan.worldmodel.configs import from_dict as config_from_dict
from wmplan.worldmodel.files import write_json_atomic, write_text_atomic
from wmplan.worldmodel.losses import RETIRED_FIELDS as RETIRED_LOSS_FIELDS
from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.model import build_model
from wmplan.worldmodel.progress import check_mode as check_progress_mode
from wmplan.worldmodel.progress import progress as make_progress
from wmplan.worldmodel.provenance import data_metadata
from wmplan.worldmodel.provenance import provenance as provenance_of_code
from wmplan.worldmodel.tracking import start_wandb

CONFIG_FILE = "train_config.json"
METRICS_FILE = "metrics.jsonl"
# Fields that may change between a run and its resumption.
VOLATILE = ("progress", "wandb", "wandb_project", "wandb_mode", "log_every", "val_every",
            "allow_data_change")  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (saved as ``<out>/train_config.json``).

    ``model.image_size`` and ``model.action_dim`` are taken from the dataset.
    """

    task: str = ""  # task id the dataset must hold ("" = any)
    data: str = ""  # HDF5 dataset path
    out: str = ""  # run directory
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    window: int = 7  # frames per training window (history + open-loop steps)
    batch_size: int = 64
    steps: int = 1500
    lr: float = 1e-3
    weight_decay: float = 1e-3
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05  # final lr = lr * min_lr_ratio
    grad_clip: float = 1.0
    seed: int = 0
    val_fraction: float = 0.05  # episodes held out (split by episode)
    threads: int = 2  # torch intra-op threads (fixed: results depend on it)
    deterministic: bool = True
    compile: bool = False
    log_every: int = 10
    val_every: int = 250  # 0: never
    checkpoint_every: int = 100
    keep_checkpoints: int = 2
    progress: str = "auto"  # auto, bar, lines or none (see worldmodel/progress.py)
    allow_data_change: bool = False  # resume even if the dataset's fingerprint changed
    wandb: bool = False
    wandb_project: str = "wmplan"
    wandb_mode: str = "offline"  # "offline" or "online"

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", ModelConfig.from_dict(self.model))
        if isinstance(self.loss, dict):
            object.__setattr__(self, "loss", LossConfig.from_dict(self.loss))
        for name, kind in (("model", ModelConfig), ("loss", LossConfig)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(
                    f"{name} must be a mapping of {kind.__name__} fields, got "
                    f"{getattr(self, name)!r:.80}"
                )
        if isinstance(self.progress, bool):  # older configs stored a flag
            object.__setattr__(self, "progress", "auto" if self.progress else "none")
        check_progress_mode(self.progress)
        check_ints(self, ("window", "batch_size", "steps", "threads", "log_every",
                          "checkpoint_every", "keep_checkpoints"))  # fmt: skip
        check_ints(self, ("warmup_steps", "val_every", "seed"), minimum=0)
        if self.window < self.model.history + 1:
            raise ValueError(
                f"window must be >= model.history + 1 = {self.model.history + 1}, got {self.window}"
            )
        if self.batch_size < 2 and self.loss.anti_collapse != "none":
            raise ValueError(f"batch_size must be >= 2 for {self.loss.anti_collapse}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("weight_decay and grad_clip must be >= 0")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.wandb_mode not in ("offline", "online"):
            raise ValueError(f"wandb_mode must be 'offline' or 'online', got {self.wandb_mode!r}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        return config_from_dict(cls, d, "train config")

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Read a JSON or YAML file (nested ``model:``/``loss:`` sections), then apply
        overrides (None: keep the file's). A file that sets ``model.image_size`` or
        ``model.action_dim`` other than the dataset's is refused."""
        d = read_config_file(path)
        d.update({k: v for k, v in overrides.items() if v is not None})
        try:
            cfg = cls.from_dict(d)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        _check_pinned_dims(path, cfg)
        return cfg


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to ``lr`` over ``warmup_steps``, then cosine to ``lr * min_lr_ratio``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


# --- data ------------------------------------------------------------------------
class WindowSource(Protocol):
    """Training windows: frames uint8 ``[B, T, H, W, 3]``, action blocks ``[B, T, k*A]``."""

    image_size: int
    action_dim: int

    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Next training batch (advances the position)."""

    def val_batch(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed held-out batch (same every call)."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-able sampler position."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a position from ``state_dict``."""


def open_data(cfg: TrainConfig) -> WindowSource:
    """The training-window source for ``cfg.data`` (HDF5 episodes)."""
    from wmplan.worldmodel.data.windows import open_windows

    return open_windows(
        cfg.data,
        window=cfg.window,
        action_block=cfg.model.action_block,
        seed=cfg.seed,
        val_fraction=cfg.val_fraction,
        task=cfg.task or None,
    )


# --- training --------------------------------------------------------------------
@dataclass
class TrainResult:
    """What a finished (or resumed-and-finished) run reports."""

    out: Path
    step: int
    metrics: dict[str, float]
    frames_per_s: float
    resumed_from: int

    def summary(self) -> str:
        """One paragraph for the console."""
        m = self.metrics
        parts = [f"{k} {m[k]:.4g}" for k in ("loss", "pred_loss", "open_loop_loss",
                 "sigreg_loss", "val_ratio_to_copy_last") if k in m]  # fmt: skip
        start = f" (resumed at step {self.resumed_from})" if self.resumed_from else ""
        return (f"{self.out}: step {self.step}{start}; {', '.join(parts)}; "
                f"{self.frames_per_s:.0f} frames/s; checkpoint {self.out / 'checkpoints'}")  # fmt: skip


def _write_metrics(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop records logged after the checkpoint a run resumes from."""
    if not path.exists():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
    write_text_atomic(path, "".join(ln + "\n" for ln in keep))


@torch.no_grad()
def validate(model: WorldModel, frames: torch.Tensor, actions: torch.Tensor,
             cfg: LossConfig) -> dict[str, float]:  # fmt: skip
    """Held-out losses plus the one-step error relative to copy-last (lower is better)."""
    was_training = model.training
    model.eval()
    out = model.loss(frames, actions, cfg, torch.Generator().manual_seed(0))
    z = model.encode(frames)
    pred = model.next(z, actions)
    err = (pred[:, :-1] - z[:, 1:]).square().mean()
    copy = (z[:, :-1] - z[:, 1:]).square().mean()
    model.train(was_training)
    metrics = {f"val_{k}": v for k, v in out.metrics.items()}
    metrics["val_ratio_to_copy_last"] = (err / copy.clamp_min(1e-12)).item()
    return metrics


def train(cfg: TrainConfig, data: WindowSource | None = None) -> TrainResult:
    """Run (or resume) training as configured; returns the final metrics.

    ``data`` overrides ``cfg.data`` (tests, benchmarks). The run directory is
    ``cfg.out``; an existing run there with the same config is resumed.
    """
    if not cfg.out:
        raise ValueError("out (the run directory) must be set")
    # Threads and deterministic mode are process-wide: set them for the run, then restore.
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(cfg.deterministic)
    try:
        return _train(cfg, data)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _train(cfg: TrainConfig, data: WindowSource | None) -> TrainResult:
    out = Path(cfg.out)
    config_path = out / CONFIG_FILE
    # A damaged run directory is reported before any data is read.
    saved = ckpt.read_json_object(config_path) if config_path.exists() else None
    own_data = data is None
    data = data if data is not None else open_data(cfg)
    # The dataset fixes the image size and action width.
    model_cfg = dataclasses.replace(
        cfg.model, image_size=data.image_size, action_dim=data.action_dim
    )
    cfg = dataclasses.replace(cfg, model=model_cfg)
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = _data_fingerprint(cfg) if own_data else None
    if saved is not None:
        now, saved = cfg.to_dict(), _without_retired_fields(saved)
        diff = sorted(k for k in now if k not in VOLATILE and saved.get(k) != now[k])
        if diff:
            raise ValueError(
                f"{out} holds a run with a different config (fields {diff}); use a new --out "
                "or the same config to resume"
            )
    else:
        write_json_atomic(config_path, cfg.to_dict())

    with torch.random.fork_rng(devices=[]):  # seeded init, caller's RNG untouched
        torch.manual_seed(cfg.seed)
        model = build_model(model_cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=(0.9, 0.99), foreach=True,  # 2.5x faster than a loop; resumes bit-exactly
    )  # fmt: skip
    if model.state_head is not None:  # a resumed run's statistics come from its checkpoint
        model.state_head.set_stats(*_state_stats(data, model_cfg.state_aux))
    sigreg_gen = torch.Generator().manual_seed(cfg.seed + 1)
    ckpt_dir = out / "checkpoints"
    metrics_path = out / METRICS_FILE
    step, elapsed, frames_seen = 0, 0.0, 0
    if (ckpt_dir / ckpt.LATEST).exists():
        _check_same_data(cfg, ckpt.read_config(ckpt_dir), fingerprint)
        ckpt.load_weights(ckpt_dir, model)
        tensors, state = ckpt.load_trainer_state(ckpt_dir)
        ckpt.optimizer_from_state(opt, tensors, state["optimizer"])
        sigreg_gen.set_state(tensors["rng.sigreg"])
        data.load_state_dict(state["data"])
        step, elapsed, frames_seen = state["step"], state["elapsed_s"], state["frames_seen"]
        _truncate_metrics(metrics_path, step)
    resumed_from = step
    last_record: dict[str, float] = {}
    if step >= cfg.steps and metrics_path.exists():  # finished already: report its end
        lines = metrics_path.read_text().splitlines()
        last_record = json.loads(lines[-1]) if lines else {}
    val = data.val_batch(min(cfg.batch_size, 64)) if cfg.val_every else None

    def save(step: int) -> None:
        opt_tensors, opt_json = ckpt.optimizer_to_state(opt)
        opt_tensors["rng.sigreg"] = sigreg_gen.get_state()
        name = f"step_{step:08d}"
        ckpt.save_checkpoint(
            ckpt_dir / name,
            model,
            model_cfg.to_dict(),
            metadata={"task": task, "step": step, "train": cfg.to_dict(),
                      "train_wall_s": round(elapsed, 3), "dataset_transitions": transitions,
                      **data_metadata(cfg.data, cfg.out, fingerprint), **provenance},
            trainer_tensors=opt_tensors,
            trainer_json={"step": step, "elapsed_s": elapsed, "frames_seen": frames_seen,
                          "optimizer": opt_json, "data": data.state_dict(),
                          "schedule": {"kind": "warmup_cosine", "step": step}},
        )  # fmt: skip
        ckpt.update_latest(ckpt_dir, name, keep=cfg.keep_checkpoints)

    provenance = {"provenance": provenance_of_code()}
    # Env steps of experience in the training data (None for data given as an object).
    transitions = _dataset_transitions(cfg) if own_data else None
    # The task the model can plan on: as asked, else as the dataset says.
    task = cfg.task or getattr(getattr(data, "meta", None), "task_id", "")
    run = None
    if cfg.wandb:
        run = start_wandb(cfg.wandb_mode, cfg.wandb_project, Path(cfg.out).name, cfg.to_dict(),
                          out, resume=bool(resumed_from))  # fmt: skip
    if cfg.compile:
        model.encoder.compile()
        model.predictor.compile()
    model.train()
    bar = _progress(cfg, step)
    last: dict[str, float] = last_record if step >= cfg.steps else {}
    window_t, window_frames = time.perf_counter(), 0
    t_run = time.perf_counter()
    while step < cfg.steps:
        t0 = time.perf_counter()
        states = None
        if model.state_head is not None:
            batch = data.sample_batch(cfg.batch_size)
            frames, actions, states = batch.frames, batch.actions, batch.states
        else:
            frames, actions = data.sample(cfg.batch_size)
        lr = lr_at(step, cfg)
        for group in opt.param_groups:
            group["lr"] = lr
        out_loss = model.loss(frames, actions, cfg.loss, sigreg_gen, states)
        if not math.isfinite(out_loss.loss.item()):
            if bar is not None:
                bar.close()
            raise TrainingDiverged(
                f"{out}: loss is {out_loss.loss.item()} at step {step + 1} "
                f"({', '.join(f'{k} {v:.4g}' for k, v in out_loss.metrics.items())}); stopped "
                f"without saving it (the newest good checkpoint is in {ckpt_dir}). Lower --lr, "
                "raise grad_clip or check the dataset with `wmplan data inspect`"
            )
        opt.zero_grad(set_to_none=True)
        out_loss.loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or float("inf"))
        opt.step()
        step += 1
        n_frames = frames.shape[0] * frames.shape[1]
        frames_seen += n_frames
        window_frames += n_frames
        elapsed += time.perf_counter() - t0
        last = dict(out_loss.metrics, grad_norm=float(gnorm), lr=lr)
        if bar is not None:
            bar.update(1)
            # refresh=False: the bar redraws on its own clock, not on every step.
            bar.set_postfix(loss=f"{last['loss']:.4f}", pred=f"{last['pred_loss']:.4f}",
                            refresh=False)  # fmt: skip
        if step % cfg.log_every == 0 or step == cfg.steps:
            now = time.perf_counter()
            record = {"step": step, "elapsed_s": round(elapsed, 2), "frames_seen": frames_seen,
                      "frames_per_s": window_frames / max(now - window_t, 1e-9), **last}  # fmt: skip
            window_t, window_frames = now, 0
            if val is not None and (step % cfg.val_every == 0 or step == cfg.steps):
                val_metrics = validate(model, *val, cfg.loss)
                record.update(val_metrics)
                last.update(val_metrics)
            _write_metrics(metrics_path, record)
            if run is not None:
                run.log(record, step=step)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            save(step)
    if bar is not None:
        bar.close()
    if run is not None:
        run.finish()
    if own_data and hasattr(data, "close"):
        data.close()
    wall = time.perf_counter() - t_run
    done = step - resumed_from
    fps = done * cfg.batch_size * cfg.window / wall if done else 0.0
    return TrainResult(out, step, last, fps, resumed_from)


class TrainingDiverged(ValueError):
    """The loss became NaN or inf: training stops and saves nothing from that step."""


def _check_pinned_dims(config_file: str | Path, cfg: TrainConfig) -> None:
    """The dataset fixes model.image_size and model.action_dim: a config file that sets
    them to other values is refused instead of silently overridden."""
    from wmplan.worldmodel.data.episodes import Dataset

    model = read_config_file(config_file).get("model") or {}
    pinned = {k: model[k] for k in ("image_size", "action_dim") if k in model}
    if not pinned or not cfg.data:
        return
    with Dataset(cfg.data) as d:
        have = {"image_size": d.meta.image_size, "action_dim": d.meta.action_dim}
    for key, value in pinned.items():
        if value != have[key]:
            raise ValueError(
                f"{config_file}: model.{key} is {value!r} but {cfg.data} has {key} {have[key]}; "
                f"the dataset fixes it: remove model.{key} from the config"
            )


def _data_fingerprint(cfg: TrainConfig) -> dict[str, Any] | None:
    from wmplan.worldmodel.data.episodes import Dataset

    if not cfg.data or "," in cfg.data:
        return None
    with Dataset(cfg.data) as d:
        return d.fingerprint()


def _dataset_transitions(cfg: TrainConfig) -> int | None:
    """Env steps (actions) in the training dataset(s): the experience the model had."""
    from wmplan.worldmodel.data.episodes import Dataset

    if not cfg.data:
        return None
    total = 0
    for path in cfg.data.split(","):
        with Dataset(path) as d:
            total += int(d.read("lengths").sum())
    return total


def _without_retired_fields(saved: dict[str, Any]) -> dict[str, Any]:
    """A run's saved config as this version writes it: fields older versions wrote and
    this one drops (``model.reward_head``, ``loss.reward_weight``) are removed, and fields
    added since (``model.state_aux``, ...) read as their defaults, which keep the old
    behaviour."""
    saved = dict(saved)
    if isinstance(saved.get("model"), dict):
        saved["model"] = {**ModelConfig().to_dict(), **drop_retired_fields(saved["model"])}
    if isinstance(saved.get("loss"), dict):
        kept = {k: v for k, v in saved["loss"].items() if k not in RETIRED_LOSS_FIELDS}
        saved["loss"] = {**dataclasses.asdict(LossConfig()), **kept}
    return saved


def _state_stats(data: WindowSource, dims: tuple[int, ...]) -> tuple[Any, Any]:
    """The training data's state statistics for a model with ``state_aux``."""
    stats = getattr(data, "state_stats", None)
    if stats is None:
        raise ValueError(
            f"model.state_aux {list(dims)} needs training windows with states (an HDF5 "
            f"dataset); {type(data).__name__} has none"
        )
    return stats(dims)


def _check_same_data(cfg: TrainConfig, saved: dict[str, Any], fingerprint: dict | None) -> None:
    """Refuse to resume on a dataset whose fingerprint differs from the checkpoint's."""
    before = saved.get("metadata", {}).get("data_fingerprint")
    if fingerprint is None or before is None or before == fingerprint or cfg.allow_data_change:
        return
    raise ValueError(
        f"{cfg.out}: the run was trained on a different dataset than {cfg.data} holds now "
        f"(fingerprint {before} in the checkpoint, {fingerprint} now); use a new --out, or "
        "pass --allow-data-change to resume on the new data"
    )


def _progress(cfg: TrainConfig, initial: int):
    if cfg.progress == "none":
        return None
    return make_progress(cfg.steps, "train", cfg.progress, unit="step", initial=initial)
