"""The numbers in report.md are the ones the SQLite rows give: recomputed here from
the database with sqlite3 and scipy (success intervals), not from the report's
own summary; the best and worst episodes shown are the right ones; published rows
come from the one table in ``benchmarks/references.py``; every plot gives an agent
the same colour."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict

import numpy as np
import pytest
from scipy import stats as sps

from wmplan.benchmarks import plots, report, stats
from wmplan.benchmarks.episode import encode_gif
from wmplan.benchmarks.references import REFERENCES, TASK_NAMES
from wmplan.benchmarks.results import ResultsDB

TASKS = ("wmplan/Reacher-v0", "wmplan/TwoRoom-v0")
AGENTS = ("alpha", "beta", "gamma")
# Successes per (task, agent) over seeds 0 and 1 x 6 episodes, chosen so that every
# cell differs: rows are (seed 0 outcomes, seed 1 outcomes).
OUTCOMES = {
    ("wmplan/Reacher-v0", "alpha"): ("110000", "100000"),
    ("wmplan/Reacher-v0", "beta"): ("111110", "111011"),
    ("wmplan/Reacher-v0", "gamma"): ("111111", "111111"),
    ("wmplan/TwoRoom-v0", "alpha"): ("000000", "000000"),
    ("wmplan/TwoRoom-v0", "beta"): ("101010", "111000"),
    ("wmplan/TwoRoom-v0", "gamma"): ("111100", "011111"),
}


SUITE_YAML = """\
name: numbers
tasks: [wmplan/Reacher-v0, wmplan/TwoRoom-v0]
seeds: [0, 1]
episodes: 6
protocol: {goal_offset: 17, budget: 33, image_size: 48}
agents:
  - {name: alpha, kind: random}
"""


def _fill(run_dir):
    (run_dir / "videos").mkdir(parents=True)
    (run_dir / "suites").mkdir()
    (run_dir / "suites" / "numbers.yaml").write_text(SUITE_YAML)
    frame = np.zeros((8, 8, 3), np.uint8)
    with ResultsDB.in_run_dir(run_dir) as db:
        for (task, agent), per_seed in OUTCOMES.items():
            cfg = {"name": agent, "kind": "random" if agent == "alpha" else "oracle"}
            if agent != "alpha":
                cfg["planner"] = {"name": "cem", "num_samples": 10 * len(agent), "iterations": 3}
            for seed, outcomes in enumerate(per_seed):
                for ep, ch in enumerate(outcomes):
                    ok = ch == "1"
                    steps = 3 + (7 * ep + 5 * seed + len(agent)) % 11 if ok else 20
                    video = None
                    if seed == 0:  # seed 0 recorded: best/worst are picked among them
                        video = f"videos/{task[7:11]}_{agent}_{ep}.gif"
                        (run_dir / video).write_bytes(encode_gif([frame, frame + 9]))
                    db.insert({
                        "config_hash": f"h-{agent}", "task": task, "agent": agent, "seed": seed,
                        "episode": ep, "success": ok, "success_step": steps if ok else None,
                        "final_distance": 0.01 * (ep + 1) + 0.1 * seed + (0.0 if ok else 0.5),
                        "return": float(ok) - 0.1 * ep, "steps": steps,
                        "plan_time_per_step": 1e-3 * (1 + AGENTS.index(agent)) * (1 + 0.1 * ep),
                        "wall_clock": 0.5 + 0.25 * ep + seed, "code_version": "test",
                        "suite": "numbers", "agent_config": json.dumps(cfg),
                        "plan_info": None if agent == "alpha" else
                        {"calls": 2, "best_cost": [1.0, 0.5 + 0.1 * ep], "mean_cost": [2.0, 1.0]},
                        "video": video,
                    })  # fmt: skip


def _db_rows(run_dir):
    with sqlite3.connect(run_dir / "results.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM episodes")]


def _table(md: str, heading: str) -> list[list[str]]:
    """Body cells of the first Markdown table after the heading that starts with ``heading``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    body, seen = [], False
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            seen = True
            body.append([c.strip() for c in line.strip()[1:-1].split(" | ")])
        elif seen:
            break
    return body[2:]  # drop the header and the --- line


