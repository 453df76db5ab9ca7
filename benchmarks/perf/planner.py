"""Planner throughput over a TD-MPC2-style latent dynamics MLP. Prints figures,
asserts nothing.

Model: latent 256, two hidden layers of 512 (Linear + LayerNorm + Mish each),
output Linear to 256; action dim 6; cost = squared latent distance to a goal
summed over the horizon.

(a) Efficiency: for CEM and MPPI (horizon 5, 512 samples, 6 iterations, 64
    elites; B = 1 and 8), the effective FLOP/s of the model's linear layers
    during planning divided by the fp32 matmul FLOP/s of the same GEMM shapes
    timed alone in the same run (target >= 0.8). Shown for a straightforward
    rollout (``torch.cat`` + ``nn.Sequential`` per step) and for a fused one
    written here to show what the planner reaches once the model's overhead is
    gone (wmplan's JEPA predictor is a transformer with its own KV-cached
    rollout, not this MLP): first Linear split into latent and action parts, the action
    part of all steps in one GEMM, preallocated buffers, in-place LayerNorm and
    Mish via their ``out=`` kernels).
(b) Against stable-worldmodel's ``CEMSolver`` (300 samples, 30 iterations,
    top-30, horizon 5, var_scale 1; B = 1 and 8), both scoring candidates with
    the same model: plan-time ratio and final cost. Runs only where
    ``stable_worldmodel`` imports (``bash benchmarks/perf/compare_venv.sh``, then
    ``.venv-compare/bin/python benchmarks/perf/planner.py``).

Run: ``python benchmarks/perf/planner.py [--repeats 5] [--part a|b|all]``.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wmplan.planners import make_planner

LATENT, HIDDEN, ACTION, HORIZON = 256, 512, 6, 5
CHUNK = 512  # rows per chunk of FusedCost (--chunk)


def make_dynamics(seed: int = 0) -> nn.Sequential:
    """TD-MPC2's dynamics MLP shape: [z, a] -> 512 -> 512 -> z."""
    torch.manual_seed(seed)  # a benchmark script, not library code
    return nn.Sequential(
        nn.Linear(LATENT + ACTION, HIDDEN), nn.LayerNorm(HIDDEN), nn.Mish(),
        nn.Linear(HIDDEN, HIDDEN), nn.LayerNorm(HIDDEN), nn.Mish(),
        nn.Linear(HIDDEN, LATENT),
    ).eval().requires_grad_(False)  # fmt: skip


def linear_flops(rows: int, horizon: int = HORIZON) -> float:
    """FLOPs of the model's linear layers for ``rows`` rollouts of ``horizon`` steps."""
    macs = (LATENT + ACTION) * HIDDEN + HIDDEN * HIDDEN + HIDDEN * LATENT
    return 2.0 * macs * rows * horizon


_ONE = torch.tensor(1.0)


def mish_(x: Tensor, scratch: Tensor) -> Tensor:
    """Mish in place in four elementwise passes, one of them transcendental.

    ``mish(x) = x tanh(softplus(x)) = x - 2x / ((1 + e^x)^2 + 1)``. ATen's kernel
    evaluates exp, log1p and tanh per element and costs ~4x this on AVX2 CPUs.
    Large x overflow e^x to inf and give x exactly; error vs ``F.mish`` < 2e-6.
    """
    torch.exp(x, out=scratch)
    scratch.add_(1.0)
    torch.addcmul(_ONE, scratch, scratch, out=scratch)
    return torch.addcdiv(x, x, scratch, value=-2.0, out=x)


class NaiveCost:
    """Straightforward rollout: concatenate, run the Sequential, per step."""

    def __init__(self, model: nn.Sequential, z0: Tensor, goal: Tensor):
        self.model, self.z0, self.goal = model, z0, goal  # z0, goal: [B, D]

    def __call__(self, actions: Tensor) -> Tensor:
        """``actions[B, N, H, A]`` -> ``costs[B, N]``."""
        b, n, h, _ = actions.shape
        z = self.z0[:, None].expand(b, n, LATENT)
        cost = torch.zeros(b, n)
        for t in range(h):
            z = self.model(torch.cat([z, actions[:, :, t]], dim=-1))
            cost = cost + ((z - self.goal[:, None]) ** 2).sum(-1)
        return cost


