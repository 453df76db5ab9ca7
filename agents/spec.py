"""What an agent is, as data: ``AgentSpec`` (kind, planner, checkpoint, options).

Python code, the CLI and suite files (``benchmarks/suite.py``) share these frozen
dataclasses; ``wmplan.agents.make_agent`` builds an agent from one. A bad value
raises ``ConfigError`` naming the field, so a suite file can point at its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wmplan.agents.kinds import AGENT_KINDS, ENTRY_POINT_RE
from wmplan.envs import short_task
from wmplan.planners import PLANNERS, make_config
from wmplan.worldmodel.configs import ConfigError

# A label used in results and file names: agent and suite names.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-\[\]=,]*$")


def freeze(value: Any, where: str) -> Any:
    """Lists -> tuples; only JSON scalars (and tuples of them) are allowed."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v, where) for v in value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ConfigError(where, f"must be a number, string, bool or list, got {value!r}")


def checkpoint_path(template: str, task_id: str) -> str:
    """``template`` for ``task_id``: ``{task}`` -> short task name ('Reacher'),
    ``{task_lower}`` -> 'reacher'."""
    name = short_task(task_id)
    return template.replace("{task}", name).replace("{task_lower}", name.lower())


def _options_dict(options: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options}


@dataclass(frozen=True)
class PlannerSpec:
    """Which optimiser an MPC agent uses and its settings (passed to the planner's
    own config dataclass, which validates them)."""

    name: str = "cem"
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.name not in PLANNERS:
            raise ConfigError(
                "name", f"unknown planner {self.name!r}; valid: {', '.join(PLANNERS)}"
            )
        opts = dict(self.options)
        if len(opts) != len(self.options):
            raise ConfigError("options", "duplicate planner option")
        for key, value in self.options:
            if not isinstance(key, str) or not key.isidentifier():
                raise ConfigError("options", f"option names must be identifiers, got {key!r}")
            freeze(value, key)
        object.__setattr__(
            self, "options", tuple(sorted((k, freeze(v, k)) for k, v in opts.items()))
        )

    @property
    def settings(self) -> dict[str, Any]:
        """The options as a dict (e.g. ``{"num_samples": 300, "iterations": 30}``)."""
        return dict(self.options)

    def with_options(self, **changes: Any) -> PlannerSpec:
        """A copy with some options replaced or added."""
        return PlannerSpec(self.name, tuple({**self.settings, **changes}.items()))

    def config(self) -> Any:
        """The planner's validated config dataclass (``planners.make_config``)."""
        return make_config(self.name, **self.settings)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **_options_dict(self.options)}


@dataclass(frozen=True)
class AgentSpec:
    """One agent: a unique ``name`` (its label in results), a ``kind`` of
    ``AGENT_KINDS`` (random, oracle, wm, ...), planner settings for MPC agents, a
    checkpoint for learned ones (``{task}`` is replaced by the task's short name,
    e.g. ``runs/wm-{task}`` -> ``runs/wm-Reacher``), and free ``options`` for the
    agent itself."""

    name: str
    kind: str
    planner: PlannerSpec | None = None
    checkpoint: str | None = None
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise ConfigError(
                "name",
                f"must be a non-empty label of letters, digits and _.-[]=, got {self.name!r}",
            )
        if self.kind not in AGENT_KINDS:
            raise ConfigError(
                "kind", f"unknown agent kind {self.kind!r}; valid: {', '.join(sorted(AGENT_KINDS))}"
            )
        kind = AGENT_KINDS[self.kind]
        if kind.needs_planner and self.planner is None:
            raise ConfigError(
                "planner", f"agent kind {self.kind!r} needs a planner, e.g. {{name: cem}}"
            )
        if not (kind.needs_planner or kind.accepts_planner) and self.planner is not None:
            raise ConfigError("planner", f"agent kind {self.kind!r} takes no planner")
        if kind.needs_checkpoint and not self.checkpoint:
            raise ConfigError("checkpoint", f"agent kind {self.kind!r} needs a checkpoint path")
        if self.checkpoint is not None and not isinstance(self.checkpoint, str):
            raise ConfigError("checkpoint", f"must be a path string, got {self.checkpoint!r}")
        opts = dict(self.options)
        if self.kind == "python":
            entry = opts.get("entry_point")
            if not isinstance(entry, str) or not re.match(ENTRY_POINT_RE, entry):
                raise ConfigError(
                    "options",
                    "kind 'python' needs options.entry_point 'package.module:callable', "
                    f"got {entry!r}",
                )
        object.__setattr__(
            self, "options", tuple(sorted((k, freeze(v, k)) for k, v in opts.items()))
        )

    @property
    def privileged(self) -> bool:
        """True if the agent gets the unwrapped env at reset (oracle MPC)."""
        if self.kind == "python":
            return bool(dict(self.options).get("privileged", False))
        return AGENT_KINDS[self.kind].privileged

    def checkpoint_for(self, task_id: str) -> str | None:
        """The checkpoint path for ``task_id`` (``{task}`` -> short task name, e.g.
        'Reacher'; ``{task_lower}`` -> 'reacher')."""
        return None if self.checkpoint is None else checkpoint_path(self.checkpoint, task_id)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.planner is not None:
            d["planner"] = self.planner.to_dict()
        if self.checkpoint is not None:
            d["checkpoint"] = self.checkpoint
        if self.options:
            d["options"] = _options_dict(self.options)
        return d


def check_settings(spec: AgentSpec) -> None:
    """Raise ValueError (naming the agent) if its planner settings are invalid, so
    that a typo fails before any worker starts."""
    if spec.planner is None:
        return
    try:
        spec.planner.config()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"agent {spec.name!r}: planner {spec.planner.name!r}: {exc}") from None
