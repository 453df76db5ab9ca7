"""Test problems with known optima for the planners: a shifted quadratic and a
finite-horizon discrete LQR on a double integrator (Riccati gives the optimum)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def quadratic_cost(target: torch.Tensor, weight: torch.Tensor | None = None):
    """``cost(actions[B, N, H, A]) = sum w * (actions - target)**2`` with ``target``
    ``[H, A]`` or per environment ``[B, H, A]``."""

    def cost(actions: torch.Tensor) -> torch.Tensor:
        t = target if target.dim() == 3 else target[None]
        d = (actions - t[:, None]) ** 2
        if weight is not None:
            d = d * weight
        return d.sum((-1, -2))

    return cost


@dataclass
class LQR:
    """Two decoupled double integrators (x = [p1, v1, p2, v2], u = [a1, a2]),
    dt = 0.1, stage cost x'Qx + u'Ru, terminal x'Qf x, horizon H, from ``x0``."""

    horizon: int = 10
    dt: float = 0.1

    def __post_init__(self) -> None:
        dt, f64 = self.dt, torch.float64
        a1 = torch.tensor([[1.0, dt], [0.0, 1.0]], dtype=f64)
        b1 = torch.tensor([[0.5 * dt * dt], [dt]], dtype=f64)
        self.A, self.B = torch.block_diag(a1, a1), torch.block_diag(b1, b1)
        self.Q = torch.diag(torch.tensor([1.0, 0.1, 1.0, 0.1], dtype=f64))
        self.R = 0.1 * torch.eye(2, dtype=f64)
        self.Qf = 10.0 * torch.eye(4, dtype=f64)
        self.x0 = torch.tensor([1.0, 0.0, -1.0, 0.5], dtype=f64)

    def riccati(self) -> tuple[float, torch.Tensor]:
        """Optimal cost x0' P0 x0 and controls ``[H, 2]`` (backward Riccati recursion)."""
        p, gains = self.Qf, []
        for _ in range(self.horizon):
            k = torch.linalg.solve(self.R + self.B.T @ p @ self.B, self.B.T @ p @ self.A)
            p = self.Q + self.A.T @ p @ (self.A - self.B @ k)
            gains.append(k)
        x, controls = self.x0, []
        for k in reversed(gains):
            u = -k @ x
            controls.append(u)
            x = self.A @ x + self.B @ u
        return float(self.x0 @ p @ self.x0), torch.stack(controls)

    def cost(self, u: torch.Tensor) -> torch.Tensor:
        """Total cost of controls ``u[B, N, H, 2]`` -> ``[B, N]`` (differentiable)."""
        u = u.to(torch.float64)
        x = self.x0.expand(*u.shape[:2], 4)
        total = torch.zeros(u.shape[:2], dtype=torch.float64)
        for t in range(self.horizon):
            ut = u[..., t, :]
            total = total + ((x @ self.Q) * x).sum(-1) + ((ut @ self.R) * ut).sum(-1)
            x = x @ self.A.T + ut @ self.B.T
        return total + ((x @ self.Qf) * x).sum(-1)


def seeded(seed: int, batch: int | None = None):
    """One generator (``batch=None``) or one per environment, seeded from ``seed``."""
    if batch is None:
        return torch.Generator().manual_seed(seed)
    return [torch.Generator().manual_seed(seed * 1000 + b) for b in range(batch)]
