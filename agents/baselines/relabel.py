"""An HDF5 episode dataset in memory, and hindsight goal sampling over it.

Offline goal-conditioned agents learn from the same datasets as the world models
(``wmplan collect``; schema in docs/dataset.md). A sample is a transition (episode
e, step t: observation t, action t) and a goal (episode ge, step gt) drawn as in
OGBench's ``GCDataset``:

- trajectory goal (``p_traj``): a later step of the same episode, gt in (t, L_e]
  (uniform, or t + Geometric(1 - discount) capped at L_e);
- current goal (``p_current``): gt = t, the transition's own observation;
- random goal (``p_random``): any observation of any episode.

The transition reached its goal when (ge, gt) == (e, t): GCIQL's reward is 0 there
and -1 elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wmplan.worldmodel.data.episodes import Dataset


@dataclass(frozen=True)
class GoalSampling:
    """Mixture of goal sources (probabilities sum to 1) and trajectory-goal offsets."""

    p_traj: float = 1.0
    p_current: float = 0.0
    p_random: float = 0.0
    geometric: bool = False
    discount: float = 0.99

    def __post_init__(self) -> None:
        for name in ("p_traj", "p_current", "p_random"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        total = self.p_traj + self.p_current + self.p_random
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"p_traj + p_current + p_random must be 1, got {total}")
        if not 0.0 < self.discount < 1.0:
            raise ValueError(f"discount must be in (0, 1), got {self.discount}")


@dataclass
class Sample:
    """Indices of a batch: transitions (e, t) and goals (ge, gt), each ``[B]``."""

    e: np.ndarray
    t: np.ndarray
    ge: np.ndarray
    gt: np.ndarray

    @property
    def reached(self) -> np.ndarray:
        """bool ``[B]``: the transition's observation is its goal."""
        return (self.ge == self.e) & (self.gt == self.t)


class GoalDataset:
    """Observations (``state`` float32 ``[E, T+1, S]`` or ``pixels`` uint8
    ``[E, T+1, H, W, 3]``) and actions ``[E, T, A]`` of a dataset, in memory."""

    def __init__(
        self, path: str, obs: str, task_id: str | None = None, max_episodes: int | None = None
    ):
        if obs not in ("state", "pixels"):
            raise ValueError(f"obs must be 'state' or 'pixels', got {obs!r}")
        with Dataset(path) as ds:
            ds.check(task_id=task_id)
            n = ds.num_episodes if max_episodes is None else min(max_episodes, ds.num_episodes)
            self.lengths = ds.lengths[:n].astype(np.int64)  # actions per episode
            self.actions = ds.read("actions", slice(0, n))
            self.obs = ds.read("states" if obs == "state" else "pixels", slice(0, n))
            self.task_id, self.image_size = ds.meta.task_id, ds.meta.image_size
        if np.any(self.lengths < 1):
            raise ValueError(f"{path}: every episode needs at least one action")
        self.kind = obs
        self.path = str(path)
        self.num_episodes = n
        self.action_dim = self.actions.shape[-1]
        self.num_transitions = int(self.lengths.sum())
        # Transition k of the flat list -> (episode, step), for uniform sampling.
        self._flat_e = np.repeat(np.arange(n), self.lengths)
        self._flat_t = np.concatenate([np.arange(length) for length in self.lengths])

    def sample(self, batch: int, goals: GoalSampling, rng: np.random.Generator) -> Sample:
        """``batch`` transitions uniformly, each with a goal drawn from ``goals``."""
        k = rng.integers(0, self.num_transitions, batch)
        return self.goals_for(self._flat_e[k], self._flat_t[k], goals, rng)

    def goals_for(
        self, e: np.ndarray, t: np.ndarray, goals: GoalSampling, rng: np.random.Generator
    ) -> Sample:
        """Goals drawn from ``goals`` for the transitions (e, t), each ``[B]``."""
        batch = len(e)
        last = self.lengths[e]  # index of the episode's final observation
        if goals.geometric:
            offset = rng.geometric(1.0 - goals.discount, batch)
            traj_t = np.minimum(t + offset, last)
        else:
            traj_t = t + 1 + np.floor(rng.random(batch) * (last - t)).astype(np.int64)
        rand_e = rng.integers(0, self.num_episodes, batch)
        rand_t = np.floor(rng.random(batch) * (self.lengths[rand_e] + 1)).astype(np.int64)
        u = rng.random(batch)
        is_traj = u < goals.p_traj
        is_cur = (u >= goals.p_traj) & (u < goals.p_traj + goals.p_current)
        ge = np.where(is_traj | is_cur, e, rand_e)
        gt = np.where(is_traj, traj_t, np.where(is_cur, t, rand_t))
        return Sample(e, t, ge, gt)

    def observations(self, e: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Observations at (e, t): ``[B, S]`` or ``[B, H, W, 3]``."""
        return self.obs[e, t]

    def state_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std ``[S]`` of the observed states (for input normalisation)."""
        if self.kind != "state":
            raise ValueError("state_stats needs obs='state'")
        valid = np.concatenate(
            [self.obs[e, : self.lengths[e] + 1] for e in range(self.num_episodes)]
        )
        return valid.mean(0), valid.std(0) + 1e-6
