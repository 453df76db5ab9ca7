import pytest
import torch

from wmplan.agents.costs import LatentGoalCost


def test_latent_goal_cost_final_scores_the_last_step():
    z = torch.zeros(1, 2, 3, 4)  # [B, N, H, D]
    z[0, 1, -1] = 1.0
    goal = torch.zeros(1, 4)
    cost = LatentGoalCost("final")(z, goal)
    assert cost.shape == (1, 2)
    assert cost.tolist() == [[0.0, 4.0]]


def test_latent_goal_cost_all_weights_later_steps_more():
    goal = torch.zeros(1, 1)
    early = torch.tensor([1.0, 0.0, 0.0]).reshape(1, 1, 3, 1)
    late = torch.tensor([0.0, 0.0, 1.0]).reshape(1, 1, 3, 1)
    cost = LatentGoalCost("all", discount=0.5)
    assert float(cost(early, goal)) < float(cost(late, goal))
    torch.testing.assert_close(cost(late, goal), torch.tensor([[1.0 / 1.75]]))


def test_latent_goal_cost_min_scores_the_closest_approach():
    goal = torch.zeros(1, 1)
    # [B=1, N=2, H=3, D=1]: sample 0 passes through the goal and leaves, sample 1
    # ends nearer than it started but never reaches it.
    z = torch.tensor([[[[2.0], [0.0], [3.0]], [[2.0], [1.0], [0.5]]]])
    torch.testing.assert_close(LatentGoalCost("min")(z, goal), torch.tensor([[0.0, 0.25]]))
    assert LatentGoalCost("final")(z, goal).argmin() == 1  # the cost 'min' departs from


def test_latent_goal_cost_rejects_bad_settings_and_shapes():
    with pytest.raises(ValueError, match="mode must be one of"):
        LatentGoalCost("last")
    with pytest.raises(ValueError, match=r"discount must be in \(0, 1\]"):
        LatentGoalCost(discount=0.0)
    with pytest.raises(ValueError, match=r"expected z\[B, N, H, D\]"):
        LatentGoalCost()(torch.zeros(1, 2, 3), torch.zeros(1, 3))
