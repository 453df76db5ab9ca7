"""Episode datasets on disk: one HDF5 file per dataset (schema in docs/dataset.md).

(Longer than most modules, ~700 lines: one file format's schema, writer, reader and
merge belong together.)

Every per-episode array has the episode as its first axis and is chunked per
episode (``pixels`` in chunks of a few frames of one episode), so a reader
touches only the episodes it needs and chunks can be copied between files
without recompressing. Files are always written under a temporary name and
renamed into place, so a reader never sees half a file.

``EpisodeWriter`` writes a file, ``Dataset`` reads and validates one, ``merge``
concatenates compatible files (``data.inspect`` summarises one).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterator, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from wmplan.worldmodel.configs import check_ints
from wmplan.worldmodel.files import TMP_MARK, publish, temporary_path
from wmplan.worldmodel.provenance import package_version

SCHEMA = "wmplan.episodes"
SCHEMA_VERSION = 1

# Per-episode arrays: name -> dtype. Shapes (E episodes, T steps):
#   pixels [E, T+1, H, W, 3]   actions [E, T, A]        states [E, T+1, S]
#   physics_states [E, T+1, P] rewards [E, T]           success [E, T+1]
#   goal_pixels [E, H, W, 3]   goal_states [E, S]       goal_physics_states [E, P]
#   lengths [E]                episode_index [E]        reset_seed [E]
FIELDS: dict[str, np.dtype] = {
    "pixels": np.dtype(np.uint8),
    "actions": np.dtype(np.float32),
    "states": np.dtype(np.float32),
    "physics_states": np.dtype(np.float64),
    "rewards": np.dtype(np.float32),
    "success": np.dtype(np.bool_),
    "goal_pixels": np.dtype(np.uint8),
    "goal_states": np.dtype(np.float32),
    "goal_physics_states": np.dtype(np.float64),
    "lengths": np.dtype(np.int32),
    "episode_index": np.dtype(np.int64),
    "reset_seed": np.dtype(np.int64),
}
# gzip-6 is the default: on wmplan's rendered frames it is 8-15x smaller than lzf and
# decodes faster; writing it costs a worker ~4% of its time (docs/dataset.md).
COMPRESSIONS = ("lzf", "none") + tuple(f"gzip-{level}" for level in range(1, 10))
DEFAULT_COMPRESSION = "gzip-6"
# Target bytes of one pixels chunk: large enough to compress well, small enough
# that reading one training window decompresses little more than it needs.
PIXEL_CHUNK_BYTES = 1 << 18


class DatasetError(ValueError):
    """A dataset file is missing, unreadable, or not what was asked for.

    The message starts with the file's path and says what is wrong.
    """


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A dataset path does not exist."""


# Float fields: checked for NaN/inf on write and on load (a NaN action trains a NaN model).
FLOAT_FIELDS = tuple(name for name, dtype in FIELDS.items() if dtype.kind == "f")


def check_finite(where: str | Path, name: str, array: np.ndarray, first_episode: int = 0) -> None:
    """DatasetError naming ``where``, the episode and the field if ``array`` (episodes
    on axis 0, from ``first_episode``) holds NaN or inf."""
    bad = ~np.isfinite(array)
    if bad.any():
        e = int(np.argwhere(bad)[0][0]) if array.ndim else 0
        raise DatasetError(
            f"{where}: episode {first_episode + e} field {name!r} holds non-finite values "
            f"(NaN/inf); drop or re-collect that episode"
        )


