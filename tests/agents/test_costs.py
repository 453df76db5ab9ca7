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
    # D differs from the goal's while N equals it
    with pytest.raises(ValueError, match=r"expected z\[B, N, H, D\]"):
        LatentGoalCost()(torch.zeros(1, 4, 3, 5), torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"discount must be in \(0, 1\]"):
        LatentGoalCost(discount=1.5)
    with pytest.raises(ValueError, match="metric must be one of"):
        LatentGoalCost(metric="euclid")
    for bad in (-0.1, "0.1"):
        with pytest.raises(ValueError, match="latent_weight must be a number >= 0"):
            LatentGoalCost(latent_weight=bad)
    with pytest.raises(ValueError, match="needs a world model with a reach head"):
        LatentGoalCost(metric="reach")(torch.zeros(1, 2, 3, 4), torch.zeros(1, 4), reach=None)


def test_latent_goal_cost_defaults_are_the_published_settings():
    """The shipped models' numbers were measured with these defaults (models/README.md);
    the boundary values are allowed."""
    cost = LatentGoalCost()
    assert (cost.mode, cost.discount, cost.metric, cost.latent_weight) == ("all", 0.5, "auto", 0.1)
    LatentGoalCost(discount=1.0, latent_weight=0.0)


def test_latent_goal_cost_adds_the_reach_head_unless_the_metric_is_latent():
    z = torch.tensor([[[[1.0, 2.0]], [[3.0, 3.0]]]])  # [B=1, N=2, H=1, D=2]
    goal = torch.tensor([[1.0, 1.0]])  # squared distances 1 and 8

    def reach(z, goal):  # [B, N, H]: a learned distance of 2 env steps everywhere
        return torch.full(z.shape[:-1], 2.0)

    latent = LatentGoalCost("final", metric="latent")(z, goal, reach=reach)
    torch.testing.assert_close(latent, torch.tensor([[1.0, 8.0]]))
    for metric in ("auto", "reach"):
        cost = LatentGoalCost("final", metric=metric, latent_weight=0.5)(z, goal, reach=reach)
        torch.testing.assert_close(cost, torch.tensor([[2.5, 6.0]]))
