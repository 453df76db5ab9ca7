"""Training loop of the offline goal-conditioned baselines (GCBC, GCIQL).

    data  = GoalDataset(config.data)                 # the world models' HDF5 dataset
    agent = ALGOS[config.algo](...)                  # a learner: loss(batch), after_step()
    for step in range(start, config.steps):          # start > 0 when resuming
        batch = transitions + hindsight goals         # relabel.py
        loss  = agent.loss(batch); Adam step; agent.after_step()
        every log_every: metrics.jsonl; every eval_every: evaluate(actor) under the
        protocol; every checkpoint_every: safetensors checkpoint (+ optimizer, RNG)

Rerunning the same command resumes from the newest checkpoint; a run directory
holding another config is refused.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wmplan.agents.baselines import checkpoint as bckpt
from wmplan.agents.baselines.agent import OfflineGoalAgent
from wmplan.agents.baselines.learners import ALGOS, build_learner
from wmplan.agents.baselines.nets import FUSIONS, GoalEncoder, random_shift
from wmplan.agents.baselines.relabel import GoalDataset
from wmplan.agents.baselines.trainlog import TrainLog, torch_threads
from wmplan.worldmodel import checkpoint as ckpt
from wmplan.worldmodel.configs import check_ints, from_dict


@dataclass(frozen=True)
class OfflineConfig:
    """Settings shared by the offline algorithms; ``options`` are the algorithm's own
    (``GCBCConfig`` / ``GCIQLConfig`` fields)."""

    algo: str
    task: str
    data: str
    out: str
    obs: str = "pixels"
    steps: int = 20_000
    batch_size: int = 256
    lr: float = 3e-4
    hidden: tuple[int, ...] = (256, 256)  # OGBench: 512 x 3; CPU budget here
    cnn_channels: tuple[int, ...] = (16, 32, 64, 128)
    feat_dim: int = 256
    fusion: str = "late"  # pixels: "late" (shared CNN per image) or "early" (6-channel stack)
    augment_pad: int = 0  # pixels: DrQ random shift by up to this many pixels (0: none)
    seed: int = 0
    max_episodes: int | None = None
    log_every: int = 100
    eval_every: int = 0  # 0: evaluate only at the end (when an evaluator is given)
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    threads: int = 1
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {sorted(ALGOS)}, got {self.algo!r}")
        if self.obs not in ("state", "pixels"):
            raise ValueError(f"obs must be 'state' or 'pixels', got {self.obs!r}")
        check_ints(self, ("steps", "batch_size", "log_every", "checkpoint_every", "threads"))
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.obs == "state" and (self.fusion != "late" or self.augment_pad):
            raise ValueError("fusion and augment_pad apply to obs 'pixels', not 'state'")
        if self.augment_pad < 0:
            raise ValueError(f"augment_pad must be >= 0, got {self.augment_pad}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "cnn_channels", tuple(self.cnn_channels))
        self.algo_config()  # unknown or bad algorithm options fail here

    def algo_config(self) -> Any:
        """The algorithm's own config (``GCBCConfig``/``GCIQLConfig``) from ``options``."""
        return from_dict(ALGOS[self.algo][1], self.options, f"{self.algo} option")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden"], d["cnn_channels"] = list(self.hidden), list(self.cnn_channels)
        return d


def _batch(data: GoalDataset, learner: Any, cfg: OfflineConfig, rng: np.random.Generator):
    """A training batch of tensors (observations, goals, actions; see the learners)."""
    s = data.sample(cfg.batch_size, learner.goals, rng)
    batch = {
        "obs": torch.from_numpy(data.observations(s.e, s.t)),
        "goal": torch.from_numpy(data.observations(s.ge, s.gt)),
        "actions": torch.from_numpy(data.actions[s.e, s.t]),
        "reached": torch.from_numpy(s.reached),
    }
    if learner.needs_next:
        batch["next_obs"] = torch.from_numpy(data.observations(s.e, s.t + 1))
        a = data.goals_for(s.e, s.t, learner.actor_goals, rng)
        batch["actor_goal"] = torch.from_numpy(data.observations(a.ge, a.gt))
    if cfg.augment_pad:
        # One shift per sample for all its images, so where the goal is relative to
        # the observation is kept.
        keys = [k for k in ("obs", "goal", "next_obs", "actor_goal") if k in batch]
        shifted = random_shift(np.stack([batch[k].numpy() for k in keys]), cfg.augment_pad, rng)
        batch.update({k: torch.from_numpy(x) for k, x in zip(keys, shifted, strict=True)})
    return batch


