"""`wmplan recipe` runs the real pipeline (collect, train, reach head, eval-model, protocol
evaluation) at a tiny size and writes a model card whose numbers match its results."""

from __future__ import annotations

import json
import sqlite3

import pytest

from wmplan.benchmarks.cli import main
from wmplan.benchmarks.recipe import RECIPES, Recipe, stages


def test_recipes_cover_the_goal_tasks_and_validate():
    assert {r.task for r in RECIPES.values()} == {
        "wmplan/Reacher-v0", "wmplan/TwoRoom-v0", "wmplan/Push-v0"
    }  # fmt: skip
    assert RECIPES["tworoom"].reach and not RECIPES["push"].reach
    with pytest.raises(ValueError, match="planning"):
        Recipe("wmplan/Reacher-v0", planning={"horizn": 3})
    with pytest.raises(ValueError, match="train_steps"):
        Recipe("wmplan/Reacher-v0", train_steps=0)


def test_recipe_runs_every_stage_and_its_card_matches_the_results(tmp_path, capsys):
    out = tmp_path / "r"
    code = main(["recipe", "tworoom", "--out", str(out), "--workers", "1", "--episodes", "5",
                 "--steps", "40", "--train-steps", "2", "--reach-steps", "5",
                 "--decoder-steps", "0", "--eval-episodes", "1"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    for argv in stages(RECIPES["tworoom"], out, 1):
        assert argv[0] in printed
    card = json.loads((out / "card.json").read_text())
    with sqlite3.connect(out / "card-eval" / "results.sqlite") as db:
        rows = db.execute("SELECT success FROM episodes").fetchall()
    assert card["protocol"]["episodes"] == len(rows) == 3  # 3 seeds x 1 episode
    assert card["protocol"]["successes"] == sum(r[0] for r in rows)
    assert card["training"]["steps"] == 2 and card["reach"] is not None
    assert "wmplan train-reach" in (out / "MODEL_CARD.md").read_text()
    ckpt = out / "model" / "checkpoints" / "step_00000002"
    assert (ckpt / "reach.safetensors").is_file() and (ckpt / "planning.json").is_file()
