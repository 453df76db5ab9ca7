"""Agent factory: an ``AgentSpec`` (kind + planner/model settings) -> an ``Agent``.

Agent code lives in ``wmplan.agents``; it is imported lazily here, so a suite can
name an agent whose code or checkpoint is missing and get a clear message
(``availability``) instead of an ImportError deep inside a worker.

| kind   | what                                            | needs              |
| ------ | ----------------------------------------------- | ------------------ |
| random | uniform random actions                          | -                  |
| oracle | MPC with the true simulator as the model        | planner            |
| wm     | MPC with a learned world model (latent goal)    | planner, checkpoint|
| python | any agent: ``options: {entry_point: "pkg.mod:make"}`` | (planner)    |
| sac, ppo | model-free policy (``wmplan baseline train``) | checkpoint, sb3 |
| gcbc, gciql | offline goal-conditioned policy (``wmplan baseline train``) | checkpoint |

A ``python`` agent is built by calling its entry point with ``env`` (the wrapped
gymnasium env), ``seed``, ``task_id``, its other options and, if the spec has a
planner, ``planner`` (name) and ``planner_options`` (dict); with option
``privileged: true`` it also gets the unwrapped env at ``reset``. Baselines that
the factory does not know yet plug in this way.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wmplan.agents.base import Agent, RandomAgent
from wmplan.agents.baselines import OFFLINE_ALGOS, ONLINE_ALGOS


@dataclass(frozen=True)
class AgentKind:
    """What an agent kind needs: a planner, a checkpoint, privileged env access."""

    modules: tuple[str, ...]
    needs_planner: bool = False
    accepts_planner: bool = False
    needs_checkpoint: bool = False
    privileged: bool = False
    help: str = ""
    train_hint: str = "wmplan train --task {task} --out {path} ..."
    checkpoint_format: str = "wmplan.worldmodel"  # the format label its config.json carries


AGENT_KINDS: dict[str, AgentKind] = {
    "random": AgentKind(("wmplan.agents.base",), help="uniform random actions"),
    "oracle": AgentKind(
        ("wmplan.agents.oracle",),
        needs_planner=True,
        privileged=True,
        help="MPC with the true MuJoCo simulator as the model (upper bound)",
    ),
    "wm": AgentKind(
        ("wmplan.agents.wm", "wmplan.agents.mpc"),
        needs_planner=True,
        needs_checkpoint=True,
        help="MPC with a learned world model and a latent goal cost",
    ),
    "python": AgentKind((), accepts_planner=True, help="an agent built by options.entry_point"),
    **{
        algo: AgentKind(
            ("wmplan.agents.baselines.agent",)
            + (("stable_baselines3",) if algo in ONLINE_ALGOS else ()),
            needs_checkpoint=True,
            help=f"{algo.upper()} policy trained by `wmplan baseline train {algo}`",
            train_hint=f"wmplan baseline train {algo} --task {{task}} --out {{path}} ...",
            checkpoint_format="wmplan.baseline",
        )
        for algo in ONLINE_ALGOS + OFFLINE_ALGOS
    },
}
ENTRY_POINT_RE = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"


class AgentUnavailable(RuntimeError):
    """An agent's code or model is not available here; the message says what to do."""


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def resolve_checkpoint(path: str | Path) -> Path | None:
    """The checkpoint directory ``path`` names (a run dir with ``checkpoints/latest``
    or a checkpoint dir), else the shipped model of that name (``wm-reacher``, from
    the installed package), or None if there is none."""
    from wmplan.models import shipped_model

    p = Path(path)
    if not p.exists():
        return shipped_model(str(path))
    try:
        from wmplan.worldmodel.checkpoint import resolve
    except ImportError:
        return p
    try:
        return Path(resolve(p))
    except (ValueError, FileNotFoundError):
        return None


def availability(spec: Any, task_id: str) -> str | None:
    """None if ``spec`` (an ``AgentSpec``) can run on ``task_id`` here, else why not."""
    kind = AGENT_KINDS[spec.kind]
    modules = kind.modules
    if spec.kind == "python":
        modules = (dict(spec.options)["entry_point"].split(":")[0],)
    for module in modules:
        if not _module_available(module):
            return f"agent {spec.name!r}: {module} is not available in this install"
    if kind.needs_checkpoint:
        path = spec.checkpoint_for(task_id)
        if not Path(path).exists() and resolve_checkpoint(path) is None:
            from wmplan.models import shipped_models

            return (
                f"agent {spec.name!r}: no checkpoint at {path} for {task_id}, and no shipped "
                f"model of that name (shipped: {', '.join(shipped_models()) or 'none'}); "
                f"train one with `{kind.train_hint.format(task=task_id, path=path)}`"
            )
        problem = checkpoint_problem(resolve_checkpoint(path) or path, kind.checkpoint_format)
        if problem is not None:
            return f"agent {spec.name!r} on {task_id}: {problem}"
    return None