def _versions() -> dict[str, str]:
    return {
        "wmplan": package_version("wmplan"),
        "mujoco": package_version("mujoco"),
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class DatasetMeta:
    """File-level attributes of a dataset (stored as HDF5 attributes).

    ``steps`` is T, the number of actions per episode (episodes may be shorter:
    see ``lengths``). ``policy_params`` is any JSON-able dict; ``sources`` lists
    the files a merged dataset came from.
    """

    task_id: str
    image_size: int
    action_repeat: int
    steps: int
    action_dim: int
    state_dim: int
    physics_state_dim: int
    camera: str = ""
    policy: str = "unknown"
    policy_params: dict[str, Any] = field(default_factory=dict)
    seed: int = -1
    compression: str = DEFAULT_COMPRESSION
    frames_per_chunk: int = 0
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    # Control frequency: env steps (frames) per second of simulated time; 0 in files
    # written before it was recorded.
    fps: float = 0.0

    def __post_init__(self) -> None:
        if not self.task_id:
            raise ValueError("task_id must be a non-empty string")
        check_ints(self, ("image_size", "action_repeat", "steps", "action_dim"), minimum=1)
        check_ints(self, ("state_dim", "physics_state_dim", "frames_per_chunk"), minimum=0)
        if self.compression not in COMPRESSIONS:
            raise ValueError(
                f"compression must be one of {list(COMPRESSIONS)}, got {self.compression!r}"
            )
        if not isinstance(self.fps, (int, float, np.floating)) or not 0 <= self.fps < 1e6:
            raise ValueError(f"fps must be a number >= 0, got {self.fps!r}")
        json.dumps(self.policy_params)  # must be JSON-able

    def with_defaults(self) -> DatasetMeta:
        """Fill ``created``, ``versions`` and ``frames_per_chunk`` when unset."""
        frame_bytes = self.image_size * self.image_size * 3
        fpc = self.frames_per_chunk or max(1, min(self.steps + 1, PIXEL_CHUNK_BYTES // frame_bytes))
        return replace(
            self,
            frames_per_chunk=min(fpc, self.steps + 1),
            created=self.created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            versions=self.versions or _versions(),
        )

    def shapes(self, episodes: int) -> dict[str, tuple[int, ...]]:
        """Full array shape of every field for ``episodes`` episodes."""
        e, t, h = episodes, self.steps, self.image_size
        a, s, p = self.action_dim, self.state_dim, self.physics_state_dim
        return {
            "pixels": (e, t + 1, h, h, 3),
            "actions": (e, t, a),
            "states": (e, t + 1, s),
            "physics_states": (e, t + 1, p),
            "rewards": (e, t),
            "success": (e, t + 1),
            "goal_pixels": (e, h, h, 3),
            "goal_states": (e, s),
            "goal_physics_states": (e, p),
            "lengths": (e,),
            "episode_index": (e,),
            "reset_seed": (e,),
        }

    def chunks(self) -> dict[str, tuple[int, ...]]:
        """HDF5 chunk shape of every field: one episode (a few frames for pixels)."""
        chunks = {name: (1,) + shape[1:] for name, shape in self.shapes(1).items()}
        chunks["pixels"] = (1, self.frames_per_chunk) + chunks["pixels"][2:]
        # HDF5 rejects zero-sized chunk dimensions (state_dim 0 is allowed).
        return {name: tuple(max(1, c) for c in chunk) for name, chunk in chunks.items()}

    def to_attrs(self) -> dict[str, Any]:
        """The HDF5 attributes: scalars as is, dicts/lists as JSON strings."""
        attrs: dict[str, Any] = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION}
        for key, value in asdict(self).items():
            attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
        return attrs

    @classmethod
    def from_attrs(cls, attrs: Any, path: str | Path) -> DatasetMeta:
        """Parse attributes written by ``to_attrs``; DatasetError naming ``path`` if bad."""
        schema = _attr_str(attrs.get("schema"))
        if schema != SCHEMA:
            raise DatasetError(
                f"{path}: not a wmplan episode dataset (attribute 'schema' is {schema!r}, "
                f"expected {SCHEMA!r})"
            )
        version = attrs.get("schema_version")
        if version is None or int(version) > SCHEMA_VERSION:
            raise DatasetError(
                f"{path}: schema_version {version!r} is not supported (this wmplan reads "
                f"<= {SCHEMA_VERSION}); upgrade wmplan"
            )
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in attrs:
                if f.default is MISSING and f.default_factory is MISSING:
                    raise DatasetError(f"{path}: missing attribute {f.name!r}")
                continue  # optional attribute: keep the default
            value = attrs[f.name]
            if f.name in ("policy_params", "versions", "sources"):
                try:
                    value = json.loads(_attr_str(value))
                except (TypeError, json.JSONDecodeError) as exc:
                    raise DatasetError(f"{path}: attribute {f.name!r} is not JSON: {exc}") from exc
            elif isinstance(value, (bytes, str)):
                value = _attr_str(value)
            elif isinstance(value, np.integer):
                value = int(value)
            elif isinstance(value, np.floating):
                value = float(value)
            kwargs[f.name] = value
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{path}: bad attributes: {exc}") from exc

    def identity(self) -> dict[str, Any]:
        """What must match for two datasets to be merged or loaded together."""
        keys = (
            "task_id",
            "image_size",
            "action_repeat",
            "steps",
            "action_dim",
            "state_dim",
            "physics_state_dim",
            "camera",
        )
        return {k: getattr(self, k) for k in keys}


def _attr_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _filter_kwargs(compression: str) -> dict[str, Any]:
    if compression == "none":
        return {}
    if compression == "lzf":
        return {"compression": "lzf"}
    return {"compression": "gzip", "compression_opts": int(compression.split("-")[1])}


@dataclass
class Episode:
    """One recorded episode (T actions, T+1 observations).

    pixels uint8 [T+1, H, W, 3]; actions float32 [T, A]; states float32 [T+1, S];
    physics_states float64 [T+1, P]; rewards float32 [T]; success bool [T+1];
    goal_pixels uint8 [H, W, 3]; goal_states float32 [S]; goal_physics_states
    float64 [P]; length: number of valid actions (<= T; arrays are zero-padded
    past it); episode_index: i in the collection's (seed, i) seeding; reset_seed:
    the seed passed to ``env.reset``.
    """

    pixels: np.ndarray
    actions: np.ndarray
    states: np.ndarray
    physics_states: np.ndarray
    rewards: np.ndarray
    success: np.ndarray
    goal_pixels: np.ndarray
    goal_states: np.ndarray
    goal_physics_states: np.ndarray
    length: int
    episode_index: int
    reset_seed: int

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-field arrays of this episode, in FIELDS order and dtypes."""
        out = {}
        for name, dtype in FIELDS.items():
            source = {"lengths": self.length}.get(name, getattr(self, name, None))
            out[name] = np.asarray(source, dtype=dtype)
        return out


class EpisodeWriter:
    """Write episodes to a new dataset file, atomically.

    Episodes go to ``.<name>.tmp-<pid>`` beside ``path`` (``files.temporary_path``);
    ``close()`` flushes, fsyncs and renames
    it to ``path``. If the process dies first, ``path`` is untouched and only a
    temporary file is left (``remove_stale_temporaries`` cleans those up).

    Use as a context manager; on an exception the temporary file is deleted.
    """

    def __init__(self, path: str | Path, meta: DatasetMeta):
        self.path = Path(path)
        self.meta = meta.with_defaults()
        self.tmp_path = temporary_path(self.path)
        self.num_episodes = 0
        self._file = h5py.File(self.tmp_path, "w")
        self._file.attrs.update(self.meta.to_attrs())
        self._file.attrs["num_episodes"] = 0
        filters = _filter_kwargs(self.meta.compression)
        chunks = self.meta.chunks()
        self._datasets = {}
        for name, shape in self.meta.shapes(0).items():
            self._datasets[name] = self._file.create_dataset(
                name,
                shape=shape,
                maxshape=(None,) + shape[1:],
                dtype=FIELDS[name],
                chunks=chunks[name],
                **filters,
            )

    def append(self, episode: Episode) -> None:
        """Add one episode; its arrays must match the meta's shapes."""
        expected = self.meta.shapes(1)
        arrays = episode.arrays()
        for name, array in arrays.items():
            if array.shape != expected[name][1:]:
                raise ValueError(
                    f"episode field {name!r} has shape {array.shape}, expected "
                    f"{expected[name][1:]} for {self.meta.task_id} at {self.meta.image_size}px"
                )
        if not 0 <= episode.length <= self.meta.steps:
            raise ValueError(
                f"episode length must be in [0, {self.meta.steps}], got {episode.length}"
            )
        e = self.num_episodes
        for name in FLOAT_FIELDS:
            check_finite(f"{self.path} (writing)", name, arrays[name][None], e)
        for name, array in arrays.items():
            dset = self._datasets[name]
            dset.resize(e + 1, axis=0)
            dset[e] = array
        self.num_episodes = e + 1

    def append_raw(self, source: h5py.File, episodes: Sequence[int] | None = None) -> None:
        """Append episodes of an open dataset file (default: all), copying compressed
        chunks as they are when the chunk layout and filters match."""
        n_src = int(source["lengths"].shape[0])
        episodes = range(n_src) if episodes is None else episodes
        episodes = list(episodes)
        if not episodes:
            return
        base = self.num_episodes
        for name, dset in self._datasets.items():
            src = source[name]
            dset.resize(base + len(episodes), axis=0)
            if _same_layout(src, dset) and episodes == list(range(episodes[0], episodes[-1] + 1)):
                _copy_chunks(src, dset, episodes[0], len(episodes), base)
            else:
                for j, e in enumerate(episodes):
                    dset[base + j] = src[e]
        self.num_episodes = base + len(episodes)

    def close(self) -> Path:
        """Finish the file and rename it into place; returns ``path``."""
        if self._file is None:
            return self.path
        self._file.attrs["num_episodes"] = self.num_episodes
        self._file.close()
        self._file = None
        publish(self.tmp_path, self.path)
        return self.path

    def abort(self) -> None:
        """Discard the temporary file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete the temporaries of ``path`` left by killed writers (``.<name>.tmp-*``, and
    ``<name>.tmp-*`` of older wmplan versions); returns what was removed."""
    path = Path(path)
    removed = []
    stale = [
        *path.parent.glob(f".{path.name}{TMP_MARK}*"),
        *path.parent.glob(f"{path.name}{TMP_MARK}*"),
    ]
    for tmp in stale:
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _same_layout(src: h5py.Dataset, dst: h5py.Dataset) -> bool:
    return (
        src.chunks == dst.chunks
        and src.dtype == dst.dtype
        and src.shape[1:] == dst.shape[1:]
        and src.compression == dst.compression
        and src.compression_opts == dst.compression_opts
        and src.shuffle == dst.shuffle
    )


def _copy_chunks(src: h5py.Dataset, dst: h5py.Dataset, first: int, count: int, base: int) -> None:
    """Copy the stored (compressed) chunks of episodes [first, first+count) of ``src``
    to episodes starting at ``base`` in ``dst``, without decoding them."""
    sid, did = src.id, dst.id
    for i in range(sid.get_num_chunks()):
        info = sid.get_chunk_info(i)
        offset = info.chunk_offset
        if not first <= offset[0] < first + count:
            continue
        mask, data = sid.read_direct_chunk(offset)
        did.write_direct_chunk((offset[0] - first + base,) + tuple(offset[1:]), data, mask)


class Dataset:
    """A dataset file opened for reading, with its layout validated.

    ``Dataset(path)`` raises ``DatasetNotFoundError`` if the path does not exist and
    ``DatasetError`` (message: path and what is wrong) if it is not a readable,
    complete wmplan dataset. Arrays are read lazily through ``read``/``episode``;
    ``arrays[name]`` is the raw ``h5py.Dataset``.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise DatasetNotFoundError(f"{self.path}: no such dataset file")
        if self.path.is_dir():
            raise DatasetError(f"{self.path}: is a directory, expected an HDF5 dataset file")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise DatasetError(
                f"{self.path}: not a readable HDF5 file (truncated, corrupt or still being "
                f"written?): {_short(exc)}"
            ) from exc
        try:
            self.meta = DatasetMeta.from_attrs(self._file.attrs, self.path)
            self.arrays: dict[str, h5py.Dataset] = {}
            for name in FIELDS:
                if name not in self._file:
                    raise DatasetError(f"{self.path}: missing dataset {name!r}")
                obj = self._file[name]
                if not isinstance(obj, h5py.Dataset):
                    raise DatasetError(f"{self.path}: {name!r} is not an array")
                self.arrays[name] = obj
            self.num_episodes = int(self.arrays["lengths"].shape[0])
            committed = self._file.attrs.get("num_episodes")
            if committed is None or int(committed) != self.num_episodes:
                raise DatasetError(
                    f"{self.path}: incomplete file: num_episodes attribute is {committed!r} "
                    f"but arrays hold {self.num_episodes} episodes"
                )
            for name, shape in self.meta.shapes(self.num_episodes).items():
                if self.arrays[name].shape != shape:
                    raise DatasetError(
                        f"{self.path}: dataset {name!r} has shape {self.arrays[name].shape}, "
                        f"expected {shape} from the file's attributes"
                    )
                if self.arrays[name].dtype != FIELDS[name]:
                    raise DatasetError(
                        f"{self.path}: dataset {name!r} has dtype {self.arrays[name].dtype}, "
                        f"expected {FIELDS[name]}"
                    )
            self.lengths = self.read("lengths")
            if np.any(self.lengths < 0) or np.any(self.lengths > self.meta.steps):
                raise DatasetError(
                    f"{self.path}: episode lengths must be in [0, {self.meta.steps}], "
                    f"got min {self.lengths.min()} max {self.lengths.max()}"
                )
        except DatasetError:
            self._file.close()
            raise
        except Exception as exc:  # h5py on damaged metadata: RuntimeError, KeyError, ...
            self._file.close()
            raise DatasetError(
                f"{self.path}: corrupt file structure ({type(exc).__name__}: {_short(exc)}); "
                "re-collect or restore it"
            ) from exc

    def read(self, name: str, index: Any = ()) -> np.ndarray:
        """``arrays[name][index]`` as numpy; a corrupt chunk raises DatasetError."""
        if name not in FIELDS:
            raise KeyError(f"{self.path}: no field {name!r}; fields: {list(FIELDS)}")
        try:
            return np.asarray(self.arrays[name][index])
        except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
            raise DatasetError(
                f"{self.path}: cannot read {name!r} (corrupt or truncated file?): {_short(exc)}"
            ) from exc

    def episode(self, e: int) -> Episode:
        """Episode ``e`` as numpy arrays."""
        if not 0 <= e < self.num_episodes:
            raise IndexError(f"{self.path}: episode {e} out of range [0, {self.num_episodes})")
        data = {name: self.read(name, e) for name in FIELDS}
        return Episode(
            pixels=data["pixels"],
            actions=data["actions"],
            states=data["states"],
            physics_states=data["physics_states"],
            rewards=data["rewards"],
            success=data["success"],
            goal_pixels=data["goal_pixels"],
            goal_states=data["goal_states"],
            goal_physics_states=data["goal_physics_states"],
            length=int(data["lengths"]),
            episode_index=int(data["episode_index"]),
            reset_seed=int(data["reset_seed"]),
        )

    def verify(self) -> None:
        """Decode every chunk of every field and check float fields are finite
        (DatasetError at the first bad one, naming episode and field)."""
        self.episode_digests()

    def episode_digests(self) -> list[str]:
        """sha256 of every episode's content (all fields), reading each fully: a
        corrupt chunk or a non-finite value raises DatasetError naming the episode."""
        import hashlib

        digests = []
        for e in range(self.num_episodes):
            h = hashlib.sha256()
            for name in FIELDS:
                if name == "episode_index":
                    continue  # a renumbered copy of an episode is still the same episode
                array = self.read(name, e)
                if name in FLOAT_FIELDS:
                    check_finite(self.path, name, array[None], e)
                h.update(name.encode())
                h.update(np.ascontiguousarray(array).tobytes())
            digests.append(h.hexdigest())
        return digests

    def check_finite(self, names: Sequence[str] = FLOAT_FIELDS) -> None:
        """DatasetError naming episode and field if a float field holds NaN/inf."""
        for name in names:
            check_finite(self.path, name, self.read(name))

    def fingerprint(self) -> dict[str, Any]:
        """Cheap identity of the content: file size, episodes and a sha256 over the
        layout attributes and the per-episode index (lengths, seeds, actions). A
        different dataset at the same path gets a different fingerprint."""
        import hashlib

        h = hashlib.sha256()
        h.update(json.dumps(self.meta.identity(), sort_keys=True).encode())
        h.update(json.dumps([self.meta.policy, self.meta.policy_params, self.meta.seed]).encode())
        for name in ("lengths", "episode_index", "reset_seed", "actions"):
            h.update(np.ascontiguousarray(self.read(name)).tobytes())
        return {
            "size_bytes": self.path.stat().st_size,
            "episodes": self.num_episodes,
            "sha256": h.hexdigest()[:16],
        }

    def check(
        self,
        task_id: str | None = None,
        image_size: int | None = None,
        action_repeat: int | None = None,
    ) -> None:
        """Raise DatasetError if this dataset is not for ``task_id``/``image_size``/
        ``action_repeat`` (None: anything goes)."""
        wanted = {"task_id": task_id, "image_size": image_size, "action_repeat": action_repeat}
        for key, value in wanted.items():
            have = getattr(self.meta, key)
            if value is not None and have != value:
                raise DatasetError(f"{self.path}: {key} is {have!r} but {value!r} is required")

    @property
    def file(self) -> h5py.File:
        """The open h5py file."""
        return self._file

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file is not None and self._file.id.valid:
            self._file.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_compatible(datasets: Sequence[Dataset]) -> None:
    """Raise DatasetError naming the first file whose task, image size, action repeat,
    episode length or dimensions differ from the first file's."""
    if not datasets:
        raise ValueError("no datasets given")
    ref = datasets[0]
    for other in datasets[1:]:
        for key, value in ref.meta.identity().items():
            have = other.meta.identity()[key]
            if have != value:
                raise DatasetError(
                    f"{other.path}: {key} is {have!r} but {ref.path} has {value!r}; "
                    "datasets of different tasks, image sizes, action repeats or episode "
                    "lengths cannot be combined"
                )


def merge(out: str | Path, inputs: Sequence[str | Path], force: bool = False) -> Path:
    """Concatenate the episodes of compatible datasets into ``out`` (atomic write).

    Every input episode is read in full first (a corrupt chunk or a NaN/inf value
    raises DatasetError naming the file, episode and field). Refuses (DatasetError
    naming the files) inputs of different tasks, image sizes, action repeats,
    episode lengths or dims; the same file given twice; an episode whose content
    is already in another input; and an existing ``out`` unless ``force``. The
    merged file records its ``sources``; ``policy``/``seed`` are kept when all
    inputs agree, else ``"mixed"``/-1. Compressed chunks are copied as they are.
    """
    out = Path(out)
    if len(inputs) < 1:
        raise ValueError("merge needs at least one input dataset")
    if out.is_dir():
        raise DatasetError(f"{out}: the output is a directory; give a .h5 file path")
    seen: dict[Path, str] = {}
    for p in inputs:
        key = Path(p).resolve()
        if key in seen:
            alias = "" if seen[key] == str(p) else f" (also as {seen[key]})"
            raise DatasetError(f"{p}: given twice{alias}; list each input once")
        seen[key] = str(p)
    if out.resolve() in seen:
        raise DatasetError(f"{out}: the output must not be one of the inputs")
    if out.exists() and not force:
        raise DatasetError(f"{out}: already exists; choose another output or pass --force")
    datasets = [Dataset(p) for p in inputs]
    try:
        check_compatible(datasets)
        owner: dict[str, tuple[Path, int]] = {}
        for d in datasets:
            for e, digest in enumerate(d.episode_digests()):
                if digest in owner:
                    first, fe = owner[digest]
                    raise DatasetError(
                        f"{d.path}: episode {e} is the same as episode {fe} of {first}; "
                        "merging would duplicate it (were these collected with the same seed?)"
                    )
                owner[digest] = (d.path, e)
        first = datasets[0].meta
        policies = {
            (d.meta.policy, json.dumps(d.meta.policy_params, sort_keys=True)) for d in datasets
        }
        seeds = {d.meta.seed for d in datasets}
        sources = [
            {
                "path": str(d.path),
                "episodes": d.num_episodes,
                "policy": d.meta.policy,
                "policy_params": d.meta.policy_params,
                "seed": d.meta.seed,
                "created": d.meta.created,
                "sources": d.meta.sources,
            }
            for d in datasets
        ]
        meta = replace(
            first,
            policy=first.policy if len(policies) == 1 else "mixed",
            policy_params=first.policy_params if len(policies) == 1 else {},
            seed=first.seed if len(seeds) == 1 else -1,
            created="",
            versions={},
            sources=sources,
        )
        write_concatenated(out, meta, datasets)
    finally:
        for d in datasets:
            d.close()
    return out


def write_concatenated(out: str | Path, meta: DatasetMeta, datasets: Sequence[Dataset]) -> Path:
    """Write every episode of the open ``datasets``, in order, to ``out`` (atomic;
    compressed chunks are copied as they are). Leftover temporaries of ``out`` go first."""
    remove_stale_temporaries(out)
    with EpisodeWriter(out, meta) as writer:
        for d in datasets:
            writer.append_raw(d.file)
    return Path(out)


def iter_episodes(path: str | Path) -> Iterator[Episode]:
    """Every episode of a dataset, in order."""
    with Dataset(path) as d:
        for e in range(d.num_episodes):
            yield d.episode(e)
