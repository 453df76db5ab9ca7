"""``make_agent(spec, task_id, env, seed)``: an ``AgentSpec`` -> an ``Agent``.

Like ``planners.make_planner``, this is the one place agents are built; the kinds
and what each needs are in ``agents/kinds.py``. Agent code is imported when a kind
is built, so naming an agent whose checkpoint or optional package is missing gives
a clear message (``availability``) instead of an ImportError deep inside a worker.
Loading a checkpoint (``load_model``) is separate from building the agent, so that
a caller running many episodes loads each model once (``benchmarks/workers.py``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from wmplan.agents.base import Agent, RandomAgent
from wmplan.agents.kinds import AGENT_KINDS
from wmplan.agents.spec import AgentSpec
from wmplan.models import shipped_model, shipped_models
from wmplan.worldmodel.checkpoint import CheckpointError, read_config, resolve

COST_OPTIONS = ("cost_mode", "cost_discount", "cost_metric", "cost_latent_weight")


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
    p = Path(path)
    if not p.exists():
        return shipped_model(str(path))
    try:
        return Path(resolve(p))
    except (ValueError, FileNotFoundError):
        return None


def _checkpoint_problem(path: str | Path, fmt: str = "wmplan.worldmodel") -> str | None:
    """Why the checkpoint at ``path`` cannot be loaded (missing, empty, a refused
    pickle, a bad config.json or one of another format than ``fmt``), or None if its
    config reads fine."""
    try:
        read_config(path, fmt=fmt)
    except CheckpointError as exc:
        return str(exc)
    return None


def availability(spec: AgentSpec, task_id: str) -> str | None:
    """None if ``spec`` can run on ``task_id`` here, else why not."""
    kind = AGENT_KINDS[spec.kind]
    modules = kind.requires
    if spec.kind == "python":
        modules = (dict(spec.options)["entry_point"].split(":")[0],)
    for module in modules:
        if not _module_available(module):
            return f"agent {spec.name!r}: {module} is not available in this install"
    if kind.needs_checkpoint:
        path = spec.checkpoint_for(task_id)
        if not Path(path).exists() and resolve_checkpoint(path) is None:
            return (
                f"agent {spec.name!r}: no checkpoint at {path} for {task_id}, and no shipped "
                f"model of that name (shipped: {', '.join(shipped_models()) or 'none'}); "
                f"train one with `{kind.train_hint.format(task=task_id, path=path)}`"
            )
        problem = _checkpoint_problem(resolve_checkpoint(path) or path, kind.checkpoint_format)
        if problem is not None:
            return f"agent {spec.name!r} on {task_id}: {problem}"
    return None


def fingerprint(spec: AgentSpec, task_id: str) -> dict[str, str]:
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


def _model_key(spec: AgentSpec, task_id: str) -> str:
    """The resolved checkpoint directory ``spec`` loads on ``task_id``."""
    path = spec.checkpoint_for(task_id)
    if spec.kind == "wm":
        ckpt = resolve_checkpoint(path)
        if ckpt is None:
            raise AgentUnavailable(f"no world-model checkpoint at {path}")
        return str(ckpt.resolve())
    from wmplan.agents.baselines import checkpoint as bckpt

    return str(bckpt.resolve(path).resolve())


def _load(spec: AgentSpec, task_id: str, models: dict[str, Any] | None) -> Any:
    """What ``spec`` loads from its checkpoint (a ``WorldModel`` or a baseline's
    harness agent), from ``models`` if an earlier call loaded it there."""
    key = _model_key(spec, task_id)
    if models is not None and key in models:
        return models[key]
    if spec.kind == "wm":
        from wmplan.agents.wm import WorldModel

        loaded = WorldModel.load(Path(key))
    else:
        from wmplan.agents.baselines.agent import load_agent

        loaded = load_agent(spec.checkpoint_for(task_id))
    if models is not None:
        models[key] = loaded
    return loaded


def make_agent(
    spec: AgentSpec,
    task_id: str,
    env: Any,
    seed: int,
    *,
    models: dict[str, Any] | None = None,
    nthread: int | None = None,
) -> Agent:
    """A fresh agent for one episode of ``task_id``; ``env`` is the (wrapped)
    gymnasium env, ``seed`` the agent's own seed. ``models``: checkpoints loaded so
    far, by resolved path (a caller that keeps it across episodes loads each model
    once; None: load every time); ``nthread``: threads the agent may use for its own
    work (simulator rollouts; None: the agent decides)."""
    reason = availability(spec, task_id)
    if reason is not None:
        raise AgentUnavailable(reason)
    if spec.kind == "random":
        space = env.action_space
        return RandomAgent(
            int(np.prod(space.shape)),
            seed=seed,
            low=float(space.low.min()),
            high=float(space.high.max()),
        )
    if spec.kind == "oracle":
        return _make_oracle(spec, seed, nthread)
    if spec.kind == "python":
        return _make_python(spec, task_id, env, seed)
    if spec.kind == "wm":
        return _make_wm(spec, task_id, seed, _load(spec, task_id, models))
    _check_baseline(spec, task_id, env)
    # One agent per cache: its only per-episode state (goal, frame stack) is
    # replaced by reset(), which the harness calls before every episode.
    return _load(spec, task_id, models)


def _call(factory: Any, **kwargs: Any) -> Agent:
    """Call an agent class or entry point, turning a bad setting into a ValueError
    that names the agent's settings."""
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{factory.__qualname__}: bad settings {sorted(kwargs)}: {exc}") from exc


