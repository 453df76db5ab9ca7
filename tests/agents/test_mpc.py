import numpy as np
import pytest
import torch

from wmplan.agents.costs import LatentGoalCost
from wmplan.agents.mpc import MPCAgent, MPCConfig
from wmplan.planners import make_config


class PointModel:
    """Known latent dynamics for testing the MPC loop: the latent is a 2-D point
    written in the first pixels, and each env action moves it by 0.1 * action."""

    action_dim, action_block, history = 2, 5, 2

    def encode(self, pixels: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(pixels[..., 0, :2, 0], dtype=torch.float32)  # [B, T, 2]
        return (x - 128.0) / 100.0

    def rollout(self, z_hist: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        b, n, h, ka = actions.shape
        moves = actions.reshape(b, n, h, self.action_block, 2).sum(3) * 0.1
        return z_hist[:, None, -1:, :] + moves.cumsum(2)  # [B, N, H, 2]


def frame(point: np.ndarray) -> np.ndarray:
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[0, :2, 0] = np.clip(np.round(point * 100 + 128), 0, 255)
    return pixels


def test_mpc_agent_drives_a_known_latent_system_to_the_goal():
    model = PointModel()
    agent = MPCAgent(model, "cem", make_config("cem", num_samples=200, iterations=12), seed=0)
    point, goal = np.array([-0.5, 0.4]), np.array([0.6, -0.3])
    agent.reset({"pixels": frame(point)}, {"goal_pixels": frame(goal)})
    for _ in range(30):
        action = agent.act({"pixels": frame(point)})
        assert action.shape == (2,) and np.all(np.abs(action) <= 1.0)
        point = point + 0.1 * action
    assert np.linalg.norm(point - goal) < 0.1  # from 1.3 away
    assert agent.plan_info is not None and agent.plan_info.best_cost.shape[0] == 12


def test_mpc_agent_is_deterministic_for_a_seed():
    def run(seed):
        agent = MPCAgent(PointModel(), "mppi", make_config("mppi", num_samples=64), seed=seed)
        agent.reset({"pixels": frame(np.zeros(2))}, {"goal_pixels": frame(np.ones(2) * 0.5)})
        return np.stack([agent.act({"pixels": frame(np.zeros(2))}) for _ in range(10)])

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_mpc_agent_needs_a_goal_image_and_a_reset():
    agent = MPCAgent(
        PointModel(), "cem", make_config("cem", num_samples=32, num_elites=4, iterations=2)
    )
    with pytest.raises(RuntimeError, match="reset"):
        agent.act({"pixels": frame(np.zeros(2))})
    with pytest.raises(ValueError, match="goal_pixels"):
        agent.reset({"pixels": frame(np.zeros(2))}, None)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"horizon": 0}, "horizon"), ({"replan_every": 0}, "replan_every"),
     ({"replan_every": 50}, "replan_every"), ({"action_block": 0}, "action_block")],
)  # fmt: skip
def test_mpc_config_rejects_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=field):
        MPCConfig(**kwargs)


def test_latent_goal_cost_final_and_all_steps():
    z = torch.zeros(1, 2, 3, 4)
    z[0, 1] = 1.0  # sample 1 is 1 away in every dim at every step
    goal = torch.zeros(1, 4)
    np.testing.assert_allclose(LatentGoalCost("final")(z, goal), [[0.0, 4.0]])
    np.testing.assert_allclose(LatentGoalCost("all")(z, goal), [[0.0, 4.0]], rtol=1e-6)
    z[0, 0, -1] = 1.0  # sample 0 only ends away: costs it fully in 'final', partly in 'all'
    final, every = LatentGoalCost("final")(z, goal), LatentGoalCost("all")(z, goal)
    assert final[0, 0] == 4.0 and 0 < every[0, 0] < 4.0
    with pytest.raises(ValueError, match="mode"):
        LatentGoalCost("sum")
