"""Baseline policies on disk: safetensors weights + JSON config, never a pickle.

A baseline checkpoint has the world model's layout (``wmplan.worldmodel.checkpoint``:
``model.safetensors``, ``config.json``, optional ``trainer.*`` resume state, a run
keeps ``checkpoints/step_XXXXXXXX`` and a ``latest`` pointer) with its own format
label, so neither kind is ever loaded as the other. ``config.json["model"]`` holds
what rebuilds the network: ``{"algo": ..., "obs": ObsSpec, ...}``.

Stable-Baselines3's own ``save``/``load`` go through cloudpickle; wmplan never calls
``SAC.load``/``PPO.load``: it rebuilds the policy from the JSON and loads the
weights. A ``.zip``/``.pkl``/``.pt`` policy file, or one whose bytes are a pickle,
is refused with a message saying why.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wmplan.worldmodel import checkpoint as ckpt

FORMAT = "wmplan.baseline"
BUFFER_FILE = "trainer_buffer.safetensors"  # "trainer" prefix: not part of the policy


def refuse_sb3_zip(path: str | Path) -> None:
    """CheckpointError if ``path`` is a Stable-Baselines3 ``.zip`` (pickled data inside)."""
    p = Path(path)
    if p.is_file() and (p.suffix.lower() == ".zip" or zipfile.is_zipfile(p)):
        raise ckpt.CheckpointError(
            f"{p}: a Stable-Baselines3 .zip holds pickled objects; wmplan refuses to load it "
            "(unpickling can run arbitrary code). Train with `wmplan baseline train`, which "
            "writes safetensors + JSON checkpoints."
        )


def resolve(path: str | Path) -> Path:
    """The checkpoint directory of a run dir or checkpoint dir (pickles refused)."""
    refuse_sb3_zip(path)
    return ckpt.resolve(path)


def save_policy(
    directory: str | Path,
    module: nn.Module,
    config: dict[str, Any],
    metadata: dict[str, Any],
    trainer_tensors: dict[str, torch.Tensor] | None = None,
    trainer_json: dict[str, Any] | None = None,
) -> Path:
    """Write one checkpoint directory atomically (see the module docstring)."""
    return ckpt.save_checkpoint(
        directory, module, config, metadata, trainer_tensors, trainer_json, fmt=FORMAT
    )


def read_config(path: str | Path) -> dict[str, Any]:
    """``config.json`` of a baseline checkpoint (format-checked, pickles refused)."""
    return ckpt.read_config(resolve(path), fmt=FORMAT)


def load_weights(path: str | Path, module: nn.Module) -> Path:
    """Load the checkpoint's ``model.safetensors`` into ``module``; returns its dir."""
    return ckpt.load_weights(resolve(path), module)


def load_trainer_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, json)`` resume state of a checkpoint."""
    return ckpt.load_trainer_state(resolve(path))


def arrays_to_tensors(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """numpy arrays -> contiguous tensors named ``prefix.key`` (for safetensors)."""
    return {f"{prefix}.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}


def tensors_to_arrays(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Inverse of ``arrays_to_tensors``."""
    n = len(prefix) + 1
    return {k[n:]: v.numpy() for k, v in tensors.items() if k.startswith(prefix + ".")}
