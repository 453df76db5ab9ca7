"""Agents in a benchmark process: models loaded once per process, a thread cap.

Every episode gets a fresh agent (``wmplan.agents.make_agent``); the checkpoints
those agents load are kept here for the life of the process (a worker, or the
process running ``wmplan plan``), so that loading stays once per model. The runner
sets the thread cap so that workers x threads does not exceed the cores.
"""

from __future__ import annotations

from typing import Any

from wmplan.agents import AgentSpec, make_agent
from wmplan.agents.base import Agent

# Per-process state: loaded checkpoints by resolved path, and the thread cap.
_MODELS: dict[str, Any] = {}
_THREADS: dict[str, int | None] = {"n": None}


def set_agent_threads(n: int | None) -> None:
    """Cap the threads of agents built in this process (None: the agent decides)."""
    _THREADS["n"] = n


def build_agent(spec: AgentSpec, task_id: str, env: Any, seed: int) -> Agent:
    """``make_agent`` with this process's loaded models and thread cap."""
    return make_agent(spec, task_id, env, seed, models=_MODELS, nthread=_THREADS["n"])
