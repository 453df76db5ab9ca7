"""SAC and PPO (Stable-Baselines3) trained online in a wmplan task.

    env   = PolicyObsWrapper(wmplan.envs.make(task))   # obs.py: state / stacked pixels (+ goal)
    model = SAC|PPO(policy, env)                       # HER replay on goal tasks from state
    model.learn(steps, callback)                       # the callback, every N env steps:
        log (metrics.jsonl), evaluate under the protocol, checkpoint (safetensors)

Goal tasks: an episode is the protocol's (goal ``goal_offset`` expert steps away,
``budget`` env steps); the reward is recomputed from observed states (``goals.py``):
sparse (0 at the goal, else -1; HER's convention) or dense (minus the distance).

From pixels, SAC's actor trains a CNN of its own (SB3's ``CnnPolicy``) or, with
``actor_encoder="critic"``, reads the critic's CNN with the gradient stopped
(``sb3_nets.CriticEncoderCnnPolicy``; SAC-AE / CURL / DrQ's arrangement).

Checkpoints are ``checkpoint.py``'s: the policy's state dict as safetensors and
what rebuilds it as JSON; optimiser states, the entropy coefficient, the replay
buffer's arrays and the counters go to the ``trainer`` files for resuming. SB3's
``save``/``load`` (cloudpickle) are never used. A resumed run starts a new episode
where the killed one stopped; the replay buffer and the optimisers carry over.

SB3 seeds Python's, NumPy's and torch's global generators from ``seed`` (it draws
exploration noise and minibatches from them); ``wmplan baseline train`` runs in a
process of its own, so that is the only seeding there.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wmplan.agents.baselines import ONLINE_ALGOS
from wmplan.agents.baselines import checkpoint as bckpt
from wmplan.agents.baselines.obs import ObsAdapter, ObsSpec, PolicyObsWrapper
from wmplan.agents.baselines.trainlog import TrainLog, torch_threads
from wmplan.worldmodel import checkpoint as ckpt
from wmplan.worldmodel.configs import check_ints

ALGOS = ONLINE_ALGOS


class Sb3Agent:
    """A Stable-Baselines3 policy (SAC/PPO) acting deterministically."""

    def __init__(self, policy: Any, spec: ObsSpec):
        self.policy = policy
        self.adapter = ObsAdapter(spec)
        self._first: Any = None

    def reset(self, obs: dict[str, np.ndarray], goal: dict[str, np.ndarray] | None, env=None):
        del env
        self._first = self.adapter.reset(obs, goal)

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        # The harness calls act() first on the observation reset() already saw.
        x, self._first = (
            (self._first, None) if self._first is not None else (self.adapter.step(obs), None)
        )
        action, _ = self.policy.predict(x, deterministic=True)
        return np.asarray(action, np.float32)


GAMMA = 0.99  # SAC's discount (SB3's default), given to the n-step replay buffer too


@dataclass(frozen=True)
class Sb3Config:
    """One online training run. ``her`` None: on for SAC on goal tasks from state."""

    algo: str
    task: str
    out: str
    obs: str = "state"
    steps: int = 100_000
    seed: int = 0
    her: bool | None = None
    reward: str = "sparse"
    frame_stack: int = 3
    image_size: int = 64
    action_repeat: int = 1  # reward tasks: frames = env steps x action_repeat (DMC convention)
    goal_offset: int = 25
    budget: int = 50
    lr: float = 3e-4
    batch_size: int = 256
    buffer_size: int | None = None  # None: 100k from state, 20k from pixels (~1.5 GB)
    learning_starts: int = 1000
    train_every: int = 1  # SAC: one gradient update per this many env steps (DrQ-v2: 2)
    # SAC from pixels: "own" (SB3's default: the actor trains a CNN of its own) or "critic"
    # (the actor reads the critic's CNN, gradient stopped: SAC-AE / CURL / DrQ)
    actor_encoder: str = "own"
    # SAC from pixels: DrQ's random shift of replayed images by up to this many pixels (0: off)
    augment_pad: int = 0
    n_step: int = 1  # SAC: n-step TD targets (DrQ-v2: 3); not with HER's dict observations
    init_ent_coef: float = 1.0  # SAC's initial entropy coefficient, then tuned (DrQ: 0.1)
    net_arch: tuple[int, ...] = (256, 256)
    ppo_n_steps: int = 1024
    log_every: int = 1000
    eval_every: int = 10_000
    eval_episodes: int = 20
    checkpoint_every: int = 10_000
    keep_checkpoints: int = 2
    threads: int = 1

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        if self.obs not in ("state", "pixels"):
            raise ValueError(f"obs must be 'state' or 'pixels', got {self.obs!r}")
        if self.reward not in ("sparse", "dense"):
            raise ValueError(f"reward must be 'sparse' or 'dense', got {self.reward!r}")
        check_ints(self, ("steps", "batch_size", "log_every", "checkpoint_every", "threads",
                          "goal_offset", "budget", "ppo_n_steps", "frame_stack",
                          "action_repeat", "train_every", "n_step"))  # fmt: skip
        check_ints(self, ("augment_pad",), minimum=0)
        check_actor_encoder(self.actor_encoder)
        if self.actor_encoder != "own" and (self.algo != "sac" or self.obs != "pixels"):
            raise ValueError(
                f"actor_encoder={self.actor_encoder!r} is for SAC from pixels (one CNN the "
                f"critic trains), got algo {self.algo!r} with obs {self.obs!r}"
            )
        if self.augment_pad and (self.algo, self.obs) != ("sac", "pixels"):
            raise ValueError(
                f"augment_pad shifts replayed images for SAC from pixels, got "
                f"{self.augment_pad} with algo {self.algo!r} and obs {self.obs!r}"
            )
        if not (isinstance(self.init_ent_coef, int | float) and self.init_ent_coef > 0):
            raise ValueError(f"init_ent_coef must be a number > 0, got {self.init_ent_coef!r}")
        if self.init_ent_coef != 1.0 and self.algo != "sac":
            raise ValueError(f"init_ent_coef is SAC's, got {self.init_ent_coef} for {self.algo}")
        if self.n_step > 1 and (self.algo != "sac" or use_her(self)):
            raise ValueError(
                f"n_step > 1 is for SAC without HER (dict observations), got {self.n_step} "
                f"with algo {self.algo!r}"
            )
        if self.train_every != 1 and self.algo != "sac":
            raise ValueError(
                f"train_every is SAC's update interval; {self.algo} updates per rollout, got "
                f"train_every={self.train_every}"
            )
        if self.action_repeat != 1 and _is_goal_task(self.task):
            raise ValueError(
                f"action_repeat must be 1 on goal task {self.task} (the protocol acts every "
                f"env step), got {self.action_repeat}"
            )
        for name in ("eval_every", "eval_episodes", "learning_starts"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.buffer_size is not None and self.buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {self.buffer_size}")
        if self.her and (self.algo != "sac" or self.obs != "state"):
            raise ValueError("her=True needs algo 'sac' and obs 'state' (HER relabels state goals)")
        object.__setattr__(self, "net_arch", tuple(self.net_arch))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["net_arch"] = list(self.net_arch)
        return d


def check_actor_encoder(value: str) -> None:
    """Refuse an ``actor_encoder`` other than 'own' or 'critic' (in a config or checkpoint)."""
    if value not in ("own", "critic"):
        raise ValueError(f"actor_encoder must be 'own' or 'critic', got {value!r}")


def _is_goal_task(task: str) -> bool:
    import wmplan.envs

    return wmplan.envs.check_task_id(task).kind == "goal"


def use_her(cfg: Sb3Config) -> bool:
    """Whether ``cfg`` trains with HER (default: SAC on a goal task from state)."""
    if cfg.her is not None:
        return cfg.her
    return cfg.algo == "sac" and cfg.obs == "state" and _is_goal_task(cfg.task)


def make_env(cfg: Sb3Config) -> PolicyObsWrapper:
    """The training env: the task seen as the policy sees it (``obs.py``)."""
    import wmplan.envs

    kwargs: dict[str, Any] = {"image_size": cfg.image_size, "action_repeat": cfg.action_repeat}
    if _is_goal_task(cfg.task):
        kwargs["max_episode_steps"] = cfg.budget  # a training episode is a protocol episode
    env = wmplan.envs.make(cfg.task, **kwargs)
    layout = "her" if use_her(cfg) else "flat"
    stack = cfg.frame_stack if cfg.obs == "pixels" else 1
    spec = ObsSpec.for_env(env, cfg.obs, layout=layout, frame_stack=stack)
    return PolicyObsWrapper(env, spec, cfg.task, reward=cfg.reward, goal_offset=cfg.goal_offset)


def _policy_name(spec: ObsSpec) -> str:
    if spec.layout == "her":
        return "MultiInputPolicy"
    return "CnnPolicy" if spec.obs == "pixels" else "MlpPolicy"


def model_config(cfg: Sb3Config, spec: ObsSpec, action_dim: int) -> dict[str, Any]:
    """What rebuilds the policy network (``build_policy``), stored as JSON."""
    return {
        "algo": cfg.algo,
        "task": cfg.task,
        "obs": cfg.obs,
        "obs_spec": spec.to_dict(),
        "action_dim": action_dim,
        "policy": _policy_name(spec),
        "net_arch": list(cfg.net_arch),
        "action_repeat": cfg.action_repeat,
        "actor_encoder": cfg.actor_encoder,
    }


def build_policy(model: dict[str, Any]) -> Any:
    """A fresh SB3 policy network of the shape a checkpoint's JSON describes."""
    from gymnasium import spaces

    policy_cls = _policy_class(model["algo"], model["policy"], model.get("actor_encoder", "own"))
    obs_space = ObsSpec(**model["obs_spec"]).space()
    action_space = spaces.Box(-1.0, 1.0, (model["action_dim"],), np.float32)
    return policy_cls(
        obs_space, action_space, lambda _: 0.0, **_policy_kwargs(model["policy"], model["net_arch"])
    )


