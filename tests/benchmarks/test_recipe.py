"""`wmplan recipe` runs the real pipeline (collect, train, reach head, eval-model, protocol
evaluation) at a tiny size and writes a model card whose numbers match its results."""

from __future__ import annotations

import json
import sqlite3

import pytest
import yaml

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
    times = json.loads((out / "stage_times.json").read_text())
    assert set(times) == {"collect", "train", "train-reach", "eval-model"}
    assert card["data"]["collect_wall_s"] == times["collect"] > 0
    assert f"collected in {times['collect']} s" in (out / "MODEL_CARD.md").read_text()
    ckpt = out / "model" / "checkpoints" / "step_00000002"
    assert (ckpt / "reach.safetensors").is_file() and (ckpt / "planning.json").is_file()


def test_recipe_model_settings_reach_the_train_stage(tmp_path):
    push = RECIPES["push"]
    assert push.model.get("state_aux"), "Push's recipe trains the auxiliary state head"
    with pytest.raises(ValueError, match="state_aux"):
        Recipe("wmplan/Push-v0", model={"state_aux": [0, 0]})
    with pytest.raises(ValueError, match="unknown loss fields"):
        Recipe("wmplan/Push-v0", loss={"state_weight": 1.0})
    seen = []

    def stop_after_collect(argv):
        seen.append(argv)
        return 3

    from wmplan.benchmarks.recipe import run_recipe

    assert run_recipe(push, tmp_path, stop_after_collect) == 3
    assert seen[0][0] == "collect"
    written = yaml.safe_load((tmp_path / "train.yaml").read_text())
    assert written == push.train_config and written["model"] == push.model
    train = next(a for a in stages(push, tmp_path) if a[0] == "train")
    assert train[train.index("--config") + 1] == str(tmp_path / "train.yaml")
    assert "--config" not in next(
        a for a in stages(RECIPES["reacher"], tmp_path) if a[0] == "train"
    )
