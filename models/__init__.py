"""Reference world models shipped with wmplan as package data (``wmplan.models``).

Each model is a checkpoint directory named ``wm-<task>`` (``wm-reacher``,
``wm-tworoom``, ``wm-push``) holding ``model.safetensors`` + ``config.json``;
how they were trained and what they score is in README.md beside this file.
``shipped_model("wm-reacher")`` finds one in the installed package, wherever
the package is installed (editable checkout or wheel).
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def shipped_models() -> list[str]:
    """Names of the models shipped in this install, sorted."""
    return sorted(p.name for p in _HERE.iterdir() if (p / "config.json").is_file())


def shipped_model(name: str) -> Path | None:
    """The directory of the shipped model ``name`` (e.g. 'wm-reacher'), or None."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    path = _HERE / name
    return path if (path / "config.json").is_file() else None
