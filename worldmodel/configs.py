"""Shared checks for config dataclasses: unknown fields by name, integer ranges; and
reading a config file (JSON or YAML).

Every config (``ModelConfig``, ``TrainConfig``, the baselines' configs, suite files)
rejects bad input the same way, with a message naming the field and the value.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def from_dict(cls: type[T], d: Mapping[str, Any], what: str | None = None) -> T:
    """``cls(**d)`` after rejecting keys that are not fields of the dataclass ``cls``.

    ``what`` names the config in the message (default: the class name)."""
    if not isinstance(d, Mapping):
        raise ValueError(f"{what or cls.__name__} must be a mapping, got {d!r:.80}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ValueError(
            f"unknown {what or cls.__name__} fields {sorted(unknown)}; valid: {sorted(known)}"
        )
    return cls(**d)


def check_ints(config: Any, names: Iterable[str], minimum: int = 1) -> None:
    """Raise ValueError unless each field in ``names`` is an int (not bool) >= ``minimum``."""
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a JSON or YAML config file; ValueError naming the file (and the
    line, for YAML/JSON syntax errors) for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--config {path}: no such file")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            d = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ValueError(f"{path}{line}: not valid YAML (safe subset): {reason}") from None
    else:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a mapping of config fields, got a {type(d).__name__}")
    return d


class ConfigError(ValueError):
    """A bad value in a config dataclass; ``field`` names the offending field (suite
    files add the file and line, see ``benchmarks/suite.py``)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
