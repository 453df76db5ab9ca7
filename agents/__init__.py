"""wmplan agents: MPC over a world model or the simulator, baselines, random.

    from wmplan.agents import AgentSpec, PlannerSpec, make_agent
    spec = AgentSpec("oracle", "oracle", planner=PlannerSpec("cem"))
    agent = make_agent(spec, "wmplan/Reacher-v0", env, seed=0)

``AGENT_KINDS`` lists the kinds and what each needs (``agents/kinds.py``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it. Imported on first use (PEP 562): the
# factory needs torch and the planners, and a light import of a submodule
# (``wmplan.agents.baselines``' algorithm names, for the CLI's parser) must not pay
# for them.
_EXPORTS = {
    "AgentUnavailable": "factory",
    "availability": "factory",
    "fingerprint": "factory",
    "make_agent": "factory",
    "resolve_checkpoint": "factory",
    "AGENT_KINDS": "kinds",
    "AgentKind": "kinds",
    "AgentSpec": "spec",
    "PlannerSpec": "spec",
    "check_settings": "spec",
    "short_task": "spec",
}

if TYPE_CHECKING:
    from wmplan.agents.factory import (
        AgentUnavailable,
        availability,
        fingerprint,
        make_agent,
        resolve_checkpoint,
    )
    from wmplan.agents.kinds import AGENT_KINDS, AgentKind
    from wmplan.agents.spec import AgentSpec, PlannerSpec, check_settings, short_task


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"wmplan.agents.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "AGENT_KINDS",
    "AgentKind",
    "AgentSpec",
    "AgentUnavailable",
    "PlannerSpec",
    "availability",
    "check_settings",
    "fingerprint",
    "make_agent",
    "resolve_checkpoint",
    "short_task",
]
