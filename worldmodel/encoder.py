"""Pixel encoders: uint8 frames ``[B, T, H, W, 3]`` -> embeddings ``z[B, T, D]``.

Two backbones, each followed by the same projector (MLP with BatchNorm, as in
LeWM): a small CNN (the CPU default at 64x64) and a ViT-tiny (patch 8 at 64 px,
14 at 224 px). The projector's output is the latent the predictor works in;
SIGReg shapes its distribution towards N(0, I).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def frames_to_float(frames: Tensor) -> Tensor:
    """uint8 ``[..., H, W, 3]`` (or float ``[..., 3, H, W]``) -> float ``[N, 3, H, W]`` in [-1, 1].

    Leading dimensions are flattened into N. A float input is taken as already
    channel-first in [0, 1] (the data loader's float format) and only rescaled.
    """
    if frames.dtype == torch.uint8:
        if frames.shape[-1] != 3:
            raise ValueError(f"uint8 frames must be [..., H, W, 3], got {tuple(frames.shape)}")
        x = frames.reshape(-1, *frames.shape[-3:]).permute(0, 3, 1, 2)
        return x.float().div_(127.5).sub_(1.0)
    if frames.shape[-3] != 3:
        raise ValueError(f"float frames must be [..., 3, H, W], got {tuple(frames.shape)}")
    return frames.reshape(-1, *frames.shape[-3:]).float() * 2.0 - 1.0


class Projector(nn.Module):
    """MLP ``[N, F] -> [N, D]`` with BatchNorm in the hidden layer (LeWM's projector)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.BatchNorm1d(hidden),
            nn.GELU(),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class HybridBackbone(nn.Module):
    """Both latents of ``encoder="cnn_hybrid"``: ``[N, 3, S, S] -> (map [N, C, s, s], feat [N, F])``.

    The convs but the last give the cell map (as ``GridBackbone`` with one conv fewer);
    the last conv and a linear layer pool it into one vector (as ``CNNBackbone``).
    """

    def __init__(self, image_size: int, channels: tuple[int, ...], feat_dim: int):
        super().__init__()
        self.convs = conv_stack(channels[:-1])
        self.last = nn.Sequential(
            nn.Conv2d(channels[-2], channels[-1], 3, stride=2, padding=1), nn.ReLU(inplace=True)
        )
        side = grid_side(image_size, len(channels))
        self.fc = nn.Linear(channels[-1] * side * side, feat_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        cells = self.convs(x)
        return cells, F.gelu(self.fc(self.last(cells).flatten(1)))


class HybridProjector(nn.Module):
    """``(map, feat) -> [N, pooled_dim + cells * grid_dim]``: the pooled vector first."""

    def __init__(self, map_channels: int, feat_dim: int, hidden: int, pooled_dim: int,
                 grid_dim: int):  # fmt: skip
        super().__init__()
        self.pooled = Projector(feat_dim, hidden, pooled_dim)
        self.grid = GridProjector(map_channels, hidden, grid_dim)

    def forward(self, x: tuple[Tensor, Tensor]) -> Tensor:
        cells, feat = x
        return torch.cat([self.pooled(feat), self.grid(cells)], dim=-1)


def grid_side(image_size: int, n_convs: int) -> int:
    """Side of the last feature map after ``n_convs`` stride-2 convs (padding 1)."""
    side = image_size
    for _ in range(n_convs):
        side = (side + 1) // 2
    return side


def conv_stack(channels: tuple[int, ...], in_channels: int = 3) -> nn.Sequential:
    """Stride-2 3x3 convs + ReLU from ``in_channels`` through ``channels``: ``[N, C, S, S]
    -> [N, channels[-1], s, s]`` with s = ``grid_side(S, len(channels))``."""
    layers: list[nn.Module] = []
    c_in = in_channels
    for c in channels:
        layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
        c_in = c
    return nn.Sequential(*layers)


class CNNBackbone(nn.Module):
    """Stride-2 3x3 convs (default 16-32-64-128) then a linear layer.

    ``[N, C, S, S] -> [N, feat_dim]`` (C = ``in_channels``, 3 for one RGB frame). At
    S=64 the last feature map is 4x4.
    """

    def __init__(
        self, image_size: int, channels: tuple[int, ...], feat_dim: int, in_channels: int = 3
    ):
        super().__init__()
        self.convs = conv_stack(channels, in_channels)
        side = grid_side(image_size, len(channels))
        self.fc = nn.Linear(channels[-1] * side * side, feat_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.convs(x))

    def pool(self, maps: Tensor) -> Tensor:
        """The last conv's ``maps[N, C, s, s]`` -> features ``[N, feat_dim]``."""
        return F.gelu(self.fc(maps.flatten(1)))


KEYPOINT_LEVEL = 2  # keypoints read after this many stride-2 convs


class SpatialSoftmax(nn.Module):
    """Expected image coordinates of each channel's softmax: ``[N, K, s, s] -> [N, 2K]``
    in [-1, 1] (x then y per channel), with one learned temperature.

    A soft argmax: the coordinates move continuously as a feature moves, to a fraction
    of a cell, which a linear layer over a coarse flattened map cannot resolve (the
    keypoints of Levine et al. 2016; robomimic's and Diffusion Policy's Push-T encoders).
    """

    def __init__(self, side: int):
        super().__init__()
        coords = torch.linspace(-1.0, 1.0, side)
        ys, xs = torch.meshgrid(coords, coords, indexing="ij")
        self.register_buffer("grid", torch.stack([xs.flatten(), ys.flatten()], -1))  # [s*s, 2]
        self.log_temp = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        n, k = x.shape[:2]
        attn = torch.softmax(x.reshape(n, k, -1) / self.log_temp.exp(), dim=-1)  # [N, K, s*s]
        return (attn @ self.grid).reshape(n, 2 * k)


class KeypointBackbone(CNNBackbone):
    """``CNNBackbone`` plus ``keypoints`` spatial-softmax keypoints read from the map of
    the second conv (16 x 16 at 64 px): ``[N, 3, S, S] -> [N, feat_dim + 2 * keypoints]``.

    The pooled features say what is in the image; the keypoints say precisely where
    (Push's block pose within a tolerance of 1.5 pixels).
    """

    def __init__(self, image_size: int, channels: tuple[int, ...], feat_dim: int,
                 keypoints: int):  # fmt: skip
        super().__init__(image_size, channels, feat_dim)
        self.keypoint_conv = nn.Conv2d(channels[KEYPOINT_LEVEL - 1], keypoints, 3, padding=1)
        self.softmax = SpatialSoftmax(grid_side(image_size, KEYPOINT_LEVEL))

    def forward(self, x: Tensor) -> Tensor:
        split = 2 * KEYPOINT_LEVEL  # conv_stack holds a conv and a ReLU per level
        m = self.convs[:split](x)
        pooled = self.pool(self.convs[split:](m))
        return torch.cat([pooled, self.softmax(self.keypoint_conv(m))], dim=-1)


class GridBackbone(nn.Module):
    """Stride-2 3x3 convs with no pooling layer: ``[N, 3, S, S] -> [N, C, s, s]``.

    The spatial latent's backbone (``encoder="cnn_grid"``): each cell of the last
    map sees one patch of the image, so a detail such as the Push block's yaw
    changes a few cells instead of being squeezed through one linear layer.
    Measured on Push (models/README.md, ablations): the cells see the yaw 3x better
    but nearly lose the 3-pixel pusher, and with the default 128-wide predictor MPC
    success falls from 31% to 2-8%; kept for reproducing that row and as the base of
    a spatial predictor.
    """

    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        self.convs = conv_stack(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.convs(x)


class GridProjector(nn.Module):
    """The projector applied per cell (1x1 convs): ``[N, C, s, s] -> [N, s*s*d]``.

    The output is flattened cell-major (``[N, s, s, d]`` row-major), so the flat
    latent's squared distance is the sum of per-cell (token-wise) distances.
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1),
            nn.BatchNorm2d(hidden),
            nn.GELU(),
            nn.Conv2d(hidden, out_channels, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).permute(0, 2, 3, 1).flatten(1)


class ViTBlock(nn.Module):
    """Pre-LN transformer block (bidirectional self-attention + MLP)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        n, L, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(n, L, 3, self.heads, d // self.heads).unbind(2)
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        x = x + self.proj(a.transpose(1, 2).reshape(n, L, d))
        return x + self.mlp(self.ln2(x))


class ViTBackbone(nn.Module):
    """ViT-tiny: patchify, CLS token, learned positions, ``depth`` blocks; ``[N,3,S,S] -> [N,dim]``."""

    def __init__(self, image_size: int, patch: int, dim: int, depth: int, heads: int):
        super().__init__()
        if image_size % patch:
            raise ValueError(f"image_size {image_size} is not a multiple of patch {patch}")
        n_patches = (image_size // patch) ** 2
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n_patches + 1, dim) * 0.02)
        self.blocks = nn.ModuleList(ViTBlock(dim, heads) for _ in range(depth))
        self.ln = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # [N, P, dim]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.ln(x[:, 0])


class Encoder(nn.Module):
    """Backbone + projector: frames ``[B, T, H, W, 3]`` uint8 -> ``z[B, T, D]``.

    ``kind`` is "cnn", "cnn_grid" or "vit". ``feat_dim`` is the backbone output
    width (the ViT's token width for "vit"). "cnn_grid" keeps the last conv map:
    the latent is P = s*s cells of ``latent_dim / P`` channels each, flattened
    (``[B, T, P*d]``; ``latent_dim`` must be a multiple of P). "cnn_hybrid" gives both:
    a pooled vector of ``latent_dim - P * grid_dim`` then P cells of ``grid_dim`` from
    the map one conv earlier (the pooled part keeps what the cells lose, e.g. Push's
    small pusher; the cells keep what pooling loses, the block's yaw).
    """

    def __init__(
        self,
        kind: str,
        image_size: int,
        latent_dim: int,
        feat_dim: int = 512,
        cnn_channels: tuple[int, ...] = (16, 32, 64, 128),
        vit_patch: int | None = None,
        vit_depth: int = 12,
        vit_heads: int = 3,
        projector_hidden: int = 512,
        grid_dim: int = 0,
        keypoints: int = 0,
    ):
        super().__init__()
        self.image_size = image_size
        # Sizes are checked by ModelConfig, which names the field at fault.
        if kind == "cnn_hybrid":
            cells = grid_side(image_size, len(cnn_channels) - 1) ** 2
            pooled = latent_dim - cells * grid_dim
            self.backbone: nn.Module = HybridBackbone(image_size, cnn_channels, feat_dim)
            self.projector: nn.Module = HybridProjector(
                cnn_channels[-2], feat_dim, projector_hidden, pooled, grid_dim
            )
        elif kind == "cnn" and keypoints:
            self.backbone = KeypointBackbone(image_size, cnn_channels, feat_dim, keypoints)
        elif kind == "cnn":
            self.backbone = CNNBackbone(image_size, cnn_channels, feat_dim)
        elif kind == "cnn_grid":
            cells = grid_side(image_size, len(cnn_channels)) ** 2
            self.backbone = GridBackbone(cnn_channels)
        elif kind == "vit":
            patch = vit_patch or default_vit_patch(image_size)
            self.backbone = ViTBackbone(image_size, patch, feat_dim, vit_depth, vit_heads)
        else:
            raise ValueError(
                f"encoder kind must be 'cnn', 'cnn_grid', 'cnn_hybrid' or 'vit', got {kind!r}"
            )
        if kind == "cnn_grid":
            self.projector = GridProjector(cnn_channels[-1], projector_hidden, latent_dim // cells)
        elif kind != "cnn_hybrid":
            self.projector = Projector(feat_dim + 2 * keypoints, projector_hidden, latent_dim)
        if kind != "vit":
            # NHWC weights let oneDNN skip layout reorders: ~1.4x faster on CPU.
            # (Checkpoints store contiguous copies; loading copies into these.)
            self.backbone.to(memory_format=torch.channels_last)

    def forward(self, frames: Tensor) -> Tensor:
        """``frames``: uint8 ``[B, T, H, W, 3]`` or float ``[B, T, 3, H, W]`` -> ``z[B, T, D]``."""
        if frames.dim() != 5:
            raise ValueError(f"frames must be 5-D [B, T, ...], got {tuple(frames.shape)}")
        b, t = frames.shape[:2]
        x = frames_to_float(frames)
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(
                f"encoder was built for {self.image_size}x{self.image_size} frames, "
                f"got {x.shape[-2]}x{x.shape[-1]}"
            )
        z = self.projector(self.backbone(x))
        return z.view(b, t, -1)


def default_vit_patch(image_size: int) -> int:
    """Patch 14 at 224 px (16x16 tokens, as ViT-tiny/14), else S/8 (8x8 tokens; 8 at 64 px)."""
    if image_size == 224:
        return 14
    if image_size % 8:
        raise ValueError(f"no default ViT patch for image_size {image_size}; set vit_patch")
    return image_size // 8
