"""Published success rates that users compare wmplan with. NOT run here.

Each number carries its source and the settings it was measured under. They come
from other implementations of similar tasks (stable-worldmodel's TwoRoom,
dm_control Reacher, pymunk Push-T) at 224 px on GPUs, so they are context for our
numbers, not a like-for-like comparison. Values in percent; ``spread`` is the
source's +- (std over seeds) where it gives one.
"""

from __future__ import annotations

from dataclasses import dataclass

# Our task id -> the name of the closest published task.
TASK_NAMES = {
    "wmplan/Reacher-v0": "Reacher",
    "wmplan/TwoRoom-v0": "TwoRoom",
    "wmplan/Push-v0": "Push-T",
}

_RCAUX = "RC-aux reproduction (Li et al. 2026, arXiv:2605.07278; github.com/Guang000/RC-aux results/pixel_control_main_results.csv)"
_RCAUX_SETTINGS = "stable-worldmodel protocol: goal offset 25, 50-step budget, CEM 300x30 top-30, horizon 5, 224 px, GPU"
_SWM = (
    "stable-worldmodel docs, Baselines page (galilai-group.github.io/stable-worldmodel/baselines)"
)
_SWM_SETTINGS = (
    "stable-worldmodel evaluation, fixed 50-step budget, DINOv2 patch features, 224 px, GPU"
)


@dataclass(frozen=True)
class Reference:
    """One published success rate (percent) with where and how it was measured."""

    method: str
    task: str  # name of the published task (see TASK_NAMES)
    success: float | None  # None: the source lists the method but gives no number
    spread: float | None
    source: str
    settings: str
    note: str = ""

    def fmt(self) -> str:
        if self.success is None:
            return "n/a"
        approx = "~" if "approximate" in self.note else ""
        spread = f" +- {self.spread:.1f}" if self.spread is not None else ""
        return f"{approx}{self.success:.1f}{spread}"


REFERENCES: tuple[Reference, ...] = (
    Reference("LeWM", "TwoRoom", 88.8, 3.0, _RCAUX, _RCAUX_SETTINGS),
    Reference("LeWM", "Reacher", 81.2, 7.9, _RCAUX, _RCAUX_SETTINGS),
    Reference("LeWM", "Push-T", 90.4, 3.0, _RCAUX, _RCAUX_SETTINGS),
    Reference("RC-aux (LeWM + reachability)", "TwoRoom", 98.0, 1.4, _RCAUX, _RCAUX_SETTINGS),
    Reference("RC-aux (LeWM + reachability)", "Reacher", 87.2, 6.4, _RCAUX, _RCAUX_SETTINGS),
    Reference("RC-aux (LeWM + reachability)", "Push-T", 90.8, 3.3, _RCAUX, _RCAUX_SETTINGS),
    Reference(
        "DINO-WM", "Push-T", 86.0, None, _SWM,
        "CEM on frozen DINOv2 patches; fixed 50-step budget (the paper used an unbounded one)",
        "approximate (the source says ~86%)",
    ),
    Reference(
        "PLDM", "Push-T", None, None, _SWM,
        "MPPI on a JEPA trained from scratch (VICReg-style terms)",
        "the source lists PLDM with no number yet",
    ),
    Reference("GCBC", "TwoRoom", 100.0, None, _SWM, _SWM_SETTINGS),
    Reference("GCBC", "Push-T", 60.0, None, _SWM, _SWM_SETTINGS, "approximate (the source says ~60%)"),
    Reference("GCIQL", "TwoRoom", 100.0, None, _SWM, _SWM_SETTINGS),
    Reference("GCIVL", "TwoRoom", 100.0, None, _SWM, _SWM_SETTINGS),
    Reference("HILP", "TwoRoom", 100.0, None, _SWM, _SWM_SETTINGS),
)  # fmt: skip


def references_for(task_id: str) -> list[Reference]:
    """Published numbers for the task closest to our ``task_id`` (may be empty)."""
    name = TASK_NAMES.get(task_id)
    return [r for r in REFERENCES if r.task == name]
