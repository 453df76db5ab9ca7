"""wmplan planners: pure optimisers over action sequences given a cost function.

    from wmplan.planners import make_planner, shift
    planner = make_planner("cem", num_samples=300, iterations=30)
    actions, info = planner(cost_fn, mean, low, high, generator=torch.Generator().manual_seed(0))

``cost_fn(actions[B, N, H, A]) -> costs[B, N]``; ``mean``: ``[B, H, A]``;
``low``/``high``: ``[A]`` (or scalars). See ``planners/base.py`` for the shared
contract (seeding, shapes, ``PlanInfo``). Nothing here imports the rest of
wmplan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from . import cem, gradient, icem, mppi, random_shooting
from .base import CostFn, Generators, PlanInfo, SamplingConfig, shift
from .cem import CEMConfig
from .gradient import GradientConfig
from .icem import ICEMConfig
from .mppi import MPPIConfig
from .random_shooting import RandomShootingConfig

PLANNERS: dict[str, tuple[Callable[..., tuple[Tensor, PlanInfo]], type]] = {
    "cem": (cem.plan, CEMConfig),
    "mppi": (mppi.plan, MPPIConfig),
    "icem": (icem.plan, ICEMConfig),
    "gradient": (gradient.plan, GradientConfig),
    "random": (random_shooting.plan, RandomShootingConfig),
}

PlannerConfig = CEMConfig | MPPIConfig | ICEMConfig | GradientConfig | RandomShootingConfig


def _entry(name: str):
    if name not in PLANNERS:
        raise ValueError(f"unknown planner {name!r}; valid: {', '.join(PLANNERS)}")
    return PLANNERS[name]


def make_config(name: str, config: Any | None = None, **overrides: Any) -> PlannerConfig:
    """The config dataclass of planner ``name`` (defaults, or ``config``) with
    ``overrides`` applied and validated; unknown fields are rejected by name."""
    _, cls = _entry(name)
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown {name} planner option(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
        )
    if config is None:
        return cls(**overrides)
    if not isinstance(config, cls):
        raise ValueError(f"config for planner {name!r} must be a {cls.__name__}, got {config!r}")
    return dataclasses.replace(config, **overrides)


@dataclass(frozen=True)
class Planner:
    """A planner function bound to its config: ``planner(cost_fn, mean, low, high,
    generator=None, elites=None) -> (actions[B, H, A], PlanInfo)``."""

    name: str
    config: PlannerConfig

    def __call__(
        self,
        cost_fn: CostFn,
        mean: Tensor,
        low: Tensor | float,
        high: Tensor | float,
        generator: Generators = None,
        elites: Tensor | None = None,
    ) -> tuple[Tensor, PlanInfo]:
        fn, _ = PLANNERS[self.name]
        return fn(cost_fn, mean, low, high, self.config, generator, elites)

    @property
    def keeps_elites(self) -> bool:
        """True if the planner takes the previous replan's elites back (iCEM)."""
        return isinstance(self.config, SamplingConfig) and self.config.keeps_elites


def make_planner(name: str, config: Any | None = None, **overrides: Any) -> Planner:
    """Planner ``name`` (cem, mppi, icem, gradient, random) with its config."""
    return Planner(name, make_config(name, config, **overrides))


__all__ = [
    "PLANNERS",
    "CEMConfig",
    "GradientConfig",
    "ICEMConfig",
    "MPPIConfig",
    "PlanInfo",
    "Planner",
    "PlannerConfig",
    "RandomShootingConfig",
    "make_config",
    "make_planner",
    "shift",
]
