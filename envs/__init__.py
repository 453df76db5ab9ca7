"""wmplan tasks: goal-conditioned MuJoCo tasks and pixel reward tasks.

Importing this package registers every task with Gymnasium::

    import gymnasium as gym, wmplan.envs
    env = gym.make("wmplan/Reacher-v0", image_size=64)

``make`` is ``gymnasium.make`` with an unknown-id error that lists the known ids
and the closest match; ``list_tasks`` describes each task without building it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from wmplan.envs.render import gl_backend

# Choose the headless GL backend before anything imports an OpenGL binding (dm_control
# and Gymnasium's MuJoCo envs read MUJOCO_GL on import); workers inherit the choice.
gl_backend()

import gymnasium as gym  # noqa: E402

from wmplan.envs.dmc import DMC_TASKS  # noqa: E402


@dataclass(frozen=True)
class TaskInfo:
    """What a task is, for listings: id, kind ('goal' or 'reward'), dims, success."""

    id: str
    kind: str
    action_dim: int
    state_dim: int
    success: str
    entry_point: str
    kwargs: tuple[tuple[str, object], ...] = ()
    max_episode_steps: int = 200


GOAL_TASKS = ("wmplan/Reacher-v0", "wmplan/TwoRoom-v0", "wmplan/Push-v0")

_DMC_DIMS = {  # (action_dim, state_dim) of the flattened suite observations
    ("cartpole", "swingup"): (1, 5),
    ("reacher", "easy"): (2, 6),
    ("cheetah", "run"): (6, 17),
    ("walker", "walk"): (6, 24),
    ("finger", "spin"): (2, 9),
    ("cup", "catch"): (2, 8),
}

TASKS: dict[str, TaskInfo] = {
    t.id: t
    for t in [
        TaskInfo("wmplan/Reacher-v0", "goal", 2, 6,
                 "fingertip within 0.02 of the goal fingertip", "wmplan.envs.reacher:Reacher"),
        TaskInfo("wmplan/TwoRoom-v0", "goal", 2, 4,
                 "agent within 0.1 of the goal position", "wmplan.envs.tworoom:TwoRoom"),
        TaskInfo("wmplan/Push-v0", "goal", 2, 10,
                 "block within 0.025 and 0.2 rad of the goal pose", "wmplan.envs.push:Push"),
        *[
            TaskInfo(f"wmplan/dmc-{d}-{t}-v0", "reward", *_DMC_DIMS[(d, t)],
                     "none (reward task)", "wmplan.envs.dmc:DMCEnv",
                     (("domain", d), ("task", t)), 1000)
            for d, t in DMC_TASKS
        ],
        TaskInfo("wmplan/gym-Reacher-v5", "reward", 2, 10, "none (reward task)",
                 "wmplan.envs.gym_pixels:GymPixelEnv", (("gym_id", "Reacher-v5"),), 50),
        TaskInfo("wmplan/gym-Pusher-v5", "reward", 7, 23, "none (reward task)",
                 "wmplan.envs.gym_pixels:GymPixelEnv", (("gym_id", "Pusher-v5"),), 100),
    ]
}  # fmt: skip


def _register() -> None:
    for task in TASKS.values():
        if task.id not in gym.registry:
            gym.register(
                id=task.id,
                entry_point=task.entry_point,
                kwargs=dict(task.kwargs),
                max_episode_steps=task.max_episode_steps,
            )


def list_tasks() -> list[TaskInfo]:
    """All registered wmplan tasks, goal tasks first."""
    return list(TASKS.values())


def check_task_id(task_id: str) -> TaskInfo:
    """The ``TaskInfo`` of ``task_id``, or ValueError listing known ids and the closest."""
    if task_id in TASKS:
        return TASKS[task_id]
    close = difflib.get_close_matches(task_id, list(TASKS), n=1, cutoff=0.0)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown task id {task_id!r}{hint} Known ids: {', '.join(TASKS)}")


def make(task_id: str, **kwargs) -> gym.Env:
    """``gymnasium.make(task_id, **kwargs)`` for a wmplan task, with a helpful error."""
    check_task_id(task_id)
    return gym.make(task_id, **kwargs)


_register()

__all__ = ["GOAL_TASKS", "TASKS", "TaskInfo", "check_task_id", "list_tasks", "make"]
