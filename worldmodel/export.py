"""Export an episode dataset to Minari (Farama's offline-RL dataset standard).

``export_minari("data/reacher.h5")`` writes a Minari dataset (HDF5 storage,
lossless images) that any Minari user loads with ``minari.load_dataset(id)``:

| Minari | from the wmplan dataset |
| --- | --- |
| ``observations`` | Dict of ``pixels`` [L+1, H, W, 3], ``state`` [L+1, S], and the goal as the env shows it at every step: ``goal_pixels``, ``goal_state`` (goal tasks) |
| ``actions`` | ``actions`` [L, A] in [-1, 1] |
| ``rewards`` | ``rewards`` [L] |
| ``terminations`` | all False: wmplan episodes never terminate (success does not end them) |
| ``truncations`` | True at the last step only: the recording stopped there |
| ``infos`` | ``success`` [L+1] (the task's predicate at each frame) |
| episode ``seed`` | the ``reset_seed`` the episode was collected with |

L is the episode's recorded length (``lengths``); the observation space is the
env's own, and the env spec is stored, so ``dataset.recover_environment()`` makes
the same task. The dataset appears atomically: it is written under a temporary
root beside the destination and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from wmplan.worldmodel.data.episodes import Dataset


def default_dataset_id(task_id: str, policy: str) -> str:
    """'wmplan/Reacher-v0', 'expert' -> 'wmplan/reacher-expert-v0'."""
    name = task_id.split("/")[-1].rsplit("-v", 1)[0].lower()
    return f"wmplan/{name}-{policy.lower()}-v0"


@contextmanager
def _minari_root(root: Path):
    """Point Minari at ``root`` (it reads MINARI_DATASETS_PATH on every call)."""
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = before


def _episode_buffer(data: Dataset, e: int, goal: bool) -> Any:
    from minari.data_collector import EpisodeBuffer

    ep = data.episode(e)
    n = ep.length
    obs = {"pixels": ep.pixels[: n + 1], "state": ep.states[: n + 1]}
    if goal:  # the env shows the (fixed) goal in every observation
        obs["goal_pixels"] = np.repeat(ep.goal_pixels[None], n + 1, axis=0)
        obs["goal_state"] = np.repeat(ep.goal_states[None], n + 1, axis=0)
    truncations = np.zeros(n, bool)
    truncations[-1] = n > 0
    return EpisodeBuffer(
        id=e,
        seed=ep.reset_seed,
        observations=obs,
        actions=ep.actions[:n],
        rewards=ep.rewards[:n].astype(np.float64),
        terminations=np.zeros(n, bool),
        truncations=truncations,
        infos={"success": ep.success[: n + 1]},
    )


def export_minari(
    path: str | Path, dataset_id: str | None = None, root: str | Path | None = None
) -> Path:
    """Write the dataset at ``path`` as Minari dataset ``dataset_id`` (default
    ``wmplan/<task>-<policy>-v0``) under ``root`` (default: Minari's own,
    ``$MINARI_DATASETS_PATH`` or ``~/.minari/datasets``). Returns its directory.
    Refuses an existing dataset of that id."""
    try:
        import minari
        from minari.storage import get_dataset_path
    except ImportError:
        raise ImportError("the Minari export needs minari: pip install 'wmplan[minari]'") from None
    import wmplan.envs

    with Dataset(path) as data:
        meta = data.meta
        dataset_id = dataset_id or default_dataset_id(meta.task_id, meta.policy)
        if root is None:
            root = get_dataset_path()
        root = Path(root)
        final = root / dataset_id
        if final.exists():
            raise ValueError(
                f"Minari dataset {dataset_id} already exists at {final}; pass another "
                "--dataset-id (e.g. a higher -vN) or remove it"
            )
        root.mkdir(parents=True, exist_ok=True)
        env = wmplan.envs.make(
            meta.task_id, image_size=meta.image_size, action_repeat=meta.action_repeat
        )
        goal = "goal_pixels" in env.observation_space.spaces
        fps = float(env.metadata["render_fps"])
        tmp = Path(tempfile.mkdtemp(prefix=".wmplan-export-", dir=root))
        try:
            with _minari_root(tmp), warnings.catch_warnings():
                # Minari nags about optional metadata (author, permalink, eval env) that
                # a local export has no true value for; we leave those unset.
                warnings.filterwarnings("ignore", message=r"`\w+` is set to None")
                buffers = [_episode_buffer(data, e, goal) for e in range(data.num_episodes)]
                minari.create_dataset_from_buffers(
                    dataset_id=dataset_id,
                    buffer=buffers,
                    env=env,
                    algorithm_name=f"wmplan collect --policy {meta.policy}",
                    description=(
                        f"{meta.task_id} episodes collected by wmplan (policy {meta.policy}, "
                        f"seed {meta.seed}, {meta.image_size}px, action_repeat "
                        f"{meta.action_repeat}, {fps:g} control steps/s), exported from "
                        f"{Path(path).name}"
                    ),
                    data_format="hdf5",
                    jpeg_encoding=False,  # lossless: the same pixels as the source
                )
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / dataset_id, final)
        finally:
            env.close()
            shutil.rmtree(tmp, ignore_errors=True)
    namespace = dataset_id.split("/")[0] if "/" in dataset_id else None
    if namespace is not None:
        with _minari_root(root):
            from minari.namespace import create_namespace, list_local_namespaces

            if namespace not in list_local_namespaces():
                create_namespace(namespace)
    return final
