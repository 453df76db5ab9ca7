"""Prediction and anti-collapse losses for JEPA world models.

All take latents ``z[B, T, D]`` from the encoder; the prediction losses also
take the predictor's outputs. SIGReg lives in ``sigreg.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from wmplan.worldmodel.configs import from_dict as config_from_dict


def teacher_forced_mse(z_pred: Tensor, z: Tensor) -> Tensor:
    """MSE of next-latent predictions: ``z_pred[B, T, D]`` (output t predicts t+1) vs ``z``.

    Uses predictions 0..T-2 against targets 1..T-1.
    """
    return F.mse_loss(z_pred[:, :-1], z[:, 1:])


def open_loop_mse(z_roll: Tensor, z: Tensor, history: int) -> Tensor:
    """MSE of an open-loop rollout ``z_roll[B, T-history, D]`` started from ``z[:, :history]``.

    ``z_roll[:, i]`` is the prediction of ``z[:, history + i]``.
    """
    return F.mse_loss(z_roll, z[:, history:])


def vicreg_variance(z: Tensor, target_std: float = 1.0, eps: float = 1e-4) -> Tensor:
    """VICReg variance term: hinge on the per-dimension std of ``z[n, D]`` below ``target_std``."""
    std = torch.sqrt(z.var(dim=0) + eps)
    return F.relu(target_std - std).mean()


def vicreg_covariance(z: Tensor) -> Tensor:
    """VICReg covariance term: squared off-diagonal covariance of ``z[n, D]``, divided by D."""
    n, d = z.shape
    zc = z - z.mean(dim=0)
    cov = (zc.T @ zc) / max(n - 1, 1)
    off = cov - torch.diag(torch.diagonal(cov))
    return off.square().sum() / d


ANTI_COLLAPSE = ("sigreg", "vicreg", "none")
# Fields older wmplan versions wrote and this one ignores: the reward head's weight.
RETIRED_FIELDS = ("reward_weight",)


@dataclass(frozen=True)
class LossConfig:
    """Weights of the training losses (prediction MSE always has weight 1)."""

    open_loop_weight: float = 1.0  # multi-step open-loop MSE over the rest of the window
    anti_collapse: str = "sigreg"  # "sigreg", "vicreg" or "none"
    sigreg_weight: float = 0.1
    sigreg_directions: int = 1024
    sigreg_knots: int = 17
    vicreg_var_weight: float = 1.0
    vicreg_cov_weight: float = 0.04
    recon_weight: float = 1.0  # auxiliary decoder's pixel MSE (models with aux_decoder)
    # Models with ``state_aux``: the state head's MSE on the encoder's latents, and on the
    # predictor's (teacher-forced and open-loop) outputs against the states they predict.
    state_aux_weight: float = 1.0
    state_aux_pred_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.anti_collapse not in ANTI_COLLAPSE:
            raise ValueError(
                f"anti_collapse must be one of {ANTI_COLLAPSE}, got {self.anti_collapse!r}"
            )
        for name in ("open_loop_weight", "sigreg_weight", "vicreg_var_weight",
                     "vicreg_cov_weight", "recon_weight", "state_aux_weight",
                     "state_aux_pred_weight"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.sigreg_directions < 1:
            raise ValueError(f"sigreg_directions must be >= 1, got {self.sigreg_directions}")
        if self.sigreg_knots < 2:
            raise ValueError(f"sigreg_knots must be >= 2, got {self.sigreg_knots}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LossConfig:
        """``LossConfig(**d)`` with unknown fields named; retired fields are dropped."""
        if isinstance(d, dict):
            d = {k: v for k, v in d.items() if k not in RETIRED_FIELDS}
        return config_from_dict(cls, d, "loss")
