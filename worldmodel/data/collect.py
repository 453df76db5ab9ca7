"""Collect episodes of a task into an HDF5 dataset, with worker processes.

(~500 lines, over the usual size: the worker pool, the shard manifest and resume are
one mechanism and read best together.)

Episode ``i`` depends only on ``(seed, i)``: its reset seed and its policy's
random stream come from ``numpy.random.SeedSequence(seed, spawn_key=(i,))``.
Episodes are grouped in fixed shards of ``shard_episodes``; each worker process
(started with ``spawn``: it builds its own env and GL context, nothing is
forked from a process that holds one) writes a shard to a temporary file and
renames it into ``<out>.parts/`` when complete. When every shard is there the
shards are consolidated, in order, into ``<out>`` (again temporary file +
rename) and the parts folder is removed. So the dataset is the same whatever
the number of workers, a reader never sees half an episode, and a killed run
rerun with the same options redoes only the shards that were not complete.
"""

from __future__ import annotations

import ctypes
import json
import math
import multiprocessing as mp
import os
import queue
import shutil
import signal
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wmplan.envs.policies import PolicyConfig, make_policy
from wmplan.worldmodel.configs import check_ints
from wmplan.worldmodel.configs import from_dict as config_from_dict
from wmplan.worldmodel.data.episodes import (
    COMPRESSIONS,
    DEFAULT_COMPRESSION,
    Dataset,
    DatasetError,
    DatasetMeta,
    Episode,
    EpisodeWriter,
    remove_stale_temporaries,
    write_concatenated,
)
from wmplan.worldmodel.files import write_json_atomic
from wmplan.worldmodel.lockfile import hold_lock
from wmplan.worldmodel.progress import check_mode as check_progress_mode
from wmplan.worldmodel.progress import progress as make_progress

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class CollectConfig:
    """What to collect. Two runs with equal configs produce identical datasets.

    ``episodes`` episodes of ``steps`` env steps each (T actions, T+1 frames) of
    ``task_id`` at ``image_size`` px with ``action_repeat``, played by ``policy``;
    episode i is seeded from (``seed``, i). ``shard_episodes`` episodes per shard
    (the unit of work and of resume); ``compression`` of the arrays.
    """

    task_id: str
    episodes: int = 1000
    steps: int = 100
    seed: int = 0
    image_size: int = 64
    action_repeat: int = 1
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    shard_episodes: int = 10
    compression: str = DEFAULT_COMPRESSION

    def __post_init__(self) -> None:
        if not isinstance(self.task_id, str) or not self.task_id:
            raise ValueError(f"task_id must be a non-empty string, got {self.task_id!r}")
        check_ints(self, ("episodes", "steps", "shard_episodes"), minimum=1)
        check_ints(self, ("image_size",), minimum=16)
        check_ints(self, ("action_repeat",), minimum=1)
        check_ints(self, ("seed",), minimum=0)
        if not isinstance(self.policy, PolicyConfig):
            raise ValueError(f"policy must be a PolicyConfig, got {type(self.policy).__name__}")
        if self.compression not in COMPRESSIONS:
            raise ValueError(
                f"compression must be one of {list(COMPRESSIONS)}, got {self.compression!r}"
            )

    @property
    def num_shards(self) -> int:
        """Number of shards: ceil(episodes / shard_episodes)."""
        return math.ceil(self.episodes / self.shard_episodes)

    def shard_range(self, shard: int) -> range:
        """Episode indices of ``shard``."""
        start = shard * self.shard_episodes
        return range(start, min(start + self.shard_episodes, self.episodes))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (``from_dict`` round-trips)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CollectConfig:
        """Inverse of ``to_dict``."""
        d = dict(d)
        d["policy"] = PolicyConfig(**d.get("policy", {}))
        return config_from_dict(cls, d, "collect config")


def collect_episode_seeds(seed: int, index: int) -> tuple[int, np.random.SeedSequence]:
    """(env reset seed, policy SeedSequence) of episode ``index`` of a run seeded ``seed``."""
    root = np.random.SeedSequence(seed, spawn_key=(index,))
    reset_ss, policy_ss = root.spawn(2)
    return int(reset_ss.generate_state(1, np.uint32)[0]), policy_ss


