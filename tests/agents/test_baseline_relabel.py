"""Hindsight goal relabelling: which observations become goals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from synthetic_data import synthetic_episodes

from wmplan.agents.baselines.relabel import GoalDataset, GoalSampling
from wmplan.worldmodel.data.episodes import DatasetMeta, EpisodeWriter

META = DatasetMeta(
    task_id="wmplan/Synthetic-v0", image_size=16, action_repeat=1, steps=20, action_dim=2,
    state_dim=3, physics_state_dim=2, camera="fixed", policy="colored",
    policy_params={}, seed=0, compression="gzip-1",
)  # fmt: skip
LENGTHS = [20, 3, 11, 1, 17, 20, 6]


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    """Synthetic episodes whose states say where they came from: state[0] = episode +
    step / 1000, state[1] = step. Episodes end early (zero-padded past ``lengths``)."""
    path = tmp_path_factory.mktemp("relabel") / "coded.h5"
    with EpisodeWriter(path, META) as writer:
        for ep, length in zip(synthetic_episodes(META, len(LENGTHS)), LENGTHS, strict=True):
            writer.append(dataclasses.replace(ep, length=length))
    return GoalDataset(str(path), "state")


def _origin(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    step = np.round(states[:, 1]).astype(int)
    return np.round(states[:, 0] - step / 1000).astype(int), step


@pytest.mark.parametrize("geometric", [False, True])
def test_trajectory_goals_are_later_steps_of_the_same_episode(coded, geometric):
    rng = np.random.default_rng(0)
    s = coded.sample(4096, GoalSampling(p_traj=1.0, geometric=geometric, discount=0.9), rng)
    obs_e, obs_t = _origin(coded.observations(s.e, s.t))
    goal_e, goal_t = _origin(coded.observations(s.ge, s.gt))
    lengths = np.array(LENGTHS)
    assert np.array_equal(goal_e, obs_e)  # the same episode, read back from the data itself
    assert np.all(goal_t > obs_t)  # strictly later
    assert np.all(goal_t <= lengths[obs_e])  # never past the episode's last observation
    assert np.all(obs_t < lengths[obs_e])  # transitions have an action
    assert not s.reached.any()
    # Every later step can be drawn: the one-step episode's only goal, the final steps.
    assert set(goal_t[obs_e == 3]) <= {1}
    assert (goal_t == lengths[obs_e]).any()


def test_goal_mixture_draws_current_trajectory_and_random_goals(coded):
    rng = np.random.default_rng(1)
    goals = GoalSampling(p_traj=0.5, p_current=0.2, p_random=0.3, geometric=True)
    s = coded.sample(20_000, goals, rng)
    current = s.reached
    assert abs(current.mean() - 0.2) < 0.03  # reward 0 exactly where the goal is o_t
    later_same = (s.ge == s.e) & (s.gt > s.t)
    assert later_same.mean() > 0.5 - 0.03
    other = s.ge != s.e
    assert abs(other.mean() - 0.3 * (1 - 1 / len(LENGTHS))) < 0.03
    assert np.all(s.gt <= np.array(LENGTHS)[s.ge])


def test_goal_sampling_rejects_a_mixture_that_does_not_sum_to_one():
    with pytest.raises(ValueError, match="must be 1"):
        GoalSampling(p_traj=0.5, p_random=0.2)


def test_random_shift_moves_a_samples_images_alike_and_keeps_their_pixels():
    from wmplan.agents.baselines.nets import random_shift

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (6, 10, 10, 3), dtype=np.uint8)
    assert np.array_equal(random_shift(frames, 0, rng), frames)
    obs_goal = np.stack([frames, 255 - frames])  # [K=2, B, H, W, 3]
    out = random_shift(obs_goal, 2, np.random.default_rng(1))
    assert out.shape == obs_goal.shape
    # Same shift for both images of a sample: the transform of one predicts the other.
    assert np.array_equal(out[1], 255 - out[0])
    padded = np.pad(frames, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="edge")
    shifts = set()
    for b in range(6):  # each output is one 10x10 window of the padded image
        hits = [(dy, dx) for dy in range(5) for dx in range(5)
                if np.array_equal(padded[b, dy:dy + 10, dx:dx + 10], out[0, b])]  # fmt: skip
        assert hits, b
        shifts.add(hits[0])
    assert len(shifts) > 1  # not one shift for the whole batch


def test_fusion_and_augmentation_are_validated_by_name(tmp_path):
    from wmplan.agents.baselines.offline import OfflineConfig

    base = dict(algo="gcbc", task="wmplan/TwoRoom-v0", data="d.h5", out=str(tmp_path))
    with pytest.raises(ValueError, match="fusion"):
        OfflineConfig(**base, fusion="middle")
    with pytest.raises(ValueError, match="augment_pad"):
        OfflineConfig(**base, augment_pad=-1)
    with pytest.raises(ValueError, match="state"):
        OfflineConfig(**base, obs="state", fusion="early")


def test_gcbc_geometric_goals_use_its_discount(coded):
    from wmplan.agents.baselines.gcbc import GCBCConfig

    goals = GCBCConfig(geometric_goals=True, goal_discount=0.5).goals()
    assert goals.geometric and goals.discount == 0.5
    s = coded.sample(20_000, goals, np.random.default_rng(2))
    obs_e, obs_t = _origin(coded.observations(s.e, s.t))
    _, goal_t = _origin(coded.observations(s.ge, s.gt))
    far = np.array(LENGTHS)[obs_e] - obs_t >= 12  # the cap at the episode's end never bites
    assert abs((goal_t - obs_t)[far].mean() - 2.0) < 0.1  # Geometric(0.5) has mean 2
    with pytest.raises(ValueError, match="goal_discount"):
        GCBCConfig(goal_discount=1.0)
