"""Model-free baselines: they learn, their checkpoints round-trip through
safetensors and refuse pickles, they resume, and the harness can run them."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wmplan.agents.base import Agent, RandomAgent
from wmplan.agents.baselines import checkpoint as bckpt
from wmplan.agents.baselines.agent import load_agent
from wmplan.agents.baselines.offline import OfflineConfig, train_offline
from wmplan.agents.baselines.sb3 import Sb3Config, train_sb3
from wmplan.benchmarks.baseline import make_evaluator
from wmplan.worldmodel.checkpoint import CheckpointError

pytestmark = pytest.mark.usefixtures("one_thread")
TASK = "wmplan/TwoRoom-v0"


def offline_config(data: Path, out: Path, **kw) -> OfflineConfig:
    base = dict(algo="gcbc", task=TASK, data=str(data), out=str(out), obs="state",
                steps=40, batch_size=64, hidden=(64, 64), log_every=10, checkpoint_every=20)  # fmt: skip
    return OfflineConfig(**{**base, **kw})


def sb3_config(out: Path, **kw) -> Sb3Config:
    base = dict(algo="sac", task=TASK, out=str(out), steps=120, learning_starts=50,
                batch_size=32, net_arch=(32, 32), log_every=40, eval_every=0,
                checkpoint_every=60, buffer_size=1000)  # fmt: skip
    return Sb3Config(**{**base, **kw})


def rollout_actions(
    agent, task: str = TASK, steps: int = 8, seed: int = 3, image_size: int = 64
) -> np.ndarray:
    """Actions of ``agent`` along a fixed action-independent observation sequence."""
    import wmplan.envs
    from wmplan.agents.baselines.obs import goal_of

    env = wmplan.envs.make(task, image_size=image_size)
    try:
        obs, _ = env.reset(seed=seed, options={"goal_offset": 25} if "dmc" not in task else None)
        agent.reset(obs, goal_of(obs))
        rng = np.random.default_rng(seed)
        actions = []
        for _ in range(steps):
            actions.append(agent.act(obs))
            obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
        return np.stack(actions)
    finally:
        env.close()


# --- learning ----------------------------------------------------------------------
def test_gcbc_from_state_beats_random_on_tworoom(tworoom_data, tmp_path):
    """A 1,500-step GCBC on 40 expert episodes reaches goals random actions rarely do
    (the protocol's own episodes: goal 25 expert steps out, 50-step budget)."""
    evaluate = make_evaluator(TASK, episodes=20, seed=0)
    cfg = offline_config(tworoom_data, tmp_path / "gcbc", steps=1500, batch_size=128,
                         hidden=(128, 128), lr=1e-3, checkpoint_every=1500)  # fmt: skip
    last = train_offline(cfg, evaluate=evaluate)
    random_score = evaluate(RandomAgent(2, seed=0))["success_rate"]
    assert last["success_rate"] >= random_score + 0.3, (last["success_rate"], random_score)
    assert (tmp_path / "gcbc" / "learning_curve.png").stat().st_size > 0


@pytest.mark.slow
def test_sac_from_state_beats_random_on_tworoom(tmp_path):
    """SAC with the dense goal reward learns to head for the goal: the protocol
    episodes end much closer to it than random actions do (a 2,000-step run measured
    0.43 vs 0.83 mean final distance at 1,000 steps; success needs < 0.1)."""
    evaluate = make_evaluator(TASK, episodes=20, seed=0)
    cfg = sb3_config(tmp_path / "sac", steps=3000, learning_starts=300, reward="dense",
                     her=False, batch_size=256, net_arch=(256, 256), checkpoint_every=3000,
                     log_every=500, buffer_size=3000)  # fmt: skip
    last = train_sb3(cfg, evaluate=evaluate)
    random_distance = evaluate(RandomAgent(2, seed=0))["final_distance_mean"]
    assert last["final_distance_mean"] < 0.75 * random_distance, (last, random_distance)


# --- checkpoints ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "algo,obs,pixel_opts",
    [("gcbc", "state", {}), ("gciql", "state", {}), ("gcbc", "pixels", {}),
     ("gciql", "pixels", {}), ("gcbc", "pixels", {"fusion": "early", "augment_pad": 2}),
     ("gciql", "pixels", {"fusion": "early", "augment_pad": 2})],
)  # fmt: skip
def test_offline_checkpoint_round_trip_gives_identical_actions(
    tworoom_data, tmp_path, algo, obs, pixel_opts
):
    from wmplan.agents.baselines.agent import OfflineGoalAgent
    from wmplan.agents.baselines.learners import build_learner

    steps = 40 if obs == "state" else 4  # pixels: the CNN path, not learning
    cfg = offline_config(tworoom_data, tmp_path / algo, algo=algo, obs=obs, steps=steps,
                         batch_size=16 if obs == "pixels" else 64, feat_dim=32,
                         cnn_channels=(8, 16), checkpoint_every=steps, **pixel_opts)  # fmt: skip
    train_offline(cfg)
    model = bckpt.read_config(tmp_path / algo)["model"]
    assert model["algo"] == algo
    assert model["fusion"] == pixel_opts.get("fusion", "late")
    # The in-memory actor, built independently and given the saved weights by hand.
    learner = build_learner(model)
    weights = bckpt.ckpt._read_safetensors(bckpt.resolve(tmp_path / algo) / "model.safetensors")
    learner.load_state_dict(weights)
    size = model["image_size"]  # the dataset's (32 px); state policies ignore it
    expected = rollout_actions(OfflineGoalAgent(learner.actor.eval(), model), image_size=size)
    loaded = rollout_actions(load_agent(tmp_path / algo), image_size=size)
    np.testing.assert_array_equal(loaded, expected)
    assert np.abs(loaded).max() <= 1.0


