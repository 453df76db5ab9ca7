"""The contract every planner keeps: shapes, bounds, seeding, batching, errors."""

import pytest
import torch
from planner_problems import quadratic_cost, seeded

from wmplan.planners import PLANNERS, make_planner

SMALL = {
    "cem": {"num_samples": 40, "iterations": 3, "num_elites": 5},
    "mppi": {"num_samples": 40, "iterations": 3, "num_elites": 5},
    "icem": {"num_samples": 40, "iterations": 3, "num_elites": 5},
    "gradient": {
        "iterations": 5,
        "num_starts": 3,
        "cem_iterations": 2,
        "cem_samples": 20,
        "cem_elites": 4,
    },
    "random": {"num_samples": 40, "iterations": 2},
}
NAMES = list(PLANNERS)
B, H, A = 3, 4, 2
TARGETS = torch.tensor([0.5, -2.0]) * torch.arange(1, B + 1.0)[:, None, None].expand(B, H, A)


def small(name):
    return make_planner(name, **SMALL[name])


def test_every_planner_has_small_settings():
    assert set(SMALL) == set(PLANNERS)


@pytest.mark.parametrize("name", NAMES)
def test_plan_shapes_and_info(name):
    actions, info = small(name)(quadratic_cost(TARGETS), torch.zeros(B, H, A), -1.0, 1.0, seeded(0))
    assert actions.shape == (B, H, A) and actions.dtype == torch.float32
    iters = info.best_cost.shape[0]
    assert info.best_cost.shape == info.mean_cost.shape == (iters, B)
    assert len(info.iteration_time) == iters and info.total_time > 0
    assert info.cost.shape == (B,) and info.evaluations > 0
    assert not actions.requires_grad


@pytest.mark.parametrize("name", NAMES)
def test_plans_respect_per_dimension_bounds(name):
    # The targets lie far outside the box, so good plans press against it.
    low, high = torch.tensor([-0.2, -1.0]), torch.tensor([0.3, 0.5])
    actions, _ = small(name)(
        quadratic_cost(TARGETS * 5), torch.full((B, H, A), 3.0), low, high, seeded(0)
    )
    assert (actions >= low).all() and (actions <= high).all()


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_plan(name):
    planner, cost, mean = small(name), quadratic_cost(TARGETS), torch.zeros(B, H, A)
    first, _ = planner(cost, mean, -1.0, 1.0, seeded(7))
    again, _ = planner(cost, mean, -1.0, 1.0, seeded(7))
    other, _ = planner(cost, mean, -1.0, 1.0, seeded(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("name", NAMES)
def test_batched_plan_equals_planning_each_env_alone(name):
    planner, mean = (
        small(name),
        0.1 * torch.arange(B * H * A, dtype=torch.float32).reshape(B, H, A).sin(),
    )
    together, info = planner(quadratic_cost(TARGETS), mean, -1.0, 1.0, seeded(3, B))
    for b in range(B):
        gen = seeded(3, B)[b : b + 1]
        alone, info_b = planner(quadratic_cost(TARGETS[b : b + 1]), mean[b : b + 1], -1.0, 1.0, gen)
        torch.testing.assert_close(together[b : b + 1], alone, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(info.best_cost[:, b : b + 1], info_b.best_cost)


@pytest.mark.parametrize("name", NAMES)
def test_plan_follows_the_dtype_of_mean_and_leaves_it_untouched(name):
    mean = torch.zeros(1, H, A, dtype=torch.float64)
    actions, _ = small(name)(quadratic_cost(TARGETS[:1].double()), mean, -1.0, 1.0, seeded(0))
    assert actions.dtype == torch.float64
    assert torch.equal(mean, torch.zeros_like(mean))


@pytest.mark.parametrize("name", NAMES)
def test_plan_rejects_bad_inputs(name):
    planner, cost = small(name), quadratic_cost(TARGETS)
    with pytest.raises(ValueError, match=r"mean must be a tensor \[B, H, A\]"):
        planner(cost, torch.zeros(H, A), -1.0, 1.0, seeded(0))
    with pytest.raises(ValueError, match="high must exceed low"):
        planner(cost, torch.zeros(B, H, A), 1.0, -1.0, seeded(0))
    with pytest.raises(ValueError, match=r"cost_fn must return costs \[B, N\]"):
        planner(lambda a: cost(a).sum(1), torch.zeros(B, H, A), -1.0, 1.0, seeded(0))
    with pytest.raises(ValueError, match="one torch.Generator or B=3"):
        planner(cost, torch.zeros(B, H, A), -1.0, 1.0, seeded(0, 2))


@pytest.mark.parametrize("name", ["cem", "mppi", "icem", "random"])
def test_sampling_planners_score_candidates_without_autograd(name):
    seen = []

    def cost(actions):
        seen.append((torch.is_inference_mode_enabled(), actions.is_contiguous()))
        return quadratic_cost(TARGETS)(actions)

    small(name)(cost, torch.zeros(B, H, A), -1.0, 1.0, seeded(0))
    assert seen and all(inference and contiguous for inference, contiguous in seen)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", NAMES)
def test_plan_runs_on_the_device_of_mean(name):
    dev = torch.device("cuda")
    gens = [torch.Generator(dev).manual_seed(b) for b in range(B)]
    actions, info = small(name)(
        quadratic_cost(TARGETS.to(dev)), torch.zeros(B, H, A, device=dev), -1.0, 1.0, gens
    )
    assert actions.device.type == "cuda" and info.best_cost.device.type == "cuda"
