"""An exclusive lock held by an open file: a second writer of the same output is
refused at once. The kernel drops the lock when the holder dies, even by SIGKILL,
so a killed run never leaves a stale lock behind."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO


class LockBusy(ValueError):
    """Another process holds the lock."""


def hold_lock(path: str | Path, busy: str, error: type[Exception] = LockBusy) -> IO:
    """Take the lock at ``path`` (created if needed) and return its open file: the lock
    lasts until that file is closed or the process ends. ``error(busy)`` if another
    process holds it."""
    handle = open(path, "a")  # kept open: it is the lock
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise error(busy) from None
    return handle
