"""The reference world models shipped in models/ load safely, match their task, and
predict: rolling the expert's goal actions out from the start lands nearer the
goal's embedding than staying put does (what latent-goal MPC relies on)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import wmplan.envs
from wmplan.agents.wm import WorldModel

MODELS = Path(__file__).resolve().parents[2] / "models"
pytestmark = pytest.mark.usefixtures("one_thread")

SHIPPED = sorted(p.name for p in MODELS.glob("wm-*") if (p / "model.safetensors").is_file())


def test_reference_models_ship_for_reacher_and_tworoom():
    assert {"wm-reacher", "wm-tworoom"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_reference_model_rollout_of_expert_actions_approaches_the_goal(name):
    wm = WorldModel.load(MODELS / name)
    task = wm.checkpoint_config["metadata"]["task"]
    assert task.split("/")[1].split("-")[0].lower() == name.removeprefix("wm-")
    env = wmplan.envs.make(task, image_size=wm.image_size)
    k, wins = wm.action_block, 0
    try:
        for seed in range(6):
            obs, info = env.reset(seed=seed, options={"goal_offset": 25})
            actions = info["goal_actions"][: (len(info["goal_actions"]) // k) * k]
            blocks = torch.as_tensor(actions).reshape(1, 1, -1, k * wm.action_dim)
            z0 = wm.encode(obs["pixels"][None, None])  # [1, 1, D]
            z_goal = wm.encode(obs["goal_pixels"][None, None])[0, 0]
            z_hist = z0.expand(1, wm.history, -1)  # episode start: history repeats
            with torch.no_grad():
                z = wm.rollout(z_hist, blocks)  # [1, 1, H, D]
            assert z.shape == (1, 1, blocks.shape[2], wm.latent_dim)
            moved = (z[0, 0, -1] - z_goal).norm().item()
            stayed = (z0[0, 0] - z_goal).norm().item()
            wins += moved < 0.5 * stayed
    finally:
        env.close()
    assert wins >= 5, f"{name}: rollout approached the goal in only {wins}/6 episodes"
