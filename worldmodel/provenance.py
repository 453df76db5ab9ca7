"""What produced an artifact: package versions and the git commit of the code.

Checkpoints and benchmark result rows record these, so a number can be traced
back to the code and libraries that made it.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

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
