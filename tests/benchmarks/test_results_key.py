"""A result row's key changes with everything that changes the episode: a
retrained checkpoint at the same path is new work, not finished work; the
protocol and planner settings count, the agent's label does not."""

from __future__ import annotations

import dataclasses

import torch

from wmplan.agents import AgentSpec, PlannerSpec
from wmplan.benchmarks.runner import plan_jobs
from wmplan.benchmarks.suite import ProtocolConfig, SuiteConfig
from wmplan.worldmodel.base import ModelConfig
from wmplan.worldmodel.checkpoint import save_checkpoint
from wmplan.worldmodel.model import build_model

TASK = "wmplan/Reacher-v0"
CEM = PlannerSpec("cem", (("num_samples", 16), ("iterations", 2), ("num_elites", 4)))


def _suite(tmp_path, **protocol) -> SuiteConfig:
    spec = AgentSpec("wm", "wm", planner=CEM, checkpoint=str(tmp_path / "wm-{task}"))
    return SuiteConfig(name="key", tasks=(TASK,), agents=(spec,), seeds=(0,), episodes=2,
                       protocol=ProtocolConfig(**protocol))  # fmt: skip


def _hashes(suite) -> set[str]:
    jobs, notes, _ = plan_jobs(suite, set(), version="test")
    assert not notes and jobs
    return {j.config_hash for j in jobs}


def test_retrained_weights_at_the_same_path_change_the_key(tmp_path):
    torch.manual_seed(0)
    config = ModelConfig(image_size=16, latent_dim=8, cnn_channels=(4, 8), feat_dim=32,
                         projector_hidden=32, pred_width=16, pred_depth=1, pred_heads=2,
                         history=2)  # fmt: skip
    save_checkpoint(tmp_path / "wm-Reacher", build_model(config), config.to_dict())
    suite = _suite(tmp_path)
    first = _hashes(suite)
    assert _hashes(suite) == first  # same weights: same key, reruns skip the rows
    torch.manual_seed(1)
    save_checkpoint(tmp_path / "wm-Reacher", build_model(config), config.to_dict())
    assert _hashes(suite).isdisjoint(first)
    # The protocol counts; the agent's label does not.
    assert _hashes(_suite(tmp_path, budget=49)).isdisjoint(_hashes(suite))
    relabelled = suite.replace(agents=(dataclasses.replace(suite.agents[0], name="other"),))
    assert _hashes(relabelled) == _hashes(suite)
    more = suite.replace(agents=(dataclasses.replace(
        suite.agents[0], planner=CEM.with_options(num_samples=32)),))  # fmt: skip
    assert _hashes(more).isdisjoint(_hashes(suite))
