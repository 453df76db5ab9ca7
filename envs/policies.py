"""Data-collection policies for wmplan tasks.

A policy follows the ``Policy`` protocol: ``reset(env)`` at the start of an
episode, ``act(env) -> float32 [A]`` in [-1, 1] each step, where ``env`` is the
unwrapped task (a policy may read privileged state from it). Every policy draws
from the ``numpy.random.Generator`` it is given, so an episode is reproducible
from its seed.

- ``random``: i.i.d. uniform actions in [-1, 1].
- ``ou``: Ornstein-Uhlenbeck (AR(1)) noise; smooth, mean-reverting, stationary
  std ``scale``.
- ``colored``: Gaussian noise with power spectrum 1/f^beta (beta 0 white, 1 pink,
  2 red), std ``scale``.
- ``expert``: the task's scripted expert with Gaussian action noise ``noise``,
  interrupted by colored-noise segments for a fraction ``mix`` of the steps.

Correlated noise covers far more of the state space than white noise (a 2-link
arm driven by white noise barely leaves its start), and the expert mixture puts
data where goals are reached; a world model can only plan where its data went.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wmplan.envs.base import Policy

POLICY_NAMES = ("random", "ou", "colored", "expert")


@dataclass(frozen=True)
class PolicyConfig:
    """Which collection policy to play, and its parameters (all JSON-able).

    ``noise`` and ``mix`` are used by ``expert``; ``beta`` by ``colored`` and by
    the noise segments of ``expert``; ``theta`` by ``ou``; ``scale`` (stationary
    standard deviation before clipping to [-1, 1]) by ``ou``, ``colored`` and the
    noise segments of ``expert``.
    """

    name: str = "expert"
    noise: float = 0.1
    mix: float = 0.5
    segment: int = 15
    beta: float = 1.0
    theta: float = 0.15
    scale: float = 0.6

    def __post_init__(self) -> None:
        if self.name not in POLICY_NAMES:
            raise ValueError(f"name must be one of {list(POLICY_NAMES)}, got {self.name!r}")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            raise ValueError(f"noise must be a finite float >= 0, got {self.noise}")
        if not 0.0 <= self.mix <= 1.0:
            raise ValueError(f"mix must be in [0, 1], got {self.mix}")
        if not (isinstance(self.segment, int) and self.segment >= 1):
            raise ValueError(f"segment must be an int >= 1, got {self.segment!r}")
        if not (math.isfinite(self.beta) and 0.0 <= self.beta <= 4.0):
            raise ValueError(f"beta must be in [0, 4], got {self.beta}")
        if not 0.0 < self.theta <= 1.0:
            raise ValueError(f"theta must be in (0, 1], got {self.theta}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be a finite float > 0, got {self.scale}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-able dict (``PolicyConfig(**d)`` round-trips)."""
        return asdict(self)


def _action_dim(env: Any) -> int:
    shape = env.action_space.shape
    if len(shape) != 1:
        raise ValueError(f"collection policies need a 1-D action space, got shape {shape}")
    return int(shape[0])


class UniformPolicy:
    """I.i.d. uniform actions in [-1, 1]^A."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._dim = 0

    def reset(self, env: Any) -> None:
        self._dim = _action_dim(env)

    def act(self, env: Any) -> np.ndarray:
        del env
        return self.rng.uniform(-1.0, 1.0, self._dim).astype(np.float32)


class OUNoisePolicy:
    """Ornstein-Uhlenbeck noise, discretised as AR(1): ``x' = (1 - theta) x + sigma eps``.

    ``sigma`` is chosen so the stationary std is ``scale``; the episode starts from
    the stationary distribution. Actions are ``clip(x, -1, 1)``.
    """

    def __init__(self, rng: np.random.Generator, theta: float = 0.15, scale: float = 0.6):
        if not 0.0 < theta <= 1.0:
            raise ValueError(f"theta must be in (0, 1], got {theta}")
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.rng, self.theta, self.scale = rng, float(theta), float(scale)
        self.sigma = self.scale * math.sqrt(2 * self.theta - self.theta**2)
        self._x = np.zeros(0)

    def reset(self, env: Any) -> None:
        self._x = self.scale * self.rng.standard_normal(_action_dim(env))

    def act(self, env: Any) -> np.ndarray:
        del env
        action = np.clip(self._x, -1.0, 1.0).astype(np.float32)
        noise = self.rng.standard_normal(self._x.shape)
        self._x = (1.0 - self.theta) * self._x + self.sigma * noise
        return action


def powerlaw_noise(beta: float, dim: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with power spectral density ~ 1/f^beta, unit variance.

    Returns float64 ``[length, dim]`` (each column an independent sequence).
    Method of Timmer & Koenig (1995): random Fourier amplitudes scaled by
    f^(-beta/2), inverse real FFT, normalised by the theoretical std.
    """
    if length < 2:
        raise ValueError(f"length must be >= 2, got {length}")
    f = np.fft.rfftfreq(length)
    f[0] = 1.0 / length  # lowest frequency resolvable in the sequence
    amp = f ** (-beta / 2.0)
    w = amp[1:].copy()
    w[-1] *= (1 + (length % 2)) / 2.0
    sigma = 2.0 * np.sqrt(np.sum(w**2)) / length
    real = rng.standard_normal((dim, f.size)) * amp
    imag = rng.standard_normal((dim, f.size)) * amp
    if length % 2 == 0:
        imag[:, -1] = 0.0
        real[:, -1] *= np.sqrt(2.0)
    imag[:, 0] = 0.0
    real[:, 0] *= np.sqrt(2.0)
    y = np.fft.irfft(real + 1j * imag, n=length, axis=-1) / sigma
    return y.T