class FusedCost:
    """The same rollout and cost with the overhead taken out.

    - rows (candidates) go through all H steps in chunks of ``chunk`` rows, so
      the elementwise work (LayerNorm, Mish, cost) runs on activations still in
      cache; the GEMMs are as fast at 256 rows as at 4096;
    - the first Linear's weight is split into its latent and action columns, so
      no concatenation; the action part of all H steps is one GEMM up front;
    - Linear outputs go to buffers allocated once (``addmm(out=)``);
    - Mish as ``x - 2x / ((1 + e^x)^2 + 1)`` in place (``mish_``): one exp
      instead of exp + log1p + tanh, the largest single saving;
    - the cost ``||z - g||^2`` is accumulated as ``||z||^2 - 2 z.g`` (+ const.).
    """

    def __init__(self, model: nn.Sequential, z0: Tensor, goal: Tensor, chunk: int | None = None):
        l1, n1, _, l2, n2, _, l3 = model
        w1 = l1.weight  # [HIDDEN, LATENT + ACTION]
        self.w1z = w1[:, :LATENT].t().contiguous()  # [D, 512]
        self.w1a = w1[:, LATENT:].t().contiguous()  # [A, 512]
        self.b1, self.w2, self.b2 = l1.bias, l2.weight.t().contiguous(), l2.bias
        self.w3, self.b3 = l3.weight.t().contiguous(), l3.bias
        self.n1, self.n2 = (n1.weight, n1.bias, n1.eps), (n2.weight, n2.bias, n2.eps)
        self.z0, self.goal, self.chunk = z0, goal, chunk or CHUNK
        self._shape: tuple[int, ...] | None = None

    def _buffers(self, b: int, n: int, h: int) -> None:
        if self._shape == (b, n, h):
            return
        m, c = b * n, min(self.chunk, b * n)
        self._shape = (b, n, h)
        self.act = torch.empty(h, m, HIDDEN)  # action part of layer 1 (+ bias), per step
        self.h, self.scratch = torch.empty(c, HIDDEN), torch.empty(c, HIDDEN)
        self.z = torch.empty(c, LATENT)
        self.z0_rows = self.z0[:, None].expand(b, n, LATENT).reshape(m, LATENT)
        self.goal_rows = self.goal[:, None].expand(b, n, LATENT).reshape(m, LATENT)
        self.zg = torch.empty(c)
        self.cost = torch.empty(m)
        self.gg = (self.goal_rows**2).sum(-1) * h  # [M]

    def _norm_mish(self, x: Tensor, norm: tuple) -> Tensor:
        # F.layer_norm allocates, yet beats native_layer_norm.out, which computes
        # into a temporary and copies.
        return mish_(F.layer_norm(x, (HIDDEN,), *norm), self.scratch[: len(x)])

    def __call__(self, actions: Tensor) -> Tensor:
        """``actions[B, N, H, A]`` -> ``costs[B, N]``."""
        b, n, h, a = actions.shape
        self._buffers(b, n, h)
        m = b * n
        steps = actions.permute(2, 0, 1, 3).reshape(h * m, a)
        torch.addmm(self.b1, steps, self.w1a, out=self.act.view(h * m, HIDDEN))
        self.cost.copy_(self.gg)
        for r0 in range(0, m, self.chunk):
            r1 = min(r0 + self.chunk, m)
            z, hid, zg, cost = (
                self.z[: r1 - r0],
                self.h[: r1 - r0],
                self.zg[: r1 - r0],
                self.cost[r0:r1],
            )
            goal = self.goal_rows[r0:r1]
            z.copy_(self.z0_rows[r0:r1])
            for t in range(h):
                torch.addmm(self.act[t, r0:r1], z, self.w1z, out=hid)
                x = self._norm_mish(hid, self.n1)
                torch.addmm(self.b2, x, self.w2, out=hid)
                x = self._norm_mish(hid, self.n2)
                torch.addmm(self.b3, x, self.w3, out=z)
                # ||z - g||^2 = ||z||^2 - 2 z.g + ||g||^2 (the last term is in gg)
                cost.add_(torch.linalg.vecdot(z, z))
                torch.linalg.vecdot(z, goal, out=zg)
                cost.add_(zg, alpha=-2.0)
        return self.cost.view(b, n)


CLOCK = time.perf_counter  # --clock cpu: time.process_time (ignores time descheduled)


