"""The evaluation protocol of goal tasks (``ProtocolConfig``) and its version.

Kept apart from ``suite.py`` so that reading its defaults (the CLI's help texts) does
not import the agents, planners and torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from wmplan.worldmodel.configs import ConfigError

# Version of the evaluation protocol, stored with every result row and in the
# config hash (rows of two versions never pool). 1: starts that already satisfied
# the goal were kept (free wins); 2: such start/goal pairs are drawn again
# (envs/base.py ``GoalTask.reset``). Rows stored before the field existed read as 1.
PROTOCOL_VERSION = 2


@dataclass(frozen=True)
class ProtocolConfig:
    """Evaluation protocol of goal-conditioned tasks (stable-worldmodel / LeWM):
    the goal is the state ``goal_offset`` expert steps from the start; the agent has
    ``budget`` env steps; success if the task's predicate holds at any step."""

    goal_offset: int = 25
    budget: int = 50
    image_size: int = 64
    action_repeat: int = 1

    def __post_init__(self) -> None:
        for name, low in (("goal_offset", 1), ("budget", 1), ("action_repeat", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(name, f"must be an integer >= {low}, got {value!r}")
        if not isinstance(self.image_size, int) or not 16 <= self.image_size <= 512:
            raise ConfigError(
                "image_size", f"must be an integer in [16, 512], got {self.image_size!r}"
            )