def _cell(value: float, low: float, high: float) -> str:
    return f"{100 * value:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    run = tmp_path_factory.mktemp("numbers") / "run"
    _fill(run)
    md = report.write_report(run).read_text()
    return run, md, _db_rows(run)


def test_success_table_cells_are_binomial_intervals_of_the_stored_rows(built):
    run, md, rows = built
    groups = defaultdict(list)
    for r in rows:
        groups[(r["task"], r["agent"])].append(r["success"])
    table = {r[0]: r[1:] for r in _table(md, "## Success by task")}
    for agent in AGENTS:
        cells = table[f"`{agent}`"]
        rates = []
        for j, task in enumerate(TASKS):
            ok = groups[(task, agent)]
            k, n = sum(ok), len(ok)
            ci = sps.binomtest(k, n).proportion_ci(0.95, method="exact")
            assert cells[j] == _cell(k / n, ci.low, ci.high), (task, agent)
            rates.append(k / n)
        # Mean over tasks: each task weighs the same; its CI the stratified bootstrap.
        per_task = [np.array(groups[(t, agent)], float) for t in TASKS]
        agg = stats.bootstrap_groups(per_task, rng=0)
        assert agg.value == pytest.approx(np.mean(rates))
        assert cells[len(TASKS)] == _cell(agg.value, agg.low, agg.high)


def test_detail_and_aggregate_tables_match_the_rows(built):
    run, md, rows = built
    detail = _table(md, "## Per task and agent")
    assert len(detail) == len(TASKS) * len(AGENTS)
    for cells in detail:
        task = next(t for t in TASKS if t.split("/")[1].startswith(cells[0]))
        agent = cells[1].strip("`")
        mine = [r for r in rows if r["task"] == task and r["agent"] == agent]
        assert cells[2] == str(len(mine))
        per_seed = [np.mean([r["success"] for r in mine if r["seed"] == s]) for s in (0, 1)]
        assert cells[4] == " / ".join(f"{100 * p:.1f}" for p in per_seed)
        iqm = stats.bootstrap_ci(np.array([r["return"] for r in mine]), "iqm", rng=0)
        assert iqm.value == pytest.approx(sps.trim_mean([r["return"] for r in mine], 0.25))
        assert cells[5] == f"{iqm.value:.2f} [{iqm.low:.2f}, {iqm.high:.2f}]"
        assert cells[6] == f"{np.mean([r['final_distance'] for r in mine]):.3f}"
        assert cells[7] == f"{np.mean([r['steps'] for r in mine]):.1f}"
        assert cells[8] == f"{1e3 * np.mean([r['plan_time_per_step'] for r in mine]):.2f}"
        assert cells[9] == f"{np.mean([r['wall_clock'] for r in mine]):.2f}"
    agg = {r[0].strip("`"): r[1:] for r in _table(md, "## Aggregate over tasks")}
    for agent in AGENTS:
        mine = [r for r in rows if r["agent"] == agent]
        assert agg[agent][0] == str(len(TASKS)) and agg[agent][1] == str(len(mine))
        rates = [np.mean([r["success"] for r in mine if r["task"] == t]) for t in TASKS]
        assert agg[agent][2].startswith(f"{100 * np.mean(rates):.1f} [")
        assert agg[agent][3] == f"{1e3 * np.mean([r['plan_time_per_step'] for r in mine]):.2f}"


