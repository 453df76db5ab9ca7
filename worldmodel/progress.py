"""Progress output that suits where it goes: a live bar on a terminal, a plain
line every few seconds in a log file, or nothing.

    bar = progress(total=1500, desc="train", mode="auto", unit="step")
    bar.update(1); bar.set_postfix(loss=0.12); bar.close()

``mode``: ``"auto"`` (a bar when stderr is a terminal, else lines), ``"bar"``,
``"lines"`` or ``"none"``. A redrawn bar written to a file is hundreds of
carriage-return frames on one line; lines mode writes one readable line per
``interval`` seconds (and one at the end) instead.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

PROGRESS_MODES = ("auto", "bar", "lines", "none")
LINE_INTERVAL_S = 10.0


def check_mode(mode: str) -> str:
    """``mode`` if valid, else ValueError naming the valid modes."""
    if mode not in PROGRESS_MODES:
        raise ValueError(f"progress must be one of {', '.join(PROGRESS_MODES)}, got {mode!r}")
    return mode


class LineProgress:
    """tqdm's ``update``/``set_postfix``/``set_postfix_str``/``close`` as plain lines,
    at most one per ``interval`` seconds."""

    def __init__(
        self,
        total: int,
        desc: str,
        unit: str,
        initial: int = 0,
        interval: float = LINE_INTERVAL_S,
        file: TextIO | None = None,
    ):
        self.total, self.desc, self.unit = total, desc, unit
        self.n, self.start_n = initial, initial
        self.interval = interval
        self.file = file or sys.stderr
        self.postfix = ""
        self.t0 = self.last = time.monotonic()
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._write(now)

    def set_postfix(self, refresh: bool = False, **values: Any) -> None:
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        self.postfix = text

    def _write(self, now: float) -> None:
        done = self.n - self.start_n
        rate = done / max(now - self.t0, 1e-9)
        eta = (self.total - self.n) / rate if rate > 0 else float("nan")
        pct = 100.0 * self.n / self.total if self.total else 100.0
        line = (
            f"{self.desc}: {self.n}/{self.total} {self.unit} ({pct:.0f}%), {rate:.3g} {self.unit}/s"
        )
        if eta == eta and self.n < self.total:  # not NaN
            line += f", {eta:.0f} s left"
        if self.postfix:
            line += f"; {self.postfix}"
        print(line, file=self.file, flush=True)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.n > self.start_n:
                self._write(time.monotonic())


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, refresh: bool = False, **values: Any) -> None:
        pass

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        pass

    def close(self) -> None:
        pass


def progress(total: int, desc: str, mode: str = "auto", unit: str = "it", initial: int = 0):
    """A progress reporter for ``mode`` (see the module docstring); every kind has
    ``update(n)``, ``set_postfix(**kw)``, ``set_postfix_str(s)`` and ``close()``."""
    check_mode(mode)
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "lines"
    if mode == "none":
        return _NoProgress()
    if mode == "lines":
        return LineProgress(total, desc, unit, initial)
    from tqdm import tqdm

    # mininterval: a bar redraws at most once a second, whatever calls update().
    return tqdm(
        total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True,
        smoothing=0.1, mininterval=1.0, file=sys.stderr,
    )  # fmt: skip
