"""Checkpoints without pickle: safetensors for tensors, JSON for everything else.

A checkpoint is a directory:

    model.safetensors    weights (state_dict)
    config.json          {"format", "version", "model": ModelConfig, "metadata": {...}}
    trainer.safetensors  optimizer tensors, RNG states (resume only)
    trainer.json         step, optimizer scalars, schedule, data-loader position (resume only)

A training run keeps them as ``<run>/checkpoints/step_XXXXXXXX/`` with a
``<run>/checkpoints/latest`` file naming the newest. Every directory is written
under a temporary name and renamed into place, and ``latest`` is replaced
atomically, so a killed run always leaves a complete checkpoint behind.

Loading never unpickles: a path or file that looks like a pickle (``*.pt``,
``*.pth``, ``*.pkl``, ``*.ckpt`` or bytes starting with the pickle protocol
opcode or a torch.save zip) is refused with a message saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from wmplan.worldmodel.base import ModelConfig
from wmplan.worldmodel.files import (
    fsync_path,
    publish,
    temporary_path,
    write_json_atomic,
    write_text_atomic,
)
from wmplan.worldmodel.model import build_model

FORMAT = "wmplan.worldmodel"
VERSION = 1
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
MODEL_FILE, CONFIG_FILE = "model.safetensors", "config.json"
TRAINER_TENSORS, TRAINER_JSON = "trainer.safetensors", "trainer.json"
LATEST = "latest"


class CheckpointError(ValueError):
    """A checkpoint is missing, unsafe (pickle) or does not fit the model."""


# --- pickle refusal ------------------------------------------------------------
def refuse_pickle(path: str | Path) -> None:
    """Raise CheckpointError if ``path`` is (or, for a directory, holds) a pickle file."""
    path = Path(path)
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    for f in files:
        if not f.is_file():
            continue
        if f.suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(
                f"{f}: refusing to load a pickle-format file ({f.suffix}); wmplan loads only "
                "safetensors + JSON checkpoints because unpickling can run arbitrary code. "
                "Re-export the weights with safetensors.torch.save_file in a trusted environment."
            )
        with open(f, "rb") as fh:
            head = fh.read(9)
        if (head[:1] == b"\x80" and not _safetensors_layout(head, f)) or head[:4] == b"PK\x03\x04":
            raise CheckpointError(
                f"{f}: content is a pickle (or torch.save zip), not safetensors/JSON; refusing "
                "to load it (unpickling can run arbitrary code)."
            )


def _safetensors_layout(head: bytes, path: Path) -> bool:
    """True if ``head`` (a file's first 9 bytes) starts a safetensors file: a little-endian
    u64 header length that fits the file, then the JSON header's ``{``. (A length whose
    low byte is 0x80 would otherwise look like a pickle's protocol opcode.)"""
    if len(head) < 9 or head[8:9] != b"{":
        return False
    return int.from_bytes(head[:8], "little") + 8 <= path.stat().st_size


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    refuse_pickle(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: missing checkpoint file")
    with open(path, "rb") as fh:
        head = fh.read(9)
    if len(head) < 9 or head[8:9] != b"{" or struct.unpack("<Q", head[:8])[0] <= 0:
        raise CheckpointError(f"{path}: not a safetensors file (bad header)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable safetensors file: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _read_json(path: Path) -> dict[str, Any]:
    refuse_pickle(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: missing checkpoint file")
    return read_json_object(path)


def read_json_object(path: str | Path) -> dict[str, Any]:
    """The JSON object (dict) in ``path``; CheckpointError naming the file for invalid
    JSON or any other JSON value (a list where a config belongs)."""
    try:
        obj = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"{path}: expected a JSON object {{...}}, got a {type(obj).__name__}; the file "
            "was not written by wmplan (restore it, or start over in a new directory)"
        )
    return obj


def check_finite(tensors: dict[str, torch.Tensor], source: str | Path) -> None:
    """CheckpointError naming the first tensor holding NaN or inf: a model with
    non-finite weights plans garbage without any error."""
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise CheckpointError(
                f"{source}: tensor {name!r} holds {bad} non-finite value(s) (NaN/inf); the "
                "weights are unusable: retrain, or load an earlier checkpoint"
            )


# --- state dicts -----------------------------------------------------------------
def state_to_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies of the state dict (safetensors needs contiguous storage,
    and refuses tensors sharing memory: tied weights are stored once per name)."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}


def load_tensors_into(model: nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """Copy ``tensors`` into ``model``; CheckpointError naming the first bad tensor."""
    check_finite(tensors, source)
    expected = model.state_dict()
    for name, ref in expected.items():
        if name not in tensors:
            raise CheckpointError(
                f"{source}: missing tensor {name!r} (expected shape {list(ref.shape)})"
            )
        if tuple(tensors[name].shape) != tuple(ref.shape):
            raise CheckpointError(
                f"{source}: tensor {name!r} has shape {list(tensors[name].shape)} but the model "
                f"expects {list(ref.shape)} (was the checkpoint written with another config?)"
            )
    unexpected = sorted(set(tensors) - set(expected))
    if unexpected:
        raise CheckpointError(f"{source}: unexpected tensors {unexpected[:5]} not in the model")
    model.load_state_dict(tensors, strict=True)


def optimizer_to_state(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer's state dict into tensors (safetensors) and scalars (JSON)."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_state(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict
) -> None:
    """Inverse of ``optimizer_to_state``."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for name, value in meta["scalars"].items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    # JSON turned tuples (betas) into lists; give them back their type.
    groups = [{k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
              for g in meta["param_groups"]]  # fmt: skip
    opt.load_state_dict({"state": state, "param_groups": groups})


# --- save / load -------------------------------------------------------------------
def save_checkpoint(
    directory: str | Path,
    model: nn.Module,
    model_config: dict[str, Any],
    metadata: dict[str, Any] | None = None,
    trainer_tensors: dict[str, torch.Tensor] | None = None,
    trainer_json: dict[str, Any] | None = None,
    fmt: str = FORMAT,
) -> Path:
    """Write a checkpoint directory atomically (temporary directory, then rename).

    An existing ``directory`` is replaced. ``fmt`` labels what the weights are (a
    world model by default; model-free baselines use their own). Returns ``directory``.
    """
    directory = Path(directory)
    weights = state_to_tensors(model)
    check_finite(weights, directory)  # never write a checkpoint nobody can use
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(directory)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_file(weights, str(tmp / MODEL_FILE), metadata={"format": fmt})
    config = {"format": fmt, "version": VERSION, "model": model_config,
              "metadata": metadata or {}}  # fmt: skip
    write_json_atomic(tmp / CONFIG_FILE, config)
    if trainer_tensors is not None:
        save_file(trainer_tensors, str(tmp / TRAINER_TENSORS), metadata={"format": fmt})
    if trainer_json is not None:
        write_json_atomic(tmp / TRAINER_JSON, trainer_json)
    for f in tmp.iterdir():
        fsync_path(f)
    fsync_path(tmp)
    if directory.exists():
        # rename() cannot replace a non-empty directory: move the old one aside first.
        old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
        os.replace(directory, old)
        publish(tmp, directory)
        shutil.rmtree(old)
    else:
        publish(tmp, directory)
    return directory


def resolve(path: str | Path) -> Path:
    """Checkpoint directory for ``path``: a checkpoint dir, a run dir or its ``checkpoints/``."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    refuse_pickle(path)
    if path.is_file():
        if path.name in (MODEL_FILE, CONFIG_FILE):
            return path.parent
        raise CheckpointError(
            f"{path}: expected a checkpoint directory (with {MODEL_FILE} and {CONFIG_FILE})"
        )
    if (path / CONFIG_FILE).is_file():
        return path
    for ckpts in (path / "checkpoints", path):
        latest = ckpts / LATEST
        if latest.is_file():
            try:
                name = latest.read_bytes().decode().strip()
            except UnicodeDecodeError:
                name = ""
            target = ckpts / name
            if not name or Path(name).name != name or not target.is_dir():
                raise CheckpointError(
                    f"{latest}: names {name[:80]!r}, which is not a checkpoint directory "
                    f"beside it; point it at one of the step_* directories in {ckpts}"
                )
            refuse_pickle(target)
            return target
    raise CheckpointError(
        f"{path}: not a checkpoint (no {CONFIG_FILE}, and no checkpoints/{LATEST} pointer)"
    )


def read_config(path: str | Path, fmt: str = FORMAT) -> dict[str, Any]:
    """The checkpoint's ``config.json``, checked to be of format ``fmt``."""
    ckpt = resolve(path)
    config = _read_json(ckpt / CONFIG_FILE)
    if config.get("format") != fmt:
        raise CheckpointError(
            f"{ckpt / CONFIG_FILE}: format is {config.get('format')!r}, expected {fmt!r}"
        )
    version = config.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{ckpt / CONFIG_FILE}: version must be an integer, got {version!r}")
    if version > VERSION:
        raise CheckpointError(
            f"{ckpt}: checkpoint version {config['version']} is newer than this wmplan ({VERSION})"
        )
    for key in ("model", "metadata"):
        if not isinstance(config.get(key, {}), dict):
            raise CheckpointError(
                f"{ckpt / CONFIG_FILE}: {key!r} must be a JSON object, got {config[key]!r:.80}"
            )
    return config


def load_weights(path: str | Path, model: nn.Module) -> Path:
    """Load ``model.safetensors`` of the checkpoint at ``path`` into ``model``; returns its dir."""
    ckpt = resolve(path)
    load_tensors_into(model, _read_safetensors(ckpt / MODEL_FILE), ckpt / MODEL_FILE)
    return ckpt


def load_model(path: str | Path):
    """Build the world model described by a checkpoint and load its weights (eval mode).

    Returns ``(model, config_json)``.
    """
    config = read_config(path)
    try:
        model_config = ModelConfig.from_dict(config["model"])
        model = build_model(model_config)
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(
            f"{resolve(path) / CONFIG_FILE}: bad model config: {_first_line(exc)}"
        ) from exc
    load_weights(path, model)
    model.eval()
    return model, config


def load_trainer_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, json)`` of the checkpoint's resume state."""
    ckpt = resolve(path)
    return _read_safetensors(ckpt / TRAINER_TENSORS), _read_json(ckpt / TRAINER_JSON)


def update_latest(checkpoints_dir: str | Path, name: str, keep: int = 2) -> None:
    """Point ``latest`` at ``name`` atomically and delete all but the ``keep`` newest steps."""
    checkpoints_dir = Path(checkpoints_dir)
    write_text_atomic(checkpoints_dir / LATEST, name + "\n")
    steps = sorted(p for p in checkpoints_dir.glob("step_*") if p.is_dir())
    for old in steps[:-keep] if keep > 0 else []:
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