def best_of(fn, repeats: int) -> float:
    """Least time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
    return min(times)


def gemm_flops_per_s(rows: int, repeats: int) -> float:
    """fp32 FLOP/s of the model's three GEMM shapes (rows x 262 x 512, rows x 512 x
    512, rows x 512 x 256), timed alone, one step's worth per call."""
    x1, w1 = torch.randn(rows, LATENT + ACTION), torch.randn(LATENT + ACTION, HIDDEN)
    x2, w2 = torch.randn(rows, HIDDEN), torch.randn(HIDDEN, HIDDEN)
    w3 = torch.randn(HIDDEN, LATENT)
    o1, o2, o3 = torch.empty(rows, HIDDEN), torch.empty(rows, HIDDEN), torch.empty(rows, LATENT)

    def step() -> None:
        for _ in range(HORIZON):
            torch.mm(x1, w1, out=o1)
            torch.mm(x2, w2, out=o2)
            torch.mm(x2, w3, out=o3)

    return linear_flops(rows) / best_of(step, repeats * 4)


def part_a(repeats: int) -> None:
    print("(a) linear-layer FLOP/s while planning / GEMM-alone FLOP/s (target >= 0.8)")
    clock = "CPU time" if CLOCK is time.process_time else "wall time"
    print(f"    torch {torch.__version__}, {torch.get_num_threads()} threads, {clock}")
    model = make_dynamics()
    gen = torch.Generator().manual_seed(0)
    budget = {"num_samples": 512, "iterations": 6, "num_elites": 64}
    header = f"    {'planner':<6} {'B':>2} {'rollout':<8} {'plan ms':>8} {'GFLOP/s':>8} {'GEMM GFLOP/s':>13} {'ratio':>6}"
    print(header)
    for b in (1, 8):
        z0, goal = torch.randn(b, LATENT, generator=gen), torch.randn(b, LATENT, generator=gen)
        mean = torch.zeros(b, HORIZON, ACTION)
        naive, fused = NaiveCost(model, z0, goal), FusedCost(model, z0, goal)
        probe = torch.rand(b, 7, HORIZON, ACTION, generator=gen) * 2 - 1
        torch.testing.assert_close(fused(probe), naive(probe), rtol=1e-4, atol=1e-3)
        flops = linear_flops(b * budget["num_samples"]) * budget["iterations"]
        for name in ("cem", "mppi"):
            planner = make_planner(name, **budget)
            for label, cost in (("naive", naive), ("fused", fused)):
                # Interleave the reference so both see the same machine load.
                ref = gemm_flops_per_s(b * budget["num_samples"], repeats)
                seconds = best_of(
                    lambda p=planner, c=cost, m=mean: p(
                        c, m, -1.0, 1.0, torch.Generator().manual_seed(1)
                    ),
                    repeats,
                )
                ref = max(ref, gemm_flops_per_s(b * budget["num_samples"], repeats))
                eff = flops / seconds
                print(
                    f"    {name:<6} {b:>2} {label:<8} {seconds * 1e3:>8.1f} {eff / 1e9:>8.1f} "
                    f"{ref / 1e9:>13.1f} {eff / ref:>6.2f}"
                )


class SWMModel:
    """stable-worldmodel's ``Costable`` over one of our cost classes:
    ``get_cost(info_dict, candidates[b, N, H, A]) -> [b, N]`` for the b envs the
    solver is batching now (``info_dict["env"]`` names them)."""

    def __init__(self, cost_cls, model: nn.Sequential, z0: Tensor, goal: Tensor):
        self.cost_cls, self.model, self.z0, self.goal = cost_cls, model, z0, goal
        self._costs: dict[tuple[int, ...], object] = {}

    def get_cost(self, info_dict: dict, candidates: Tensor) -> Tensor:
        envs = tuple(info_dict["env"][:, 0].tolist())
        if envs not in self._costs:
            idx = list(envs)
            self._costs[envs] = self.cost_cls(self.model, self.z0[idx], self.goal[idx])
        return self._costs[envs](candidates)


