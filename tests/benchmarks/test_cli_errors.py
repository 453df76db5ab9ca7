"""`wmplan plan / bench / report / envs` on bad input: exit 2 and one line that names
the bad flag, file or value (no traceback); help with defaults and an example."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys

import pytest

READ_ONLY = "/sys/kernel/wmplan-out"  # root ignores file modes, but not this

WM_SUITE = """
name: wm
tasks: [wmplan/Reacher-v0]
episodes: 1
agents:
  - name: my-wm
    kind: wm
    planner: {{name: cem, num_samples: 8, num_elites: 2, iterations: 1}}
    checkpoint: {checkpoint}
"""


@pytest.fixture
def bad_checkpoints(tmp_path):
    """Directories that are not loadable checkpoints: empty, a pickle, a list config."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "pickled").mkdir()
    (tmp_path / "pickled" / "model.pt").write_bytes(pickle.dumps({"w": [1.0]}))
    (tmp_path / "listed").mkdir()
    (tmp_path / "listed" / "config.json").write_text("[1, 2, 3]")
    return tmp_path


@pytest.mark.parametrize(
    "name, words",
    [
        ("missing", ["missing", "no checkpoint", "wmplan train"]),
        ("empty", ["empty: not a checkpoint"]),
        ("pickled", ["model.pt: refusing to load a pickle"]),
        ("listed", ["config.json: expected a JSON object"]),
    ],
)
def test_plan_and_bench_name_what_is_wrong_with_a_checkpoint(
    wmplan_cli, bad_checkpoints, name, words
):
    cli = wmplan_cli
    plan = cli("plan", "--task", "wmplan/Reacher-v0", "--agent", "wm", "--checkpoint", name)
    cli.error(plan, *words)
    suite = bad_checkpoints / f"{name}.yaml"
    suite.write_text(WM_SUITE.format(checkpoint=name))
    bench = cli("bench", "--suite", suite, "--out", "run", "--quiet")
    cli.error(bench, "'my-wm'", *words)


@pytest.mark.parametrize(
    "args, words",
    [
        (["plan", "--task", "wmplan/Reacher-v0", "--seed", "-1"], ["argument --seed", "got -1"]),
        (["plan", "--task", "wmplan/Reacher-v0", "--episodes", "0"], ["argument --episodes"]),
        (["plan", "--task", "wmplan/Reacher-v0", "--agent", "random", "--planner-opt",
          "num_samples=abc"], ["--planner-opt num_samples=abc", "random uses no planner"]),
        (["plan", "--task", "wmplan/Reacher-v0", "--planner-opt", "num_samples=abc"],
         ["num_samples"]),
        (["envs", "show", "wmplan/Reacher-v0", "--out", "x", "--seed", "-1"],
         ["argument --seed", "got -1"]),
        (["bench", "--workers", "0"], ["argument --workers", ">= 1, got 0"]),
        (["bench", "--episodes", "-3"], ["argument --episodes"]),
        (["bench", "--wandb", "maybe"], ["argument --wandb", "off", "offline", "online"]),
        (["train", "--data", "d.h5", "--out", "r", "--wandb", "maybe"], ["argument --wandb"]),
    ],
)  # fmt: skip
def test_bad_numbers_and_options_are_named(wmplan_cli, args, words):
    wmplan_cli.error(wmplan_cli(*args), *words)


def test_outputs_that_cannot_be_written_are_refused_before_work(wmplan_cli, tmp_path):
    cli = wmplan_cli
    (tmp_path / "afile").write_text("x")
    task = "wmplan/Reacher-v0"
    cli.error(cli("envs", "show", task, "--out", "afile"), "--out afile", "not a directory")
    cli.error(cli("envs", "show", task, "--out", READ_ONLY), "--out", "cannot write in")
    cli.error(cli("bench", "--suite", "quick", "--out", "afile"), "--out afile")
    cli.error(cli("bench", "--suite", "quick", "--out", READ_ONLY), "cannot write in")
    cli.error(cli("plan", "--task", task, "--agent", "random", "--video", "afile"), "--video afile")
    cli.error(cli("report", tmp_path, "--out", "afile"), "--out afile", "not a directory")
    assert not (tmp_path / "afile").is_dir() and not (tmp_path / "runs").exists()


def test_corrupt_or_foreign_results_files_are_named(wmplan_cli, tmp_path, tiny_suite_file):
    cli = wmplan_cli
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "results.sqlite").write_bytes(b"definitely not sqlite" * 100)
    (tmp_path / "foreign").mkdir()
    with sqlite3.connect(tmp_path / "foreign" / "results.sqlite") as conn:
        conn.execute("CREATE TABLE episodes (x INTEGER)")
    for run in ("garbage", "foreign"):
        cli.error(cli("report", run), f"{run}/results.sqlite", "not a wmplan results database")
        bench = cli("bench", "--suite", tiny_suite_file(episodes=1), "--out", run, "--quiet")
        cli.error(bench, f"{run}/results.sqlite")


def test_suite_files_with_bad_yaml_name_file_and_line(wmplan_cli, tmp_path):
    tag = tmp_path / "tag.yaml"
    tag.write_text("name: x\ntasks: [wmplan/Reacher-v0]\nagents: !!python/object/apply:os.system ['echo hi']\n")  # fmt: skip
    wmplan_cli.error(wmplan_cli("bench", "--suite", tag), "tag.yaml:3", "python/object")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ntasks: [wmplan/Reacher-v0\n")
    wmplan_cli.error(wmplan_cli("bench", "--suite", broken), "broken.yaml:", "not valid YAML")


def test_help_and_version_do_not_import_torch():
    """Every command's parser is built on each call, so one that imports the agents or
    torch makes `wmplan --help`, `--version` and every usage error take seconds."""
    code = (
        "import sys\n"
        "from wmplan.benchmarks.cli import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = sorted(m for m in ('torch', 'wmplan.agents.factory', 'wmplan.planners')"
        " if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_help_shows_defaults_and_an_example_and_there_is_a_version(wmplan_cli):
    version = wmplan_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("wmplan ")
    plan = wmplan_cli("plan", "--help").stdout
    assert "(default: 10)" in plan and "example:\n  wmplan plan --task" in plan
    for command in (["envs", "list"], ["envs", "show"], ["collect"], ["data", "inspect"],
                    ["data", "merge"], ["train"], ["eval-model"], ["bench"], ["report"],
                    ["demo"]):  # fmt: skip
        out = wmplan_cli(*command, "--help")
        assert out.returncode == 0 and "example:\n  wmplan " in out.stdout, command
    for command in ("train", "bench"):
        assert "{off,offline,online}" in wmplan_cli(command, "--help").stdout
    for command in ("collect", "bench", "demo"):
        assert "--workers WORKERS" in wmplan_cli(command, "--help").stdout
        assert "one per CPU core" in wmplan_cli(command, "--help").stdout
