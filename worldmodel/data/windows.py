"""Training windows from episode datasets, for world-model training.

(~520 lines, over the usual size: the window sampler and the torch-free frame reader
its worker processes run are one mechanism.)

A window of T frames with action blocks of k env steps starts at env step t0 of
one episode and holds

- frames ``[T, H, W, 3]`` uint8: the observations at steps t0, t0+k, ..., t0+(T-1)k
  (one frame per action block, so the window spans (T-1)k env steps);
- actions ``[T, k*A]`` float32: block j is the k actions taken from frame j's step,
  flattened step-major (``[a_t[0..A), a_{t+1}[0..A), ...]``); block j leads frame j
  to frame j+1, and the last block (after the last frame) is real data too;
- states ``[T, S]`` float32 at the frames (for probes).

Every window lies inside one episode and needs t0 + T*k <= the episode's
length. Episodes, not windows, are split between train and validation (no frame
of a validation episode is ever in a training batch): per dataset, a seeded
permutation (``split_seed`` and the dataset's position in the list) picks
``round(val_fraction * E)`` validation episodes.

The training order is a pure function of ``seed`` and the number of windows
drawn so far: each epoch visits every training window once in a fresh seeded
permutation. ``state_dict()`` is ``{"seed", "position", ...}`` (JSON-able), so a
resumed run sees exactly the batches an uninterrupted one would.

Frames stay uint8 until the batch; ``to_model_input`` makes the model's float
``[B, T, 3, H, W]`` in [0, 1]. Pixels of all datasets are held in memory when
they fit in ``cache_bytes`` (decoded once, then gathered with numpy); otherwise
they are read from the HDF5 files by ``workers`` processes that prefetch the
next batches.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wmplan.worldmodel.configs import check_ints
from wmplan.worldmodel.data.episodes import Dataset, DatasetMeta, check_compatible, check_finite

CACHE_MODES = ("auto", "memory", "disk")
STATE_VERSION = 1


@dataclass(frozen=True)
class WindowConfig:
    """How to cut and serve windows.

    ``frames`` T and ``block`` k as in the module docstring. ``cache``: "memory"
    (decode all pixels into RAM), "disk" (read per batch with ``workers``
    processes, 0 = in this process) or "auto" (memory when the pixels fit in
    ``cache_bytes``). ``task_id``/``image_size``/``action_repeat``: what the model
    needs (None: take the data's); a dataset that differs is an error.
    """

    frames: int = 6
    block: int = 5
    val_fraction: float = 0.05
    split_seed: int = 0
    seed: int = 0
    cache: str = "auto"
    cache_bytes: int = 4 << 30
    workers: int = 2
    prefetch: int = 4
    task_id: str | None = None
    image_size: int | None = None
    action_repeat: int | None = None

    def __post_init__(self) -> None:
        check_ints(self, ("frames", "block", "prefetch"), minimum=1)
        check_ints(self, ("split_seed", "seed", "cache_bytes", "workers"), minimum=0)
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.cache not in CACHE_MODES:
            raise ValueError(f"cache must be one of {list(CACHE_MODES)}, got {self.cache!r}")

    @property
    def span(self) -> int:
        """Env steps a window needs from its start: T*k actions."""
        return self.frames * self.block


@dataclass
class Batch:
    """A batch of B windows.

    frames: uint8 [B, T, H, W, 3]; actions: float32 [B, T, k*A]; states: float32
    [B, T, S]; episode: int64 [B] global episode ids (``EpisodeWindows.episode_source``);
    start: int64 [B] env step of each window's first frame.
    """

    frames: torch.Tensor
    actions: torch.Tensor
    states: torch.Tensor
    episode: torch.Tensor
    start: torch.Tensor


def to_model_input(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``[B, T, H, W, 3]`` -> float32 ``[B, T, 3, H, W]`` in [0, 1]."""
    if frames.dtype != torch.uint8 or frames.dim() != 5 or frames.shape[-1] != 3:
        raise ValueError(
            f"frames must be uint8 [B, T, H, W, 3], got {frames.dtype} {tuple(frames.shape)}"
        )
    return frames.permute(0, 1, 4, 2, 3).float().div_(255.0)


# --- frames (torch-free: the reader is sent to worker processes) ------------------------


class FrameWindowReader:
    """Reads frame windows uint8 ``[B, T, H, W, 3]``: frames start, start+k, ...,
    start+(T-1)k of episode ``local`` of dataset ``source``, for B windows.

    ``in_memory``: decode all pixels of every dataset once and gather with numpy;
    else read each window from the files (opened lazily, so a reader can be sent to
    a worker process; it imports no torch).
    """

    def __init__(self, paths: Sequence[str], frames: int, block: int, in_memory: bool):
        self.paths = [str(p) for p in paths]
        self.frames, self.block = frames, block
        self.in_memory = in_memory
        self._pixels: list[np.ndarray] | None = None
        self._datasets: list[Dataset] | None = None
        if in_memory:
            self._pixels = []
            for path in self.paths:
                with Dataset(path) as d:
                    self._pixels.append(d.read("pixels"))

    def __getstate__(self) -> dict[str, Any]:
        if self.in_memory:
            raise TypeError("an in-memory pixel reader is not sent to worker processes")
        state = dict(self.__dict__)
        state["_datasets"] = None  # h5py handles never cross processes
        return state

    def _open(self) -> list[Dataset]:
        if self._datasets is None:
            self._datasets = [Dataset(p) for p in self.paths]
        return self._datasets

    def read(self, source: np.ndarray, local: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Windows of ``source``/``local``/``start`` [B] -> uint8 [B, T, H, W, 3]."""
        t, k = self.frames, self.block
        offsets = np.arange(t) * k
        if self._pixels is not None:
            first = self._pixels[0]
            out = np.empty((len(source), t) + first.shape[2:], np.uint8)
            for s in np.unique(source):
                rows = np.nonzero(source == s)[0]
                idx = start[rows, None] + offsets
                out[rows] = self._pixels[s][local[rows, None], idx]
            return out
        datasets = self._open()
        frames = []
        for s, e, t0 in zip(source.tolist(), local.tolist(), start.tolist(), strict=True):
            # One contiguous read then a strided view: HDF5's own strided selection
            # is ~20x slower on compressed chunks.
            frames.append(datasets[s].read("pixels", (e, slice(t0, t0 + (t - 1) * k + 1)))[::k])
        return np.stack(frames)

    def close(self) -> None:
        """Close open files."""
        for d in self._datasets or []:
            d.close()
        self._datasets = None


_WORKER_READER: FrameWindowReader | None = None


def init_reader_worker(reader: FrameWindowReader) -> None:
    """Process-pool initializer: the reader this worker serves."""
    global _WORKER_READER
    _WORKER_READER = reader


def read_in_worker(source: np.ndarray, local: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``FrameWindowReader.read`` of the worker's reader."""
    assert _WORKER_READER is not None
    return _WORKER_READER.read(source, local, start)


# --- windows ----------------------------------------------------------------------------


class EpisodeWindows:
    """Training and validation windows over one or more datasets.

    Implements the trainer's window-source protocol: ``image_size``,
    ``action_dim`` (A, per env step), ``sample(B) -> (frames uint8 [B, T, H, W, 3],
    actions float32 [B, T, k*A])``, ``val_batch(B)`` (the same held-out batch every
    call), ``state_dict()``/``load_state_dict()``. ``sample_batch``/``val_batches``
    give ``Batch`` objects with states and episode ids too.

    Raises DatasetError (naming the file) for unreadable datasets, datasets that
    differ from each other, or datasets that are not for the configured task,
    image size or action repeat; ValueError if no window fits.
    """

    def __init__(self, paths: str | Path | Sequence[str | Path], config: WindowConfig):
        if isinstance(paths, (str, Path)):
            paths = [paths]
        if not paths:
            raise ValueError("paths must name at least one dataset")
        self.config = config
        self.paths = [str(p) for p in paths]
        datasets = [Dataset(p) for p in self.paths]
        try:
            for d in datasets:
                d.check(config.task_id, config.image_size, config.action_repeat)
            check_compatible(datasets)
            self.meta: DatasetMeta = datasets[0].meta
            k, a = config.block, self.meta.action_dim
            sources, locals_, lengths, actions, states = [], [], [], [], []
            for s, d in enumerate(datasets):
                sources.append(np.full(d.num_episodes, s, np.int64))
                locals_.append(np.arange(d.num_episodes, dtype=np.int64))
                lengths.append(d.lengths.astype(np.int64))
                actions.append(d.read("actions"))
                states.append(d.read("states"))
                check_finite(d.path, "actions", actions[-1])
                check_finite(d.path, "states", states[-1])
            pixel_bytes = sum(
                d.num_episodes * (self.meta.steps + 1) * self.meta.image_size**2 * 3
                for d in datasets
            )
        finally:
            for d in datasets:
                d.close()
        self.image_size = self.meta.image_size
        self.action_dim = a
        self.action_block_dim = k * a
        self.episode_source = np.concatenate(sources)  # [G] dataset index of each episode
        self.episode_local = np.concatenate(locals_)  # [G] episode index in its dataset
        self.lengths = np.concatenate(lengths)  # [G]
        self._actions = actions  # per dataset [E, T, A]
        self._states = states  # per dataset [E, T+1, S]
        self.is_val = self._split([d.num_episodes for d in datasets])  # [G] bool
        self.pixel_bytes = pixel_bytes
        if config.cache == "auto":
            self.in_memory = pixel_bytes <= config.cache_bytes
        else:
            self.in_memory = config.cache == "memory"
        self._reader = FrameWindowReader(self.paths, config.frames, config.block, self.in_memory)
        self._train = self._windows(~self.is_val)
        self._val = self._windows(self.is_val)
        if len(self._train[0]) == 0:
            raise ValueError(
                f"no training window fits: a window of {config.frames} frames with blocks of "
                f"{config.block} steps needs episodes of >= {config.span} steps; "
                f"{self.paths} have at most {int(self.lengths.max(initial=0))} "
                f"({int((~self.is_val).sum())} training episodes)"
            )
        self.position = 0  # training windows drawn so far
        self._perms: OrderedDict[int, np.ndarray] = OrderedDict()
        self._val_cache: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._pool: cf.ProcessPoolExecutor | None = None
        self._pending: list[tuple[int, int, cf.Future]] = []

    # --- split and windows -------------------------------------------------------------
    def _split(self, counts: list[int]) -> np.ndarray:
        is_val = []
        for s, n in enumerate(counts):
            n_val = int(round(self.config.val_fraction * n))
            if self.config.val_fraction > 0 and n >= 2:
                n_val = min(max(n_val, 1), n - 1)
            rng = np.random.default_rng(np.random.SeedSequence([self.config.split_seed, s]))
            mask = np.zeros(n, bool)
            mask[rng.permutation(n)[:n_val]] = True
            is_val.append(mask)
        return np.concatenate(is_val) if is_val else np.zeros(0, bool)

    def _windows(self, episodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(episode [N], start [N]) of every window in the selected episodes."""
        counts = np.where(episodes, np.maximum(self.lengths - self.config.span + 1, 0), 0)
        ep = np.repeat(np.arange(len(counts)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        start = np.arange(len(ep)) - first
        return ep.astype(np.int64), start.astype(np.int64)

    @property
    def train_episodes(self) -> np.ndarray:
        """Global ids of the training episodes."""
        return np.nonzero(~self.is_val)[0]

    @property
    def val_episodes(self) -> np.ndarray:
        """Global ids of the validation episodes."""
        return np.nonzero(self.is_val)[0]

    def state_stats(self, dims: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std ``[len(dims)]`` of the state dimensions ``dims`` over every frame of
        the training episodes (what a world model's state head is standardised by)."""
        width = self._states[0].shape[-1]
        outside = [int(i) for i in dims if not 0 <= i < width]
        if outside:
            raise ValueError(
                f"model.state_aux indices {outside} are outside the {width}-d states of "
                f"{', '.join(self.paths)}"
            )
        rows = [
            self._states[self.episode_source[g]][self.episode_local[g], : self.lengths[g] + 1]
            for g in self.train_episodes
        ]
        x = np.concatenate(rows)[:, list(dims)].astype(np.float64)
        return x.mean(0), x.std(0)

    @property
    def num_train_windows(self) -> int:
        """Distinct training windows (one epoch)."""
        return len(self._train[0])

    @property
    def num_val_windows(self) -> int:
        """Distinct validation windows."""
        return len(self._val[0])

    # --- reading -------------------------------------------------------------------------
    def read(self, episode: np.ndarray, start: np.ndarray) -> Batch:
        """The windows at global ``episode`` [B] and ``start`` [B] (in this process)."""
        source, local = self.episode_source[episode], self.episode_local[episode]
        pixels = self._reader.read(source, local, start)
        return self._assemble(episode, start, pixels)

    def _assemble(self, episode: np.ndarray, start: np.ndarray, pixels: np.ndarray) -> Batch:
        t, k = self.config.frames, self.config.block
        source, local = self.episode_source[episode], self.episode_local[episode]
        b = len(episode)
        actions = np.empty((b, t * k, self.action_dim), np.float32)
        states = np.empty((b, t, self._states[0].shape[-1]), np.float32)
        steps = np.arange(t * k)
        for s in np.unique(source):
            rows = np.nonzero(source == s)[0]
            actions[rows] = self._actions[s][local[rows, None], start[rows, None] + steps]
            states[rows] = self._states[s][local[rows, None], start[rows, None] + steps[::k]]
        return Batch(
            frames=torch.from_numpy(pixels),
            actions=torch.from_numpy(actions.reshape(b, t, k * self.action_dim)),
            states=torch.from_numpy(states),
            episode=torch.from_numpy(episode.astype(np.int64)),
            start=torch.from_numpy(start.astype(np.int64)),
        )

    # --- training order --------------------------------------------------------------------
    def _perm(self, epoch: int) -> np.ndarray:
        perm = self._perms.get(epoch)
        if perm is None:
            rng = np.random.default_rng(np.random.SeedSequence([self.config.seed, epoch]))
            perm = rng.permutation(self.num_train_windows)
            self._perms[epoch] = perm
            while len(self._perms) > 2:
                self._perms.popitem(last=False)
        return perm

    def train_windows_at(self, position: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(episode [count], start [count]) of training windows ``position..position+count``."""
        n = self.num_train_windows
        s = position + np.arange(count)
        idx = np.empty(count, np.int64)
        for epoch in np.unique(s // n):
            rows = s // n == epoch
            idx[rows] = self._perm(int(epoch))[s[rows] % n]
        return self._train[0][idx], self._train[1][idx]

    def sample_batch(self, batch_size: int) -> Batch:
        """The next ``batch_size`` training windows (advances ``position``)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        episode, start = self.train_windows_at(self.position, batch_size)
        if self.in_memory or self.config.workers == 0:
            batch = self.read(episode, start)
        else:
            batch = self._assemble(episode, start, self._prefetched(batch_size))
        self.position += batch_size
        return batch

    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Next training batch: frames uint8 [B, T, H, W, 3], actions float32 [B, T, k*A]."""
        batch = self.sample_batch(batch_size)
        return batch.frames, batch.actions

    # --- worker processes (disk mode) -----------------------------------------------------
    def _prefetched(self, batch_size: int) -> np.ndarray:
        """Pixels of the batch at ``position``, read ahead by worker processes."""
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.config.workers,
                mp_context=mp.get_context("spawn"),
                initializer=init_reader_worker,
                initargs=(self._reader,),
            )
        if self._pending and self._pending[0][:2] != (self.position, batch_size):
            for _, _, fut in self._pending:
                fut.cancel()
            self._pending = []
        next_pos = self._pending[-1][0] + batch_size if self._pending else self.position
        while len(self._pending) < self.config.prefetch + 1:
            episode, start = self.train_windows_at(next_pos, batch_size)
            fut = self._pool.submit(
                read_in_worker, self.episode_source[episode], self.episode_local[episode], start
            )
            self._pending.append((next_pos, batch_size, fut))
            next_pos += batch_size
        _, _, fut = self._pending.pop(0)
        return fut.result()

    # --- validation ------------------------------------------------------------------------
    def val_batch(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed held-out batch (the same windows every call): frames uint8
        [B, T, H, W, 3], actions float32 [B, T, k*A]."""
        if batch_size not in self._val_cache:
            batch = self.val_batch_full(batch_size)
            self._val_cache[batch_size] = (batch.frames, batch.actions)
        return self._val_cache[batch_size]

    def val_batch_full(self, batch_size: int) -> Batch:
        """``val_batch`` with states and episode ids."""
        n = self.num_val_windows
        if n == 0:
            raise ValueError(
                f"no validation windows (val_fraction={self.config.val_fraction}, "
                f"{len(self.val_episodes)} validation episodes)"
            )
        rng = np.random.default_rng(np.random.SeedSequence([self.config.split_seed, 1 << 20]))
        idx = rng.permutation(n)[:batch_size] if batch_size <= n else rng.integers(0, n, batch_size)
        return self.read(self._val[0][idx], self._val[1][idx])

    def val_batches(self, batch_size: int, stride: int | None = None) -> Iterator[Batch]:
        """One ordered pass over validation windows starting every ``stride`` steps
        (default k) of every validation episode; the last batch may be smaller."""
        stride = self.config.block if stride is None else stride
        keep = self._val[1] % stride == 0
        episode, start = self._val[0][keep], self._val[1][keep]
        for i in range(0, len(episode), batch_size):
            yield self.read(episode[i : i + batch_size], start[i : i + batch_size])

    # --- resume ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-able position of the training order."""
        return {
            "version": STATE_VERSION,
            "seed": int(self.config.seed),
            "position": int(self.position),
            "num_train_windows": int(self.num_train_windows),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the training order from ``state_dict()``'s position.

        Raises ValueError if the state comes from another seed or other data (a
        different number of training windows would silently change the order).
        """
        for key in ("seed", "position", "num_train_windows"):
            if key not in state:
                raise ValueError(f"sampler state lacks {key!r}: {state}")
        if int(state["seed"]) != self.config.seed:
            raise ValueError(
                f"sampler state has seed {state['seed']}, loader has {self.config.seed}"
            )
        if int(state["num_train_windows"]) != self.num_train_windows:
            raise ValueError(
                f"sampler state is for {state['num_train_windows']} training windows but "
                f"{self.paths} give {self.num_train_windows}: different data or split"
            )
        self.position = int(state["position"])
        for _, _, fut in self._pending:
            fut.cancel()
        self._pending = []

    def close(self) -> None:
        """Stop worker processes and close files."""
        for _, _, fut in self._pending:
            fut.cancel()
        self._pending = []
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._reader.close()

    def __enter__(self) -> EpisodeWindows:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_windows(
    paths: str | Path | Sequence[str | Path],
    window: int = 6,
    action_block: int = 5,
    seed: int = 0,
    val_fraction: float = 0.05,
    task: str | None = None,
    **kwargs: Any,
) -> EpisodeWindows:
    """``EpisodeWindows`` of ``window`` frames and ``action_block`` steps per block over
    ``paths``; ``task`` (if given) must be every dataset's task. Other ``WindowConfig``
    fields go in ``kwargs``."""
    config = WindowConfig(
        frames=window,
        block=action_block,
        seed=seed,
        val_fraction=val_fraction,
        task_id=task,
        **kwargs,
    )
    return EpisodeWindows(paths, config)
