"""Output paths checked before any work starts: a file where a directory is wanted (or
the other way round), or a place nothing can be written, is refused naming the flag."""

from __future__ import annotations

import os
from pathlib import Path


class OutputError(ValueError):
    """An output path that cannot be written; checked before any work starts."""


def check_output(path: str | Path, flag: str, kind: str = "dir") -> None:
    """Raise OutputError naming ``flag`` unless ``path`` can be created or written as a
    ``kind`` ("dir" or "file"): refuses a file where a directory is wanted (and the
    other way round), and a location where nothing can be written."""
    import tempfile

    p = Path(path)
    if kind == "dir" and p.exists() and not p.is_dir():
        raise OutputError(f"{flag} {path}: exists and is not a directory; give a directory")
    if kind == "file" and p.is_dir():
        raise OutputError(f"{flag} {path}: is a directory; give a file path")
    probe = p if kind == "dir" else p.parent
    probe = Path(os.path.abspath(probe))
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{flag} {path}: {probe} is a file, so no directory can be made there")
    try:
        tempfile.TemporaryFile(dir=probe).close()
    except OSError as exc:
        raise OutputError(
            f"{flag} {path}: cannot write in {probe} ({exc.strerror or exc}); choose a "
            "writable location"
        ) from None