# Scores a harness agent under the protocol: {"success_rate": ..., ...}.
Evaluator = Callable[[Any], dict[str, Any]]


def train_offline(
    cfg: OfflineConfig,
    evaluate: Evaluator | None = None,
    progress: bool = False,
    sink: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) ``cfg``; returns the last logged record. ``evaluate(agent)``
    scores the current actor, as a harness agent, under the protocol."""
    with torch_threads(cfg.threads):
        return _train(cfg, evaluate, progress, sink)


def _train(
    cfg: OfflineConfig, evaluate: Evaluator | None, progress: bool, sink: Any
) -> dict[str, Any]:
    out = Path(cfg.out)
    log = TrainLog(out, cfg, x_key="step", sink=sink)
    data = GoalDataset(cfg.data, cfg.obs, task_id=cfg.task, max_episodes=cfg.max_episodes)
    model_config = {
        "algo": cfg.algo,
        "task": cfg.task,
        "obs": cfg.obs,
        "state_dim": int(data.obs.shape[-1]) if cfg.obs == "state" else 0,
        "image_size": int(data.image_size),
        "action_dim": int(data.action_dim),
        "hidden": list(cfg.hidden),
        "cnn_channels": list(cfg.cnn_channels),
        "feat_dim": cfg.feat_dim,
        "fusion": cfg.fusion,
        "options": dataclasses.asdict(cfg.algo_config()),
    }
    with torch.random.fork_rng(devices=[]):  # seeded init, caller's RNG untouched
        torch.manual_seed(cfg.seed)
        learner = build_learner(model_config)
    if cfg.obs == "state":
        mean, std = data.state_stats()
        for module in learner.modules():
            if isinstance(module, GoalEncoder):
                module.set_stats(torch.from_numpy(mean), torch.from_numpy(std))
    params = [p for p in learner.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, foreach=False)
    rng = np.random.default_rng(cfg.seed)
    ckpt_dir = out / "checkpoints"
    step, elapsed = 0, 0.0
    if (ckpt_dir / ckpt.LATEST).exists():
        bckpt.load_weights(ckpt_dir, learner)
        tensors, state = bckpt.load_trainer_state(ckpt_dir)
        ckpt.optimizer_from_state(opt, tensors, state["optimizer"])
        rng.bit_generator.state = state["rng"]
        step, elapsed = state["step"], state["elapsed_s"]
        log.truncate(step)

    def save(step: int) -> None:
        opt_tensors, opt_json = ckpt.optimizer_to_state(opt)
        name = f"step_{step:08d}"
        metadata = {"task": cfg.task, "data": cfg.data, "step": step, "env_steps": 0,
                    "dataset_transitions": data.num_transitions, "train_wall_s": elapsed,
                    "train": cfg.to_dict()}  # fmt: skip
        bckpt.save_policy(
            ckpt_dir / name, learner, model_config, metadata, opt_tensors,
            {"step": step, "elapsed_s": elapsed, "optimizer": opt_json,
             "rng": rng.bit_generator.state},
        )  # fmt: skip
        ckpt.update_latest(ckpt_dir, name, keep=cfg.keep_checkpoints)

    bar = log.progress(cfg.steps, step, enabled=progress, desc=cfg.algo)
    last: dict[str, Any] = log.last()
    learner.train()
    while step < cfg.steps:
        t0 = time.perf_counter()
        loss, metrics = learner.loss(_batch(data, learner, cfg, rng))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        learner.after_step()
        step += 1
        elapsed += time.perf_counter() - t0
        if bar is not None:
            bar.update(1)
        done = step == cfg.steps
        if step % cfg.log_every == 0 or done:
            last = {"step": step, "train_wall_s": round(elapsed, 2), **metrics}
            if evaluate is not None and (done or (cfg.eval_every and step % cfg.eval_every == 0)):
                learner.eval()
                last.update(evaluate(OfflineGoalAgent(learner.actor, model_config)))
                learner.train()
            log.append(last)
            if bar is not None:
                bar.set_postfix(loss=f"{metrics['loss']:.4f}")
        if step % cfg.checkpoint_every == 0 or done:
            save(step)
    if bar is not None:
        bar.close()
    log.plot()
    return last
