"""A baseline run directory's log: its config, ``metrics.jsonl``, progress bar and
learning curve.

    RUN/run_config.json      the run's config; a rerun with another config is refused
    RUN/metrics.jsonl        one record per log step (training losses, evaluations)
    RUN/learning_curve.png   success rate (goal tasks) or return vs env/gradient steps

On resume, records logged after the checkpoint resumed from are dropped so the
curve has no duplicate points. ``sink`` (e.g. the CLI's JSONL/wandb run log) gets
every record too.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wmplan.worldmodel.files import atomic_path, write_json_atomic, write_text_atomic


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a training loop on ``n`` torch threads (process-wide; restored after)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


RUN_CONFIG, METRICS = "run_config.json", "metrics.jsonl"
CURVE = "learning_curve.png"
# Fields that may change between a run and its resumption (how long, how often).
VOLATILE = frozenset(
    {"steps", "threads", "eval_every", "eval_episodes", "log_every", "checkpoint_every",
     "keep_checkpoints", "out"}
)  # fmt: skip


def _field_defaults(cls: type) -> dict[str, Any]:
    """A config dataclass's plain (JSON) field defaults: what a field missing from a run
    saved before the field existed held."""
    return {
        f.name: list(f.default) if isinstance(f.default, tuple) else f.default
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING
    }


class TrainLog:
    """See the module docstring. ``x_key`` is the curve's x axis field."""

    def __init__(
        self,
        run_dir: str | Path,
        config: Any,
        x_key: str,
        sink: Callable[[dict[str, Any]], None] | None = None,
    ):
        """``config``: the run's config dataclass; its ``to_dict()`` is what is saved."""
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.x_key, self.sink = x_key, sink
        path, current = self.dir / RUN_CONFIG, config.to_dict()
        if path.exists():
            # A field the saved config predates held its default.
            saved = {**_field_defaults(type(config)), **json.loads(path.read_text())}
            diff = sorted(
                k
                for k in set(saved) | set(current)
                if k not in VOLATILE and saved.get(k) != current.get(k)
            )
            if diff:
                raise ValueError(
                    f"{self.dir} holds a run with a different config (fields {diff}); use a new "
                    "--out, or the same options to resume it"
                )
        write_json_atomic(path, current)
        self.path = self.dir / METRICS

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(ln) for ln in self.path.read_text().splitlines() if ln.strip()]

    def last(self) -> dict[str, Any]:
        records = self.records()
        return records[-1] if records else {}

    def append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.sink is not None:
            self.sink(record)

    def truncate(self, x: int) -> None:
        """Drop records past ``x`` (the step a resumed run restarts from)."""
        keep = [r for r in self.records() if r.get(self.x_key, 0) <= x]
        write_text_atomic(self.path, "".join(json.dumps(r) + "\n" for r in keep))

    def progress(self, total: int, initial: int, enabled: bool, desc: str):
        """A tqdm bar (None when disabled)."""
        if not enabled:
            return None
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True,
                    mininterval=1.0 if sys.stderr.isatty() else 30.0)  # fmt: skip

    def plot(self) -> Path | None:
        """Write the learning curve PNG from the evaluation records; None if none."""
        evals = [r for r in self.records() if "success_rate" in r or "return_mean" in r]
        if not evals:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        key = "success_rate" if "success_rate" in evals[-1] else "return_mean"
        xs = [r[self.x_key] for r in evals]
        ys = [r[key] for r in evals]
        fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
        ax.plot(xs, ys, marker="o")
        if key == "success_rate" and all("success_low" in r for r in evals):
            lo = [r["success_low"] for r in evals]
            hi = [r["success_high"] for r in evals]
            ax.fill_between(xs, lo, hi, alpha=0.25, label="95% interval")
            ax.set_ylim(-0.02, 1.02)
            ax.legend(loc="lower right")
        ax.set_xlabel(self.x_key.replace("_", " "))
        ax.set_ylabel(key.replace("_", " "))
        ax.set_title(self.dir.name)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out = self.dir / CURVE
        with atomic_path(out) as tmp:
            fig.savefig(tmp)
        plt.close(fig)
        return out
