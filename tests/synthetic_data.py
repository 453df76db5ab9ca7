"""Deterministic stand-in episodes for tests (no simulator): importable from every
test folder (``from synthetic_data import synthetic_episodes``), as ``tests/`` is on
the path beside ``conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from wmplan.worldmodel.data.episodes import DatasetMeta, Episode


def synthetic_episodes(meta: DatasetMeta, count: int, first: int = 0) -> Iterator[Episode]:
    """Deterministic stand-in episodes for tests (no simulator).

    Episode ``i`` (from ``first``) encodes where every value came from: actions
    ``[t, A]`` and states ``[t+1, S]`` hold ``i + t / 1000`` in dimension 0 and ``t``
    in dimension 1; pixel (0, 0) holds ``(t % 256, i % 256, 0)``; a bright square
    moves across an otherwise flat image, so frames compress like rendered ones.
    """
    t_steps, h = meta.steps, meta.image_size
    yy, xx = np.mgrid[0:h, 0:h]
    for i in range(first, first + count):
        t = np.arange(t_steps + 1)
        pixels = np.full((t_steps + 1, h, h, 3), 40, np.uint8)
        cx = (i * 7 + t * 2) % h
        square = (np.abs(xx[None] - cx[:, None, None]) < h // 8) & (np.abs(yy - h // 2) < h // 8)
        pixels[square] = (200, 120, 60)
        pixels[:, 0, 0, 0] = t % 256
        pixels[:, 0, 0, 1] = i % 256

        def coded(n: int, dim: int, i: int = i) -> np.ndarray:
            out = np.zeros((n, dim), np.float32)
            out[:, 0] = i + np.arange(n) / 1000.0
            if dim > 1:
                out[:, 1] = np.arange(n)
            return out

        yield Episode(
            pixels=pixels,
            actions=coded(t_steps, meta.action_dim),
            states=coded(t_steps + 1, meta.state_dim)
            if meta.state_dim
            else np.zeros((t_steps + 1, 0)),
            physics_states=np.zeros((t_steps + 1, meta.physics_state_dim)) + i,
            rewards=np.zeros(t_steps, np.float32),
            success=np.arange(t_steps + 1) == t_steps,
            goal_pixels=pixels[-1],
            goal_states=np.zeros(meta.state_dim, np.float32),
            goal_physics_states=np.zeros(meta.physics_state_dim),
            length=t_steps,
            episode_index=i,
            reset_seed=i,
        )