def checkpoint_problem(path: str | Path, fmt: str = "wmplan.worldmodel") -> str | None:
    """Why the checkpoint at ``path`` cannot be loaded (missing, empty, a refused
    pickle, a bad config.json or one of another format than ``fmt``), or None if its
    config reads fine."""
    try:
        from wmplan.worldmodel.checkpoint import CheckpointError, read_config
    except ImportError:
        return None
    try:
        read_config(path, fmt=fmt)
    except CheckpointError as exc:
        return str(exc)
    return None


def fingerprint(spec: Any, task_id: str) -> dict[str, str]:
    """What identifies the model an agent loads (sha256 of its weights), so that a
    retrained checkpoint at the same path is not mistaken for finished work."""
    if not AGENT_KINDS[spec.kind].needs_checkpoint:
        return {}
    ckpt = resolve_checkpoint(spec.checkpoint_for(task_id))
    if ckpt is None:
        return {}
    files = (
        [ckpt]
        if ckpt.is_file()
        else sorted(ckpt.glob("*.safetensors")) + sorted(ckpt.glob("*.json"))
    )
    digest = hashlib.sha256()
    for f in files:
        if f.name.startswith("trainer"):
            continue  # optimizer state does not change the agent
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return {"checkpoint_sha256": digest.hexdigest()[:16]}


def check_settings(spec: Any) -> None:
    """Raise ValueError (naming the agent) if its planner settings are invalid, so
    that a typo fails before any worker starts. No-op while the planners package
    has no ``make_config``."""
    if spec.planner is None:
        return
    try:
        planners = importlib.import_module("wmplan.planners")
    except ImportError:
        return
    make_config = getattr(planners, "make_config", None)
    if make_config is None:
        return
    try:
        make_config(spec.planner.name, **spec.planner.settings)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"agent {spec.name!r}: planner {spec.planner.name!r}: {exc}") from None


def is_privileged(spec: Any) -> bool:
    """True if the agent gets the unwrapped env at reset (oracle MPC)."""
    if spec.kind == "python":
        return bool(dict(spec.options).get("privileged", False))
    return AGENT_KINDS[spec.kind].privileged


def build_agent(spec: Any, task_id: str, env: Any, seed: int) -> Agent:
    """A fresh agent for one episode: ``spec`` (``AgentSpec``) on ``task_id``;
    ``env`` is the (wrapped) gymnasium env, ``seed`` the agent's own seed."""
    reason = availability(spec, task_id)
    if reason is not None:
        raise AgentUnavailable(reason)
    builder = _BUILDERS[spec.kind]
    return builder(spec, task_id, env, seed)


def _build_random(spec: Any, task_id: str, env: Any, seed: int) -> Agent:
    space = env.action_space
    return RandomAgent(
        int(np.prod(space.shape)),
        seed=seed,
        low=float(space.low.min()),
        high=float(space.high.max()),
    )


def _call(factory: Any, **kwargs: Any) -> Agent:
    """Call an agent module's constructor, turning a bad setting into a ValueError
    that names the agent's settings."""
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{factory.__qualname__}: bad settings {sorted(kwargs)}: {exc}") from exc


def _planner_config(spec: Any) -> Any:
    """The planner's config object for ``spec.planner`` (name + options), built by
    ``wmplan.planners.make_config`` which validates the options."""
    planners = importlib.import_module("wmplan.planners")
    make_config = getattr(planners, "make_config", None)
    if make_config is None:
        raise AgentUnavailable("wmplan.planners has no make_config(name, **options) yet")
    return make_config(spec.planner.name, **spec.planner.settings)


# Threads an agent may use for its own work (simulator rollouts): set by the runner
# so that workers x threads does not exceed the cores.
_THREADS = {"n": None}


def set_agent_threads(n: int | None) -> None:
    """Cap the threads of agents built in this process (None: the agent decides)."""
    _THREADS["n"] = n


