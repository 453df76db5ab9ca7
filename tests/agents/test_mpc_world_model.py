"""MPC through ``MPCAgent`` with a real world model (the shipped Reacher model), and
the receding-horizon bookkeeping checked with a model that reads its whole history:
latents one action block apart, the plan shifted by the executed blocks as the
next warm start, the executed actions the plan's first blocks, step-major."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import wmplan.envs
from wmplan.agents.mpc import MPCAgent
from wmplan.agents.wm import WorldModel
from wmplan.planners import PlanInfo, make_config

MODELS = Path(__file__).resolve().parents[2] / "models"
pytestmark = pytest.mark.usefixtures("one_thread")


def test_shipped_model_plans_towards_the_goal_and_latent_distance_falls():
    wm = WorldModel.load(MODELS / "wm-reacher")
    env = wmplan.envs.make("wmplan/Reacher-v0", image_size=wm.image_size)
    cfg = make_config("cem", num_samples=64, iterations=6, num_elites=8)
    falls, firsts, lasts = 0, [], []
    try:
        for seed in (0, 1):
            obs, _ = env.reset(seed=seed, options={"goal_offset": 25})
            goal = {"goal_pixels": obs["goal_pixels"], "goal_state": obs["goal_state"]}
            agent = MPCAgent(wm, "cem", cfg, seed=seed, horizon=4)
            agent.reset(obs, goal)
            z_goal = wm.encode(obs["goal_pixels"][None, None])[0, 0]
            first = (wm.encode(obs["pixels"][None, None])[0, 0] - z_goal).norm().item()
            best = []
            for _ in range(25):
                action = agent.act(obs)
                assert action.shape == (2,) and np.all(np.abs(action) <= 1)
                if len(best) < 5 and agent.plan_info is not None:
                    best.append(agent.plan_info.best_cost)
                obs, *_ = env.step(action)
            last = (wm.encode(obs["pixels"][None, None])[0, 0] - z_goal).norm().item()
            firsts.append(first)
            lasts.append(last)
            falls += last < 0.7 * first
            # Within a plan, the planner's best cost falls over its iterations.
            curve = agent.plan_info.best_cost[:, 0]
            assert curve[-1] < curve[0]
    finally:
        env.close()
    assert falls == 2, (firsts, lasts)


class Clock:
    """A latent model whose latent is the env step written in the frame, and whose
    rollout reads every latent of its history: predicted z = weighted sum of the
    history plus the actions, so a wrong history changes every cost."""

    action_dim, action_block, history = 2, 3, 3

    def __init__(self):
        self.histories: list[list[float]] = []

    def encode(self, pixels):
        return torch.as_tensor(pixels[..., 0, 0, 0], dtype=torch.float32)[..., None]  # [B, T, 1]

    def rollout(self, z_hist, actions):
        b, n, h, _ = actions.shape
        self.histories.append(z_hist[0, :, 0].tolist())
        mix = (z_hist[:, None, :, 0] * torch.tensor([1.0, 10.0, 100.0])).sum(-1)  # [B, 1]
        return (mix[..., None] + actions.sum(-1).cumsum(-1))[..., None]  # [B, N, H, 1]


def frame(step: int) -> dict:
    pixels = np.zeros((4, 4, 3), np.uint8)
    pixels[0, 0, 0] = step
    return {"pixels": pixels}


def test_history_latents_are_one_action_block_apart():
    model = Clock()
    agent = MPCAgent(model, "cem", make_config("cem", num_samples=8, num_elites=2, iterations=1),
                     horizon=2, replan_every=3)  # fmt: skip
    agent.reset(frame(0), {"goal_pixels": frame(0)["pixels"]})
    seen = []
    for step in range(13):
        n = len(model.histories)
        agent.act(frame(step))
        if len(model.histories) > n:
            seen.append(model.histories[-1])
    # Replans at steps 0, 3, 6, 9, 12; history 3, k = 3; the episode start repeats.
    assert seen == [[0, 0, 0], [0, 0, 3], [0, 3, 6], [3, 6, 9], [6, 9, 12]]


class Spy:
    """Stands in for the planner: records the warm start and elites it is given and
    returns a plan of distinct, known values."""

    keeps_elites = True

    def __init__(self):
        self.means, self.elites_in, self.plans = [], [], []

    def __call__(self, cost_fn, mean, low, high, generator=None, elites=None):
        self.means.append(mean.clone())
        self.elites_in.append(None if elites is None else elites.clone())
        b, h, a = mean.shape
        plan = torch.arange(b * h * a, dtype=torch.float32).reshape(b, h, a) / 100 + len(self.plans)
        costs = cost_fn(plan[:, None])  # the model is queried as a planner would
        elites = torch.stack([plan, -plan], dim=1)  # [B, 2, H, A]
        self.plans.append(plan)
        info = PlanInfo(costs.T, costs.T, [0.0], costs[:, 0], elites, 1)
        return plan, info


def _shifted(x: torch.Tensor, blocks: int) -> torch.Tensor:
    """Drop ``blocks`` executed blocks, repeat the last block in the freed tail."""
    tail = x[..., -1:, :].expand(*x.shape[:-2], blocks, x.shape[-1])
    return torch.cat([x[..., blocks:, :], tail], dim=-2)


def _spied(horizon: int, replan_every: int) -> tuple[Clock, MPCAgent, Spy]:
    """A ``Clock`` model planned for by a ``Spy`` planner."""
    model = Clock()
    agent = MPCAgent(model, "cem", make_config("cem", num_samples=8, num_elites=2, iterations=1),
                     horizon=horizon, replan_every=replan_every)  # fmt: skip
    spy = Spy()
    agent.loop.planner = spy
    return model, agent, spy


@pytest.mark.parametrize("replan_every", [3, 6])
def test_warm_start_is_the_previous_plan_shifted_by_the_executed_blocks(replan_every):
    model, agent, spy = _spied(4, replan_every)
    agent.reset(frame(0), {"goal_pixels": frame(0)["pixels"]})
    executed = [agent.act(frame(step)) for step in range(3 * replan_every)]
    blocks = replan_every // 3
    assert len(spy.plans) == 3
    assert torch.equal(spy.means[0], torch.zeros(1, 4, 6)) and spy.elites_in[0] is None
    for i in (1, 2):
        torch.testing.assert_close(spy.means[i], _shifted(spy.plans[i - 1], blocks))
        prev_elites = torch.stack([spy.plans[i - 1], -spy.plans[i - 1]], dim=1)
        torch.testing.assert_close(spy.elites_in[i], _shifted(prev_elites, blocks))
    # Executed env actions: the first `blocks` blocks of each plan, k steps of A each.
    for i, plan in enumerate(spy.plans):
        want = plan[0, :blocks].reshape(blocks * 3, 2).numpy()
        got = np.stack(executed[i * replan_every : (i + 1) * replan_every])
        np.testing.assert_array_equal(got, want)
    # A reset forgets the plan (and its report, until the next plan).
    agent.reset(frame(0), {"goal_pixels": frame(0)["pixels"]})
    assert agent.plan_info is None
    agent.act(frame(0))
    assert torch.equal(spy.means[-1], torch.zeros(1, 4, 6)) and spy.elites_in[-1] is None
    assert model.histories[-1] == [0.0, 0.0, 0.0]  # the old episode's latents are gone


def test_replanning_inside_a_block_shifts_the_plan_by_env_steps():
    """``replan_every=1`` with k = 3: each plan's first env action is executed, the
    warm start is the plan moved on by one env step (not one block), and the history
    still reads latents k env steps apart, ending at the current step."""
    model, agent, spy = _spied(2, 1)
    agent.reset(frame(0), {"goal_pixels": frame(0)["pixels"]})
    executed = [agent.act(frame(step)) for step in range(7)]
    assert len(spy.plans) == 7
    assert model.histories[-1] == [0.0, 3.0, 6.0] and model.histories[4] == [0.0, 1.0, 4.0]
    for i, plan in enumerate(spy.plans):
        steps = plan[0].reshape(6, 2)  # [H*k, A], step-major
        np.testing.assert_array_equal(executed[i], steps[0].numpy())
        if i:  # the previous plan (and elites) as env steps [.., H*k, A], moved on by one
            prev = spy.plans[i - 1].reshape(1, 6, 2)
            torch.testing.assert_close(spy.means[i], _shifted(prev, 1).reshape(1, 2, 6))
            prev_el = torch.stack([prev, -prev], dim=1)  # [1, 2, 6, 2]
            torch.testing.assert_close(spy.elites_in[i], _shifted(prev_el, 1).reshape(1, 2, 2, 6))


def test_cost_is_the_distance_of_the_predicted_latent_to_the_goal_latent():
    model, agent, spy = _spied(2, 3)
    agent.reset(frame(0), {"goal_pixels": frame(7)["pixels"]})
    agent.act(frame(2))
    # History [2, 2, 2] -> mix 222; latent after block h: 222 + the plan's sums so far;
    # default cost: squared distances to 7, weighted 0.5 then 1 (the last counts most).
    z = 222.0 + spy.plans[0][0].sum(-1).cumsum(0)
    d = (z - 7.0) ** 2
    want = ((0.5 * d[0] + d[1]) / 1.5).item()
    assert agent.loop.plan_info.cost.item() == pytest.approx(want, rel=1e-6)


def test_the_smallest_receding_horizon_is_valid_and_replans_every_step():
    from wmplan.agents.mpc import MPCConfig

    assert MPCConfig(horizon=1, action_block=1, replan_every=1).horizon == 1

    class OneStep(Clock):
        action_block, history = 1, 1

    model = OneStep()
    agent = MPCAgent(model, "cem", make_config("cem", num_samples=8, num_elites=2, iterations=1),
                     horizon=1)  # fmt: skip
    spy = Spy()
    agent.loop.planner = spy
    agent.reset(frame(0), {"goal_pixels": frame(0)["pixels"]})
    for step in range(3):
        agent.act(frame(step))
    assert len(spy.plans) == 3 and model.histories == [[0.0], [1.0], [2.0]]
