"""Action-conditioned latent predictor: history of latents + action block -> next latent.

Layout (one token per time step, nanoGPT-sized):

    z[B, T, D] --in_proj--> tokens --causal windowed transformer--> h[B, T, W]
    a[B, T, kA] --ActionEncoder--> c[B, T, W]
    h, c --AdaLN-zero MLP blocks (conditioned on c)--> delta --> z_next = z + delta

Token t sees only latents t-history+1 .. t (a sliding causal window, with a
learned relative-position bias), so teacher-forced training on long windows
and autoregressive rollouts from a short history see the same context.

The body is action-free and actions enter only the per-token AdaLN head. That
is deliberate: the action of token t then never leaks into later tokens, so a
rollout needs no *past* actions, only the latents of the history
(``rollout(z_hist, actions)``), and the teacher-forced and rollout inputs match.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

KV = tuple[Tensor, Tensor]  # cached keys, values: [N, heads, L, W/heads]


class ActionEncoder(nn.Module):
    """MLP over a flattened action block of k env steps: ``[..., k*A] -> [..., W]``."""

    def __init__(self, action_block_dim: int, width: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(action_block_dim, width), nn.GELU(), nn.Linear(width, width)
        )

    def forward(self, a: Tensor) -> Tensor:
        return self.net(a)


class WindowedCausalAttention(nn.Module):
    """Multi-head self-attention where token i sees tokens j with 0 <= i - j < window."""

    def __init__(self, width: int, heads: int, window: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        # One learned bias per head and relative offset i - j in [0, window).
        self.rel_bias = nn.Parameter(torch.zeros(heads, window))

    def forward(self, x: Tensor) -> Tensor:
        """``x[N, T, W] -> [N, T, W]``."""
        n, t, w = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, w // self.heads).unbind(2)
        q, k, v = (y.transpose(1, 2) for y in (q, k, v))  # [N, heads, T, W/heads]
        offset = torch.arange(t, device=x.device)
        rel = offset[:, None] - offset[None, :]  # [T, T], i - j
        allowed = (rel >= 0) & (rel < self.window)
        bias = self.rel_bias[:, rel.clamp(0, self.window - 1)]  # [heads, T, T]
        bias = bias.masked_fill(~allowed, float("-inf"))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        return self.proj(y.transpose(1, 2).reshape(n, t, w))

    def forward_step(self, x: Tensor, cache: KV | None) -> tuple[Tensor, KV]:
        """One new token ``x[N, 1, W]`` attending to itself and the cached keys/values of
        the previous ``window - 1`` tokens. Returns the output ``[N, 1, W]`` and the new cache.
        Equal to the last row of ``forward`` on the whole window, at a third of the cost.
        """
        n, _, w = x.shape
        q, k, v = self.qkv(x).view(n, 1, 3, self.heads, w // self.heads).unbind(2)
        q, k, v = (y.transpose(1, 2) for y in (q, k, v))  # [N, heads, 1, W/heads]
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        length = k.shape[2]
        rel = torch.arange(length - 1, -1, -1, device=x.device)  # offsets i - j of the keys
        bias = self.rel_bias[:, rel][:, None, :]  # [heads, 1, L]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        keep = self.window - 1
        cache = (k[:, :, length - keep :], v[:, :, length - keep :])
        return self.proj(y.transpose(1, 2).reshape(n, 1, w)), cache


class Block(nn.Module):
    """Pre-LN transformer block with windowed causal attention."""

    def __init__(self, width: int, heads: int, window: int, mlp_ratio: int = 2):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = WindowedCausalAttention(width, heads, window)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))

    def forward_step(self, x: Tensor, cache: KV | None) -> tuple[Tensor, KV]:
        """``forward`` for one new token ``x[N, 1, W]`` given the attention cache."""
        a, cache = self.attn.forward_step(self.ln1(x), cache)
        x = x + a
        return x + self.mlp(self.ln2(x)), cache


class AdaLNBlock(nn.Module):
    """MLP block modulated by a condition (DiT's AdaLN-zero): starts as the identity."""

    def __init__(self, width: int, mlp_ratio: int = 2):
        super().__init__()
        self.ln = nn.LayerNorm(width, elementwise_affine=False)
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width)
        )
        self.mod = nn.Linear(width, 3 * width)
        nn.init.zeros_(self.mod.weight)
        nn.init.zeros_(self.mod.bias)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        """``x, c: [..., W] -> [..., W]``."""
        shift, scale, gate = self.mod(F.gelu(c)).chunk(3, dim=-1)
        return x + gate * self.mlp(self.ln(x) * (1 + scale) + shift)


