"""Flags and parser pieces every ``wmplan`` subcommand shares: one-line usage errors,
help that shows defaults and an example, ``--workers``, ``--progress``, ``--wandb``,
integer bounds and ``KEY=VALUE`` options."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any


class Parser(argparse.ArgumentParser):
    """Usage errors as one line (``wmplan plan: error: argument --seed: ...``), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.HelpFormatter):
    """Keeps the examples' line breaks and shows each flag's default when it has one."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS, [])
        if shown and "%(default)" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def add_parser(sub: argparse._SubParsersAction, name: str, example: str, **kwargs):
    """A subcommand parser with defaults in its help and ``example`` as its epilog."""
    return sub.add_parser(
        name, formatter_class=HelpFormatter, epilog=f"example:\n  {example}", **kwargs
    )


def at_least(low: int):
    """argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def add_planner_flags(p: argparse.ArgumentParser) -> None:
    """``--planner``, ``--planner-opt KEY=VALUE`` and ``--agent-opt KEY=VALUE`` (repeatable):
    an MPC agent's settings, read with ``parse_options`` (the names are checked by
    ``PlannerSpec``; importing ``wmplan.planners`` here would load torch for every command)."""
    p.add_argument("--planner", default="cem", help="cem, mppi, icem, gradient, random")
    p.add_argument(
        "--planner-opt", action="append", default=[], metavar="KEY=VALUE",
        help="planner setting, repeatable (e.g. num_samples=300 iterations=30)",
    )  # fmt: skip
    p.add_argument(
        "--agent-opt", action="append", default=[], metavar="KEY=VALUE",
        help="agent option, repeatable (wm: horizon=3, cost_metric=latent, ...)",
    )  # fmt: skip


def add_workers(p: argparse.ArgumentParser) -> None:
    """``--workers``: the same flag and default rule (one per CPU core) everywhere."""
    p.add_argument(
        "--workers", type=at_least(1), help="worker processes (default: one per CPU core)"
    )


def workers_of(args: argparse.Namespace) -> int:
    from wmplan.benchmarks.runner import default_workers

    return args.workers if args.workers is not None else default_workers()


def add_progress(p: argparse.ArgumentParser) -> None:
    """``--progress``: a bar on a terminal, a plain line every few seconds in a log."""
    p.add_argument(
        "--progress", choices=["auto", "bar", "lines", "none"], default="auto",
        help="progress output; auto: a bar on a terminal, a plain line every 10 s otherwise",
    )  # fmt: skip
    p.add_argument(
        "--quiet", dest="progress", action="store_const", const="none",
        help="no progress output (= --progress none)",
    )  # fmt: skip


def add_wandb(p: argparse.ArgumentParser) -> None:
    """``--wandb off|offline|online``: the same in every command (bare --wandb: offline)."""
    p.add_argument(
        "--wandb", nargs="?", const="offline", default="off",
        choices=["off", "offline", "online"],
        help="log to wandb; offline needs no network (sync later with `wandb sync`)",
    )  # fmt: skip


def parse_options(pairs: list[str]) -> dict:
    """``["num_samples=300", ...]`` -> ``{"num_samples": 300}`` (YAML scalars)."""
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"option must look like KEY=VALUE, got {pair!r}")
        options[key] = yaml.safe_load(value)
    return options


def default_of(cls: type, name: str) -> Any:
    """The default of dataclass ``cls``'s field ``name``: flags default to None and show
    this in their help, so the dataclass stays the one place a default is written."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def given(args: argparse.Namespace, **fields: str) -> dict[str, Any]:
    """``{field: args.<flag>}`` for the flags the user set (not None); ``fields`` maps a
    config field to its flag's attribute name."""
    return {k: getattr(args, a) for k, a in fields.items() if getattr(args, a) is not None}
