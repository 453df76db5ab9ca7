"""wmplan's public Python API: load a world model, make an agent, run protocol episodes.

    import wmplan.api as wm

    results = wm.run_episodes("wmplan/Reacher-v0", "wm", checkpoint="wm-reacher",
                              planner_options={"num_samples": 100, "iterations": 10,
                                               "num_elites": 10}, episodes=5)
    print(results.success_rate)

The functions live in ``wmplan.benchmarks.api``; this package only re-exports them
under a short, stable name. Tasks: ``wmplan.envs`` (Gymnasium ids); internals:
docs/interfaces.md.
"""

from wmplan.agents import AgentUnavailable
from wmplan.benchmarks.api import (
    EpisodeResults,
    agent_spec,
    load_world_model,
    make_agent,
    run_episodes,
)
from wmplan.envs import list_tasks, make
from wmplan.models import shipped_models

__all__ = [
    "AgentUnavailable",
    "EpisodeResults",
    "agent_spec",
    "list_tasks",
    "load_world_model",
    "make",
    "make_agent",
    "run_episodes",
    "shipped_models",
]
