"""The agent factory builds every kind from a spec and each plays a protocol
episode; unavailable agents get a message saying what is missing."""

from __future__ import annotations

import pytest

import wmplan.envs
from wmplan.agents import AgentSpec, PlannerSpec, availability, fingerprint
from wmplan.benchmarks.episode import run_episode
from wmplan.benchmarks.suite import ProtocolConfig
from wmplan.benchmarks.workers import build_agent
from wmplan.worldmodel.base import ModelConfig
from wmplan.worldmodel.checkpoint import save_checkpoint
from wmplan.worldmodel.model import build_model

TINY_CEM = PlannerSpec("cem", (("num_samples", 16), ("iterations", 2), ("num_elites", 4)))


def _play(spec, task, image_size=64, budget=10):
    env = wmplan.envs.make(task, image_size=image_size)
    try:
        agent = build_agent(spec, task, env, seed=3)
        proto = ProtocolConfig(goal_offset=10, budget=budget, image_size=image_size)
        metrics, _ = run_episode(env, agent, proto, 7, spec.privileged, record=False)
    finally:
        env.close()
    return metrics


def test_oracle_agent_plays_an_episode_and_reports_plan_info():
    spec = AgentSpec("oracle", "oracle", planner=TINY_CEM, options=(("nthread", 1),))
    m = _play(spec, "wmplan/Reacher-v0")
    assert 1 <= m["steps"] <= 10 and m["plan_time_per_step"] > 0
    assert m["plan_info"]["calls"] >= 1 and len(m["plan_info"]["best_cost"]) == 2


def test_world_model_agent_loads_a_checkpoint_per_task(tmp_path):
    config = ModelConfig(
        image_size=16, action_dim=2, action_block=5, latent_dim=8, cnn_channels=(4, 8),
        feat_dim=32, projector_hidden=32, pred_width=16, pred_depth=1, pred_heads=2,
        pred_head_depth=1, history=2,
    )  # fmt: skip
    save_checkpoint(tmp_path / "wm-Reacher", build_model(config), config.to_dict())
    spec = AgentSpec("wm", "wm", planner=TINY_CEM, checkpoint=str(tmp_path / "wm-{task}"))
    assert availability(spec, "wmplan/Reacher-v0") is None
    assert "no checkpoint at" in availability(spec, "wmplan/TwoRoom-v0")
    assert fingerprint(spec, "wmplan/Reacher-v0")["checkpoint_sha256"]
    m = _play(spec, "wmplan/Reacher-v0", image_size=16)
    assert m["steps"] >= 1 and m["plan_info"]["calls"] >= 1


def test_world_model_trained_on_another_task_is_refused(tmp_path):
    config = ModelConfig(
        image_size=16, action_dim=2, latent_dim=8, cnn_channels=(4, 8), feat_dim=32,
        projector_hidden=32, pred_width=16, pred_depth=1, pred_heads=2, history=2,
    )  # fmt: skip
    path = tmp_path / "wm-twoRoom-model"
    model = build_model(config)
    save_checkpoint(path, model, config.to_dict(), {"task": "wmplan/TwoRoom-v0"})
    spec = AgentSpec("wm", "wm", planner=TINY_CEM, checkpoint=str(path))
    env = wmplan.envs.make("wmplan/Reacher-v0", image_size=16)
    try:
        with pytest.raises(ValueError, match="trained on wmplan/TwoRoom-v0, not wmplan/Reacher-v0"):
            build_agent(spec, "wmplan/Reacher-v0", env, seed=0)
    finally:
        env.close()


def test_python_agent_with_a_missing_module_is_unavailable():
    spec = AgentSpec("x", "python", options=(("entry_point", "no_such_module_xyz:Agent"),))
    assert "no_such_module_xyz is not available" in availability(spec, "wmplan/Reacher-v0")