def _make_oracle(spec: AgentSpec, seed: int, nthread: int | None) -> Agent:
    from wmplan.agents.oracle import OracleMPCAgent

    options = dict(spec.options)
    if nthread is not None:
        options.setdefault("nthread", nthread)
    return _call(
        OracleMPCAgent,
        planner=spec.planner.name,
        planner_config=spec.planner.config(),
        seed=seed,
        **options,
    )


def _make_wm(spec: AgentSpec, task_id: str, seed: int, model: Any) -> Agent:
    """``MPCAgent`` over the task's world model; options: ``horizon``,
    ``replan_every``, ``cost_mode`` ('final', 'all' or 'min'), ``cost_discount``, ``cost_metric``
    ('auto', 'latent' or 'reach'), ``cost_latent_weight``; defaults come from the model's
    ``planning.json`` when it has one."""
    from wmplan.agents.costs import LatentGoalCost
    from wmplan.agents.mpc import MPCAgent

    # The model's validated planning settings, then the spec's own options over them.
    options = {**model.planning, **dict(spec.options)}
    cost = {k[5:]: options.pop(k) for k in COST_OPTIONS if k in options}
    trained_on = model.checkpoint_config.get("metadata", {}).get("task") or ""
    if trained_on and trained_on != task_id:
        raise ValueError(
            f"agent {spec.name!r}: the world model at {spec.checkpoint_for(task_id)} was "
            f"trained on {trained_on}, not {task_id}"
        )
    return _call(
        MPCAgent,
        model=model,
        planner=spec.planner.name,
        planner_config=spec.planner.config(),
        seed=seed,
        cost=LatentGoalCost(**cost),
        **options,
    )


def _make_python(spec: AgentSpec, task_id: str, env: Any, seed: int) -> Agent:
    """The documented ``python`` kind: the user's ``module:callable`` entry point."""
    options = dict(spec.options)
    module_name, attr = options.pop("entry_point").split(":")
    options.pop("privileged", None)
    factory = getattr(importlib.import_module(module_name), attr, None)
    if factory is None:
        raise AgentUnavailable(f"agent {spec.name!r}: {module_name} has no {attr!r}")
    if spec.planner is not None:
        options.update(planner=spec.planner.name, planner_options=spec.planner.settings)
    return _call(factory, env=env, seed=seed, task_id=task_id, **options)


def _check_baseline(spec: AgentSpec, task_id: str, env: Any) -> None:
    """Refuse a checkpoint that holds another algorithm or task than ``spec`` asks
    for, or a policy trained at another action repeat than ``env`` steps with
    (checked for every spec, loaded already or not)."""
    from wmplan.agents.baselines import checkpoint as bckpt

    path = spec.checkpoint_for(task_id)
    model = bckpt.read_config(path)["model"]
    if model.get("algo") != spec.kind or model.get("task") != task_id:
        raise ValueError(
            f"agent {spec.name!r}: {path} holds a {model.get('algo')} policy for "
            f"{model.get('task')}, not {spec.kind} for {task_id}"
        )
    trained = int(model.get("action_repeat", 1))
    repeat = getattr(env.unwrapped, "action_repeat", 1)
    if trained != repeat:
        raise ValueError(
            f"agent {spec.name!r}: {path} was trained with action_repeat {trained}, "
            f"the episode steps with action_repeat {repeat}"
        )