def _policy_class(algo: str, policy: str, actor_encoder: str) -> Any:
    """SB3's policy class for ``policy`` (``CnnPolicy``, ...), or the critic-encoder SAC
    ``CnnPolicy`` (``actor_encoder='critic'``; checkpoints from before the field: 'own')."""
    from stable_baselines3 import PPO, SAC

    check_actor_encoder(actor_encoder)
    if actor_encoder == "critic":
        from wmplan.agents.baselines.sb3_nets import CriticEncoderCnnPolicy

        return CriticEncoderCnnPolicy
    return {"sac": SAC, "ppo": PPO}[algo].policy_aliases[policy]


def _policy_kwargs(policy: str, net_arch: Any) -> dict[str, Any]:
    """SB3 ``policy_kwargs``: the net sizes, and from pixels ``ChannelsLastNatureCNN``
    (SB3's NatureCNN, same weights, ~2x faster on CPU)."""
    kwargs: dict[str, Any] = {"net_arch": list(net_arch)}
    if policy == "CnnPolicy":
        from wmplan.agents.baselines.sb3_nets import ChannelsLastNatureCNN

        kwargs["features_extractor_class"] = ChannelsLastNatureCNN
    return kwargs


def _build_algorithm(cfg: Sb3Config, env: PolicyObsWrapper) -> Any:
    from stable_baselines3 import PPO, SAC

    spec = env.adapter.spec
    policy = _policy_name(spec)
    policy_cls = _policy_class(cfg.algo, policy, cfg.actor_encoder)
    common = dict(policy=policy_cls, env=env, learning_rate=cfg.lr, seed=cfg.seed, device="cpu",
                  verbose=0, policy_kwargs=_policy_kwargs(policy, cfg.net_arch))  # fmt: skip
    if cfg.algo == "ppo":
        return PPO(**common, n_steps=cfg.ppo_n_steps, batch_size=min(cfg.batch_size, 64))
    kwargs: dict[str, Any] = {}
    if spec.layout == "her":
        from stable_baselines3 import HerReplayBuffer

        kwargs = dict(replay_buffer_class=HerReplayBuffer,
                      replay_buffer_kwargs={"n_sampled_goal": 4, "goal_selection_strategy": "future"})  # fmt: skip
    elif cfg.augment_pad:
        from wmplan.agents.baselines.sb3_nets import shifted_buffer_class

        buffer_kwargs: dict[str, Any] = {"augment_pad": cfg.augment_pad}
        if cfg.n_step > 1:
            buffer_kwargs.update(n_steps=cfg.n_step, gamma=GAMMA)
        kwargs = dict(replay_buffer_class=shifted_buffer_class(cfg.n_step),
                      replay_buffer_kwargs=buffer_kwargs)  # fmt: skip
    ent_coef = "auto" if cfg.init_ent_coef == 1.0 else f"auto_{cfg.init_ent_coef}"
    return SAC(**common, buffer_size=cfg.buffer_size or (100_000 if cfg.obs == "state" else 20_000), batch_size=cfg.batch_size,
               learning_starts=cfg.learning_starts, train_freq=cfg.train_every, gamma=GAMMA,
               n_steps=1 if cfg.augment_pad else cfg.n_step, ent_coef=ent_coef, **kwargs)  # fmt: skip