@pytest.mark.parametrize(
    "algo,obs,task,kw",
    [
        ("sac", "state", TASK, {}),
        ("ppo", "pixels", "wmplan/dmc-cartpole-swingup-v0", {}),
        ("sac", "pixels", "wmplan/dmc-cartpole-swingup-v0", {"actor_encoder": "critic"}),
    ],
)
def test_sb3_checkpoint_round_trip_gives_identical_actions(tmp_path, algo, obs, task, kw):
    """SAC (HER, dict observations), PPO (stacked pixels, shared CNN) and pixel SAC whose
    actor reads the critic's CNN, rebuilt from JSON + safetensors, act exactly as the
    policy that was trained."""
    from wmplan.agents.baselines import sb3
    from wmplan.agents.baselines.sb3 import Sb3Agent

    cfg = sb3_config(tmp_path / algo, algo=algo, obs=obs, task=task, steps=64, ppo_n_steps=32,
                     batch_size=16, image_size=64, frame_stack=2, **kw)  # fmt: skip
    captured = {}

    def evaluate(agent):
        captured["actions"] = rollout_actions(agent, task)
        return {}

    train_sb3(cfg, evaluate=evaluate)
    model = bckpt.read_config(tmp_path / algo)["model"]
    assert model["policy"] == ("MultiInputPolicy" if obs == "state" else "CnnPolicy")
    assert model["actor_encoder"] == kw.get("actor_encoder", "own")
    loaded = load_agent(tmp_path / algo)
    assert isinstance(loaded, Sb3Agent)
    np.testing.assert_array_equal(rollout_actions(loaded, task), captured["actions"])
    assert sb3.use_her(cfg) == (algo == "sac" and obs == "state")


def test_sac_actor_reads_the_critics_cnn_without_training_it():
    """``actor_encoder='critic'`` (SAC-AE / CURL / DrQ): one CNN, in the critic; the actor
    sees the critic's features, its optimizer holds no CNN weight and its loss leaves the
    CNN without a gradient, while the critic loss trains it."""
    from gymnasium import spaces

    from wmplan.agents.baselines.sb3_nets import ChannelsLastNatureCNN, CriticEncoderCnnPolicy

    torch.manual_seed(0)
    policy = CriticEncoderCnnPolicy(
        spaces.Box(0, 255, (6, 64, 64), np.uint8), spaces.Box(-1, 1, (2,), np.float32),
        lambda _: 3e-4, net_arch=[32, 32], features_extractor_class=ChannelsLastNatureCNN,
    )  # fmt: skip
    cnn = policy.critic.features_extractor
    assert not [k for k in policy.state_dict() if k.startswith("actor.features_extractor")]
    in_optimizer = lambda opt: {id(p) for g in opt.param_groups for p in g["params"]}  # noqa: E731
    cnn_ids = {id(p) for p in cnn.parameters()}
    assert not cnn_ids & in_optimizer(policy.actor.optimizer)
    assert cnn_ids <= in_optimizer(policy.critic.optimizer)
    x = torch.rand(4, 6, 64, 64)
    torch.testing.assert_close(
        policy.actor.extract_features(x, policy.actor.features_extractor),
        policy.critic.extract_features(x, cnn),
    )
    mean, _, _ = policy.actor.get_action_dist_params(x)
    mean.square().sum().backward()
    assert all(p.grad is None for p in cnn.parameters())
    assert policy.actor.latent_pi[0].weight.grad is not None
    policy.critic(x, torch.zeros(4, 2))[0].sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in cnn.parameters())
    with pytest.raises(ValueError, match="actor_encoder"):
        sb3_config(Path("unused"), actor_encoder="critic")  # SAC from state: no CNN
    with pytest.raises(ValueError, match="actor_encoder"):
        sb3_config(Path("unused"), obs="pixels", actor_encoder="shared")


