import json

from wmplan.benchmarks.report import training_section
from wmplan.benchmarks.stats import summarize
from wmplan.benchmarks.training_cost import TrainingCost, training_cost


def _checkpoint(path, **metadata):
    path.mkdir(parents=True)
    (path / "config.json").write_text(
        json.dumps({"format": "wmplan.baseline", "metadata": metadata})
    )
    return path


def test_training_cost_reads_what_the_checkpoint_records(tmp_path):
    _checkpoint(tmp_path / "sac-TwoRoom", env_steps=100_000, train_wall_s=2299.5, step=100_000)
    _checkpoint(tmp_path / "gcbc-TwoRoom", dataset_transitions=100_000, train_wall_s=711.0)
    sac = training_cost({"checkpoint": str(tmp_path / "sac-{task}")}, "wmplan/TwoRoom-v0")
    assert sac == TrainingCost(env_steps=100_000, wall_s=2299.5, gradient_steps=100_000)
    assert sac.experience() == "100,000 env steps (online)" and sac.wall() == "2,300 s"
    gcbc = training_cost({"checkpoint": str(tmp_path / "gcbc-{task}")}, "wmplan/TwoRoom-v0")
    assert gcbc.transitions == 100_000 and gcbc.env_steps is None
    assert gcbc.experience() == "100,000 transitions (offline dataset)"


def test_untrained_agents_have_no_cost_and_unknown_figures_show_a_dash(tmp_path):
    assert training_cost({"kind": "oracle"}, "wmplan/Push-v0") is None
    missing = training_cost({"checkpoint": str(tmp_path / "nothing")}, "wmplan/Push-v0")
    assert missing == TrainingCost() and missing.experience() == "-" and missing.wall() == "-"


def test_shipped_world_models_record_their_data_and_training_time():
    cost = training_cost({"checkpoint": "wm-{task_lower}"}, "wmplan/TwoRoom-v0")
    assert cost.transitions == 100_000 and cost.wall_s and cost.wall_s > 0


def _rows(task, agent, config, successes):
    return [
        {"task": task, "agent": agent, "agent_config": json.dumps(config), "seed": 0,
         "episode": i, "success": s, "return": float(s), "final_distance": 0.0,
         "plan_time_per_step": 0.0, "wall_clock": 1.0, "steps": 50, "success_step": None}
        for i, s in enumerate(successes)
    ]  # fmt: skip


def test_report_puts_experience_and_wall_time_beside_success(tmp_path):
    _checkpoint(tmp_path / "sac-TwoRoom", env_steps=100_000, train_wall_s=2300.0)
    rows = _rows("wmplan/TwoRoom-v0", "sac-state", {"checkpoint": str(tmp_path / "sac-{task}")},
                 [1, 1, 0, 1])  # fmt: skip
    rows += _rows("wmplan/TwoRoom-v0", "random", {"kind": "random"}, [0, 0, 0, 0])
    lines = "\n".join(training_section(rows, summarize(rows)))
    assert "| TwoRoom | `sac-state` | 100,000 env steps (online) | 2,300 s | 75.0" in lines
    assert "random" not in lines
    assert training_section(rows[4:], summarize(rows[4:])) == []
