"""What each agent cost to train, read from its checkpoint: the experience it learned
from (online env steps, or the transitions of its offline dataset) and its training
wall time. The report puts these beside success, so agents compare at equal
experience (issue: world models and GCBC/GCIQL learn from the same 100k-step
datasets; SAC/PPO get 100k online env steps).

Agents without a checkpoint (random, oracle MPC) train nothing. A checkpoint that
does not record a figure (world models trained before it was recorded) shows '-'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wmplan.agents.factory import resolve_checkpoint
from wmplan.agents.spec import checkpoint_path


@dataclass(frozen=True)
class TrainingCost:
    """``env_steps``: online environment steps; ``transitions``: offline dataset size
    (env steps of the data the agent learned from); ``wall_s``: training wall time."""

    env_steps: int | None = None
    transitions: int | None = None
    wall_s: float | None = None
    gradient_steps: int | None = None

    def experience(self) -> str:
        if self.env_steps:
            return f"{self.env_steps:,} env steps (online)"
        if self.transitions:
            return f"{self.transitions:,} transitions (offline dataset)"
        return "-"

    def wall(self) -> str:
        return f"{self.wall_s:,.0f} s" if self.wall_s is not None else "-"


def training_cost(agent_config: dict[str, Any], task: str) -> TrainingCost | None:
    """The ``TrainingCost`` of the agent a result row names (its ``agent_config``) on
    ``task``; None when the agent has no checkpoint (nothing trained)."""
    template = agent_config.get("checkpoint")
    if not template:
        return None
    path = resolve_checkpoint(checkpoint_path(str(template), task))
    if path is None or not (Path(path) / "config.json").is_file():
        return TrainingCost()
    try:
        meta = json.loads((Path(path) / "config.json").read_text()).get("metadata", {})
    except (OSError, json.JSONDecodeError, AttributeError):
        return TrainingCost()
    if not isinstance(meta, dict):
        return TrainingCost()
    return TrainingCost(
        env_steps=_int(meta.get("env_steps")),
        transitions=_int(meta.get("dataset_transitions")),
        wall_s=_float(meta.get("train_wall_s")),
        gradient_steps=_int(meta.get("step")),
    )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


__all__ = ["TrainingCost", "training_cost"]
