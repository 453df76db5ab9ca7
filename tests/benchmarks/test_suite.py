"""Suite files: built-ins load, round trips, sweeps, and invalid files get messages
naming the file, the line, the field and the valid choices."""

from __future__ import annotations

import dataclasses

import pytest

from wmplan.agents import AgentSpec, PlannerSpec
from wmplan.benchmarks.suite import (
    ProtocolConfig,
    SuiteError,
    apply_sweep,
    config_hash,
    dump_suite,
    load_suite,
    parse_suite,
    parse_sweep,
)

GOOD = """\
name: mine
tasks: [wmplan/Reacher-v0, wmplan/TwoRoom-v0]
seeds: [0, 1]
episodes: 3
protocol:
  goal_offset: 25
  budget: 50
agents:
  - name: random
    kind: random
  - name: oracle
    kind: oracle
    planner: {name: cem, num_samples: 64, iterations: 5}
"""


def test_builtin_suites_load_with_the_published_protocol():
    quick, standard = load_suite("quick"), load_suite("standard")
    assert set(quick.tasks) == set(standard.tasks) == {
        "wmplan/Reacher-v0", "wmplan/TwoRoom-v0", "wmplan/Push-v0"
    }  # fmt: skip
    assert {a.kind for a in quick.agents} >= {"random", "oracle", "wm"}
    assert not quick.skip_missing  # a missing agent is an error unless --skip-missing
    assert standard.episodes == 50 and len(standard.seeds) == 3
    for s in (quick, standard):
        assert (s.protocol.goal_offset, s.protocol.budget) == (25, 50)


def test_suite_round_trips_through_yaml():
    suite = parse_suite(GOOD, "good.yaml")
    assert parse_suite(dump_suite(suite)) == suite
    assert suite.agents[1].planner.settings == {"num_samples": 64, "iterations": 5}


@pytest.mark.parametrize(
    "text, expected",
    [
        (GOOD.replace("episodes: 3", "epsiodes: 3"),
         ["bad.yaml:4:", "epsiodes", "unknown field", "valid:", "episodes"]),
        (GOOD.replace("kind: oracle", "kind: orcale"),
         ["bad.yaml:12:", "agents[1].kind", "orcale", "valid: gcbc, gciql, oracle, ppo, python, random, sac, wm"]),
        (GOOD.replace("budget: 50", "budget: 0"),
         ["bad.yaml:7:", "protocol.budget", ">= 1", "got 0"]),
        (GOOD.replace("name: cem", "name: cme"),
         ["bad.yaml:13:", "agents[1].planner.name", "cme", "valid: cem, mppi, icem, gradient, random"]),
        (GOOD.replace("wmplan/TwoRoom-v0", "wmplan/TwoRom-v0"),
         ["bad.yaml:2:", "tasks[1]", "TwoRom", "did you mean 'wmplan/TwoRoom-v0'"]),
        (GOOD.replace("name: oracle", "name: random"),
         ["bad.yaml:", "agents", "unique", "random"]),
        (GOOD + "run_name: ../outside\n", ["bad.yaml:14:", "run_name", "relative path", "'..'"]),
        (GOOD + "run_name: /abs/dir\n", ["bad.yaml:14:", "run_name", "relative path"]),
        (GOOD.replace("    kind: random\n", ""), ["bad.yaml:9:", "agents[0]", "missing", "kind"]),
        (GOOD.replace("    kind: oracle\n    planner: {name: cem, num_samples: 64, iterations: 5}\n",
                      "    kind: oracle\n"),
         ["bad.yaml:", "agents[1].planner", "needs a planner"]),
        ("name: x\ntasks: [a\n", ["bad.yaml:", "not valid YAML"]),
        ("name: x\n", ["bad.yaml", "missing required field 'tasks'"]),
        (GOOD.replace("seeds: [0, 1]", "seeds: [0, -1]"), ["bad.yaml:3:", "seeds", ">= 0"]),
        (GOOD.replace("num_samples: 64", "num_sample: 64"),
         ["bad.yaml:13:", "agents[1].planner", "num_sample", "valid:", "num_samples"]),
        (GOOD.replace("iterations: 5", "iterations: 0"),
         ["bad.yaml:13:", "agents[1].planner", "iterations must be >= 1, got 0"]),
    ],
)  # fmt: skip
def test_invalid_suite_files_name_file_line_field_and_choices(text, expected):
    with pytest.raises(SuiteError) as err:
        parse_suite(text, "bad.yaml")
    message = str(err.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_unknown_builtin_suite_lists_the_builtins():
    with pytest.raises(
        SuiteError, match="built-in suites: baselines, baselines-quick, quick, standard"
    ):
        load_suite("quik")


def test_python_api_validates_in_post_init():
    with pytest.raises(ValueError, match="budget"):
        ProtocolConfig(budget=0)
    with pytest.raises(ValueError, match="takes no planner"):
        AgentSpec("r", "random", planner=PlannerSpec("cem"))
    with pytest.raises(ValueError, match="needs a checkpoint"):
        AgentSpec("w", "wm", planner=PlannerSpec("cem"))


def test_sweep_expands_planner_agents_into_every_combination():
    suite = parse_suite(GOOD, "good.yaml")
    swept = apply_sweep(
        suite, parse_sweep(["planner.num_samples=64,128,300", "planner.iterations=5,10,30"])
    )
    names = [a.name for a in swept.agents]
    assert names[0] == "random"  # no planner: kept once
    assert len(names) == 1 + 9 and len(set(names)) == 10
    oracle = {a.name: a for a in swept.agents}["oracle[iterations=10,num_samples=300]"]
    assert oracle.planner.settings == {"num_samples": 300, "iterations": 10}
    with pytest.raises(ValueError, match="planner.<option>"):
        parse_sweep(["num_samples=64"])


def test_config_hash_covers_settings_not_the_label():
    proto = ProtocolConfig()
    a = AgentSpec("a", "oracle", planner=PlannerSpec("cem", (("num_samples", 64),)))
    b = dataclasses.replace(a, name="b")
    c = dataclasses.replace(a, planner=a.planner.with_options(num_samples=128))
    assert config_hash(a, proto) == config_hash(b, proto)
    assert config_hash(a, proto) != config_hash(c, proto)
    assert config_hash(a, proto) != config_hash(a, ProtocolConfig(budget=40))


def test_bench_command_line_overrides_and_sweeps():
    from wmplan.benchmarks.bench import choose_suite
    from wmplan.benchmarks.cli import build_parser, suite_choice

    args = build_parser().parse_args(
        ["bench", "--suite", "quick", "--tasks", "wmplan/Push-v0", "--agents", "random,oracle-cem",
         "--seeds", "3,4", "--episodes", "2", "--sweep", "planner.iterations=5,10"]
    )  # fmt: skip
    suite = choose_suite(suite_choice(args))
    assert suite.tasks == ("wmplan/Push-v0",) and suite.seeds == (3, 4) and suite.episodes == 2
    assert [a.name for a in suite.agents] == [
        "random", "oracle-cem[iterations=5]", "oracle-cem[iterations=10]"
    ]  # fmt: skip
    bad = build_parser().parse_args(["bench", "--agents", "nobody"])
    with pytest.raises(ValueError, match="unknown agent.*nobody"):
        choose_suite(suite_choice(bad))
