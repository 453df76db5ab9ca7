"""wmplan.api: the Python twin of `wmplan plan` / `wmplan bench` episodes."""

from __future__ import annotations

import pytest

import wmplan.api as wm
from wmplan.agents import AgentSpec
from wmplan.benchmarks.cli import main
from wmplan.benchmarks.episode import Job, run_job
from wmplan.benchmarks.suite import ProtocolConfig, config_hash

pytestmark = pytest.mark.usefixtures("one_thread")


def test_run_episodes_meets_the_same_episodes_as_bench():
    ours = wm.run_episodes("wmplan/TwoRoom-v0", "random", episodes=3, seed=4, budget=10)
    spec, protocol = AgentSpec("random", "random"), ProtocolConfig(budget=10)
    job = Job("wmplan/TwoRoom-v0", spec, 4, (0, 1, 2), protocol,
              config_hash(spec, protocol), "test", "t")  # fmt: skip
    rows = list(run_job(job))
    keys = ("success", "success_step", "final_distance", "steps", "return")
    assert [[m[k] for k in keys] for m in ours.episodes] == [[r[k] for k in keys] for r in rows]
    assert ours.success_rate == sum(r["success"] for r in rows) / 3


def test_agent_seed_offset_keeps_the_episodes_and_redraws_the_agent():
    """Offset 0 is bench's seeding; another offset meets the same start states and
    goals (first recorded frame: observation | goal) with other actions."""
    import numpy as np

    def run(offset):
        firsts = []
        res = wm.run_episodes("wmplan/TwoRoom-v0", "random", episodes=3, seed=4, budget=10,
                              record=True, agent_seed_offset=offset,
                              on_episode=lambda i, m, frames: firsts.append(frames[0]))  # fmt: skip
        return firsts, [m["final_distance"] for m in res.episodes]

    base = wm.run_episodes("wmplan/TwoRoom-v0", "random", episodes=3, seed=4, budget=10)
    firsts0, dist0 = run(0)
    firsts1, dist1 = run(1)
    assert dist0 == [m["final_distance"] for m in base.episodes]
    assert all(np.array_equal(a, b) for a, b in zip(firsts0, firsts1, strict=True))
    assert dist1 != dist0
    with pytest.raises(ValueError, match="agent_seed_offset"):
        wm.run_episodes("wmplan/TwoRoom-v0", "random", episodes=1, agent_seed_offset=-1)


def test_planner_options_are_a_plain_dict_checked_by_name():
    agent = wm.make_agent("oracle", "wmplan/TwoRoom-v0", planner_options={"num_samples": 32})
    assert hasattr(agent, "act")
    with pytest.raises(ValueError, match="unknown cem planner option.*num_sample.*valid"):
        wm.agent_spec("oracle", planner_options={"num_sample": 16})
    with pytest.raises(ValueError, match="unknown planner 'cme'"):
        wm.agent_spec("oracle", planner="cme")
    with pytest.raises(ValueError, match="goal task"):
        wm.run_episodes("wmplan/dmc-cartpole-swingup-v0", "random")


def test_unknown_model_name_says_what_ships():
    with pytest.raises(FileNotFoundError, match="wm-reacher"):
        wm.load_world_model("wm-nothing")
    with pytest.raises(wm.AgentUnavailable, match="no-such"):
        wm.run_episodes("wmplan/Reacher-v0", "wm", checkpoint="no-such", episodes=1)


def test_plan_cli_prints_each_episode_and_the_success_rate(tmp_path, capsys):
    args = ["plan", "--task", "wmplan/TwoRoom-v0", "--agent", "random", "--episodes", "2"]
    assert main(args + ["--budget", "5", "--video", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("episode ") == 2 and "agent=random planner=-: success" in out
    assert len(list(tmp_path.glob("episode*.gif"))) == 2
