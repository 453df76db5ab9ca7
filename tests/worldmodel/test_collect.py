"""Multi-process collection: determinism across worker counts, SIGKILL and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from wmplan.envs.policies import PolicyConfig
from wmplan.worldmodel.data.collect import (
    CollectConfig,
    collect,
    collect_episode,
    make_env,
    shard_path,
)
from wmplan.worldmodel.data.episodes import FIELDS, Dataset, DatasetError

TASK = "wmplan/Reacher-v0"
CONFIG = CollectConfig(
    task_id=TASK,
    episodes=12,
    steps=15,
    seed=3,
    image_size=32,
    policy=PolicyConfig(name="expert", mix=0.5),
    shard_episodes=2,
)


def arrays(path: Path) -> dict[str, np.ndarray]:
    with Dataset(path) as d:
        return {name: d.read(name) for name in FIELDS}


def assert_same_arrays(a: Path, b: Path) -> None:
    x, y = arrays(a), arrays(b)
    for name in FIELDS:
        np.testing.assert_array_equal(x[name], y[name], err_msg=name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """CONFIG collected uninterrupted with one worker."""
    out = tmp_path_factory.mktemp("ref") / "w1.h5"
    return collect(CONFIG, out, workers=1, progress=False)


def test_same_seed_gives_identical_arrays_with_one_or_two_workers(reference, tmp_path):
    two = collect(CONFIG, tmp_path / "w2.h5", workers=2, progress=False)
    assert_same_arrays(reference, two)
    assert not (tmp_path / "w2.h5.parts").exists()  # shards consolidated and removed


def test_collected_dataset_has_schema_and_attributes(reference):
    with Dataset(reference) as d:
        meta = d.meta
        assert d.num_episodes == 12
        assert meta.task_id == TASK and meta.image_size == 32 and meta.action_repeat == 1
        assert meta.steps == 15 and meta.seed == 3 and meta.policy == "expert"
        assert meta.policy_params == CONFIG.policy.to_dict()
        assert meta.versions["mujoco"] and meta.versions["wmplan"]
        assert d.read("pixels").shape == (12, 16, 32, 32, 3)
        assert d.read("episode_index").tolist() == list(range(12))
        assert d.read("lengths").tolist() == [15] * 12
        physics = d.read("physics_states")
        assert physics.shape[:2] == (12, 16) and np.any(physics != 0)
        # Episodes differ from each other, and are not all-black renders.
        pixels = d.read("pixels")
        assert pixels.std() > 5 and not np.array_equal(pixels[0], pixels[1])


def test_episode_depends_only_on_seed_and_index():
    env = make_env(CONFIG)
    try:
        a = collect_episode(env, CONFIG, 4)
        collect_episode(env, CONFIG, 0)  # whatever ran before in this env
        b = collect_episode(env, CONFIG, 4)
    finally:
        env.close()
    for name, array in a.arrays().items():
        np.testing.assert_array_equal(array, b.arrays()[name], err_msg=name)


def test_rerunning_a_finished_collection_is_a_no_op(reference):
    mtime = reference.stat().st_mtime_ns
    assert collect(CONFIG, reference, workers=1, progress=False) == reference
    assert reference.stat().st_mtime_ns == mtime


def test_existing_output_with_other_options_is_refused(reference):
    other = CollectConfig(**{**CONFIG.__dict__, "seed": 4})
    with pytest.raises(DatasetError, match="seed: 3 vs 4"):
        collect(other, reference, workers=1, progress=False)


def test_partial_run_with_other_options_is_refused(tmp_path):
    out = tmp_path / "d.h5"
    parts = out.with_name("d.h5.parts")
    parts.mkdir()
    (parts / "manifest.json").write_text('{"config": {"seed": 99}}')
    with pytest.raises(DatasetError, match="partial run with other options"):
        collect(CONFIG, out, workers=1, progress=False)


def test_damaged_and_temporary_shards_are_redone(reference, tmp_path):
    out = tmp_path / "d.h5"
    parts = out.with_name("d.h5.parts")
    config = CollectConfig(**{**CONFIG.__dict__, "episodes": 4})
    collect_parts_only(config, out)
    # A killed writer's temporary file and a damaged complete shard.
    (parts / "shard-000001.h5.tmp-12345").write_bytes(b"half written")
    shard_path(parts, 0).write_bytes(b"\x89HDF garbage")
    collect(config, out, workers=1, progress=False)
    ref = arrays(reference)
    for name, array in arrays(out).items():
        np.testing.assert_array_equal(array, ref[name][:4], err_msg=name)


def collect_parts_only(config: CollectConfig, out: Path) -> None:
    """Run a collection, then turn the finished file back into complete shards."""
    collect(config, out, workers=1, progress=False)
    parts = out.with_name(out.name + ".parts")
    parts.mkdir()
    from wmplan.worldmodel.data.collect import _write_manifest
    from wmplan.worldmodel.data.episodes import EpisodeWriter

    _write_manifest(parts, config)
    with Dataset(out) as d:
        for shard in range(config.num_shards):
            with EpisodeWriter(shard_path(parts, shard), d.meta) as w:
                w.append_raw(d.file, list(config.shard_range(shard)))
    out.unlink()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.split(") ")[1][0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="uses /proc and SIGKILL")
def test_sigkill_then_rerun_resumes_without_loss_or_duplicates(reference, tmp_path):
    out = tmp_path / "killed.h5"
    parts = out.with_name("killed.h5.parts")
    cmd = [
        sys.executable, "-m", "wmplan.benchmarks.cli", "collect", "--task", TASK,
        "--policy", "expert", "--mix", "0.5", "--episodes", "12", "--steps", "15",
        "--seed", "3", "--image-size", "32", "--shard-episodes", "2", "--workers", "2",
        "--out", str(out),
    ]  # fmt: skip
    env = dict(os.environ, MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"))
    log = open(tmp_path / "first-run.log", "wb")  # a file: a full pipe would block the run
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and not shard_path(parts, 0).exists():
        workers = _children(proc.pid) or workers
        time.sleep(0.01)
    assert shard_path(parts, 0).exists(), (tmp_path / "first-run.log").read_text()
    workers = _children(proc.pid) or workers
    assert workers or not Path(f"/proc/{proc.pid}/task/{proc.pid}/children").exists()
    os.kill(proc.pid, signal.SIGKILL)  # like `kill -9` of the command: the parent only
    proc.wait()
    log.close()
    complete = sorted(parts.glob("shard-*.h5"))
    assert not out.exists(), "the run finished before the kill (machine too slow to poll?)"
    # Workers die with their parent (no orphan keeps writing shards). Dying takes a
    # moment on a loaded machine (the kernel's SIGKILL, multiprocessing's resource
    # tracker seeing its pipe close), so wait for it, then check no shard came after.
    deadline = time.monotonic() + 30
    while [w for w in workers if _alive(w)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)]
    assert sorted(parts.glob("shard-*.h5")) == complete
    assert 1 <= len(complete) < CONFIG.num_shards, [p.name for p in complete]

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming" in rerun.stderr
    assert not parts.exists()
    with Dataset(out) as d:
        assert d.read("episode_index").tolist() == list(range(12))  # none lost, none twice
    assert_same_arrays(reference, out)


def test_a_second_concurrent_collection_is_refused(tmp_path):
    from wmplan.worldmodel.data.collect import _lock

    out = tmp_path / "d.h5"
    parts = out.with_name("d.h5.parts")
    parts.mkdir()
    held = _lock(parts)  # as if another `wmplan collect` were running
    try:
        with pytest.raises(DatasetError, match="another `wmplan collect`"):
            collect(CONFIG, out, workers=1, progress=False)
    finally:
        held.close()
