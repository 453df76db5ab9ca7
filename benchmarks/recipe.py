"""Model recipes: one command per task collects, trains, evaluates and writes the model card.

    wmplan recipe tworoom --out runs/recipe-tworoom

Each stage is the `wmplan` command a user would type (printed as it runs), so the
card says exactly how its model was made, and every stage resumes after a kill
the way its command does (collect and train resume; train-reach and eval-model
redo their minute; bench skips finished episodes). The stages:

    collect -> train -> [train-reach] -> eval-model -> planning.json -> bench (the
    standard protocol's seeds, world-model MPC only) -> MODEL_CARD.md + card.json

``RECIPES`` holds what differs per task: data size, training steps, whether the
model gets a reachability head (TwoRoom: the wall), and the MPC settings it is
validated with (Reacher: a 3-block horizon). The settings were chosen on tuning
seeds 100-102, never on the evaluation seeds 0-2 (models/README.md, ablations).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wmplan.worldmodel.configs import check_ints

CARD_MD, CARD_JSON, TRAIN_CONFIG = "MODEL_CARD.md", "card.json", "train.yaml"
STAGE_TIMES = "stage_times.json"  # {stage: wall seconds, summed over the recipe's runs}


@dataclass(frozen=True)
class Recipe:
    """How one task's reference model is made and evaluated."""

    task: str
    episodes: int = 1000  # collected with the noisy scripted expert
    steps: int = 100  # env steps per episode
    train_steps: int = 3000
    reach: bool = False  # fit a reachability head (wmplan train-reach)
    reach_steps: int = 3000
    decoder_steps: int = 300  # eval-model's decoder probe (0: off)
    planning: dict[str, Any] = field(default_factory=dict)  # planning.json
    # ModelConfig / LossConfig fields the training run sets (written to train.yaml, passed
    # to `wmplan train --config`): e.g. Push's auxiliary state head.
    model: dict[str, Any] = field(default_factory=dict)
    loss: dict[str, Any] = field(default_factory=dict)
    planner: dict[str, Any] = field(
        default_factory=lambda: {
            "name": "cem",
            "num_samples": 100,
            "iterations": 10,
            "num_elites": 10,
        }  # fmt: skip
    )
    eval_seeds: tuple[int, ...] = (0, 1, 2)
    eval_episodes: int = 50

    def __post_init__(self) -> None:
        check_ints(self, ("decoder_steps",), minimum=0)
        check_ints(self, ("episodes", "steps", "train_steps", "reach_steps", "eval_episodes"))
        from wmplan.agents.wm import PLANNING_KEYS

        unknown = set(self.planning) - set(PLANNING_KEYS)
        if unknown:
            raise ValueError(f"planning: unknown keys {sorted(unknown)}; valid: {PLANNING_KEYS}")
        from wmplan.worldmodel.base import ModelConfig
        from wmplan.worldmodel.losses import LossConfig

        ModelConfig.from_dict(self.model)
        LossConfig.from_dict(self.loss)

    @property
    def train_config(self) -> dict[str, Any]:
        """The ``--config`` mapping of the train stage ({} when the defaults do)."""
        return {k: v for k, v in (("model", self.model), ("loss", self.loss)) if v}

    @property
    def short(self) -> str:
        """'wmplan/TwoRoom-v0' -> 'tworoom'."""
        return self.task.split("/")[-1].split("-")[0].lower()


# The recipes' names, for the CLI's choices without building them: building a Recipe
# checks its model, loss and planning settings, which imports torch.
RECIPE_NAMES = ("reacher", "tworoom", "push")


def _build_recipes() -> dict[str, Recipe]:
    return {
        r.short: r
        for r in (
            Recipe("wmplan/Reacher-v0", planning={"horizon": 3}),
            Recipe("wmplan/TwoRoom-v0", reach=True),
            # The state head makes the block's yaw part of the latent; replanning every env
            # step closes the loop on near misses, and scoring each plan by its closest
            # approach to the goal (success counts at any step) lets it pass through the
            # goal pose instead of settling near it (ablations in models/README.md).
            Recipe(
                "wmplan/Push-v0",
                train_steps=2000,
                model={"state_aux": [0, 1, 2, 3, 4, 5]},
                loss={"state_aux_pred_weight": 0.0},
                planning={"replan_every": 1, "cost_mode": "min"},
            ),  # fmt: skip
        )
    }