def make_env(config: CollectConfig):
    """The gymnasium env collection runs in (no time limit before ``steps``)."""
    import wmplan.envs

    return wmplan.envs.make(
        config.task_id,
        image_size=config.image_size,
        action_repeat=config.action_repeat,
        max_episode_steps=config.steps,
    )


def collect_episode(env: Any, config: CollectConfig, index: int) -> Episode:
    """Play episode ``index`` of ``config`` in ``env`` and record it.

    Records T = ``config.steps`` actions and the T+1 observations around them
    (fewer if the env terminates; arrays are then zero-padded past ``length``).
    """
    reset_seed, policy_ss = collect_episode_seeds(config.seed, index)
    policy = make_policy(config.policy, np.random.default_rng(policy_ss))
    obs, info = env.reset(seed=reset_seed)
    task = env.unwrapped
    policy.reset(task)
    t_steps = config.steps
    a_dim = int(env.action_space.shape[0])
    has_physics = hasattr(task, "get_state")
    p_dim = task.get_state().shape[0] if has_physics else 0
    s_dim = obs["state"].shape[0]
    h = config.image_size
    pixels = np.zeros((t_steps + 1, h, h, 3), np.uint8)
    actions = np.zeros((t_steps, a_dim), np.float32)
    states = np.zeros((t_steps + 1, s_dim), np.float32)
    physics = np.zeros((t_steps + 1, p_dim), np.float64)
    rewards = np.zeros(t_steps, np.float32)
    success = np.zeros(t_steps + 1, np.bool_)

    def record(t: int, obs: dict, info: dict) -> None:
        pixels[t] = obs["pixels"]
        states[t] = obs["state"]
        if has_physics:
            physics[t] = task.get_state()
        success[t] = bool(info.get("success", False))

    record(0, obs, info)
    length = t_steps
    for t in range(t_steps):
        action = np.asarray(policy.act(task), dtype=np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        actions[t] = action
        rewards[t] = reward
        record(t + 1, obs, info)
        if terminated or (truncated and t + 1 < t_steps):
            length = t + 1
            break
    return Episode(
        pixels=pixels,
        actions=actions,
        states=states,
        physics_states=physics,
        rewards=rewards,
        success=success,
        goal_pixels=obs.get("goal_pixels", np.zeros((h, h, 3), np.uint8)),
        goal_states=obs.get("goal_state", np.zeros(s_dim, np.float32)),
        goal_physics_states=np.asarray(
            getattr(task, "goal_physics_state", np.zeros(p_dim)), dtype=np.float64
        ),
        length=length,
        episode_index=index,
        reset_seed=reset_seed,
    )


def dataset_meta(config: CollectConfig, env: Any) -> DatasetMeta:
    """File attributes of a dataset collected with ``config`` in ``env``."""
    task = env.unwrapped
    obs_space = env.observation_space["state"]
    return DatasetMeta(
        task_id=config.task_id,
        image_size=config.image_size,
        action_repeat=config.action_repeat,
        steps=config.steps,
        action_dim=int(env.action_space.shape[0]),
        state_dim=int(obs_space.shape[0]),
        physics_state_dim=int(task.get_state().shape[0]) if hasattr(task, "get_state") else 0,
        camera=str(getattr(task, "camera", "") or ""),
        policy=config.policy.name,
        policy_params=config.policy.to_dict(),
        seed=config.seed,
        compression=config.compression,
        fps=float(env.metadata["render_fps"]),  # the control frequency (envs/base.py)
        created="1970-01-01T00:00:00Z",  # shards: the final file gets the real time
    )


def shard_path(parts: Path, shard: int) -> Path:
    """Where shard ``shard`` lives once complete."""
    return parts / f"shard-{shard:06d}.h5"


def write_shard(
    env: Any, config: CollectConfig, parts: Path, shard: int, on_episode: Any = None
) -> Path:
    """Collect shard ``shard`` and rename it into ``parts`` when complete."""
    meta = dataset_meta(config, env)
    with EpisodeWriter(shard_path(parts, shard), meta) as writer:
        for index in config.shard_range(shard):
            episode = collect_episode(env, config, index)
            writer.append(episode)
            if on_episode is not None:
                on_episode(episode)
    return writer.path


# --- worker processes --------------------------------------------------------------


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this worker when its parent dies (no orphans writing)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass  # fall back to the getppid check in the loop
    if os.getppid() != parent_pid:
        os._exit(1)


def _worker(config_dict: dict, parts: str, tasks: Any, events: Any, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    config = CollectConfig.from_dict(config_dict)
    shard = -1
    try:
        env = make_env(config)
        while True:
            shard = tasks.get()
            if shard is None:
                break

            def report(episode: Episode, shard: int = shard) -> None:
                if os.getppid() != parent_pid:
                    os._exit(1)
                events.put(("episode", shard, episode.length + 1))

            write_shard(env, config, Path(parts), shard, on_episode=report)
            events.put(("shard", shard, 0))
        env.close()
    except BaseException:  # noqa: BLE001 - any failure is reported to the parent
        events.put(("error", shard, traceback.format_exc()))
        raise SystemExit(1) from None


# --- the run -------------------------------------------------------------------------


class CollectError(RuntimeError):
    """A worker failed; the message carries its traceback."""


def _load_manifest(parts: Path) -> dict | None:
    path = parts / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"{path}: unreadable manifest ({exc}); delete {parts} to start over"
        ) from exc


def _write_manifest(parts: Path, config: CollectConfig) -> None:
    write_json_atomic(parts / MANIFEST, {"config": config.to_dict()})


def _mismatch(a: dict, b: dict) -> str:
    keys = sorted(set(a) | set(b))
    diffs = [f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]
    return "; ".join(diffs)


def _is_complete_shard(path: Path, episodes: int) -> bool:
    try:
        with Dataset(path) as d:
            return d.num_episodes == episodes
    except DatasetError:
        return False  # damaged (e.g. by a power loss after the rename): redo it


def _complete_shards(parts: Path, config: CollectConfig) -> set[int]:
    """Shards already in ``parts``; removes temporaries and damaged shards."""
    done = set()
    for shard in range(config.num_shards):
        path = shard_path(parts, shard)
        remove_stale_temporaries(path)
        if not path.exists():
            continue
        if _is_complete_shard(path, len(config.shard_range(shard))):
            done.add(shard)
        else:
            path.unlink()
    return done


def _existing_output(out: Path, config: CollectConfig) -> bool:
    """True if ``out`` is already the finished dataset of ``config``; raise if it is
    something else."""
    if not out.exists():
        return False
    with Dataset(out) as d:
        want = {
            "task_id": config.task_id,
            "image_size": config.image_size,
            "action_repeat": config.action_repeat,
            "steps": config.steps,
            "seed": config.seed,
            "policy_params": config.policy.to_dict(),
            "compression": config.compression,
            "num_episodes": config.episodes,
        }
        have = {k: getattr(d.meta, k, None) for k in want}
        have["num_episodes"] = d.num_episodes
        if have != want:
            raise DatasetError(
                f"{out}: exists and was collected with other options ({_mismatch(have, want)}); "
                "delete it or choose another --out"
            )
    return True


def _check_env(config: CollectConfig) -> None:
    """Fail in this process, with one clear line, on an unknown task, bad env options
    or a policy the task cannot play (no GL context is created here)."""
    env = make_env(config)
    try:
        if config.policy.name == "expert" and not hasattr(env.unwrapped, "expert"):
            raise ValueError(
                f"policy 'expert' needs a task with a scripted expert; {config.task_id} has "
                "none (use --policy random, ou or colored)"
            )
    finally:
        env.close()


def collect(
    config: CollectConfig, out: str | Path, workers: int = 1, progress: bool | str = True
) -> Path:
    """Collect ``config`` into ``out`` with ``workers`` processes; resumes a killed run.

    Returns ``out``. If ``out`` already holds this dataset, returns at once.
    Raises DatasetError if ``out`` or its parts folder belong to different options.
    ``progress``: a mode of ``worldmodel.progress`` (auto, bar, lines, none) or a bool.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if isinstance(progress, bool):
        progress = "auto" if progress else "none"
    check_progress_mode(progress)
    out = Path(out)
    parts = out.with_name(out.name + ".parts")
    if _existing_output(out, config):
        shutil.rmtree(parts, ignore_errors=True)  # killed after the final rename
        if progress != "none":
            print(f"{out}: already complete ({config.episodes} episodes)", file=sys.stderr)
        return out
    _check_env(config)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts.mkdir(exist_ok=True)
    lock = _lock(parts)  # held until this process ends, however it ends
    manifest = _load_manifest(parts)
    if manifest is None:
        _write_manifest(parts, config)
    elif manifest.get("config") != config.to_dict():
        raise DatasetError(
            f"{parts}: holds a partial run with other options "
            f"({_mismatch(manifest.get('config', {}), config.to_dict())}); rerun with the "
            f"same options to resume, or delete {parts} to start over"
        )
    done = _complete_shards(parts, config)
    todo = [s for s in range(config.num_shards) if s not in done]
    if done and progress != "none":
        print(
            f"{parts}: resuming, {len(done)}/{config.num_shards} shards complete", file=sys.stderr
        )
    if todo:
        _run_workers(config, parts, todo, workers, done, progress)
    consolidate(config, parts, out)
    shutil.rmtree(parts)
    lock.close()
    return out


def _lock(parts: Path):
    """Exclusive lock on ``parts``: a second collection into the same output is refused."""
    return hold_lock(
        parts / "lock",
        f"{parts}: another `wmplan collect` is writing this dataset right now",
        DatasetError,
    )


def _run_workers(
    config: CollectConfig,
    parts: Path,
    todo: list[int],
    workers: int,
    done: set[int],
    progress: str,
) -> None:
    from wmplan.envs.render import gl_backend

    gl_backend()  # probe once here; the choice reaches the workers through os.environ
    ctx = mp.get_context("spawn")
    tasks, events = ctx.Queue(), ctx.Queue()
    for shard in todo:
        tasks.put(shard)
    n_workers = min(workers, len(todo))
    for _ in range(n_workers):
        tasks.put(None)
    procs = [
        ctx.Process(
            target=_worker,
            args=(config.to_dict(), str(parts), tasks, events, os.getpid()),
            daemon=True,
        )
        for _ in range(n_workers)
    ]
    for p in procs:
        p.start()

    initial = sum(len(config.shard_range(s)) for s in done)
    bar = _progress_bar(config, initial, progress)
    remaining = set(todo)
    frames, t0 = 0, time.perf_counter()
    try:
        while remaining:
            try:
                kind, shard, value = events.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise CollectError(
                        f"a collection worker died (exit code {dead[0].exitcode}) before "
                        "reporting; rerun the same command to resume"
                    ) from None
                if all(p.exitcode is not None for p in procs):
                    raise CollectError(
                        f"workers exited with shards {sorted(remaining)} undone"
                    ) from None
                continue
            if kind == "episode":
                frames += value
                if bar is not None:
                    elapsed = max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix_str(f"{frames / elapsed:.0f} frames/s", refresh=False)
                    bar.update(1)
            elif kind == "shard":
                remaining.discard(shard)
            else:
                raise CollectError(f"collection worker failed on shard {shard}:\n{value}")
    finally:
        if bar is not None:
            bar.close()
        for p in procs:
            if p.is_alive() and remaining:
                p.terminate()
        for p in procs:
            p.join(timeout=30)


def _progress_bar(config: CollectConfig, initial: int, progress: str):
    if progress == "none":
        return None
    return make_progress(
        config.episodes, f"collect {config.task_id}", progress, unit="ep", initial=initial
    )


def consolidate(config: CollectConfig, parts: Path, out: Path) -> Path:
    """Concatenate the complete shards of ``parts`` in order into ``out`` (atomic)."""
    shards = [Dataset(shard_path(parts, s)) for s in range(config.num_shards)]
    try:
        meta = DatasetMeta(**{**asdict(shards[0].meta), "created": ""})
        write_concatenated(out, meta, shards)
    finally:
        for shard in shards:
            shard.close()
    return out
