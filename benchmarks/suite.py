"""Benchmark suites: tasks x agents x seeds x episodes under one protocol.

A suite is a frozen dataclass tree (``SuiteConfig``) that Python code, the CLI and
YAML suite files share. ``load_suite("quick")`` reads a built-in suite from
``benchmarks/suites/``; ``load_suite("path/to/file.yaml")`` reads a file. Errors in a
file name the file, the line, the field and the valid choices::

    my.yaml:7: agents[1].kind: unknown agent kind 'orcale'; valid: oracle, random, wm

A suite file::

    name: quick
    tasks: [wmplan/Reacher-v0, wmplan/TwoRoom-v0]
    seeds: [0]
    episodes: 10
    protocol: {goal_offset: 25, budget: 50}
    agents:
      - {name: random, kind: random}
      - name: oracle-cem
        kind: oracle
        planner: {name: cem, num_samples: 300, iterations: 30}
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

import wmplan.envs
from wmplan.agents.spec import NAME_RE, AgentSpec, PlannerSpec, check_settings
from wmplan.benchmarks.protocol import PROTOCOL_VERSION, ProtocolConfig
from wmplan.worldmodel.configs import ConfigError

SUITES_DIR = Path(__file__).resolve().parent / "suites"
Scalar = bool | int | float | str


class SuiteError(ValueError):
    """An invalid suite file: the message starts with ``file:line: field``."""


def _check_rel_path(value: str, field_name: str) -> None:
    """Reject absolute paths and '..' components: a suite file must not write outside
    the directory it is given."""
    p = PurePosixPath(value.replace("\\", "/"))
    if not value or p.is_absolute() or re.match(r"^[A-Za-z]:", value) or ".." in p.parts:
        raise ConfigError(
            field_name, f"must be a relative path without '..' (inside the runs dir), got {value!r}"
        )


@dataclass(frozen=True)
class SuiteConfig:
    """Tasks x agents x seeds x episodes under one protocol.

    ``record_episodes``: frames of the first N episodes of each (task, agent) on the
    first seed are kept as GIFs (observation | goal) for the report's best/worst
    videos; 0 records none. ``skip_missing``: agents whose model or code is not
    available are skipped with a printed note instead of failing the run.
    ``run_name``: default output directory under the runs root (relative, no '..').
    """

    name: str
    tasks: tuple[str, ...]
    agents: tuple[AgentSpec, ...]
    seeds: tuple[int, ...] = (0,)
    episodes: int = 10
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    episodes_per_job: int = 5
    record_episodes: int = 2
    skip_missing: bool = False
    run_name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise ConfigError("name", f"must be a non-empty label, got {self.name!r}")
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "agents", tuple(self.agents))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        if not self.tasks:
            raise ConfigError(
                "tasks", f"must list at least one task; valid: {', '.join(wmplan.envs.TASKS)}"
            )
        for i, task in enumerate(self.tasks):
            if task not in wmplan.envs.TASKS:
                try:
                    wmplan.envs.check_task_id(task)
                except ValueError as exc:
                    raise ConfigError(f"tasks[{i}]", str(exc)) from None
        if len(set(self.tasks)) != len(self.tasks):
            raise ConfigError("tasks", f"duplicate task in {list(self.tasks)}")
        if not self.agents:
            raise ConfigError("agents", "must list at least one agent")
        names = [a.name for a in self.agents]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError("agents", f"agent names must be unique, repeated: {dupes}")
        if not self.seeds or any(
            not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in self.seeds
        ):
            raise ConfigError(
                "seeds", f"must be a non-empty list of integers >= 0, got {list(self.seeds)}"
            )
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError("seeds", f"duplicate seed in {list(self.seeds)}")
        for name, low in (("episodes", 1), ("episodes_per_job", 1), ("record_episodes", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(name, f"must be an integer >= {low}, got {value!r}")
        if not isinstance(self.skip_missing, bool):
            raise ConfigError("skip_missing", f"must be true or false, got {self.skip_missing!r}")
        if not self.run_name:
            object.__setattr__(self, "run_name", self.name)
        _check_rel_path(self.run_name, "run_name")

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as a suite file would hold it (round-trips through YAML)."""
        return {
            "name": self.name,
            "description": self.description,
            "tasks": list(self.tasks),
            "seeds": list(self.seeds),
            "episodes": self.episodes,
            "episodes_per_job": self.episodes_per_job,
            "record_episodes": self.record_episodes,
            "skip_missing": self.skip_missing,
            "run_name": self.run_name,
            "protocol": dataclasses.asdict(self.protocol),
            "agents": [a.to_dict() for a in self.agents],
        }

    def replace(self, **changes: Any) -> SuiteConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def config_hash(
    agent: AgentSpec, protocol: ProtocolConfig, extra: dict[str, Any] | None = None
) -> str:
    """Hash of everything that changes an episode's outcome apart from (task, agent
    name, seed, episode): the agent's settings (not its label) and the protocol.
    ``extra`` carries e.g. a checkpoint fingerprint. 16 hex characters."""
    d = agent.to_dict()
    d.pop("name")
    payload = {
        "agent": d,
        "protocol": dataclasses.asdict(protocol),
        "protocol_version": PROTOCOL_VERSION,
        **(extra or {}),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --- sweeps --------------------------------------------------------------------
def parse_sweep(items: list[str]) -> dict[str, tuple[Scalar, ...]]:
    """``["planner.num_samples=64,128", "planner.iterations=5,10"]`` ->
    ``{"planner.num_samples": (64, 128), "planner.iterations": (5, 10)}``.

    Keys: ``planner.<option>`` (planner settings of every agent that has a planner)
    or ``agent.<option>`` (agent options). Values are parsed as YAML scalars."""
    out: dict[str, tuple[Scalar, ...]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise ValueError(
                f"--sweep {item!r}: expected KEY=V1,V2,... e.g. planner.num_samples=64,128,300"
            )
        prefix, _, option = key.partition(".")
        if prefix not in ("planner", "agent") or not option.isidentifier():
            raise ValueError(
                f"--sweep {item!r}: key must be planner.<option> or agent.<option>, got {key!r}"
            )
        parsed = []
        for v in values.split(","):
            value = yaml.safe_load(v.strip())
            if not isinstance(value, bool | int | float | str):
                raise ValueError(f"--sweep {item!r}: {v!r} is not a number, string or bool")
            parsed.append(value)
        if key in out:
            raise ValueError(f"--sweep: {key} given twice")
        out[key] = tuple(parsed)
    return out


def apply_sweep(suite: SuiteConfig, sweep: dict[str, tuple[Scalar, ...]]) -> SuiteConfig:
    """Expand ``sweep`` (from ``parse_sweep``) into agent variants: each agent with a
    planner gets one variant per combination, named ``oracle[iterations=5,num_samples=64]``;
    agents without a planner are kept as they are (``planner.*`` keys do not apply)."""
    if not sweep:
        return suite
    keys = sorted(sweep)
    agents: list[AgentSpec] = []
    for agent in suite.agents:
        applies = [k for k in keys if k.startswith("agent.") or agent.planner is not None]
        if not applies:
            agents.append(agent)
            continue
        for combo in itertools.product(*(sweep[k] for k in applies)):
            planner, options = agent.planner, dict(agent.options)
            for key, value in zip(applies, combo, strict=True):
                prefix, option = key.split(".", 1)
                if prefix == "planner":
                    planner = planner.with_options(**{option: value})
                else:
                    options[option] = value
            label = ",".join(
                f"{k.split('.', 1)[1]}={v}" for k, v in zip(applies, combo, strict=True)
            )
            agents.append(
                dataclasses.replace(
                    agent,
                    name=f"{agent.name}[{label}]",
                    planner=planner,
                    options=tuple(options.items()),
                )
            )
    return suite.replace(agents=tuple(agents))


# --- YAML loading ----------------------------------------------------------------
def builtin_suites() -> list[str]:
    """Names of the suites shipped in ``benchmarks/suites/``."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def load_suite(name_or_path: str | Path) -> SuiteConfig:
    """A built-in suite by name (``quick``, ``standard``) or a YAML suite file."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        if str(name_or_path) not in builtin_suites():
            raise SuiteError(
                f"no suite named {str(name_or_path)!r}; built-in suites: "
                f"{', '.join(builtin_suites())}, or give a path to a .yaml file"
            )
        path = SUITES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"suite file {path} does not exist")
    return parse_suite(path.read_text(), str(path))


_SUITE_KEYS = {f.name for f in dataclasses.fields(SuiteConfig)}
_PROTOCOL_KEYS = {f.name for f in dataclasses.fields(ProtocolConfig)}
_AGENT_KEYS = {f.name for f in dataclasses.fields(AgentSpec)}


def _yaml_error(exc: yaml.YAMLError, filename: str, what: str) -> SuiteError:
    """``file:line: what: problem`` of a YAML parse or construction error."""
    mark = getattr(exc, "problem_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    return SuiteError(f"{filename}{line}: {what}: {getattr(exc, 'problem', None) or exc}")


class _Source:
    """Line numbers of a YAML document: maps a path of keys/indices to its node."""

    def __init__(self, text: str, filename: str):
        self.filename = filename
        try:
            self.root = yaml.compose(text)
        except yaml.YAMLError as exc:
            raise _yaml_error(exc, filename, "not valid YAML") from None

    def node(self, path: tuple) -> yaml.Node | None:
        """The deepest node along ``path``: the key node for a mapping field (its line
        is where the field is written), else the item or the closest parent."""
        node = self.root
        for i, part in enumerate(path):
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                pairs = [(k, v) for k, v in node.value if k.value == part]
                if not pairs:
                    return node
                node = pairs[0][0] if i == len(path) - 1 else pairs[0][1]
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and part < len(node.value)
            ):
                node = node.value[part]
            else:
                return node
        return node

    def error(self, path: tuple, message: str) -> SuiteError:
        node = self.node(path)
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        where = _path_str(path)
        return SuiteError(f"{self.filename}{line}: {where + ': ' if where else ''}{message}")


def _path_str(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _mapping(src: _Source, data: Any, path: tuple, valid: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise src.error(
            path, f"must be a mapping with keys {', '.join(sorted(valid))}, got {data!r}"
        )
    for key in data:
        if key not in valid:
            raise src.error(
                (*path, key), f"unknown field {key!r}; valid: {', '.join(sorted(valid))}"
            )
    return data


def parse_suite(text: str, filename: str = "<suite>") -> SuiteConfig:
    """Parse YAML suite text into a validated ``SuiteConfig``; errors are
    ``SuiteError`` naming ``filename``, the line, the field and the valid values."""
    src = _Source(text, filename)
    try:
        data = yaml.safe_load(text) if src.root is not None else None
    except yaml.YAMLError as exc:  # e.g. a !!python/... tag: safe_load refuses to build it
        raise _yaml_error(exc, filename, "not allowed in a suite file") from None
    data = _mapping(src, data, (), _SUITE_KEYS)
    for required in ("name", "tasks", "agents"):
        if required not in data:
            raise src.error((), f"missing required field {required!r}")
    if not isinstance(data["agents"], list):
        raise src.error(("agents",), "must be a list of agents ({name, kind, planner, ...})")
    if not isinstance(data["tasks"], list):
        raise src.error(("tasks",), "must be a list of task ids")
    agents = []
    for i, raw in enumerate(data["agents"]):
        raw = _mapping(src, raw, ("agents", i), _AGENT_KEYS)
        kwargs = dict(raw)
        if "planner" in raw and raw["planner"] is not None:
            planner = raw["planner"]
            if isinstance(planner, str):
                planner = {"name": planner}
            if not isinstance(planner, dict):
                raise src.error(
                    ("agents", i, "planner"),
                    f"must be a mapping {{name: cem, ...}}, got {planner!r}",
                )
            opts = {k: v for k, v in planner.items() if k != "name"}
            try:
                kwargs["planner"] = PlannerSpec(planner.get("name", "cem"), tuple(opts.items()))
            except ConfigError as exc:
                key = "name" if exc.field == "name" else None
                raise src.error(
                    ("agents", i, "planner", *([key] if key else [])), exc.message
                ) from None
        if "options" in raw:
            if not isinstance(raw["options"], dict):
                raise src.error(("agents", i, "options"), "must be a mapping")
            kwargs["options"] = tuple(raw["options"].items())
        for required in ("name", "kind"):
            if required not in raw:
                raise src.error(("agents", i), f"missing required field {required!r}")
        try:
            agents.append(AgentSpec(**kwargs))
        except ConfigError as exc:
            raise src.error(("agents", i, exc.field), exc.message) from None
        try:
            check_settings(agents[-1])
        except ValueError as exc:
            raise src.error(("agents", i, "planner"), str(exc)) from None
    kwargs = {k: v for k, v in data.items() if k not in ("agents", "protocol")}
    if "protocol" in data:
        proto = _mapping(src, data["protocol"] or {}, ("protocol",), _PROTOCOL_KEYS)
        try:
            kwargs["protocol"] = ProtocolConfig(**proto)
        except ConfigError as exc:
            raise src.error(("protocol", exc.field), exc.message) from None
    if isinstance(kwargs.get("seeds"), int):
        kwargs["seeds"] = [kwargs["seeds"]]
    for key in ("tasks", "seeds"):
        if key in kwargs and not isinstance(kwargs[key], list):
            raise src.error((key,), f"must be a list, got {kwargs[key]!r}")
    try:
        return SuiteConfig(agents=tuple(agents), **kwargs)
    except ConfigError as exc:
        path = tuple(int(p) if p.isdigit() else p for p in re.split(r"[\[\]]+", exc.field) if p)
        raise src.error(path, exc.message) from None


def dump_suite(suite: SuiteConfig) -> str:
    """YAML text of ``suite`` (``parse_suite(dump_suite(s)) == s``)."""
    return yaml.safe_dump(suite.to_dict(), sort_keys=False)