class Predictor(nn.Module):
    """Next-latent predictor. ``forward(z[B,T,D], a[B,T,kA]) -> z_next[B,T,D]``.

    Output t is the prediction of latent t+1 after applying action block t,
    from latents max(0, t-history+1) .. t.
    """

    def __init__(
        self,
        latent_dim: int,
        action_block_dim: int,
        width: int = 256,
        depth: int = 2,
        heads: int = 4,
        head_depth: int = 2,
        history: int = 3,
        mlp_ratio: int = 2,
    ):
        super().__init__()
        self.history = history
        self.in_proj = nn.Linear(latent_dim, width)
        self.blocks = nn.ModuleList(Block(width, heads, history, mlp_ratio) for _ in range(depth))
        self.action_encoder = ActionEncoder(action_block_dim, width)
        self.head = nn.ModuleList(AdaLNBlock(width, mlp_ratio) for _ in range(head_depth))
        self.out_ln = nn.LayerNorm(width)
        self.out_proj = nn.Linear(width, latent_dim)
        # Start as copy-last (z_next = z): an untrained predictor's large random
        # outputs would otherwise teach the encoder to shrink its embeddings.
        nn.init.zeros_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)

    def context(self, z: Tensor) -> Tensor:
        """Action-free summary of each token's window: ``z[N, T, D] -> h[N, T, W]``."""
        h = self.in_proj(z)
        for blk in self.blocks:
            h = blk(h)
        return h

    def step(self, h: Tensor, z: Tensor, a: Tensor) -> Tensor:
        """Apply the action head: ``h[..., W], z[..., D], a[..., kA] -> z_next[..., D]``."""
        c = self.action_encoder(a)
        for blk in self.head:
            h = blk(h, c)
        return z + self.out_proj(self.out_ln(h))

    def forward(self, z: Tensor, a: Tensor) -> Tensor:
        """Teacher-forced: ``z[N, T, D], a[N, T, kA] -> z_next[N, T, D]``."""
        if z.shape[:2] != a.shape[:2]:
            raise ValueError(f"z {tuple(z.shape)} and actions {tuple(a.shape)} differ in [N, T]")
        return self.step(self.context(z), z, a)

    def _push(self, z: Tensor, caches: list[KV | None]) -> tuple[Tensor, list[KV | None]]:
        """Append latent ``z[N, D]`` to the cached window: its context ``h[N, W]`` and new caches."""
        x = self.in_proj(z)[:, None]
        new = []
        for blk, cache in zip(self.blocks, caches, strict=True):
            x, cache = blk.forward_step(x, cache)
            new.append(cache)
        return x[:, 0], new

    def rollout(self, z_hist: Tensor, actions: Tensor) -> Tensor:
        """Open-loop rollout, batched over samples.

        ``z_hist``: ``[B, T, D]`` latents of the last T frames (the last ``history``
        are used). ``actions``: ``[B, N, H, kA]`` candidate action blocks.
        Returns ``z[B, N, H, D]``: the predicted latent after each block.

        The history is encoded once per B (it is the same for all N samples), then
        expanded; each step adds one token through cached keys/values, so a step
        costs one token per sample, not ``history``.
        """
        if z_hist.dim() != 3 or actions.dim() != 4 or z_hist.shape[0] != actions.shape[0]:
            raise ValueError(
                f"expected z_hist [B, T, D] and actions [B, N, H, kA], got "
                f"{tuple(z_hist.shape)} and {tuple(actions.shape)}"
            )
        b, n, horizon, ka = actions.shape
        ctx = z_hist[:, -self.history :]
        caches: list[KV | None] = [None] * len(self.blocks)
        for t in range(ctx.shape[1]):
            h, caches = self._push(ctx[:, t], caches)

        def fold(x: Tensor) -> Tensor:  # [B, ...] -> [B*N, ...], sample-major within B
            return x[:, None].expand(b, n, *x.shape[1:]).reshape(b * n, *x.shape[1:])

        h, z = fold(h), fold(ctx[:, -1])
        caches = [(fold(k), fold(v)) for k, v in caches]
        acts = actions.reshape(b * n, horizon, ka)
        preds = []
        for i in range(horizon):
            z = self.step(h, z, acts[:, i])  # [B*N, D]
            preds.append(z)
            if i + 1 < horizon:
                h, caches = self._push(z, caches)
        return torch.stack(preds, dim=1).view(b, n, horizon, -1)


class InverseDynamics(nn.Module):
    """Probe: action block from consecutive latents, ``(z_t, z_t+1)[..., D] -> a[..., kA]``."""

    def __init__(self, latent_dim: int, action_block_dim: int, width: int = 256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 * latent_dim, width), nn.GELU(), nn.Linear(width, action_block_dim)
        )

    def forward(self, z_t: Tensor, z_next: Tensor) -> Tensor:
        return self.net(torch.cat([z_t, z_next], dim=-1))
