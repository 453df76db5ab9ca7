"""Experiment tracking: the one place wmplan starts a wandb run.

Offline by default (no network needed; sync later with ``wandb sync``). An offline
run is started without ``WANDB_API_KEY`` in the environment, so the key never reaches
wandb's files or its service process; callers never put it in ``config``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

WANDB_MODES = ("offline", "online")


def start_wandb(
    mode: str,
    project: str,
    name: str | None,
    config: dict[str, Any],
    dir: str | Path,
    resume: bool = False,
) -> Any:
    """A wandb run logging to ``dir`` (``mode`` "offline" or "online"); ``resume``
    continues the run of the same name. ValueError if wandb is not installed."""
    if mode not in WANDB_MODES:
        raise ValueError(f"wandb mode must be one of {WANDB_MODES}, got {mode!r}")
    try:
        import wandb
    except ImportError:
        raise ValueError(
            "wandb logging was asked for but wandb is not installed: "
            "pip install 'wmplan[wandb]' (or drop --wandb)"
        ) from None
    fields = getattr(wandb.Settings, "model_fields", None) or {}
    quiet = {"x_disable_stats": True} if "x_disable_stats" in fields else {}
    saved_key = os.environ.pop("WANDB_API_KEY", None) if mode == "offline" else None
    try:
        # dir= rather than WANDB_DIR: wandb reads the environment once per process, so a
        # second run in the same process would log beside the first.
        return wandb.init(
            project=project,
            name=name,
            config=config,
            mode=mode,
            dir=str(dir),
            resume="allow" if resume else None,
            settings=wandb.Settings(console="off", **quiet),
        )
    finally:
        if saved_key is not None:
            os.environ["WANDB_API_KEY"] = saved_key
