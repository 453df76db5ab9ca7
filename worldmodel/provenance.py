"""What produced an artifact: package versions, the git commit of the code, and the
dataset a model was trained on.

Checkpoints and benchmark result rows record these, so a number can be traced
back to the code, libraries and data that made it.
"""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

# The repository root of a source checkout (absent in an installed wheel).
_ROOT = Path(__file__).resolve().parent.parent


def package_version(name: str) -> str:
    """Installed version of ``name`` or ``"unknown"``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def git_commit() -> str | None:
    """``<sha10>`` or ``<sha10>-dirty`` of the checkout wmplan runs from; None when it
    is not a git checkout (an installed package) or git is missing."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(_ROOT), "rev-parse", "--short=10", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def provenance() -> dict[str, str | None]:
    """``{"wmplan": version, "torch": version, "git_commit": sha or None}``."""
    return {
        "wmplan": package_version("wmplan"),
        "torch": package_version("torch"),
        "git_commit": git_commit(),
    }


def data_metadata(data: str, run_dir: str, fingerprint: dict[str, Any] | None) -> dict[str, Any]:
    """The dataset ``data`` as given, as seen from the run directory (so a run moved
    together with its data, or used from another working directory, still finds it),
    and its fingerprint."""
    meta: dict[str, Any] = {"data": data, "data_fingerprint": fingerprint}
    if data:
        meta["data_from_run"] = os.path.relpath(Path(data).resolve(), Path(run_dir).resolve())
    return meta


def data_path_of(checkpoint_dir: str | Path, meta: dict[str, Any]) -> Path | None:
    """The dataset a checkpoint was trained on, resolved relative to its run directory
    (``<run>/checkpoints/step_X``), not the working directory; None if unrecorded."""
    rel = meta.get("data_from_run")
    if not isinstance(rel, str) or not rel:
        return None
    ckpt_dir = Path(checkpoint_dir)
    run = ckpt_dir.parent.parent if ckpt_dir.parent.name == "checkpoints" else ckpt_dir.parent
    return Path(os.path.normpath(run / rel))
