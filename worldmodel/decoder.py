"""Pixel decoder: latent ``[..., D]`` -> image ``[N, 3, S, S]`` (transposed convs).

Used by the pixel-reconstruction baseline (``recon.py``) and, lighter, as the JEPA's
optional auxiliary decoder (``ModelConfig.aux_decoder``): a reconstruction term that
makes the encoder keep what the prediction loss lets it drop (Push: the block's yaw).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F


class Decoder(nn.Module):
    """Latent ``[..., D]`` -> image ``[N, 3, S, S]`` in [-1, 1] (tanh), by transposed convs.

    Mirror of the CNN encoder: a linear layer to an (S/2^L)-sided map, then L
    stride-2 upsampling layers.
    """

    def __init__(self, latent_dim: int, image_size: int, channels=(128, 128, 64, 32)):
        super().__init__()
        n_up = len(channels)
        if image_size % (2**n_up):
            raise ValueError(f"image_size {image_size} must be divisible by {2**n_up}")
        self.side = image_size // 2**n_up
        self.c0 = channels[0]
        self.fc = nn.Linear(latent_dim, channels[0] * self.side * self.side)
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels, list(channels[1:]) + [3], strict=True):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        layers[-1] = nn.Tanh()
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        x = self.fc(z.reshape(-1, z.shape[-1])).view(-1, self.c0, self.side, self.side)
        return self.net(F.relu(x))
