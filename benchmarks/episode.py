"""One evaluation episode under the goal protocol, and one job's worth of them.

Protocol (DESIGN.md, stable-worldmodel / LeWM): the env is reset with a seed derived
from (suite seed, episode) and ``goal_offset``; the agent sees the observation and the
goal; it has ``budget`` env steps; the episode is a success if the task's predicate
holds at any step (it stops at the first success). Start/goal pairs that already
satisfy the predicate at reset are drawn again by the env (protocol version 2,
``suite.PROTOCOL_VERSION``, stored in every row). Planning time is measured
around ``agent.act`` only.

Seeds depend on (seed, episode) alone, so every agent meets the same start and goal
in episode i (results pair across agents) and a job's rows do not depend on how
episodes were split into jobs or workers.
"""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from wmplan.agents import AgentSpec
from wmplan.agents.base import Agent
from wmplan.benchmarks.suite import PROTOCOL_VERSION, ProtocolConfig


@dataclass(frozen=True)
class Job:
    """Episodes ``episodes`` of (task, agent, seed); ``record`` are the episodes whose
    frames are returned as a GIF."""

    task: str
    agent: AgentSpec
    seed: int
    episodes: tuple[int, ...]
    protocol: ProtocolConfig
    config_hash: str
    code_version: str
    suite: str
    record: tuple[int, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.task}|{self.agent.name}|s{self.seed}|e{self.episodes[0]}-{self.episodes[-1]}"


def episode_seeds(seed: int, episode: int) -> tuple[int, int]:
    """(env seed, agent seed) for episode ``episode`` of suite seed ``seed``."""
    env_seed, agent_seed = np.random.SeedSequence([seed, episode]).generate_state(2)
    return int(env_seed) & 0x7FFFFFFF, int(agent_seed) & 0x7FFFFFFF


def _plan_summary(infos: list[Any]) -> dict[str, Any] | None:
    """Per-iteration mean over an episode's planning calls of the planner's best and
    mean cost (``PlanInfo.best_cost`` / ``mean_cost``: [iterations] or [iterations, B])."""
    curves: dict[str, list[np.ndarray]] = {"best_cost": [], "mean_cost": []}
    for info in infos:
        for key in curves:
            value = info.get(key) if isinstance(info, dict) else getattr(info, key, None)
            if value is None:
                continue
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim == 0:
                continue
            curves[key].append(arr.reshape(arr.shape[0], -1).mean(axis=1))
    if not curves["best_cost"]:
        return None
    out: dict[str, Any] = {"calls": len(infos)}
    for key, rows in curves.items():
        if not rows:
            continue
        width = max(len(r) for r in rows)
        padded = np.full((len(rows), width), np.nan)
        for i, r in enumerate(rows):
            padded[i, : len(r)] = r
        out[key] = [None if math.isnan(v) else float(v) for v in np.nanmean(padded, axis=0)]
    return out


def encode_gif(frames: list[np.ndarray], fps: float = 10.0) -> bytes:
    """GIF bytes of uint8 [H, W, 3] frames, looping, ``fps`` frames per second."""
    import imageio.v2 as imageio

    buf = io.BytesIO()
    # imageio's Pillow GIF writer takes the frame delay in milliseconds (seconds
    # there stored 0 ms, which every viewer plays at its own speed).
    imageio.mimsave(buf, frames, format="GIF", duration=1000.0 / fps, loop=0)
    return buf.getvalue()


def run_episode(
    env: Any, agent: Agent, protocol: ProtocolConfig, env_seed: int, privileged: bool, record: bool
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Run one episode; returns (metrics, frames). Frames (observation | goal,
    upscaled) are collected only if ``record``."""
    import wmplan.envs
    from wmplan.envs.catalog import side_by_side, upscale

    start = time.perf_counter()
    task = wmplan.envs.TASKS.get(getattr(env.spec, "id", None) or "")
    is_goal = task is None or task.kind == "goal"  # reward tasks take no reset options
    options = {"goal_offset": protocol.goal_offset} if is_goal else None
    obs, info = env.reset(seed=env_seed, options=options)
    goal = None
    if "goal_pixels" in obs:
        goal = {"goal_pixels": obs["goal_pixels"], "goal_state": obs.get("goal_state")}
    agent.reset(obs, goal, env=env.unwrapped if privileged else None)
    frames: list[np.ndarray] = []

    def snap(o: dict[str, Any]) -> None:
        if record:
            shown = [o["pixels"]] + ([goal["goal_pixels"]] if goal is not None else [])
            frames.append(upscale(side_by_side(*shown), min_size=128))

    snap(obs)
    plan_time, total_return, steps = 0.0, 0.0, 0
    success, success_step = bool(info.get("success", False)), None
    infos: list[Any] = []
    last_info = None
    for t in range(protocol.budget):
        t0 = time.perf_counter()
        action = agent.act(obs)
        plan_time += time.perf_counter() - t0
        plan_info = getattr(agent, "plan_info", None)
        if plan_info is not None and plan_info is not last_info:
            infos.append(plan_info)
            last_info = plan_info
        obs, reward, terminated, truncated, info = env.step(np.asarray(action, dtype=np.float32))
        total_return += float(reward)
        steps += 1
        snap(obs)
        if info.get("success", False):
            success, success_step = True, t + 1
            break
        if terminated or truncated:
            break
    distance = info.get("goal_distance")
    metrics = {
        "success": bool(success),
        "success_step": success_step,
        "final_distance": None if distance is None else float(distance),
        "return": total_return,
        "steps": steps,
        "plan_time_per_step": plan_time / max(steps, 1),
        "wall_clock": time.perf_counter() - start,
        "plan_info": _plan_summary(infos),
    }
    return metrics, frames


# Per-process caches: an env (and its GL context) is built once per worker and task.
_ENVS: dict[tuple, Any] = {}


def _env_for(task: str, protocol: ProtocolConfig) -> Any:
    import wmplan.envs

    key = (task, protocol.image_size, protocol.action_repeat, protocol.budget)
    if key not in _ENVS:
        info = wmplan.envs.check_task_id(task)
        kwargs: dict[str, Any] = {
            "image_size": protocol.image_size,
            "action_repeat": protocol.action_repeat,
        }
        if protocol.budget > info.max_episode_steps:
            kwargs["max_episode_steps"] = protocol.budget
        _ENVS[key] = wmplan.envs.make(task, **kwargs)
    return _ENVS[key]


def close_envs() -> None:
    """Close this process's cached envs (end of a worker)."""
    while _ENVS:
        _, env = _ENVS.popitem()
        env.close()


def run_job(job: Job):
    """Yield one result row (dict) per episode of ``job``; a recorded episode's row
    carries its GIF under ``"gif"`` (bytes)."""
    from wmplan.benchmarks.workers import build_agent

    env = _env_for(job.task, job.protocol)
    privileged = job.agent.privileged
    for episode in job.episodes:
        env_seed, agent_seed = episode_seeds(job.seed, episode)
        agent = build_agent(job.agent, job.task, env, agent_seed)
        record = episode in job.record
        metrics, frames = run_episode(env, agent, job.protocol, env_seed, privileged, record)
        row = {
            "config_hash": job.config_hash,
            "task": job.task,
            "agent": job.agent.name,
            "seed": job.seed,
            "episode": episode,
            **metrics,
            "code_version": job.code_version,
            "protocol_version": PROTOCOL_VERSION,
            "suite": job.suite,
            "agent_config": json.dumps(job.agent.to_dict(), sort_keys=True),
        }
        if record and frames:
            row["gif"] = encode_gif(frames)
        yield row
