"""Evaluation metrics: ridge probe, effective rank, open-loop vs copy-last, report files."""

from __future__ import annotations

import json

import pytest
import torch
from wm_fixtures import TINY

from wmplan.worldmodel.evaluate import (
    Episodes,
    effective_rank,
    evaluate,
    open_loop_errors,
    ridge_probe,
    summary_lines,
)
from wmplan.worldmodel.model import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_ridge_probe_recovers_a_linear_map_and_rejects_noise():
    g = gen()
    w = torch.randn(8, 3, generator=g)
    z = torch.randn(400, 8, generator=g)
    y = z @ w
    r2 = ridge_probe(z[:300], y[:300], z[300:], y[300:])
    assert min(r2) > 0.99
    noise = torch.randn(400, 3, generator=g)
    assert max(ridge_probe(z[:300], noise[:300], z[300:], noise[300:])) < 0.1


def test_effective_rank_of_isotropic_and_collapsed_embeddings():
    g = gen(1)
    assert effective_rank(torch.randn(2000, 16, generator=g)) > 14
    assert effective_rank(torch.randn(2000, 1, generator=g) @ torch.randn(1, 16, generator=g)) < 1.1


def test_copy_last_model_has_ratio_one():
    model = build_model(
        TINY
    ).eval()  # out_proj starts at zero: the predictor copies the last latent
    z = torch.randn(3, 8, TINY.latent_dim, generator=gen(2))
    acts = torch.zeros(3, 8, TINY.action_block_dim)
    ol = open_loop_errors(model, z, acts, horizon=3)
    assert ol["ratio"] == [1.0, 1.0, 1.0]


def test_evaluate_writes_json_plots_and_gif(tmp_path):
    model = build_model(TINY).eval()
    g = gen(3)

    def episodes(n: int) -> Episodes:
        frames = torch.randint(0, 256, (n, 8, 16, 16, 3), dtype=torch.uint8, generator=g)
        return Episodes(frames, torch.rand(n, 8, 4, generator=g), torch.rand(n, 8, 2, generator=g))

    report = evaluate(model, episodes(4), episodes(2), out=tmp_path, horizon=3, decoder_steps=5)
    for name in ("eval.json", "open_loop.png", "probe_collapse.png", "imagined.gif"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert json.loads((tmp_path / "eval.json").read_text())["open_loop"] == report["open_loop"]
    assert len(report["probe"]["r2"]) == 2
    assert any("effective rank" in line for line in summary_lines(report))
