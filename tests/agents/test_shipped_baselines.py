"""Every baseline policy shipped in models/baselines loads from safetensors, is the
task its directory names, and acts within the action bounds on that task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from optional_deps import require

from wmplan.agents.baselines import checkpoint as bckpt
from wmplan.agents.baselines.agent import load_agent
from wmplan.agents.baselines.obs import goal_of
from wmplan.envs import short_task

pytestmark = pytest.mark.usefixtures("one_thread")
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "baselines"
DIRS = sorted(p for p in SHIPPED.iterdir() if (p / "config.json").is_file())


def test_the_baselines_suites_have_their_shipped_policies():
    names = {p.name for p in DIRS}
    for task in ("tworoom", "reacher", "push"):
        assert f"gcbc-pixels-{task}" in names and f"gcbc-state-{task}" in names
        assert f"gciql-state-{task}" in names and f"ppo-state-{task}" in names
        assert f"sac-state-{task}" in names


@pytest.mark.parametrize("path", DIRS, ids=lambda p: p.name)
def test_a_shipped_baseline_loads_and_acts_on_its_task(path, make_env):
    model = bckpt.read_config(path)["model"]
    if model["algo"] in ("sac", "ppo"):
        require("stable_baselines3")
    task = model["task"]
    algo, obs_kind, task_name = path.name.split("-", 2)
    assert (model["algo"], short_task(task).lower()) == (algo, task_name)
    assert model["obs"] == obs_kind
    agent = load_agent(path)
    env = make_env(task)
    obs, _ = env.reset(seed=0, options={"goal_offset": 25})
    agent.reset(obs, goal_of(obs))
    action = agent.act(obs)
    assert action.shape == env.action_space.shape
    assert np.all(np.abs(action) <= 1.0) and np.all(np.isfinite(action))
