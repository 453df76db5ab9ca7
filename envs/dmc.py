"""dm_control suite reward tasks with pixel observations: ``wmplan/dmc-<domain>-<task>-v0``.

| | |
|---|---|
| Action space | ``Box(-1, 1, (A,), float32)``, rescaled to the task's action spec |
| Observation | ``pixels`` uint8 [H, W, 3] from the suite's tracking camera 0 (quadruped: 2); ``state`` float32: the suite's observation dict flattened in key order |
| Reward | the suite's reward in [0, 1] per control step, summed over ``action_repeat`` |
| Start state | the suite's own randomised ``initialize_episode``, seeded by ``reset(seed=...)`` |
| Goal / success | none: reward tasks (``info['success']`` is always False) |
| Episode end | truncated when the suite's time limit ends the episode (1000 control steps) |
"""

from __future__ import annotations

import numpy as np

from wmplan.envs.pixels import PixelRewardEnv

# (domain, task) pairs of the first suite -> (action_dim, state_dim) of the flattened
# suite observations (listed here so the registry need not load dm_control; a test
# checks them against the built envs).
DMC_TASKS = {
    ("cartpole", "swingup"): (1, 5),
    ("reacher", "easy"): (2, 6),
    ("cheetah", "run"): (6, 17),
    ("walker", "walk"): (6, 24),
    ("finger", "spin"): (2, 9),
    ("cup", "catch"): (2, 8),
}
# Control steps per episode: the suite's time limit.
DMC_EPISODE_STEPS = 1000


# wmplan ids use the short name; dm_control's domain is ball_in_cup.
_DOMAIN_ALIASES = {"cup": "ball_in_cup"}


def _flatten(observation) -> np.ndarray:
    return np.concatenate([np.asarray(v, np.float64).ravel() for v in observation.values()])


class DMCEnv(PixelRewardEnv):
    """A dm_control suite task seen through wmplan's pixel wrapper."""

    def __init__(
        self,
        domain: str,
        task: str,
        image_size: int = 64,
        action_repeat: int = 1,
        camera: str | int | None = None,
        render_mode: str | None = "rgb_array",
    ):
        from dm_control import suite  # imported late: it reads MUJOCO_GL on import

        suite_domain = _DOMAIN_ALIASES.get(domain, domain)
        if (suite_domain, task) not in suite.ALL_TASKS:
            raise ValueError(f"unknown dm_control task {domain}-{task}")
        self._env = suite.load(suite_domain, task, task_kwargs={"random": 0})
        physics = self._env.physics
        spec = self._env.action_spec()
        ts = self._env.reset()
        cam0 = 2 if domain == "quadruped" else 0
        cameras = {str(i): i for i in range(physics.model.ncam)}
        cameras = {str(cam0): cam0, **cameras}
        self._setup(
            physics.model.ptr,
            physics.data.ptr,
            spec.minimum,
            spec.maximum,
            _flatten(ts.observation).size,
            image_size,
            action_repeat,
            None if camera is None else str(camera),
            cameras,
            render_mode,
            self._env.control_timestep(),
        )
        self.domain, self.task = domain, task
        self._last = ts

    def _sim_reset(self, seed: int) -> None:
        self._env.task._random = np.random.RandomState(seed)
        self._last = self._env.reset()

    def _sim_step(self, ctrl: np.ndarray) -> tuple[float, bool, bool]:
        ts = self._env.step(ctrl)
        self._last = ts
        done = ts.last()
        terminated = bool(done and ts.discount == 0.0)
        return float(ts.reward or 0.0), terminated, bool(done and not terminated)

    def _sim_state(self) -> np.ndarray:
        return _flatten(self._last.observation)

    def _sim_handles(self):
        physics = self._env.physics
        return physics.model.ptr, physics.data.ptr

    def get_state(self) -> np.ndarray:
        return np.concatenate([[self._env.physics.data.time], self._env.physics.get_state()])

    def set_state(self, state: np.ndarray) -> None:
        state = np.asarray(state, np.float64)
        physics = self._env.physics
        expected = 1 + physics.get_state().size
        if state.shape != (expected,):
            raise ValueError(f"state must have shape ({expected},), got {state.shape}")
        with physics.reset_context():
            physics.set_state(state[1:])
        physics.data.time = state[0]