# --- resume state --------------------------------------------------------------------
def _optimizers(model: Any) -> dict[str, torch.optim.Optimizer]:
    if hasattr(model, "actor"):  # SAC
        opts = {"actor": model.actor.optimizer, "critic": model.critic.optimizer}
        if getattr(model, "ent_coef_optimizer", None) is not None:
            opts["ent_coef"] = model.ent_coef_optimizer
        return opts
    return {"policy": model.policy.optimizer}


def _buffer_arrays(buffer: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A replay buffer's numeric arrays (dict observations flattened) and scalars."""
    arrays, scalars = {}, {}
    for key, value in vars(buffer).items():
        if isinstance(value, np.ndarray) and value.dtype != object:
            arrays[key] = value
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, np.ndarray) for v in value.values())
        ):
            arrays.update({f"{key}/{k}": v for k, v in value.items()})
        elif isinstance(value, bool | int | float | np.integer) and not key.startswith("_n_envs"):
            scalars[key] = value.item() if isinstance(value, np.integer) else value
    return arrays, scalars


def _restore_buffer(buffer: Any, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> None:
    for key, value in arrays.items():
        if "/" in key:
            outer, inner = key.split("/", 1)
            getattr(buffer, outer)[inner][...] = value
        else:
            getattr(buffer, key)[...] = value
    for key, value in scalars.items():
        setattr(buffer, key, value)
    if hasattr(buffer, "_current_ep_start"):  # HER: the interrupted episode is dropped
        buffer._current_ep_start[...] = buffer.pos


def _trainer_state(model: Any, elapsed: float) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    opt_meta: dict[str, Any] = {}
    for name, opt in _optimizers(model).items():
        t, meta = ckpt.optimizer_to_state(opt)
        tensors.update({f"{name}.{k}": v for k, v in t.items()})
        opt_meta[name] = meta
    if getattr(model, "log_ent_coef", None) is not None:
        tensors["log_ent_coef"] = model.log_ent_coef.detach().clone()
    tensors["rng.torch"] = torch.get_rng_state()
    scalars: dict[str, Any] = {}
    buffer = getattr(model, "replay_buffer", None)
    if buffer is not None:
        arrays, scalars = _buffer_arrays(buffer)
        tensors.update(bckpt.arrays_to_tensors("buffer", arrays))
    np_state = np.random.get_state()
    return tensors, {
        "num_timesteps": int(model.num_timesteps),
        "n_updates": int(getattr(model, "_n_updates", 0)),
        "episode_num": int(getattr(model, "_episode_num", 0)),
        "elapsed_s": elapsed,
        "optimizers": opt_meta,
        "buffer": scalars,
        "rng_numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
    }


def _restore(model: Any, ckpt_dir: Path) -> float:
    """Load a checkpoint's policy and trainer state into ``model``; returns elapsed s."""
    bckpt.load_weights(ckpt_dir, model.policy)
    tensors, state = bckpt.load_trainer_state(ckpt_dir)
    for name, opt in _optimizers(model).items():
        own = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")}
        ckpt.optimizer_from_state(opt, own, state["optimizers"][name])
    if "log_ent_coef" in tensors:
        with torch.no_grad():
            model.log_ent_coef.copy_(tensors["log_ent_coef"])
    buffer = getattr(model, "replay_buffer", None)
    if buffer is not None:
        _restore_buffer(buffer, bckpt.tensors_to_arrays("buffer", tensors), state["buffer"])
    torch.set_rng_state(tensors["rng.torch"])
    r = state["rng_numpy"]
    np.random.set_state((r[0], np.asarray(r[1], np.uint32), *r[2:]))
    model.num_timesteps = state["num_timesteps"]
    model._n_updates = state["n_updates"]
    model._episode_num = state["episode_num"]
    return float(state["elapsed_s"])


# --- training ------------------------------------------------------------------------
def train_sb3(
    cfg: Sb3Config,
    evaluate: Callable[[Any], dict[str, Any]] | None = None,
    progress: bool = False,
    sink: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) ``cfg``; returns the last logged record. ``evaluate(agent)``
    scores the current policy, as a harness agent, under the protocol."""
    with torch_threads(cfg.threads):
        return _train(cfg, evaluate, progress, sink)


def _train(cfg: Sb3Config, evaluate: Any, progress: bool, sink: Any) -> dict[str, Any]:
    from stable_baselines3.common.callbacks import BaseCallback

    out = Path(cfg.out)
    log = TrainLog(out, cfg, x_key="env_steps", sink=sink)
    env = make_env(cfg)
    spec = env.adapter.spec
    model = _build_algorithm(cfg, env)
    mconfig = model_config(cfg, spec, int(env.action_space.shape[0]))
    ckpt_dir = out / "checkpoints"
    elapsed = 0.0
    if (ckpt_dir / ckpt.LATEST).exists():
        elapsed = _restore(model, ckpt_dir)
        log.truncate(model.num_timesteps)
    start_steps = model.num_timesteps
    state = {"elapsed": elapsed, "t": time.perf_counter(), "last": log.last()}

    def tick() -> float:
        now = time.perf_counter()
        state["elapsed"] += now - state["t"]
        state["t"] = now
        return state["elapsed"]

    def save() -> None:
        steps = int(model.num_timesteps)
        tensors, trainer_json = _trainer_state(model, tick())
        name = f"step_{steps:08d}"
        metadata = {"task": cfg.task, "step": steps, "env_steps": steps,
                    "train_wall_s": state["elapsed"], "train": cfg.to_dict()}  # fmt: skip
        bckpt.save_policy(ckpt_dir / name, model.policy, mconfig, metadata, tensors, trainer_json)
        ckpt.update_latest(ckpt_dir, name, keep=cfg.keep_checkpoints)
        state["t"] = time.perf_counter()  # checkpoint writing is not training time

    def record(final: bool) -> None:
        steps = int(model.num_timesteps)
        rec: dict[str, Any] = {"env_steps": steps, "frames": steps * cfg.action_repeat,
                               "train_wall_s": round(tick(), 2)}  # fmt: skip
        episodes = list(model.ep_info_buffer or [])
        if episodes:
            rec["train_return_mean"] = float(np.mean([e["r"] for e in episodes]))
        rec.update(
            {k: float(v) for k, v in model.logger.name_to_value.items() if k.startswith("train/")}
        )
        if evaluate is not None and (final or (cfg.eval_every and steps % cfg.eval_every == 0)):
            policy = model.policy
            rec.update(evaluate(Sb3Agent(policy, spec)))
            policy.set_training_mode(False)
            state["t"] = time.perf_counter()  # evaluation is not training time
        log.append(rec)
        state["last"] = rec

    bar = log.progress(cfg.steps, start_steps, enabled=progress, desc=cfg.algo)

    class _Callback(BaseCallback):
        def _on_step(self) -> bool:
            steps = int(self.model.num_timesteps)
            if bar is not None:
                bar.update(1)
            if steps % cfg.log_every == 0 or (cfg.eval_every and steps % cfg.eval_every == 0):
                record(final=False)
            if steps % cfg.checkpoint_every == 0 and steps < cfg.steps:
                state["save_due"] = True
            return True

        def _on_rollout_start(self) -> None:
            # SB3 calls _on_step before it stores the step's transition and makes the step's
            # gradient update; a checkpoint written there would lose both on resume. The
            # next rollout starts after them.
            if state.pop("save_due", False):
                save()

    remaining = cfg.steps - start_steps
    if remaining > 0:
        model.learn(total_timesteps=remaining, callback=_Callback(), reset_num_timesteps=False)
        log.truncate(model.num_timesteps - 1)  # the final record (with its evaluation) replaces it
        record(final=True)
        save()
    if bar is not None:
        bar.close()
    env.close()
    log.plot()
    return state["last"]
