"""The agent kinds ``make_agent`` builds, and what each needs.

| kind   | what                                            | needs              |
| ------ | ----------------------------------------------- | ------------------ |
| random | uniform random actions                          | -                  |
| oracle | MPC with the true simulator as the model        | planner            |
| wm     | MPC with a learned world model (latent goal)    | planner, checkpoint|
| python | any agent: ``options: {entry_point: "pkg.mod:make"}`` | (planner)    |
| sac, ppo | model-free policy (``wmplan baseline train``) | checkpoint, sb3 |
| gcbc, gciql | offline goal-conditioned policy (``wmplan baseline train``) | checkpoint |

A ``python`` agent is built by calling its entry point with ``env`` (the wrapped
gymnasium env), ``seed``, ``task_id``, its other options and, if the spec has a
planner, ``planner`` (name) and ``planner_options`` (dict); with option
``privileged: true`` it also gets the unwrapped env at ``reset``. Baselines that
the factory does not know yet plug in this way.

This module is data only (no torch), so that configs can validate a kind cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from wmplan.agents.baselines import OFFLINE_ALGOS, ONLINE_ALGOS


@dataclass(frozen=True)
class AgentKind:
    """What an agent kind needs: a planner, a checkpoint, privileged env access,
    optional packages (``requires``: import names that a plain install may lack)."""

    requires: tuple[str, ...] = ()
    needs_planner: bool = False
    accepts_planner: bool = False
    needs_checkpoint: bool = False
    privileged: bool = False
    help: str = ""
    train_hint: str = "wmplan train --task {task} --out {path} ..."
    checkpoint_format: str = "wmplan.worldmodel"  # the format label its config.json carries


AGENT_KINDS: dict[str, AgentKind] = {
    "random": AgentKind(help="uniform random actions"),
    "oracle": AgentKind(
        needs_planner=True,
        privileged=True,
        help="MPC with the true MuJoCo simulator as the model (upper bound)",
    ),
    "wm": AgentKind(
        needs_planner=True,
        needs_checkpoint=True,
        help="MPC with a learned world model and a latent goal cost",
    ),
    "python": AgentKind(accepts_planner=True, help="an agent built by options.entry_point"),
    **{
        algo: AgentKind(
            ("stable_baselines3",) if algo in ONLINE_ALGOS else (),
            needs_checkpoint=True,
            help=f"{algo.upper()} policy trained by `wmplan baseline train {algo}`",
            train_hint=f"wmplan baseline train {algo} --task {{task}} --out {{path}} ...",
            checkpoint_format="wmplan.baseline",
        )
        for algo in ONLINE_ALGOS + OFFLINE_ALGOS
    },
}
ENTRY_POINT_RE = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"