def test_paired_differences_pair_the_same_episodes(built):
    run, md, rows = built
    diffs = {r[0]: r[1:] for r in _table(md, "## Paired differences")}
    by = {(r["agent"], r["task"], r["seed"], r["episode"]): r["success"] for r in rows}
    for i, a in enumerate(AGENTS):
        for b in AGENTS[i + 1 :]:
            cells = diffs[f"`{a}` - `{b}`"]
            means = []
            for j, task in enumerate(TASKS):
                d = [by[(a, task, s, e)] - by[(b, task, s, e)] for s in (0, 1) for e in range(6)]
                est = stats.bootstrap_ci(np.array(d, float), rng=0)
                assert est.value == pytest.approx(np.mean(d))
                assert cells[j] == _cell(est.value, est.low, est.high)
                means.append(np.mean(d))
            assert cells[len(TASKS)].startswith(f"{100 * np.mean(means):.1f} [")


def test_best_and_worst_episodes_are_the_right_ones(built):
    run, md, rows = built
    shown = {(r[0], r[1].strip("`")): r[2:] for r in _table(md, "## Best and worst episodes")}
    for (task, agent), _ in OUTCOMES.items():
        recorded = [r for r in rows if r["task"] == task and r["agent"] == agent and r["video"]]
        wins = [r for r in recorded if r["success"]]
        losses = [r for r in recorded if not r["success"]]
        # Best: a success in the fewest steps (else the nearest failure); worst: the
        # failure that ended farthest away (else the slowest success).
        best = min(wins, key=lambda r: r["steps"]) if wins else min(
            losses, key=lambda r: r["final_distance"])  # fmt: skip
        worst = max(losses, key=lambda r: r["final_distance"]) if losses else max(
            wins, key=lambda r: r["steps"])  # fmt: skip
        best_cell, worst_cell = shown[(task.split("/")[1][:-3], agent)]
        for cell, r in ((best_cell, best), (worst_cell, worst)):
            assert f"videos/{r['video'].split('/')[-1]}" in cell
            verdict = f"success at step {r['success_step']}" if r["success"] else "failure"
            assert f"seed {r['seed']} episode {r['episode']}: {verdict}" in cell
            assert f"distance {r['final_distance']:.3f}" in cell
            copied = run / "report" / r["video"]
            assert copied.read_bytes() == (run / r["video"]).read_bytes()


def test_published_rows_come_from_the_references_table(built):
    run, md, rows = built
    success = _table(md, "## Success by task")
    for method in dict.fromkeys(r.method for r in REFERENCES):
        cells = []
        for t in TASKS:
            refs = [r for r in REFERENCES if r.method == method and r.task == TASK_NAMES[t]]
            cells.append(f"*{refs[0].fmt()}*" if refs else "")
        row = [r for r in success if r[0] == f"*{method} (published, not run here)*"]
        if any(cells):
            assert row == [[f"*{method} (published, not run here)*", *cells, ""]]
        else:
            assert not row
    published = _table(md, "## Published numbers")
    assert published == [[r.method, r.task, r.fmt(), r.settings, r.source, r.note]
                         for r in REFERENCES]  # fmt: skip


def test_report_names_each_interval_it_prints(built):
    _, md, _ = built
    assert "95% Clopper-Pearson" in md and "percentile-bootstrap" in md
    assert (
        "## Success by task (%, 95% Clopper-Pearson interval; mean over tasks: bootstrap CI)" in md
    )
    assert "## Paired differences in success (percentage points, 95% bootstrap CI)" in md


