"""World-model training throughput and hardware efficiency, measured in one run.

Times full training steps (loss, backward, clip, AdamW) of the default JEPA
world model on in-memory windows, counts the FLOPs of one step with
``torch.utils.flop_counter`` (matmuls and convolutions, forward + backward),
and times a large fp32 matmul with the same thread count. Prints frames/s,
model FLOP/s, machine matmul FLOP/s and their ratio (issue 13 aims for >= 0.5;
the earlier target was 0.35).

Run: ``python benchmarks/perf/train.py [--threads 2] [--batch-size 64] [--steps 10]
[--compile]``.
Add ``--json`` for a machine-readable line.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from wmplan.worldmodel.base import ModelConfig
from wmplan.worldmodel.losses import LossConfig
from wmplan.worldmodel.model import build_model


def matmul_flops_per_s(n: int = 2048, repeats: int = 10) -> float:
    """Best-of sustained fp32 matmul FLOP/s on this machine at the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * n**3 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--window", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="timed steps (after 2 warm-up)")
    parser.add_argument("--encoder", default="cnn", choices=["cnn", "vit"])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the encoder and predictor, as `wmplan train --compile`",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    cfg = ModelConfig(encoder=args.encoder, image_size=args.image_size, action_dim=2,
                      feat_dim=512 if args.encoder == "cnn" else 192)  # fmt: skip
    loss_cfg = LossConfig()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=True)  # as worldmodel/train.py
    g = torch.Generator().manual_seed(0)
    b, t, s = args.batch_size, args.window, args.image_size
    frames = torch.randint(0, 256, (b, t, s, s, 3), dtype=torch.uint8, generator=g)
    actions = torch.rand(b, t, cfg.action_block_dim, generator=g) * 2 - 1

    def step() -> None:
        out = model.loss(frames, actions, loss_cfg, g)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    counter = FlopCounterMode(display=False)
    with counter:
        step()  # eager: the counter sees every op
    step_flops = counter.get_total_flops()
    if args.compile:  # as `wmplan train --compile`; the first compiled steps compile
        model.encoder.compile()
        model.predictor.compile()
        step()
    step()
    machine_before = matmul_flops_per_s()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    step_s = (time.perf_counter() - start) / args.steps
    machine = max(machine_before, matmul_flops_per_s())  # bracket the timed steps
    frames_per_s = b * t / step_s
    model_flops_per_s = step_flops / step_s
    result = {
        "encoder": args.encoder,
        "image_size": s,
        "threads": args.threads,
        "compile": args.compile,
        "batch": b,
        "window": t,
        "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
        "step_s": step_s,
        "frames_per_s": frames_per_s,
        "step_GFLOP": step_flops / 1e9,
        "model_GFLOP_per_s": model_flops_per_s / 1e9,
        "machine_matmul_GFLOP_per_s": machine / 1e9,
        "ratio": model_flops_per_s / machine,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.encoder} encoder at {s}px, {result['params_M']:.2f}M params, batch {b} x {t} "
          f"frames, {args.threads} threads{', compiled' if args.compile else ''}")  # fmt: skip
    print(f"step            {step_s * 1e3:8.0f} ms   ({frames_per_s:.0f} frames/s)")
    print(
        f"model           {step_flops / 1e9:8.2f} GFLOP/step  {model_flops_per_s / 1e9:.1f} GFLOP/s"
    )
    print(f"machine matmul  {machine / 1e9:8.1f} GFLOP/s (2048^2 fp32)")
    print(f"ratio           {result['ratio']:8.2f}   (target >= 0.5)")


if __name__ == "__main__":
    main()