def __getattr__(name: str) -> Any:
    """``RECIPES`` (name -> Recipe) is built on first use (PEP 562), so that importing
    this module for ``RECIPE_NAMES`` stays light."""
    if name == "RECIPES":
        recipes = _build_recipes()
        if tuple(recipes) != RECIPE_NAMES:
            raise RuntimeError(f"RECIPE_NAMES {RECIPE_NAMES} != recipes {tuple(recipes)}")
        globals()["RECIPES"] = recipes
        return recipes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def stages(recipe: Recipe, out: Path, workers: int = 2) -> list[list[str]]:
    """The `wmplan` argument lists of the recipe's stages, in order."""
    data, run = str(out / f"{recipe.short}.h5"), str(out / "model")
    argv = [
        ["collect", "--task", recipe.task, "--policy", "expert", "--episodes",
         str(recipe.episodes), "--steps", str(recipe.steps), "--workers", str(workers),
         "--seed", "0", "--out", data, "--quiet"],
        ["train", "--task", recipe.task, "--data", data, "--out", run, "--steps",
         str(recipe.train_steps), "--quiet"],
    ]  # fmt: skip
    if recipe.train_config:
        argv[1][-1:-1] = ["--config", str(out / TRAIN_CONFIG)]
    if recipe.reach:
        argv.append(["train-reach", run, "--data", data, "--steps", str(recipe.reach_steps)])
    argv.append(["eval-model", run, "--data", data, "--decoder-steps", str(recipe.decoder_steps)])
    return argv


def eval_suite(recipe: Recipe, checkpoint: Path) -> dict[str, Any]:
    """The card's protocol evaluation as a suite: world-model MPC on the standard seeds."""
    return {
        "name": f"card-{recipe.short}",
        "description": f"model card evaluation of {checkpoint}",
        "tasks": [recipe.task],
        "seeds": list(recipe.eval_seeds),
        "episodes": recipe.eval_episodes,
        "episodes_per_job": 10,
        "record_episodes": 0,
        "protocol": {"goal_offset": 25, "budget": 50, "image_size": 64},
        "agents": [
            {
                "name": "wm-cem",
                "kind": "wm",
                "checkpoint": str(checkpoint),
                "planner": dict(recipe.planner),
            }
        ],  # fmt: skip
    }


def _interval(successes: int, n: int) -> tuple[float, float]:
    """The report's 95% interval of a success rate (Clopper-Pearson)."""
    from wmplan.benchmarks.stats import binomial_ci

    est = binomial_ci(successes, n)
    return (est.low, est.high)


def stage_times(out: Path) -> dict[str, float]:
    """Wall seconds per stage the recipe in ``out`` has run so far ({} before its first)."""
    path = out / STAGE_TIMES
    return json.loads(path.read_text()) if path.is_file() else {}


def card(recipe: Recipe, out: Path, checkpoint: Path, bench_dir: Path) -> dict[str, Any]:
    """Collect what the stages wrote into the card's fields."""
    from wmplan.worldmodel.data.inspect import inspect

    run = out / "model"
    metrics = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines() if ln]
    last = metrics[-1] if metrics else {}
    with sqlite3.connect(bench_dir / "results.sqlite") as db:
        rows = db.execute(
            "SELECT seed, success, plan_time_per_step FROM episodes WHERE agent = 'wm-cem'"
        ).fetchall()
    per_seed = {s: [r[1] for r in rows if r[0] == s] for s in recipe.eval_seeds}
    wins, n = sum(r[1] for r in rows), len(rows)
    data = inspect(out / f"{recipe.short}.h5", verify=False)
    times = stage_times(out)
    eval_json = run / "eval" / "eval.json"
    reach_json = checkpoint / "reach.json"
    return {
        "task": recipe.task,
        "recipe": dataclasses.asdict(recipe),
        "commands": ["wmplan " + " ".join(a) for a in stages(recipe, out)],
        "data": {
            "episodes": data["episodes"],
            "frames": data["frames"],
            "policy": "expert",
            "collect_wall_s": times.get("collect"),
        },
        "training": {
            "steps": last.get("step"),
            "wall_s": last.get("elapsed_s"),
            "final_loss": last.get("loss"),
            "config": recipe.train_config,
        },  # fmt: skip
        "eval_model": json.loads(eval_json.read_text()) if eval_json.exists() else None,
        "reach": json.loads(reach_json.read_text())["metrics"] if reach_json.exists() else None,
        "protocol": {
            "planner": recipe.planner,
            "planning": recipe.planning,
            "goal_offset": 25,
            "budget": 50,
            "seeds": list(recipe.eval_seeds),
            "episodes": n,
            "successes": wins,
            "success_rate": wins / n if n else None,
            "ci95": list(_interval(wins, n)),
            "per_seed": {str(s): f"{sum(v)}/{len(v)}" for s, v in per_seed.items()},
            "plan_ms_per_step": 1e3 * sum(r[2] for r in rows) / n if n else None,
        },  # fmt: skip
    }


