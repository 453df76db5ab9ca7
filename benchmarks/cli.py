"""wmplan command line: the one place that wires envs, world models, planners,
agents and the benchmark harness together.

Each area registers its subcommands in its own ``_add_<area>`` function; heavy
imports happen inside the command functions so ``wmplan envs list`` stays fast.
"""

from __future__ import annotations

import argparse
import sys


# --- envs --------------------------------------------------------------------
def _add_envs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list and show tasks")
    envs_sub = p.add_subparsers(dest="envs_cmd", required=True)
    ls = envs_sub.add_parser("list", help="list registered tasks")
    ls.set_defaults(func=_cmd_envs_list)
    show = envs_sub.add_parser("show", help="contact sheet + random-episode GIF of a task")
    show.add_argument("task_id")
    show.add_argument("--out", required=True, help="output directory")
    show.add_argument("--image-size", type=int, default=64)
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--steps", type=int, default=50)
    show.set_defaults(func=_cmd_envs_show)


def _cmd_envs_list(args: argparse.Namespace) -> int:
    from wmplan.envs.catalog import format_task_table

    print(format_task_table())
    return 0


def _cmd_envs_show(args: argparse.Namespace) -> int:
    from wmplan.envs.catalog import show_task

    paths = show_task(
        args.task_id, args.out, image_size=args.image_size, seed=args.seed, steps=args.steps
    )
    for path in paths:
        print(path)
    return 0


# --- end of area functions ---------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wmplan",
        description="Planning with learned world models on simulated robot tasks.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _AREAS:
        add(sub)
    return parser


_AREAS = [_add_envs]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        # Bad input: one clear line naming what is wrong, not a traceback.
        print(f"wmplan {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