def test_channels_last_cnn_computes_what_sb3_nature_cnn_computes():
    """The pixel SAC/PPO extractor is SB3's NatureCNN in another memory format: the
    same state dict gives the same features, whichever of the two was trained."""
    from gymnasium import spaces
    from stable_baselines3.common.torch_layers import NatureCNN

    from wmplan.agents.baselines.sb3_nets import ChannelsLastNatureCNN

    space = spaces.Box(0, 255, (6, 64, 64), np.uint8)
    torch.manual_seed(0)
    reference, fast = NatureCNN(space), ChannelsLastNatureCNN(space)
    fast.load_state_dict(reference.state_dict())
    x = torch.rand(4, 6, 64, 64)
    torch.testing.assert_close(fast(x), reference(x), rtol=1e-5, atol=1e-6)
    again = NatureCNN(space)
    again.load_state_dict(fast.state_dict())  # after the switch to channels-last
    torch.testing.assert_close(again(x), fast(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_step", [1, 3])
def test_replayed_images_are_shifted_as_drq_does(n_step):
    """``augment_pad`` (DrQ): every replayed observation and next observation is its
    stored image padded with edge pixels and cropped back at an offset of at most ``pad``
    pixels, all its channels alike (stacked frames, goal), observation and next
    observation independently; actions, rewards and n-step discounts are the unshifted
    buffer's, and a fixed NumPy seed draws the same batch."""
    from gymnasium import spaces
    from stable_baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer

    from wmplan.agents.baselines.sb3_nets import shifted_buffer_class

    pad, size, n = 2, 12, 40
    obs_space = spaces.Box(0, 255, (6, size, size), np.uint8)
    act_space = spaces.Box(-1, 1, (2,), np.float32)
    extra = {"n_steps": 3, "gamma": 0.99} if n_step > 1 else {}
    shifted = shifted_buffer_class(n_step)(n, obs_space, act_space, "cpu", augment_pad=pad, **extra)
    plain = (ReplayBuffer if n_step == 1 else NStepReplayBuffer)(
        n, obs_space, act_space, "cpu", **extra
    )
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n + 1, 6, size, size), dtype=np.uint8)
    for i in range(n):
        action = rng.uniform(-1, 1, (1, 2))
        for buffer in (shifted, plain):
            buffer.add(images[i], images[i + 1], action, np.array([i]), np.array([i % 9 == 8]),
                       [{}])  # fmt: skip
    inds = np.arange(n - 5)
    np.random.seed(1)
    got = shifted._get_samples(inds)
    np.random.seed(1)
    ref = plain._get_samples(inds)
    for field in ("actions", "rewards", "dones", "discounts"):
        if getattr(ref, field, None) is not None:
            torch.testing.assert_close(getattr(got, field), getattr(ref, field))
    padded = lambda x: np.pad(x, [(0, 0), (pad, pad), (pad, pad)], mode="edge")  # noqa: E731

    def offset(sample, stored):
        hits = [(dy, dx) for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)
                if np.array_equal(padded(stored)[:, dy : dy + size, dx : dx + size], sample)]  # fmt: skip
        assert hits, "a replayed image is not a shift of the stored one"
        return hits[0]

    obs_offsets = [
        offset(o, images[i]) for o, i in zip(got.observations.numpy(), inds, strict=True)
    ]
    next_offsets = [offset(o, x) for o, x in zip(got.next_observations.numpy(),
                                                  ref.next_observations.numpy(), strict=True)]  # fmt: skip
    assert len(set(obs_offsets)) > 5  # shifts vary over the batch
    assert obs_offsets != next_offsets  # drawn independently
    assert got.observations.dtype == torch.uint8