def card_markdown(c: dict[str, Any]) -> str:
    """The card as Markdown."""
    p, t = c["protocol"], c["training"]
    lo, hi = p["ci95"]
    lines = [
        f"# World model for {c['task']}",
        "",
        f"- Data: {c['data']['episodes']} episodes, {c['data']['frames']} frames, "
        f"{c['data']['policy']} policy"
        + (
            f"; collected in {d} s (not counted as training)"
            if (d := c["data"].get("collect_wall_s")) is not None
            else ""
        ),
        f"- Training: {t['steps']} steps, {t['wall_s']} s of training on this machine"
        + (f"; config {json.dumps(t['config'])}" if t.get("config") else ""),
        f"- Reachability head: {json.dumps(c['reach']) if c['reach'] else 'none'}",
        f"- Planning: {json.dumps(p['planner'])}, model options {json.dumps(p['planning'])}",
        f"- **Protocol success** (goal offset {p['goal_offset']}, budget {p['budget']}, seeds "
        f"{p['seeds']}): {p['successes']}/{p['episodes']} = {100 * (p['success_rate'] or 0):.1f}% "
        f"[95% Clopper-Pearson: {100 * lo:.1f}, {100 * hi:.1f}]; per seed {p['per_seed']}; "
        f"{p['plan_ms_per_step']:.0f} ms planning per env step",
        "",
        "Made with:",
        "",
        "```bash",
        *c["commands"],
        "```",
    ]
    return "\n".join(lines) + "\n"


def run_recipe(
    recipe: Recipe, out: str | Path, main: Callable[[list[str]], int], workers: int = 2
) -> int:
    """Run every stage of ``recipe`` (e.g. ``RECIPES["tworoom"]``) into ``out`` as
    ``wmplan`` commands through ``main`` (the CLI's entry point: the stages are exactly
    the commands the model card lists); returns an exit code."""
    import yaml

    from wmplan.worldmodel.checkpoint import resolve
    from wmplan.worldmodel.files import write_json_atomic, write_text_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if recipe.train_config:
        write_text_atomic(out / TRAIN_CONFIG, yaml.safe_dump(recipe.train_config))
    times = stage_times(out)
    for argv in stages(recipe, out, workers):
        print("$ wmplan " + " ".join(argv), flush=True)
        start = time.perf_counter()
        code = main(argv)
        # Summed over runs, so a resumed stage counts all of its time (and a skipped one ~0).
        times[argv[0]] = round(times.get(argv[0], 0.0) + time.perf_counter() - start, 1)
        write_json_atomic(out / STAGE_TIMES, times)
        if code:
            return code
    checkpoint = resolve(out / "model")
    write_json_atomic(checkpoint / "planning.json", recipe.planning)
    suite_path = out / "card-suite.yaml"
    suite_path.write_text(yaml.safe_dump(eval_suite(recipe, checkpoint), sort_keys=False))
    bench_dir = out / "card-eval"
    argv = ["bench", "--suite", str(suite_path), "--out", str(bench_dir), "--workers",
            str(workers), "--quiet"]  # fmt: skip
    print("$ wmplan " + " ".join(argv), flush=True)
    code = main(argv)
    if code:
        return code
    c = card(recipe, out, checkpoint, bench_dir)
    write_json_atomic(out / CARD_JSON, c)
    (out / CARD_MD).write_text(card_markdown(c))
    print(f"model card: {out / CARD_MD}")
    return 0