def test_every_plot_gives_an_agent_the_same_colour(built, tmp_path, monkeypatch):
    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure

    run, _, _ = built
    figures = {}
    save = Figure.savefig

    def keep(fig, path, *a, **k):
        figures[re.sub(r"\.png$", "", str(path).split("/")[-1])] = fig
        return save(fig, path, *a, **k)

    monkeypatch.setattr(Figure, "savefig", keep)
    monkeypatch.setattr("matplotlib.pyplot.close", lambda fig=None: None)
    report.write_report(run, tmp_path / "rep")
    colors = plots.agent_colors(list(AGENTS))
    assert len({colors[a] for a in AGENTS}) == len(AGENTS)
    checked = defaultdict(int)
    for name, fig in figures.items():
        for ax in fig.axes:
            handles, labels = ax.get_legend_handles_labels()
            for h, label in zip(handles, labels, strict=True):
                if label not in colors:
                    continue
                if hasattr(h, "patches"):  # a bar container
                    got = h.patches[0].get_facecolor()
                elif hasattr(h, "lines"):  # an errorbar container
                    got = h.lines[0].get_color()
                else:
                    got = h.get_color()
                assert to_rgba(got) == to_rgba(colors[label]), (name, label)
                checked[name] += 1
    assert set(checked) == set(plots.PLOTS), checked


def test_agent_colours_are_distinct_and_stable_for_many_agents():
    names = [f"a{i}" for i in range(25)]
    colors = plots.agent_colors(names)
    assert len({colors[n] for n in names}) == 25
    assert plots.agent_colors(list(reversed(names))) == colors
    few = plots.agent_colors(["random", "oracle[num_samples=64]", "oracle[num_samples=256]"])
    assert set(few) == {"random", "oracle", "oracle[num_samples=64]", "oracle[num_samples=256]"}


def test_header_states_the_counts_and_the_protocol(built):
    _, md, rows = built
    assert f"{len(rows)} episodes, 2 tasks, 3 agents; code: test." in md
    assert ("- `numbers`: 2 tasks x 1 agents x seeds [0, 1] x 6 episodes; goal offset 17, "
            "budget 33 env steps, 48 px") in md  # fmt: skip


def test_report_with_several_agents_has_pairs_not_the_single_agent_note(built):
    _, md, _ = built
    assert "Only one agent ran" not in md


def test_planner_budget_is_samples_times_iterations_with_the_planners_defaults():
    def budget(planner):
        return plots._planner_budget(json.dumps({"name": "x", "planner": planner}))

    assert budget({"name": "cem", "num_samples": 64, "iterations": 5}) == ("cem", 320.0)
    assert budget({"name": "cem"}) == ("cem", 300.0 * 30)  # CEM's defaults
    assert budget({"name": "mppi", "iterations": 2}) == ("mppi", 512.0 * 2)
    assert budget({"name": "no-such-planner"}) is None
    assert budget(None) is None
    assert plots._planner_budget(json.dumps({"name": "random", "kind": "random"})) is None


def test_agents_sort_by_family_then_numerically():
    names = ["oracle[num_samples=256]", "random", "oracle[num_samples=64]", "oracle", "b2", "b10"]
    assert sorted(names, key=plots.agent_order) == [
        "b2", "b10", "oracle", "oracle[num_samples=64]", "oracle[num_samples=256]", "random"]  # fmt: skip


def _many_agents(run_dir, n_agents):
    with ResultsDB.in_run_dir(run_dir) as db:
        for i in range(n_agents):
            for ep in range(4):
                db.insert({"config_hash": f"h{i}", "task": TASKS[0], "agent": f"ag{i}", "seed": 0,
                           "episode": ep, "success": ep < i % 5, "steps": 9, "return": 0.0,
                           "plan_time_per_step": 0.0, "wall_clock": 1.0, "code_version": "t",
                           "suite": "s", "agent_config": json.dumps({"name": f"ag{i}"})})  # fmt: skip


@pytest.mark.parametrize("n_agents, pairs", [(6, 15), (7, 6)])
def test_paired_differences_are_all_pairs_up_to_six_agents_else_best_against_each(
    tmp_path, n_agents, pairs
):
    _many_agents(tmp_path, n_agents)
    md = report.write_report(tmp_path).read_text()
    rows = [r[0] for r in _table(md, "## Paired differences")]
    assert len(rows) == pairs
    if n_agents == 7:  # ag4 wins 4/4: it is compared with every other agent
        assert rows == [f"`ag4` - `ag{i}`" for i in range(7) if i != 4]
