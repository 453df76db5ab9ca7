"""World-model shapes, gradient flow, and rollout/teacher-forcing agreement."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from wm_fixtures import TINY

from wmplan.worldmodel.base import ModelConfig, WorldModel
from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.model import JEPAWorldModel, build_model
from wmplan.worldmodel.recon import PixelWorldModel

pytestmark = pytest.mark.usefixtures("one_thread")


def frames(b: int, t: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, t, size, size, 3), dtype=torch.uint8, generator=g)


def actions(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("kind", ["jepa", "recon"])
def test_encode_next_rollout_shapes(kind):
    model = build_model(dataclasses.replace(TINY, kind=kind)).eval()
    z = model.encode(frames(3, 4))
    assert z.shape == (3, 4, TINY.latent_dim)
    assert model.next(z, actions(3, 4, 4)).shape == (3, 4, TINY.latent_dim)
    roll = model.rollout(z, actions(3, 5, 6, 4))
    assert roll.shape == (3, 5, 6, TINY.latent_dim)
    if kind == "recon":
        assert model.decode(z).shape == (3, 4, 16, 16, 3)


def test_float_channel_first_frames_encode_like_uint8():
    model = build_model(TINY).eval()
    x = frames(2, 3)
    as_float = x.permute(0, 1, 4, 2, 3).float() / 255.0
    torch.testing.assert_close(model.encode(x), model.encode(as_float))


def test_vit_encoder_shapes_at_64_and_224():
    for size, patch in ((64, 8), (224, 14)):
        cfg = dataclasses.replace(TINY, encoder="vit", image_size=size, feat_dim=24, vit_depth=1,
                                  vit_heads=2)  # fmt: skip
        model = JEPAWorldModel(cfg).eval()
        assert model.encoder.backbone.patch_embed.kernel_size == (patch, patch)
        assert model.encode(frames(2, 1, size)).shape == (2, 1, TINY.latent_dim)


def test_rollout_first_step_equals_teacher_forced_prediction():
    model = build_model(TINY).eval()
    with torch.no_grad():
        for p in model.predictor.out_proj.parameters():  # leave the copy-last init
            p.normal_(0, 0.1)
    z = model.encode(frames(2, 3))
    a = actions(2, 3, 4)
    tf = model.next(z, a)  # output t predicts frame t+1
    roll = model.rollout(z[:, :2], a[:, None, 1:3])[:, 0]  # from frames 0,1 with blocks 1,2
    torch.testing.assert_close(roll[:, 0], tf[:, 1])
    # Step 2 fed its own prediction: same as teacher forcing on [z1, roll0].
    tf2 = model.next(torch.stack([z[:, 1], roll[:, 0]], 1), a[:, 1:3])
    torch.testing.assert_close(roll[:, 1], tf2[:, 1])


def test_rollout_samples_are_independent_and_match_single_runs():
    model = build_model(TINY).eval()
    with torch.no_grad():
        for p in model.predictor.out_proj.parameters():
            p.normal_(0, 0.1)
    z = model.encode(frames(2, 2))
    acts = actions(2, 3, 4, 4)
    batched = model.rollout(z, acts)
    for n in range(3):
        torch.testing.assert_close(batched[:, n], model.rollout(z, acts[:, n : n + 1])[:, 0])


@pytest.mark.parametrize("anti_collapse", ["sigreg", "vicreg"])
@pytest.mark.parametrize("kind", ["jepa", "recon"])
def test_gradients_reach_encoder_and_predictor(kind, anti_collapse):
    cfg = dataclasses.replace(TINY, kind=kind, inverse_dynamics=True)
    model = build_model(cfg).train()
    out = model.loss(frames(4, 5), actions(4, 5, 4), LossConfig(anti_collapse=anti_collapse,
                     sigreg_directions=32), torch.Generator().manual_seed(0))  # fmt: skip
    out.loss.backward()
    assert torch.isfinite(out.loss)
    for name in ("encoder", "predictor"):
        grads = [p.grad for p in getattr(model, name).parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads), name
    assert "pred_loss" in out.metrics and "open_loop_loss" in out.metrics
    if kind == "jepa":
        assert any(k in out.metrics for k in ("sigreg_loss", "vicreg_var"))
    assert isinstance(model, PixelWorldModel) == (kind == "recon")


@pytest.mark.parametrize(
    "field, value",
    [("kind", "gan"), ("encoder", "resnet"), ("latent_dim", 0), ("history", 0),
     ("pred_heads", 3), ("cnn_channels", ())],
)  # fmt: skip
def test_bad_model_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**{field: value})


def test_bad_loss_config_names_the_field():
    with pytest.raises(ValueError, match="anti_collapse"):
        LossConfig(anti_collapse="ema")
    with pytest.raises(ValueError, match="sigreg_weight"):
        LossConfig(sigreg_weight=-1)


def test_configs_of_older_versions_load_without_the_retired_reward_head():
    old = {**TINY.to_dict(), "reward_head": False}
    assert ModelConfig.from_dict(old) == TINY
    assert LossConfig.from_dict({"reward_weight": 1.0}) == LossConfig()
    with pytest.raises(ValueError, match="reward_head"):
        ModelConfig.from_dict({**TINY.to_dict(), "reward_head": True})


def test_the_pixel_baseline_is_a_world_model_but_not_a_jepa():
    model = build_model(dataclasses.replace(TINY, kind="recon"))
    assert isinstance(model, WorldModel) and not isinstance(model, JEPAWorldModel)


def grid_model() -> JEPAWorldModel:
    """A spatial-latent JEPA on 16 px frames: 2 convs -> 4x4 cells of 2 channels."""
    cfg = dataclasses.replace(TINY, encoder="cnn_grid", cnn_channels=(4, 8), latent_dim=32)
    return JEPAWorldModel(cfg).eval()


def test_grid_latent_is_cell_major_and_local():
    model = grid_model()
    x = frames(2, 1)
    z = model.encode(x)
    assert z.shape == (2, 1, 32)
    # Changing one corner patch of the image changes only the cells that see it:
    # the flat latent is [cells, channels] row-major, so distances are token-wise.
    y = x.clone()
    y[:, :, :3, :3] = 255 - y[:, :, :3, :3]
    cells = (model.encode(y) - z).abs().view(2, 4, 4, 2).sum(dim=(0, 3))
    assert cells[0, 0] > 0
    assert torch.count_nonzero(cells) <= 4, cells  # the 3x3 corner reaches at most 2x2 cells
    assert torch.all(cells[2:, :] == 0) and torch.all(cells[:, 2:] == 0)


def test_grid_latent_trains_and_rolls_out():
    model = grid_model().train()
    out = model.loss(frames(4, 5), actions(4, 5, 4), LossConfig(sigreg_directions=32),
                     torch.Generator().manual_seed(0))  # fmt: skip
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert all(p.grad is not None for p in model.encoder.parameters())
    z = model.eval().encode(frames(2, 3))
    assert model.rollout(z, actions(2, 5, 3, 4)).shape == (2, 5, 3, 32)


def test_grid_latent_dim_must_fill_the_cells():
    with pytest.raises(ValueError, match="latent_dim 30 must be a multiple of the 16 cells"):
        dataclasses.replace(TINY, encoder="cnn_grid", cnn_channels=(4, 8), latent_dim=30)


def test_hybrid_latent_is_the_pooled_vector_then_the_cells():
    cfg = dataclasses.replace(TINY, encoder="cnn_hybrid", cnn_channels=(4, 8, 8), latent_dim=40,
                              grid_dim=2)  # fmt: skip
    model = JEPAWorldModel(cfg).eval()
    x = frames(2, 1)
    z = model.encode(x)
    assert z.shape == (2, 1, 40)  # 8 pooled + 4x4 cells (after 2 of the 3 convs) x 2
    y = x.clone()
    y[:, :, :3, :3] = 255 - y[:, :, :3, :3]
    cells = (model.encode(y) - z)[..., 8:].abs().view(2, 4, 4, 2).sum(dim=(0, 3))
    assert cells[0, 0] > 0 and torch.all(cells[2:, :] == 0) and torch.all(cells[:, 2:] == 0)
    out = model.train().loss(frames(4, 5), actions(4, 5, 4), LossConfig(sigreg_directions=32))
    out.loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    with pytest.raises(ValueError, match="must exceed the 16 cells x grid_dim 2"):
        dataclasses.replace(cfg, latent_dim=32)
    with pytest.raises(ValueError, match="grid_dim"):
        dataclasses.replace(cfg, grid_dim=0)


def test_spatial_softmax_finds_a_peak_to_a_fraction_of_a_cell():
    """One peaked channel gives its cell's coordinates in [-1, 1]; a peak shared by two
    neighbouring cells gives the point between them (what a flattened map cannot say)."""
    from wmplan.worldmodel.encoder import SpatialSoftmax

    soft = SpatialSoftmax(5)  # cell centres at -1, -0.5, 0, 0.5, 1
    x = torch.full((1, 2, 5, 5), -1e4)
    x[0, 0, 1, 3] = 0.0  # row (y) 1, column (x) 3
    x[0, 1, 4, 0] = x[0, 1, 4, 1] = 0.0
    torch.testing.assert_close(soft(x), torch.tensor([[0.5, -0.5, -0.75, 1.0]]))


def test_keypoints_join_the_pooled_features_and_train():
    cfg = dataclasses.replace(TINY, cnn_channels=(4, 8, 8), keypoints=3)
    model = JEPAWorldModel(cfg).train()
    assert model.encoder.projector.net[0].in_features == cfg.feat_dim + 2 * 3
    out = model.loss(frames(4, 5), actions(4, 5, 4), LossConfig(sigreg_directions=32))
    out.loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    assert model.eval().encode(frames(2, 3)).shape == (2, 3, cfg.latent_dim)
    with pytest.raises(ValueError, match="keypoints must be >= 0 and needs encoder 'cnn'"):
        dataclasses.replace(TINY, encoder="vit", keypoints=3)
    with pytest.raises(ValueError, match="cnn_channels needs more than 2"):
        dataclasses.replace(TINY, cnn_channels=(4, 8), keypoints=3)
