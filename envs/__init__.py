"""wmplan tasks: goal-conditioned MuJoCo tasks and pixel reward tasks.

Importing this package registers every task with Gymnasium::

    import gymnasium as gym, wmplan.envs
    env = gym.make("wmplan/Reacher-v0", image_size=64)

``make`` is ``gymnasium.make`` with an unknown-id error that lists the known ids
and the closest match; ``list_tasks`` describes each task without building it.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from wmplan.envs.render import gl_backend

# Choose the headless GL backend before anything imports an OpenGL binding (dm_control
# and Gymnasium's MuJoCo envs read MUJOCO_GL on import); workers inherit the choice.
gl_backend()

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402

from wmplan.envs.base import GoalTask  # noqa: E402
from wmplan.envs.dmc import DMC_EPISODE_STEPS, DMC_TASKS, DMCEnv  # noqa: E402
from wmplan.envs.gym_pixels import GYM_TASKS, GymPixelEnv  # noqa: E402
from wmplan.envs.pixels import PixelRewardEnv  # noqa: E402
from wmplan.envs.push import Push  # noqa: E402
from wmplan.envs.reacher import Reacher  # noqa: E402
from wmplan.envs.tworoom import TwoRoom  # noqa: E402


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


# The goal tasks, in listing order. Adding one = its module + XML and a line here.
GOAL_TASK_CLASSES: tuple[type[GoalTask], ...] = (Reacher, TwoRoom, Push)
GOAL_TASKS = tuple(cls.task_id for cls in GOAL_TASK_CLASSES)


def _goal_task_info(cls: type[GoalTask]) -> TaskInfo:
    """A goal task's row, read from its class and its XML (actuators = action dims)."""
    xml = Path(sys.modules[cls.__module__].__file__).with_name(cls.xml_file)
    action_dim = mujoco.MjModel.from_xml_path(str(xml)).nu
    return TaskInfo(cls.task_id, "goal", action_dim, cls.state_dim, cls.success_text,
                    f"{cls.__module__}:{cls.__name__}", (), cls.max_episode_steps)  # fmt: skip


def _task_rows() -> list[TaskInfo]:
    reward_text = PixelRewardEnv.success_text
    dmc_entry = f"{DMCEnv.__module__}:{DMCEnv.__name__}"
    gym_entry = f"{GymPixelEnv.__module__}:{GymPixelEnv.__name__}"
    return [
        *(_goal_task_info(cls) for cls in GOAL_TASK_CLASSES),
        *(
            TaskInfo(f"wmplan/dmc-{d}-{t}-v0", "reward", a, s, reward_text, dmc_entry,
                     (("domain", d), ("task", t)), DMC_EPISODE_STEPS)
            for (d, t), (a, s) in DMC_TASKS.items()
        ),
        *(
            TaskInfo(f"wmplan/gym-{gym_id}", "reward", a, s, reward_text, gym_entry,
                     (("gym_id", gym_id),), steps)
            for gym_id, (a, s, steps) in GYM_TASKS.items()
        ),
    ]  # fmt: skip


TASKS: dict[str, TaskInfo] = {t.id: t for t in _task_rows()}


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


def short_task(task_id: str) -> str:
    """'wmplan/Reacher-v0' -> 'Reacher' (used in file names and checkpoint templates)."""
    return re.sub(r"-v\d+$", "", task_id.split("/")[-1])


def make(task_id: str, **kwargs) -> gym.Env:
    """``gymnasium.make(task_id, **kwargs)`` for a wmplan task, with a helpful error."""
    check_task_id(task_id)
    return gym.make(task_id, **kwargs)


_register()

__all__ = ["GOAL_TASKS", "TASKS", "TaskInfo", "check_task_id", "list_tasks", "make", "short_task"]
