"""Run a suite: plan jobs, execute them on local processes or Ray, store each
finished episode as it arrives.

    run_suite(load_suite("quick"), "runs/quick")            # workers = cores
    run_suite(suite, run_dir, backend="ray", address="auto")

Jobs are (task, agent, seed, episode range) over the episodes not yet in
``RUN_DIR/results.sqlite``, so rerunning a suite does no work twice. Workers stream
one row per episode back to this process, which alone writes the database (one
commit per row): a run killed at any moment loses only the episodes in flight.
Local workers are started with 'spawn' (never fork: GL contexts and threads do
not survive a fork); a worker whose parent died exits after its current episode.
"""

from __future__ import annotations

import os
import queue
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wmplan.agents import availability, check_settings, fingerprint, short_task
from wmplan.benchmarks.episode import Job
from wmplan.benchmarks.results import ResultsDB, ResultsError, Skipped, record_skipped
from wmplan.benchmarks.runlog import RunLog
from wmplan.benchmarks.suite import SuiteConfig, config_hash, dump_suite
from wmplan.worldmodel.files import write_bytes_atomic, write_text_atomic
from wmplan.worldmodel.lockfile import hold_lock
from wmplan.worldmodel.progress import progress as progress_reporter

BACKENDS = ("local", "ray")
VIDEOS_DIR = "videos"
LOCK_NAME = "lock"


@dataclass
class RunSummary:
    """What a ``run_suite`` call did."""

    run_dir: Path
    episodes_run: int = 0
    episodes_skipped: int = 0  # already in the database
    jobs: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)  # agents left out as unavailable

    @property
    def episodes_per_second(self) -> float:
        return self.episodes_run / self.seconds if self.seconds > 0 else 0.0


def code_version() -> str:
    """``wmplan <version> (git <sha>[-dirty])``, or the version alone outside git."""
    from wmplan.worldmodel.provenance import git_commit, package_version

    v, sha = package_version("wmplan"), git_commit()
    return f"wmplan {v} (git {sha})" if sha else f"wmplan {v}"


def default_workers() -> int:
    """Worker processes when none are asked for: one per CPU core (every command)."""
    return os.cpu_count() or 1


def plan_jobs(
    suite: SuiteConfig, done: set[tuple], version: str | None = None
) -> tuple[list[Job], list[Skipped], int]:
    """Jobs for the episodes of ``suite`` whose keys are not in ``done``.

    Returns (jobs, left_out, skipped): ``left_out`` says which agents were left out
    as unavailable on which task (with ``suite.skip_missing``; otherwise that raises
    ValueError); skipped counts episodes already finished."""
    version = version or code_version()
    jobs: list[Job] = []
    left_out: list[Skipped] = []
    skipped = 0
    stored: dict[tuple[str, str], set[str]] = {}
    for chash, task, agent_name, *_ in done:
        stored.setdefault((task, agent_name), set()).add(chash)
    for agent in suite.agents:
        check_settings(agent)
    for task in suite.tasks:
        for agent in suite.agents:
            reason = availability(agent, task)
            if reason is not None:
                if not suite.skip_missing:
                    raise ValueError(
                        f"{reason}; or skip it: `wmplan bench --skip-missing` "
                        "(skip_missing: true in a suite file)"
                    )
                left_out.append(Skipped(task, agent.name, reason))
                continue
            chash = config_hash(agent, suite.protocol, fingerprint(agent, task))
            _refuse_changed_config(agent.name, task, chash, stored.get((task, agent.name), set()))
            for seed in suite.seeds:
                todo = [
                    e
                    for e in range(suite.episodes)
                    if (chash, task, agent.name, seed, e) not in done
                ]
                skipped += suite.episodes - len(todo)
                record = tuple(range(suite.record_episodes)) if seed == suite.seeds[0] else ()
                for i in range(0, len(todo), suite.episodes_per_job):
                    chunk = tuple(todo[i : i + suite.episodes_per_job])
                    jobs.append(
                        Job(
                            task=task,
                            agent=agent,
                            seed=seed,
                            episodes=chunk,
                            protocol=suite.protocol,
                            config_hash=chash,
                            code_version=version,
                            suite=suite.name,
                            record=tuple(e for e in chunk if e in record),
                        )
                    )
    # Longest first (planning agents, larger planner budgets) so that no long job is
    # left for the end while other workers idle; tasks interleave within that.
    jobs.sort(key=lambda j: (-_job_weight(j), j.episodes[0], j.seed))
    return jobs, left_out, skipped


def _refuse_changed_config(agent: str, task: str, chash: str, before: set[str]) -> None:
    """One name, one config: results of another config under ``agent``'s name are
    never pooled with this one's."""
    other = sorted(before - {chash})
    if other:
        raise ResultsError(
            f"agent {agent!r} on {task}: the run directory holds results of this name with "
            f"config hash {', '.join(other)}, but its config now hashes to {chash} (planner, "
            "options, checkpoint or protocol changed); give the changed agent a new name, "
            "or use a new --out"
        )