def test_drq_options_are_for_sac_from_pixels(tmp_path):
    """DrQ's three options apply to SAC from pixels (``n_step`` to SAC without HER) and
    are refused by name elsewhere; a run starts from the requested entropy coefficient."""
    from wmplan.agents.baselines import sb3

    for kw, field in (({"augment_pad": 4}, "augment_pad"), ({"augment_pad": -1}, "augment_pad"),
                      ({"n_step": 3}, "n_step"), ({"init_ent_coef": 0.0}, "init_ent_coef"),
                      ({"init_ent_coef": float("nan")}, "init_ent_coef"),
                      ({"algo": "ppo", "obs": "pixels", "init_ent_coef": 0.1}, "init_ent_coef"),
                      ({"algo": "ppo", "obs": "pixels", "augment_pad": 4}, "augment_pad")):  # fmt: skip
        with pytest.raises(ValueError, match=field):
            sb3_config(tmp_path / "x", **kw)
    cfg = sb3_config(tmp_path / "drq", task="wmplan/dmc-cartpole-swingup-v0", obs="pixels",
                     frame_stack=2, augment_pad=4, n_step=3, init_ent_coef=0.1,
                     actor_encoder="critic")  # fmt: skip
    model = sb3._build_algorithm(cfg, sb3.make_env(cfg))
    assert model.log_ent_coef.exp().item() == pytest.approx(0.1)
    assert model.replay_buffer.augment_pad == 4 and model.replay_buffer.n_steps == 3


def test_action_repeat_is_recorded_and_checked(tmp_path):
    """A reward-task policy trained at action repeat 2 says so in its checkpoint,
    ``wmplan baseline eval`` scores it at that repeat (as the training run's evaluator
    does), and the harness refuses to run it at another repeat; goal tasks refuse a
    repeat."""
    import wmplan.envs
    from wmplan.agents.factory import make_agent
    from wmplan.benchmarks.suite import AgentSpec

    with pytest.raises(ValueError, match="action_repeat must be 1 on goal task"):
        sb3_config(tmp_path / "goal", action_repeat=2)
    task = "wmplan/dmc-cartpole-swingup-v0"
    cfg = sb3_config(tmp_path / "sac", task=task, action_repeat=2, steps=60, log_every=30)
    train_sb3(cfg)
    assert bckpt.read_config(tmp_path / "sac")["model"]["action_repeat"] == 2
    records = [json.loads(line) for line in (tmp_path / "sac" / "metrics.jsonl").open()]
    assert [(r["env_steps"], r["frames"]) for r in records] == [(30, 60), (60, 120)]
    # `wmplan baseline eval` scores it at its own repeat, on the run's evaluation seeds.
    from wmplan.benchmarks.cli import main

    out = tmp_path / "eval.json"
    assert (
        main(["baseline", "eval", str(tmp_path / "sac"), "--episodes", "1", "--out", str(out)]) == 0
    )
    result = json.loads(out.read_text())
    expected = make_evaluator(task, 1, 0, action_repeat=2)(load_agent(tmp_path / "sac"))
    assert (result["task"], result["action_repeat"], result["env_steps"]) == (task, 2, 60)
    assert result["return_mean"] == expected["return_mean"]
    assert main(["baseline", "eval", str(tmp_path / "sac"), "--episodes", "0"]) == 2
    assert main(["baseline", "eval", str(tmp_path / "nothing")]) == 2
    spec = AgentSpec("sac", "sac", checkpoint=str(tmp_path / "sac"))
    for repeat, ok in ((2, True), (1, False)):
        env = wmplan.envs.make(task, action_repeat=repeat)
        try:
            if ok:
                assert isinstance(make_agent(spec, task, env, seed=0), Agent)
            else:
                with pytest.raises(ValueError, match="trained with action_repeat 2"):
                    make_agent(spec, task, env, seed=0)
        finally:
            env.close()


def test_pickled_policy_files_are_refused(tworoom_data, tmp_path):
    train_offline(offline_config(tworoom_data, tmp_path / "run", steps=20))
    ckpt_dir = bckpt.resolve(tmp_path / "run")
    weights = ckpt_dir / "model.safetensors"
    state = {k: v for k, v in load_agent(tmp_path / "run").actor.state_dict().items()}
    torch.save(state, weights)  # a pickle (torch zip) under the safetensors name
    with pytest.raises(CheckpointError, match="pickle"):
        load_agent(tmp_path / "run")
    weights.write_bytes(pickle.dumps(state))  # a plain pickle
    with pytest.raises(CheckpointError, match="pickle"):
        load_agent(tmp_path / "run")
    (tmp_path / "policy.pkl").write_bytes(pickle.dumps(state))
    with pytest.raises(CheckpointError, match="pickle"):
        load_agent(tmp_path / "policy.pkl")


