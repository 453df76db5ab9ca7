"""The public Python API, re-exported as ``wmplan.api`` (see README, "Python API").

Three verbs, each the Python twin of a CLI path, with the same names, defaults,
seeding and validation:

    load_world_model("wm-reacher")          # a shipped model by name, or a checkpoint path
    make_agent("wm", "wmplan/Reacher-v0", checkpoint="wm-reacher",
               planner="cem", planner_options={"num_samples": 100})
    run_episodes("wmplan/Reacher-v0", "wm", checkpoint="wm-reacher", episodes=10)

``run_episodes`` is what ``wmplan plan`` runs: episode i of seed s meets the same
start and goal as in ``wmplan bench``, the agent gets the goal from the observation,
and an episode is a success if the task's predicate holds at any step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wmplan.agents import (
    AgentSpec,
    AgentUnavailable,
    PlannerSpec,
    availability,
    check_settings,
    resolve_checkpoint,
)
from wmplan.benchmarks.episode import episode_seeds, run_episode
from wmplan.benchmarks.suite import ProtocolConfig
from wmplan.benchmarks.workers import build_agent


def load_world_model(name_or_path: str) -> Any:
    """A ``WorldModel`` (``encode``, ``rollout``) from a shipped model's name
    ('wm-reacher', 'wm-tworoom', 'wm-push') or a run/checkpoint directory."""
    from wmplan.agents.wm import WorldModel

    ckpt = resolve_checkpoint(name_or_path)
    if ckpt is None:
        from wmplan.models import shipped_models

        raise FileNotFoundError(
            f"no world model {name_or_path!r}: not a checkpoint or run directory, and not a "
            f"shipped model ({', '.join(shipped_models())})"
        )
    return WorldModel.load(ckpt)


def agent_spec(
    kind: str | AgentSpec,
    *,
    planner: str | None = None,
    planner_options: Mapping[str, Any] | None = None,
    checkpoint: str | None = None,
    name: str | None = None,
    **options: Any,
) -> AgentSpec:
    """An ``AgentSpec`` from plain values (as a suite file gives them): ``kind`` is
    'random', 'oracle', 'wm' or 'python'; planning kinds default to planner 'cem';
    ``planner_options`` is a dict of the planner's settings (validated here)."""
    if isinstance(kind, AgentSpec):
        return kind
    if planner is None and (planner_options or kind in ("oracle", "wm")):
        planner = "cem"
    spec_planner = None
    if planner is not None:
        spec_planner = PlannerSpec(planner, tuple(dict(planner_options or {}).items()))
    spec = AgentSpec(
        name or kind,
        kind,
        planner=spec_planner,
        checkpoint=checkpoint,
        options=tuple(options.items()),
    )
    check_settings(spec)  # planner options, validated now rather than in the first episode
    return spec


def make_agent(kind: str | AgentSpec, task: str, *, seed: int = 0, env: Any = None, **kw: Any):
    """One agent for ``task`` (an ``Agent``: ``reset(obs, goal, env=None)``,
    ``act(obs) -> action [A]``). ``kw`` as in ``agent_spec``. ``env`` is only
    needed by agents that read the action space (random) or python agents."""
    spec = agent_spec(kind, **kw)
    reason = availability(spec, task)
    if reason is not None:
        raise AgentUnavailable(reason)
    if env is None:
        import wmplan.envs

        env = wmplan.envs.make(task)
    return build_agent(spec, task, env, seed)


@dataclass(frozen=True)
class EpisodeResults:
    """Per-episode metrics of ``run_episodes`` (dicts with ``success``,
    ``success_step``, ``final_distance``, ``steps``, ``plan_time_per_step``, ...)."""

    task: str
    agent: AgentSpec
    episodes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def successes(self) -> int:
        return sum(bool(m["success"]) for m in self.episodes)

    @property
    def success_rate(self) -> float:
        return self.successes / max(len(self.episodes), 1)

    @property
    def plan_time_per_step(self) -> float:
        """Mean planning seconds per env step over the episodes."""
        return float(np.mean([m["plan_time_per_step"] for m in self.episodes]))

    def __str__(self) -> str:
        return (
            f"{self.task} agent={self.agent.name}: success {self.successes}/"
            f"{len(self.episodes)} = {self.success_rate:.0%}, planning "
            f"{self.plan_time_per_step * 1e3:.0f} ms per env step"
        )


def run_episodes(
    task: str,
    agent: str | AgentSpec = "random",
    *,
    episodes: int = 10,
    seed: int = 0,
    goal_offset: int | None = None,
    budget: int | None = None,
    on_episode: Callable[[int, dict[str, Any], list[np.ndarray]], None] | None = None,
    record: bool = False,
    agent_seed_offset: int = 0,
    **agent_kw: Any,
) -> EpisodeResults:
    """Run ``episodes`` protocol episodes of ``agent`` (a kind, with ``agent_kw`` as
    in ``agent_spec``, or an ``AgentSpec``) on goal task ``task``, seeded as
    ``wmplan bench`` seeds them. ``on_episode(i, metrics, frames)`` is called after
    each episode (``frames``: observation | goal images when ``record``).
    ``agent_seed_offset`` > 0 keeps the episodes (start states and goals) and draws the
    agent's own randomness (the planner's samples) anew: rerunning with 1, 2, ... shows
    how much of a success count is planner noise."""
    import wmplan.envs

    if wmplan.envs.check_task_id(task).kind != "goal":
        raise ValueError(f"task must be a goal task, got {task}")
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if not isinstance(agent_seed_offset, int) or agent_seed_offset < 0:
        raise ValueError(f"agent_seed_offset must be an integer >= 0, got {agent_seed_offset!r}")
    spec = agent_spec(agent, **agent_kw)
    reason = availability(spec, task)
    if reason is not None:
        raise AgentUnavailable(reason)
    given = {"goal_offset": goal_offset, "budget": budget}
    protocol = ProtocolConfig(**{k: v for k, v in given.items() if v is not None})
    env = wmplan.envs.make(task, max_episode_steps=max(protocol.budget, 200))
    results = EpisodeResults(task, spec)
    try:
        for episode in range(episodes):
            env_seed, agent_seed = episode_seeds(seed, episode)
            agent_seed = (agent_seed + agent_seed_offset) & 0x7FFFFFFF
            agent_obj = build_agent(spec, task, env, agent_seed)
            metrics, frames = run_episode(
                env, agent_obj, protocol, env_seed, spec.privileged, record
            )
            results.episodes.append(metrics)
            if on_episode is not None:
                on_episode(episode, metrics, frames)
    finally:
        env.close()
    return results
