"""Atomic file writes: the one mechanism every writer in wmplan uses.

A reader never sees a half-written file: the bytes go to a temporary file in the
same directory (``.<name>.tmp-<pid>``), which is fsynced, renamed over the target
with ``os.replace`` and the directory fsynced, so the rename survives a power loss.
A writer that fails removes its temporary file and leaves the target as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TMP_MARK = ".tmp-"


def fsync_path(path: str | Path) -> None:
    """fsync a file or directory, so a rename after it survives a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(path: str | Path) -> Path:
    """The temporary name a writer of ``path`` uses (same directory, hidden, per process)."""
    path = Path(path)
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")


def publish(tmp: str | Path, path: str | Path) -> None:
    """Rename the finished temporary ``tmp`` over ``path``: fsync ``tmp`` (a file),
    ``os.replace`` it and fsync the directory, so the rename survives a power loss.

    For writers that cannot use ``atomic_path`` because the file stays open across
    calls (``EpisodeWriter``)."""
    tmp, path = Path(tmp), Path(path)
    if tmp.is_file():
        fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    The temporary keeps ``path``'s suffix (``.x.png.tmp-1`` would confuse writers that
    pick a format from the suffix, so it is ``.x.tmp-1.png``). Works for files and
    directories alike (a directory target must not exist yet).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}{TMP_MARK}{os.getpid()}{path.suffix}")
    try:
        yield tmp
        publish(tmp, path)
    except BaseException:
        if tmp.is_file() or tmp.is_symlink():
            tmp.unlink()
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode())


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=1, sort_keys=True))


def append_jsonl_durable(path: str | Path, row: dict[str, Any]) -> None:
    """Append one JSON line to ``path`` and fsync it: a row is on disk before the next
    piece of work starts, so a killed job resumes without redoing or losing it."""
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of the non-empty lines of ``path`` ([] when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