def _build_oracle(spec: Any, task_id: str, env: Any, seed: int) -> Agent:
    module = importlib.import_module("wmplan.agents.oracle")
    options = dict(spec.options)
    if _THREADS["n"] is not None:
        options.setdefault("nthread", _THREADS["n"])
    return _call(
        module.OracleMPCAgent,
        planner=spec.planner.name,
        planner_config=_planner_config(spec),
        seed=seed,
        **options,
    )


# World models loaded in this process, by resolved checkpoint path (an episode
# builds a fresh agent; loading the model once per worker keeps that cheap).
_MODELS: dict[str, Any] = {}


def _world_model(path: str) -> Any:
    ckpt = resolve_checkpoint(path)
    if ckpt is None:
        raise AgentUnavailable(f"no world-model checkpoint at {path}")
    key = str(ckpt.resolve())
    if key not in _MODELS:
        from wmplan.agents.wm import WorldModel

        _MODELS[key] = WorldModel.load(ckpt)
    return _MODELS[key]


COST_OPTIONS = ("cost_mode", "cost_discount", "cost_metric", "cost_latent_weight")


def _build_wm(spec: Any, task_id: str, env: Any, seed: int) -> Agent:
    """``MPCAgent`` over the task's world model; options: ``horizon``,
    ``replan_every``, ``cost_mode`` ('final' or 'all'), ``cost_discount``, ``cost_metric``
    ('auto', 'latent' or 'reach'), ``cost_latent_weight``; defaults come from the model's
    ``planning.json`` when it has one."""
    from wmplan.agents.costs import LatentGoalCost
    from wmplan.agents.mpc import MPCAgent

    path = spec.checkpoint_for(task_id)
    model = _world_model(path)
    # The model's validated planning settings, then the spec's own options over them.
    options = {**model.planning, **dict(spec.options)}
    cost = {k[5:]: options.pop(k) for k in COST_OPTIONS if k in options}
    trained_on = model.checkpoint_config.get("metadata", {}).get("task") or ""
    if trained_on and trained_on != task_id:
        raise ValueError(
            f"agent {spec.name!r}: the world model at {path} was trained on {trained_on}, "
            f"not {task_id}"
        )
    return _call(
        MPCAgent,
        model=model,
        planner=spec.planner.name,
        planner_config=_planner_config(spec),
        seed=seed,
        cost=LatentGoalCost(**cost),
        **options,
    )


def _build_python(spec: Any, task_id: str, env: Any, seed: int) -> Agent:
    options = dict(spec.options)
    module_name, attr = options.pop("entry_point").split(":")
    options.pop("privileged", None)
    factory = getattr(importlib.import_module(module_name), attr, None)
    if factory is None:
        raise AgentUnavailable(f"agent {spec.name!r}: {module_name} has no {attr!r}")
    if spec.planner is not None:
        options.update(planner=spec.planner.name, planner_options=spec.planner.settings)
    return _call(factory, env=env, seed=seed, task_id=task_id, **options)


# Baseline agents loaded in this process, by resolved checkpoint path.
_BASELINES: dict[str, Any] = {}


def _build_baseline(spec: Any, task_id: str, env: Any, seed: int) -> Agent:
    """A trained SAC/PPO/GCBC/GCIQL policy (deterministic: ``seed`` is unused)."""
    from wmplan.agents.baselines import checkpoint as bckpt
    from wmplan.agents.baselines.agent import load_agent

    path = spec.checkpoint_for(task_id)
    model = bckpt.read_config(path)["model"]  # checked for every spec, cached or not
    if model.get("algo") != spec.kind or model.get("task") != task_id:
        raise ValueError(
            f"agent {spec.name!r}: {path} holds a {model.get('algo')} policy for "
            f"{model.get('task')}, not {spec.kind} for {task_id}"
        )
    key = str(bckpt.resolve(path).resolve())
    if key not in _BASELINES:
        _BASELINES[key] = load_agent(path)
    # One agent per worker: its only per-episode state (goal, frame stack) is
    # replaced by reset(), which the harness calls before every episode.
    return _BASELINES[key]


_BUILDERS = {
    "random": _build_random,
    "oracle": _build_oracle,
    "wm": _build_wm,
    "python": _build_python,
    **{algo: _build_baseline for algo in ONLINE_ALGOS + OFFLINE_ALGOS},
}
