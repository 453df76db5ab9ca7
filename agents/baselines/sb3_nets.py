"""SB3 feature extractors and policies for the pixel SAC/PPO baselines (imported only with
the ``sb3`` extra)."""

from __future__ import annotations

import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, NatureCNN
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.sac.policies import CnnPolicy


class ChannelsLastNatureCNN(NatureCNN):
    """SB3's ``NatureCNN`` (the ``CnnPolicy`` default) run in channels-last memory format.

    Same layers, parameters and outputs as ``NatureCNN`` (a state dict of one loads
    into the other): ``[B, C, H, W] -> [B, features_dim]``. oneDNN's CPU convolutions
    are faster forward + backward in this format (``benchmarks/perf/sb3_update.py``).
    The conv weights switch format at the first forward, after SB3's (orthogonal)
    initialisation, which needs them contiguous.
    """

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        first = self.cnn[0].weight
        if not first.is_contiguous(memory_format=torch.channels_last):
            self.cnn.to(memory_format=torch.channels_last)
        x = observations.contiguous(memory_format=torch.channels_last)
        return self.linear(self.cnn(x))


class DetachedFeatures(BaseFeaturesExtractor):
    """Another module's features with the gradient stopped: ``[B, C, H, W] -> [B, F]``.

    The source is held outside ``nn.Module``'s registry, so the holder's parameters,
    optimizer and state dict do not include it (it is saved once, where it lives).
    """

    def __init__(self, source: BaseFeaturesExtractor):
        super().__init__(source._observation_space, source.features_dim)
        self._source = (source,)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self._source[0](observations)


class CriticEncoderCnnPolicy(CnnPolicy):
    """SAC ``CnnPolicy`` whose actor reads the critic's CNN with the gradient stopped.

    SB3's default gives the actor a CNN of its own, trained by the actor loss alone;
    SAC-AE, CURL, DrQ and DrQ-v2 instead train one encoder with the critic (TD) loss
    and stop the actor's gradient at its features. Same parameters otherwise; the
    state dict holds the critic's CNN once (``actor.features_extractor`` has none).
    """

    def _build(self, lr_schedule: Schedule) -> None:
        self.critic = self.make_critic(features_extractor=None)
        self.actor = self.make_actor(DetachedFeatures(self.critic.features_extractor))
        self.actor.optimizer = self.optimizer_class(
            self.actor.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )
        self.critic_target = self.make_critic(features_extractor=None)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic.optimizer = self.optimizer_class(
            self.critic.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )
        self.critic_target.set_training_mode(False)


class _RandomShift:
    """DrQ's augmentation at replay time: each sampled observation and next observation
    ``[B, C, H, W]`` uint8 padded by ``augment_pad`` edge pixels and cropped back at a
    random offset (all channels of one image alike: its stacked frames and goal image;
    the observation and next observation independently, as DrQ). Offsets come from
    NumPy's global generator, which SB3 samples the batch indices from and wmplan's
    checkpoints restore, so a resumed run draws what an unbroken one would."""

    augment_pad: int

    def _get_samples(self, batch_inds, env=None):  # noqa: ANN001, ANN202 (SB3's signature)
        samples = super()._get_samples(batch_inds, env)  # type: ignore[misc]
        return samples._replace(
            observations=self._shift(samples.observations),
            next_observations=self._shift(samples.next_observations),
        )

    def _shift(self, images: torch.Tensor) -> torch.Tensor:
        from wmplan.agents.baselines.nets import random_shift

        rng = np.random.default_rng(np.random.randint(2**31))
        channels_last = images.numpy().transpose(0, 2, 3, 1)  # [B, H, W, C]
        shifted = random_shift(channels_last, self.augment_pad, rng)
        return torch.from_numpy(np.ascontiguousarray(shifted.transpose(0, 3, 1, 2)))


def shifted_buffer_class(n_step: int) -> type:
    """SB3's ``ReplayBuffer`` (``n_step`` 1) or ``NStepReplayBuffer`` with DrQ's random
    shift on every sampled batch; construct it with ``augment_pad=P`` in its kwargs."""
    from stable_baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer

    base = ReplayBuffer if n_step == 1 else NStepReplayBuffer

    class ShiftedReplayBuffer(_RandomShift, base):  # type: ignore[valid-type, misc]
        def __init__(self, *args, augment_pad: int, **kwargs):  # noqa: ANN002, ANN003
            super().__init__(*args, **kwargs)
            self.augment_pad = augment_pad

    return ShiftedReplayBuffer