class ColoredNoisePolicy:
    """Colored (1/f^beta) Gaussian noise with std ``scale``, clipped to [-1, 1].

    Sequences are drawn ``length`` steps at a time; a longer episode draws a new
    sequence when one runs out.
    """

    def __init__(
        self, rng: np.random.Generator, beta: float = 1.0, scale: float = 0.6, length: int = 256
    ):
        if not 0.0 <= beta <= 4.0:
            raise ValueError(f"beta must be in [0, 4], got {beta}")
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        if length < 2:
            raise ValueError(f"length must be >= 2, got {length}")
        self.rng, self.beta, self.scale, self.length = rng, float(beta), float(scale), int(length)
        self._seq = np.zeros((0, 0))
        self._t = 0
        self._dim = 0

    def reset(self, env: Any) -> None:
        self._dim = _action_dim(env)
        self._seq = self._draw()
        self._t = 0

    def _draw(self) -> np.ndarray:
        return self.scale * powerlaw_noise(self.beta, self._dim, self.length, self.rng)

    def act(self, env: Any) -> np.ndarray:
        del env
        if self._t >= len(self._seq):
            self._seq, self._t = self._draw(), 0
        action = self._seq[self._t]
        self._t += 1
        return np.clip(action, -1.0, 1.0).astype(np.float32)


class ExpertMixturePolicy:
    """The task's scripted expert, interrupted by colored-noise segments.

    A two-state Markov chain switches between expert and noise: noise segments
    last ``segment`` steps on average and take a fraction ``mix`` of all steps
    (``mix=0``: pure noisy expert; ``mix=1``: pure colored noise). The expert is
    ``env.expert(rng, noise)`` and reads the current state, so it resumes sensibly
    after a noise segment.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        noise: float = 0.1,
        mix: float = 0.5,
        segment: int = 15,
        beta: float = 1.0,
        scale: float = 0.6,
    ):
        if not 0.0 <= mix <= 1.0:
            raise ValueError(f"mix must be in [0, 1], got {mix}")
        if segment < 1:
            raise ValueError(f"segment must be >= 1, got {segment}")
        self.rng, self.noise, self.mix, self.segment = rng, float(noise), float(mix), int(segment)
        self._colored = ColoredNoisePolicy(rng, beta=beta, scale=scale)
        # Mean expert segment length so that noise takes a fraction `mix` of the steps.
        self._p_leave_noise = 1.0 / self.segment
        if 0.0 < self.mix < 1.0:
            self._p_leave_expert = 1.0 / (self.segment * (1.0 - self.mix) / self.mix)
        else:
            self._p_leave_expert = 0.0
        self._expert: Policy | None = None
        self._in_noise = False

    def reset(self, env: Any) -> None:
        if not hasattr(env, "expert"):
            raise ValueError(
                f"policy 'expert' needs a task with a scripted expert; {type(env).__name__} "
                "has no expert(rng, noise)"
            )
        self._expert = env.expert(self.rng, self.noise)
        self._expert.reset(env)
        self._colored.reset(env)
        # Start in the stationary distribution of the chain.
        self._in_noise = self.mix >= 1.0 or (self.mix > 0.0 and self.rng.random() < self.mix)

    def act(self, env: Any) -> np.ndarray:
        assert self._expert is not None, "reset(env) must be called before act(env)"
        if self.mix >= 1.0:
            return self._colored.act(env)
        # The expert runs every step (its internal clock and targets keep advancing)
        # so that the random stream consumed does not depend on the mode.
        expert_action = np.asarray(self._expert.act(env), dtype=np.float32)
        noise_action = self._colored.act(env)
        action = noise_action if self._in_noise else expert_action
        leave = self._p_leave_noise if self._in_noise else self._p_leave_expert
        if self.rng.random() < leave:
            self._in_noise = not self._in_noise
        return np.clip(action, -1.0, 1.0).astype(np.float32)


def make_policy(config: PolicyConfig, rng: np.random.Generator) -> Policy:
    """Build the policy named by ``config``, drawing all randomness from ``rng``."""
    if config.name == "random":
        return UniformPolicy(rng)
    if config.name == "ou":
        return OUNoisePolicy(rng, theta=config.theta, scale=config.scale)
    if config.name == "colored":
        return ColoredNoisePolicy(rng, beta=config.beta, scale=config.scale)
    return ExpertMixturePolicy(
        rng,
        noise=config.noise,
        mix=config.mix,
        segment=config.segment,
        beta=config.beta,
        scale=config.scale,
    )