def test_stable_baselines3_zip_is_refused(tmp_path):
    """SB3's own .zip (cloudpickled data inside) is never loaded."""
    from stable_baselines3 import PPO

    import wmplan.agents.baselines.sb3 as sb3

    env = sb3.make_env(sb3_config(tmp_path / "x", algo="ppo"))
    PPO("MlpPolicy", env, n_steps=16, batch_size=16, device="cpu").save(tmp_path / "ppo.zip")
    env.close()
    with pytest.raises(CheckpointError, match="pickled"):
        load_agent(tmp_path / "ppo.zip")
    (tmp_path / "ppo.zip").rename(tmp_path / "policy")  # not fooled by the name
    with pytest.raises(CheckpointError, match="pickled"):
        load_agent(tmp_path / "policy")


def test_a_world_model_checkpoint_is_not_loaded_as_a_baseline():
    root = Path(__file__).resolve().parents[2]
    with pytest.raises(CheckpointError, match="format"):
        load_agent(root / "models" / "wm-tworoom")


# --- resume ----------------------------------------------------------------------------
def test_offline_resume_after_a_stop_equals_an_uninterrupted_run(tworoom_data, tmp_path):
    for algo in ("gcbc", "gciql"):
        whole = offline_config(tworoom_data, tmp_path / f"{algo}-whole", algo=algo, steps=40)
        train_offline(whole)
        part = offline_config(tworoom_data, tmp_path / f"{algo}-part", algo=algo, steps=20)
        train_offline(part)  # stops at 20 (as a killed run's last checkpoint)
        train_offline(offline_config(tworoom_data, tmp_path / f"{algo}-part", algo=algo, steps=40))
        a = load_agent(tmp_path / f"{algo}-whole").actor.state_dict()
        b = load_agent(tmp_path / f"{algo}-part").actor.state_dict()
        for name in a:
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)
        steps = [r["step"] for r in _records(tmp_path / f"{algo}-part")]
        assert steps == sorted(set(steps)) and steps[-1] == 40  # no duplicate log records


def _records(run: Path) -> list[dict]:
    import json

    return [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]


def test_sac_resumes_with_its_replay_buffer_and_counters(tmp_path):
    from wmplan.agents.baselines import sb3

    train_sb3(sb3_config(tmp_path / "sac", steps=60))
    _, state = bckpt.load_trainer_state(tmp_path / "sac")
    assert state["num_timesteps"] == 60 and state["buffer"]["pos"] == 60
    train_sb3(sb3_config(tmp_path / "sac", steps=120))
    _, state = bckpt.load_trainer_state(tmp_path / "sac")
    assert state["num_timesteps"] == 120
    assert state["buffer"]["pos"] == 120  # the first 60 transitions were kept
    assert state["n_updates"] == 120 - 50  # one gradient step per env step after learning_starts
    env_steps = [r["env_steps"] for r in _records(tmp_path / "sac")]
    assert env_steps == sorted(set(env_steps)) and env_steps[-1] == 120
    assert sb3.use_her(sb3_config(tmp_path / "x"))
    # A checkpoint written mid-run holds every transition and update up to its step, so
    # a run killed after it resumes without losing one.
    train_sb3(sb3_config(tmp_path / "one", steps=120, keep_checkpoints=3))
    _, state = bckpt.load_trainer_state(tmp_path / "one" / "checkpoints" / "step_00000060")
    assert state["num_timesteps"] == 60 and state["buffer"]["pos"] == 60
    assert state["n_updates"] == 60 - 50


def test_sac_train_every_sets_the_update_interval(tmp_path):
    """``train_every=2`` (DrQ-v2's interval) makes one gradient step per two env steps;
    PPO, which updates per rollout, refuses it."""
    train_sb3(sb3_config(tmp_path / "sac", steps=90, train_every=2))
    _, state = bckpt.load_trainer_state(tmp_path / "sac")
    assert state["num_timesteps"] == 90 and state["n_updates"] == (90 - 50) // 2
    with pytest.raises(ValueError, match="train_every"):
        sb3_config(tmp_path / "ppo", algo="ppo", train_every=2)


