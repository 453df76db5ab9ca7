"""Reachability head: learns temporal distances, stores safely, plans through the cost."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from wm_fixtures import META, TINY, write_synthetic

from wmplan.agents.costs import LatentGoalCost
from wmplan.worldmodel.checkpoint import CheckpointError, save_checkpoint
from wmplan.worldmodel.model import build_model
from wmplan.worldmodel.reach import (
    REACH_JSON,
    REACH_WEIGHTS,
    ReachConfig,
    ReachHead,
    encode_episodes,
    fit_reach,
    load_reach,
    save_reach,
    train_reach,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _clock_latents(episodes: int = 40, frames: int = 41, dim: int = 4) -> torch.Tensor:
    """Latents that encode time within an episode (a point moving at unit speed along a
    random direction, from a random start): the temporal distance of two frames of one
    episode is their distance / speed, so a head can learn it exactly."""
    g = torch.Generator().manual_seed(0)
    start = torch.randn(episodes, 1, dim, generator=g)
    direction = torch.nn.functional.normalize(torch.randn(episodes, 1, dim, generator=g), dim=-1)
    t = torch.arange(frames, dtype=torch.float32)[None, :, None]
    return start + direction * t / 10.0


def test_reach_config_rejects_bad_values_naming_the_field():
    with pytest.raises(ValueError, match="quantile"):
        ReachConfig(quantile=1.0)
    with pytest.raises(ValueError, match="max_offset"):
        ReachConfig(max_offset=0)
    with pytest.raises(ValueError, match="steps"):
        ReachConfig(steps=-5)


def test_reach_head_learns_temporal_distance_of_a_clock():
    z = _clock_latents()
    lengths = np.full(z.shape[0], z.shape[1] - 1)
    cfg = ReachConfig(steps=1500, batch_size=256, max_offset=20, quantile=0.5, val_episodes=8)
    head, metrics = train_reach(z, lengths, cfg)
    assert metrics["val_corr"] > 0.95, metrics
    assert metrics["val_mae_steps"] < 2.0, metrics
    # A far frame of the same episode is predicted farther than a near one.
    z0 = z[-1, 0]
    near, far = head(z0, z[-1, 3]).item(), head(z0, z[-1, 15]).item()
    assert near < far
    assert abs(far - 15) < 4


def test_reach_head_round_trips_through_safetensors_and_refuses_bad_files(tmp_path):
    head = ReachHead(latent_dim=4, hidden=8)
    save_reach(tmp_path, head, {"task": "x"})
    loaded = load_reach(tmp_path, latent_dim=4)
    a, b = torch.randn(5, 4), torch.randn(5, 4)
    assert torch.equal(loaded(a, b), head(a, b))
    assert load_reach(tmp_path / "missing", latent_dim=4) is None
    with pytest.raises(CheckpointError, match="latent_dim 8"):
        load_reach(tmp_path, latent_dim=8)
    tensors = {k: v.clone() for k, v in head.state_dict().items()}
    tensors["net.0.weight"][0, 0] = float("nan")
    save_file(tensors, str(tmp_path / REACH_WEIGHTS))
    with pytest.raises(CheckpointError, match="non-finite"):
        load_reach(tmp_path, latent_dim=4)
    (tmp_path / REACH_WEIGHTS).write_bytes(b"\x80\x04\x95 not safetensors")
    with pytest.raises(CheckpointError):
        load_reach(tmp_path, latent_dim=4)


def test_latent_goal_cost_uses_the_reach_head_by_metric():
    z = torch.zeros(1, 3, 2, 4)
    z[0, 1] += 1.0
    goal = torch.zeros(1, 4)

    def reach(z_a, z_b):  # farther in latent -> fewer steps: the opposite of latent distance
        return 10.0 - (z_a - z_b).abs().sum(-1)

    latent = LatentGoalCost(metric="latent")(z, goal, reach)
    auto = LatentGoalCost(metric="auto", latent_weight=0.0)(z, goal, reach)
    assert latent.argmin().item() != 1 and auto.argmin().item() == 1
    assert torch.equal(LatentGoalCost(metric="auto")(z, goal, None), latent)
    with pytest.raises(ValueError, match="train-reach"):
        LatentGoalCost(metric="reach")(z, goal, None)
    with pytest.raises(ValueError, match="metric"):
        LatentGoalCost(metric="geodesic")


def test_fit_reach_on_a_checkpoint_writes_a_head_the_world_model_loads(tmp_path):
    from wmplan.agents.wm import WorldModel

    data = write_synthetic(tmp_path / "d.h5", episodes=10)
    torch.manual_seed(0)
    model = build_model(TINY)
    ckpt = save_checkpoint(
        tmp_path / "ckpt", model, TINY.to_dict(), metadata={"task": META.task_id}
    )
    info = fit_reach(ckpt, data, ReachConfig(steps=50, batch_size=32, max_offset=5),
                     log=lambda _: None)  # fmt: skip
    assert info["task"] == META.task_id and np.isfinite(info["metrics"]["val_corr"])
    assert json.loads((ckpt / REACH_JSON).read_text())["latent_dim"] == TINY.latent_dim
    wm = WorldModel.load(ckpt)
    assert wm.reach is not None
    from wmplan.worldmodel.data.episodes import Dataset

    with Dataset(data) as ds:
        z, lengths = encode_episodes(model.eval(), ds)
    assert z.shape == (10, META.steps + 1, TINY.latent_dim)
    assert torch.isfinite(wm.reach(z[0, :3], z[0, 3:6])).all()


def test_fit_reach_refuses_another_tasks_data(tmp_path):
    data = write_synthetic(tmp_path / "d.h5", episodes=4)
    ckpt = save_checkpoint(
        tmp_path / "ckpt", build_model(TINY), TINY.to_dict(), metadata={"task": "wmplan/Push-v0"}
    )
    with pytest.raises(ValueError, match="task_id"):
        fit_reach(ckpt, data, ReachConfig(steps=1), log=lambda _: None)
