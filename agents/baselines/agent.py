"""Trained baselines as harness agents (``reset(obs, goal)`` / ``act(obs)``).

    agent = load_agent("runs/gcbc-tworoom")      # a run dir or checkpoint dir
    agent.reset(obs, goal); action = agent.act(obs)

Loading reads safetensors + JSON only (``checkpoint.py``); a pickled file is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from wmplan.agents.baselines import OFFLINE_ALGOS, ONLINE_ALGOS
from wmplan.agents.baselines import checkpoint as bckpt
from wmplan.agents.baselines.learners import build_learner
from wmplan.agents.baselines.obs import ObsSpec


class OfflineGoalAgent:
    """A GCBC/GCIQL actor: acts towards the episode's goal (state or image)."""

    def __init__(self, actor: torch.nn.Module, model_config: dict[str, Any]):
        self.actor = actor
        self.obs_kind = model_config["obs"]
        self._goal: torch.Tensor | None = None

    def _input(self, source: dict[str, np.ndarray], key: str) -> torch.Tensor:
        name = key if self.obs_kind == "state" else key.replace("state", "pixels")
        if source.get(name) is None:
            raise ValueError(f"this {self.obs_kind} policy needs {name!r} in the observation")
        dtype = np.float32 if self.obs_kind == "state" else np.uint8
        return torch.from_numpy(np.asarray(source[name], dtype))[None]

    def reset(self, obs: dict[str, np.ndarray], goal: dict[str, np.ndarray] | None, env=None):
        del obs, env
        if goal is None:
            raise ValueError("GCBC/GCIQL agents need a goal task (the episode has no goal)")
        self._goal = self._input(goal, "goal_state")

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        if self._goal is None:
            raise RuntimeError("call reset(obs, goal) before act(obs)")
        was_training = self.actor.training
        self.actor.eval()
        action = self.actor(self._input(obs, "state"), self._goal)[0].numpy()
        self.actor.train(was_training)
        return action.astype(np.float32)


def load_agent(path: str | Path) -> Any:
    """The harness agent of a baseline checkpoint (run dir or checkpoint dir)."""
    config = bckpt.read_config(path)
    model = config["model"]
    algo = model.get("algo")
    if algo in OFFLINE_ALGOS:
        learner = build_learner(model)
        bckpt.load_weights(path, learner)
        return OfflineGoalAgent(learner.actor.eval(), model)
    if algo in ONLINE_ALGOS:
        from wmplan.agents.baselines.sb3 import Sb3Agent, build_policy

        policy = build_policy(model)
        bckpt.load_weights(path, policy)
        policy.set_training_mode(False)
        return Sb3Agent(policy, ObsSpec(**model["obs_spec"]))
    raise bckpt.ckpt.CheckpointError(
        f"{path}: unknown baseline algo {algo!r}; known: {OFFLINE_ALGOS + ONLINE_ALGOS}"
    )