def test_a_run_dir_with_another_config_is_refused(tworoom_data, tmp_path):
    train_offline(offline_config(tworoom_data, tmp_path / "run", steps=10))
    with pytest.raises(ValueError, match="different config.*lr"):
        train_offline(offline_config(tworoom_data, tmp_path / "run", steps=10, lr=1e-2))


def _drop_saved_field(run: Path, name: str) -> None:
    path = run / "run_config.json"
    saved = json.loads(path.read_text())
    del saved[name]
    path.write_text(json.dumps(saved))


def test_a_run_saved_before_a_config_field_existed_resumes_at_its_default(tworoom_data, tmp_path):
    """A run dir whose ``run_config.json`` predates a field (here ``train_every``,
    ``augment_pad``) held that field's default: it resumes with the default and refuses
    another value."""
    train_sb3(sb3_config(tmp_path / "run", steps=60))
    _drop_saved_field(tmp_path / "run", "train_every")
    with pytest.raises(ValueError, match="different config.*train_every"):
        train_sb3(sb3_config(tmp_path / "run", steps=90, train_every=2))
    train_sb3(sb3_config(tmp_path / "run", steps=90))
    _, state = bckpt.load_trainer_state(tmp_path / "run")
    assert state["num_timesteps"] == 90
    off = tmp_path / "off"
    train_offline(offline_config(tworoom_data, off, obs="pixels", steps=10))
    _drop_saved_field(off, "augment_pad")
    with pytest.raises(ValueError, match="different config.*augment_pad"):
        train_offline(offline_config(tworoom_data, off, obs="pixels", steps=20, augment_pad=4))
    train_offline(offline_config(tworoom_data, off, obs="pixels", steps=20))


# --- harness -------------------------------------------------------------------------
def test_every_baseline_kind_runs_in_the_harness(tworoom_data, tmp_path):
    """Each kind satisfies the Agent protocol and plays a protocol episode through
    the suite factory, from the checkpoint its spec names."""
    import wmplan.envs
    from wmplan.agents import AgentSpec, availability
    from wmplan.benchmarks.episode import run_episode
    from wmplan.benchmarks.suite import ProtocolConfig
    from wmplan.benchmarks.workers import build_agent

    for algo in ("gcbc", "gciql"):
        train_offline(
            offline_config(tworoom_data, tmp_path / f"{algo}-TwoRoom", algo=algo, steps=10)
        )
    for algo in ("sac", "ppo"):
        train_sb3(sb3_config(tmp_path / f"{algo}-TwoRoom", algo=algo, steps=64, ppo_n_steps=32))
    env = wmplan.envs.make(TASK, image_size=64)
    try:
        for algo in ("sac", "ppo", "gcbc", "gciql"):
            spec = AgentSpec(algo, algo, checkpoint=str(tmp_path / f"{algo}-{{task}}"))
            assert availability(spec, TASK) is None
            agent = build_agent(spec, TASK, env, seed=0)
            assert isinstance(agent, Agent)
            metrics, _ = run_episode(env, agent, ProtocolConfig(budget=5), 1, False, False)
            assert metrics["steps"] >= 1
            missing = AgentSpec(algo, algo, checkpoint=str(tmp_path / "none-{task}"))
            assert f"wmplan baseline train {algo}" in availability(missing, TASK)
        wrong = AgentSpec("sac", "sac", checkpoint=str(tmp_path / "ppo-{task}"))
        with pytest.raises(ValueError, match="holds a ppo policy"):
            build_agent(wrong, TASK, env, seed=0)
    finally:
        env.close()


# --- command line ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv,message",
    [
        (["gcbc", "--task", TASK, "--out", "{tmp}/r"], "--data"),
        (["sac", "--task", TASK, "--out", "{tmp}/r", "--data", "x.h5"], "--data is for gcbc"),
        (["gcbc", "--task", TASK, "--out", "{tmp}/r", "--data", "{tmp}/missing.h5"], "missing.h5"),
        (["sac", "--task", TASK, "--out", "{tmp}/r", "--option", "bogus=1"], "bogus"),
        (["ppo", "--task", TASK, "--out", "{tmp}/r", "--her"], "her"),
        (["sac", "--task", TASK, "--out", "{tmp}/r", "--action-repeat", "2"], "action_repeat"),
        (
            ["gcbc", "--task", TASK, "--out", "{tmp}/r", "--data", "x.h5", "--action-repeat", "2"],
            "--action-repeat is for sac/ppo",
        ),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-m", "wmplan.benchmarks.cli", "baseline", "train", *argv],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