class JobFailed(RuntimeError):
    """A benchmark job raised: ``str()`` is one line naming agent, task and cause;
    ``details`` holds the worker's traceback."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


def _job_failure(job: Job, exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    cause = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return f"agent {job.agent.name!r} on {job.task} (seed {job.seed}) failed: {cause}"


def _job_weight(job: Job) -> float:
    """Rough relative cost of a job's episodes: planner budget (samples x iterations)."""
    if job.agent.planner is None:
        return 0.0
    s = job.agent.planner.settings
    return float(s.get("num_samples", 300)) * float(s.get("iterations", 30))


def run_suite(
    suite: SuiteConfig,
    run_dir: str | Path,
    *,
    workers: int | None = None,
    threads: int | None = None,
    backend: str = "local",
    address: str | None = None,
    progress: bool | str = True,
    wandb_mode: str | None = None,
    wandb_project: str = "wmplan",
    echo: Callable[[str], None] = print,
) -> RunSummary:
    """Run the unfinished episodes of ``suite`` into ``run_dir``; see module doc."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    workers = default_workers() if workers is None else workers
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be >= 1, got {threads}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = hold_lock(
        run_dir / LOCK_NAME, f"{run_dir}: another `wmplan bench` is running into this directory"
    )
    try:
        with ResultsDB.in_run_dir(run_dir) as db:
            # Plan (and refuse conflicting configs) before anything in run_dir changes.
            jobs, left_out, skipped = plan_jobs(suite, db.keys())
            _write_snapshot(run_dir, suite)
            record_skipped(run_dir, left_out)
            return _run_planned(
                suite, run_dir, db, jobs, left_out, skipped, workers=workers, threads=threads,
                backend=backend,
                address=address, progress=progress, wandb_mode=wandb_mode,
                wandb_project=wandb_project, echo=echo,
            )  # fmt: skip
    finally:
        lock.close()


def _write_snapshot(run_dir: Path, suite: SuiteConfig) -> None:
    """The suite as run, in ``RUN_DIR/suites/<name>.yaml`` (atomic)."""
    (run_dir / "suites").mkdir(exist_ok=True)
    write_text_atomic(run_dir / "suites" / f"{suite.name}.yaml", dump_suite(suite))


def _run_planned(
    suite: SuiteConfig,
    run_dir: Path,
    db: ResultsDB,
    jobs: list[Job],
    left_out: list[Skipped],
    skipped: int,
    *,
    workers: int,
    threads: int | None,
    backend: str,
    address: str | None,
    progress: bool | str,
    wandb_mode: str | None,
    wandb_project: str,
    echo: Callable[[str], None],
) -> RunSummary:
    """Run planned ``jobs`` into ``db`` (the caller holds the run directory's lock)."""
    summary = RunSummary(run_dir)
    log = RunLog(run_dir, wandb_mode, wandb_project, config=suite.to_dict(), name=suite.name)
    try:
        summary.skipped, summary.episodes_skipped, summary.jobs = left_out, skipped, len(jobs)
        for s in left_out:
            echo(f"note: {s.note}")
            log.event("skip", note=s.note)
        total = sum(len(j.episodes) for j in jobs)
        workers = max(1, min(workers, len(jobs)))
        log.event(
            "start", suite=suite.name, backend=backend, workers=workers, jobs=len(jobs),
            episodes=total, already_done=skipped, code_version=jobs[0].code_version if jobs else None,
        )  # fmt: skip
        if skipped:
            echo(f"{skipped} episodes already in {db.path}; running the {total} left")
        if not jobs:
            return summary
        start = time.perf_counter()
        bar = _progress_bar(total, progress, suite.name)
        try:
            rows = (
                _run_local(jobs, workers, threads)
                if backend == "local"
                else _run_ray(jobs, workers, address)
            )
            for row in rows:
                _store(row, run_dir, db, log)
                summary.episodes_run += 1
                bar.update(1)
        except JobFailed as exc:
            log.event("error", message=str(exc), traceback=exc.details)
            raise JobFailed(f"{exc} (traceback in {log.path})", exc.details) from None
        finally:
            bar.close()
        summary.seconds = time.perf_counter() - start
        log.event("end", episodes=summary.episodes_run, seconds=round(summary.seconds, 3))
        return summary
    finally:
        log.close()


def _progress_bar(total: int, mode: bool | str, name: str):
    """``mode``: a progress mode (auto, bar, lines, none) or True (auto) / False (none)."""
    if isinstance(mode, bool):
        mode = "auto" if mode else "none"
    return progress_reporter(total, name, mode, unit="ep")


def _store(row: dict[str, Any], run_dir: Path, db: ResultsDB, log: RunLog) -> None:
    """Write a row's GIF (if any) then the row itself: the video exists before its row."""
    gif = row.pop("gif", None)
    if gif is not None:
        name = f"{short_task(row['task'])}__{_safe(row['agent'])}__s{row['seed']}_e{row['episode']}.gif"
        rel = Path(VIDEOS_DIR) / name
        (run_dir / VIDEOS_DIR).mkdir(exist_ok=True)
        write_bytes_atomic(run_dir / rel, gif)
        row["video"] = rel.as_posix()
    if db.insert(row):
        log.episode(row)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=," else "_" for c in name)


# --- local processes -------------------------------------------------------------
def _limit_threads(threads: int) -> None:
    """One worker per core: keep BLAS/torch from oversubscribing the machine."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _worker_main(jobs: Any, out: Any, threads: int, parent: int) -> None:
    """Local worker: take jobs until a None sentinel; stream rows back."""
    _limit_threads(threads)
    from wmplan.benchmarks.episode import close_envs, run_job
    from wmplan.benchmarks.workers import set_agent_threads

    set_agent_threads(threads)

    try:
        while True:
            try:
                job = jobs.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:
                    return  # the runner died: stop instead of working for nobody
                continue
            if job is None:
                return
            out.put(("start", job.id, os.getpid()))
            try:
                for row in run_job(job):
                    out.put(("row", row, None))
                    if os.getppid() != parent:
                        return
            except BaseException as exc:
                out.put(("error", _job_failure(job, exc), traceback.format_exc()))
                return
            out.put(("done", job.id, None))
    finally:
        close_envs()


def _run_local(jobs: list[Job], workers: int, threads: int | None) -> Iterator[dict[str, Any]]:
    """Episodes of ``jobs`` from ``workers`` spawned processes, each capped at ``threads``
    torch/BLAS threads (default: the cores shared out, at least 1)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    job_q, out_q = ctx.Queue(), ctx.Queue()
    for job in jobs:
        job_q.put(job)
    for _ in range(workers):
        job_q.put(None)
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // workers)
    procs = [
        ctx.Process(target=_worker_main, args=(job_q, out_q, threads, os.getpid()), daemon=True)
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    in_flight: dict[int, str] = {}  # worker pid -> job id
    remaining, quiet = len(jobs), 0
    try:
        while remaining:
            try:
                kind, payload, extra = out_q.get(timeout=1.0)
            except queue.Empty:
                quiet += 1
                dead = [
                    p for p in procs if not p.is_alive() and (p.exitcode != 0 or p.pid in in_flight)
                ]
                # A worker's last messages are flushed before it exits; give them a
                # moment to arrive before calling it dead.
                if dead and quiet >= 3:
                    p = dead[0]
                    raise RuntimeError(
                        f"benchmark worker {p.pid} died (exit code {p.exitcode}) while running "
                        f"{in_flight.get(p.pid, 'no job')}"
                    ) from None
                if not any(p.is_alive() for p in procs) and quiet >= 3:
                    raise RuntimeError(
                        f"all workers exited with {remaining} jobs unfinished"
                    ) from None
                continue
            quiet = 0
            if kind == "start":
                in_flight[extra] = payload
            elif kind == "row":
                yield payload
            elif kind == "done":
                remaining -= 1
                in_flight = {pid: j for pid, j in in_flight.items() if j != payload}
            else:
                raise JobFailed(payload, extra)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=10)
        job_q.cancel_join_thread()
        out_q.cancel_join_thread()


# --- Ray --------------------------------------------------------------------------
def _ray_job(job: Job):
    """Ray task body: the same generator as a local worker runs (one CPU per task)."""
    from wmplan.benchmarks.episode import run_job
    from wmplan.benchmarks.workers import set_agent_threads

    set_agent_threads(1)

    yield from run_job(job)


def _run_ray(jobs: list[Job], workers: int, address: str | None) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise ValueError(
            "--backend ray needs the optional dependency: pip install 'wmplan[ray]'"
        ) from None
    started_here = not ray.is_initialized()
    if started_here:
        env_vars = {k: os.environ[k] for k in ("MUJOCO_GL", "PYOPENGL_PLATFORM") if k in os.environ}
        env_vars.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "runtime_env": {"env_vars": env_vars},
        }
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = workers
        ray.init(**kwargs)
    try:
        remote = ray.remote(num_cpus=1)(_ray_job)
        pending = [remote.options(num_returns="streaming").remote(j) for j in jobs]
        job_of = {id(gen): job for gen, job in zip(pending, jobs, strict=True)}
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            gen = ready[0]
            try:
                ref = next(gen)
                row = ray.get(ref)
            except StopIteration:
                continue
            except ray.exceptions.RayTaskError as exc:
                cause = exc.as_instanceof_cause()
                raise JobFailed(_job_failure(job_of[id(gen)], cause), str(exc)) from None
            yield row
            pending.append(gen)
    finally:
        if started_here:
            ray.shutdown()