def part_b(repeats: int) -> None:
    print("(b) wmplan CEM vs stable-worldmodel CEMSolver: 300 samples x 30 iterations, top-30,")
    print("    horizon 5, init std 1, zero initial mean; 'swm bs' = its batch_size (envs per")
    print("    solve batch; its default is 1); final cost = mean latent cost of the clipped plans")
    try:
        from stable_worldmodel.solver import CEMSolver
    except ImportError as exc:
        print(f"    skipped: stable_worldmodel does not import here ({exc}).")
        print("    Make the side venv with `bash benchmarks/perf/compare_venv.sh` (or")
        print(
            "    `make compare-venv`), then run `.venv-compare/bin/python benchmarks/perf/planner.py`."
        )
        return
    clock = "CPU time" if CLOCK is time.process_time else "wall time"
    print(f"    torch {torch.__version__}, {torch.get_num_threads()} threads, {clock}")
    model = make_dynamics()
    gen = torch.Generator().manual_seed(0)
    print(f"    {'B':>2} {'swm bs':>6} {'cost fn (swm / ours)':<20} {'swm s':>7} {'ours s':>7} "
          f"{'speed-up':>8} {'swm cost':>9} {'our cost':>9}")  # fmt: skip
    for b in (1, 8):
        z0, goal = torch.randn(b, LATENT, generator=gen), torch.randn(b, LATENT, generator=gen)
        rows = [(b, FusedCost, FusedCost), (b, NaiveCost, FusedCost)]
        if b > 1:
            rows += [(1, FusedCost, FusedCost), (1, NaiveCost, FusedCost)]
        for batch_size, swm_cls, our_cls in rows:
            swm = SWMModel(swm_cls, model, z0, goal)
            our_cost, judge = our_cls(model, z0, goal), NaiveCost(model, z0, goal)
            t_swm, t_ours, c_swm, c_ours = compare_cem(CEMSolver, b, batch_size, swm, our_cost,
                                                       judge, repeats)  # fmt: skip
            label = "same (fused)" if swm_cls is our_cls else "naive / fused"
            print(f"    {b:>2} {batch_size:>6} {label:<20} {t_swm:>7.2f} {t_ours:>7.2f} "
                  f"{t_swm / t_ours:>7.2f}x {c_swm:>9.1f} {c_ours:>9.1f}")  # fmt: skip


def compare_cem(solver_cls, b: int, batch_size: int, swm: SWMModel, our_cost, judge, repeats: int):
    """(swm seconds, our seconds, swm final cost, our final cost) for B=b envs:
    least plan time over ``repeats``; final cost of the plans (clipped to the box)
    by ``judge``, averaged over envs and runs."""
    import contextlib
    import io
    from types import SimpleNamespace

    import numpy as np
    from gymnasium.spaces import Box

    solver = solver_cls(swm, batch_size=batch_size, num_samples=300, var_scale=1.0,
                        n_steps=30, topk=30, device="cpu", seed=0)  # fmt: skip
    solver.configure(action_space=Box(-1.0, 1.0, (b, ACTION), np.float32), n_envs=b,
                     config=SimpleNamespace(horizon=HORIZON, action_block=1))  # fmt: skip
    ours = make_planner("cem", num_samples=300, iterations=30, num_elites=30)
    info = {"env": torch.arange(b)}
    plans: dict[str, list[Tensor]] = {"swm": [], "ours": []}

    def run_swm() -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its solve time
            plans["swm"].append(solver.solve(info)["actions"])

    def run_ours() -> None:
        gen = torch.Generator().manual_seed(len(plans["ours"]))
        plans["ours"].append(ours(our_cost, torch.zeros(b, HORIZON, ACTION), -1.0, 1.0, gen)[0])

    t_swm, t_ours = best_of(run_swm, repeats), best_of(run_ours, repeats)

    def final_cost(key: str) -> float:
        costs = [judge(p.clamp(-1, 1)[:, None]).mean() for p in plans[key]]
        return float(torch.stack(costs).mean())

    return t_swm, t_ours, final_cost("swm"), final_cost("ours")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--part", choices=["a", "b", "all"], default="all")
    parser.add_argument("--chunk", type=int, default=512, help="rows per fused-rollout chunk")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: process CPU time, steadier on a shared machine (use with --threads 1)",
    )
    args = parser.parse_args()
    global CLOCK, CHUNK
    CHUNK = args.chunk
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.clock == "cpu":
        CLOCK = time.process_time
    with torch.inference_mode():
        if args.part in ("a", "all"):
            part_a(args.repeats)
    if args.part in ("b", "all"):
        part_b(args.repeats)


if __name__ == "__main__":
    main()
