"""wmplan agents: MPC over a world model or the simulator, baselines, random.

    from wmplan.agents import AgentSpec, PlannerSpec, make_agent
    spec = AgentSpec("oracle", "oracle", planner=PlannerSpec("cem"))
    agent = make_agent(spec, "wmplan/Reacher-v0", env, seed=0)

``AGENT_KINDS`` lists the kinds and what each needs (``agents/kinds.py``).
"""

from wmplan.agents.factory import (
    AgentUnavailable,
    availability,
    fingerprint,
    make_agent,
    resolve_checkpoint,
)
from wmplan.agents.kinds import AGENT_KINDS, AgentKind
from wmplan.agents.spec import AgentSpec, PlannerSpec, check_settings, short_task

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
