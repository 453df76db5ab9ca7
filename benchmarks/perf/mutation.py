"""Mutation score of the modules that make published numbers (a benchmark, not a test).

(~500 lines: the AST mutator, the target list and the forked runner are one tool.)

    nice -n 19 python benchmarks/perf/mutation.py [--modules stats,sigreg] [--out FILE]

Each mutant is one small deliberate bug in one module (a comparison, arithmetic
operator, constant off by one, boolean swapped, a statement deleted); it is
*killed* when the module's targeted tests fail (or time out) with it in place,
and *survives* when they pass. The score is killed / total per module and over
all of them.

Why a small AST mutator and not mutmut / cosmic-ray: the package maps
``wmplan.benchmarks`` to ``benchmarks/`` with setuptools ``package_dir`` and is
installed editable, so the import system finds the sources through the editable
finder, not a ``src/`` tree or ``sys.path`` entry that those tools rewrite or copy
(mutmut 3 runs tests against a ``mutants/`` copy the finder never looks at).
Here each mutant is compiled from the mutated AST in a forked child of a process
that has already imported the heavy libraries (torch, scipy, MuJoCo, matplotlib)
and is put in ``sys.modules`` before pytest imports the tests, so a mutant costs
a test run, not an interpreter start. Source files are never written.

Scope: ``TARGETS`` below lists each module, the tests that pin it, and the
functions left out (plot styling in ``report.py``: figure sizes and colours are
not numbers a user publishes; argument validation in ``planners/base.py`` is
covered by the planner contract tests but is not "update code").
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.machinery
import importlib.util
import json
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Target:
    """A module to mutate: its import name, source path, the tests that pin it (run
    in this order with ``-x``, fast and specific first) and functions left out."""

    module: str
    path: str
    tests: tuple[str, ...]
    skip_functions: tuple[str, ...] = ()
    only_functions: tuple[str, ...] = ()


PLANNER_TESTS = ("tests/planners",)
TARGETS = {
    "episode": Target(
        "wmplan.benchmarks.episode",
        "benchmarks/episode.py",
        # Not test_runner.py: its episodes run in spawned workers, which import the
        # unmutated module, so it costs minutes per mutant and can kill none.
        ("tests/benchmarks/test_protocol.py", "tests/benchmarks/test_agents.py"),
    ),  # fmt: skip
    "stats": Target(
        "wmplan.benchmarks.stats",
        "benchmarks/stats.py",
        (
            "tests/benchmarks/test_stats.py",
            "tests/benchmarks/test_stats_coverage.py",
            "tests/benchmarks/test_report_numbers.py",
            "tests/benchmarks/test_report.py",
        ),
    ),  # fmt: skip
    "report": Target(
        "wmplan.benchmarks.report",
        "benchmarks/report.py",
        (
            "tests/benchmarks/test_report_numbers.py",
            "tests/benchmarks/test_report.py",
            "tests/benchmarks/test_protocol_version.py",
            "tests/benchmarks/test_targets.py",
        ),
    ),  # fmt: skip
    "sigreg": Target(
        "wmplan.worldmodel.sigreg",
        "worldmodel/sigreg.py",
        ("tests/worldmodel/test_sigreg_reference.py", "tests/worldmodel/test_sigreg.py"),
    ),
    "mpc": Target(
        "wmplan.agents.mpc",
        "agents/mpc.py",
        ("tests/agents/test_mpc.py", "tests/agents/test_mpc_world_model.py"),
    ),
    # The world-model planning cost (which latent distance MPC minimises).
    "costs": Target(
        "wmplan.agents.costs",
        "agents/costs.py",
        ("tests/agents/test_costs.py",),
    ),
    # The planners' update code; their configs' validation is pinned by the
    # contract tests but makes no number.
    "cem": Target(
        "wmplan.planners.cem",
        "planners/cem.py",
        PLANNER_TESTS,
        only_functions=("plan",),
    ),
    "mppi": Target(
        "wmplan.planners.mppi", "planners/mppi.py", PLANNER_TESTS, only_functions=("weights",)
    ),
    "icem": Target(
        "wmplan.planners.icem",
        "planners/icem.py",
        PLANNER_TESTS,
        only_functions=("samples_at", "num_keep", "scores_mean_at", "noise", "colored_noise"),
    ),
    "planners-base": Target(
        "wmplan.planners.base",
        "planners/base.py",
        PLANNER_TESTS + ("tests/agents/test_mpc_world_model.py", "tests/agents/test_mpc.py"),
        only_functions=(
            "BestTracker",
            "refit",
            "sample",
            "blend_",
            "population_plan",
            "IterationLog",
            "split_generators",
            "draw",
            "shift",
            "clean_costs",
            "check_costs",
        ),
    ),  # fmt: skip
}

# --- operators ------------------------------------------------------------------
CMP_SWAP = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.In: ast.NotIn, ast.NotIn: ast.In,
}  # fmt: skip
BIN_SWAP = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
}  # fmt: skip
BOOL_SWAP = {ast.And: ast.Or, ast.Or: ast.And}
DELETABLE = (ast.Assign, ast.AugAssign, ast.Expr, ast.Return, ast.Raise, ast.If, ast.For)


@dataclass
class Mutant:
    """Mutation ``index`` of a module: where (line, function) and what."""

    index: int
    line: int
    function: str
    what: str
    status: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def _is_docstring(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


class _Mutator(ast.NodeTransformer):
    """Walks a module in a fixed order, numbering every mutation point; applies
    mutation ``apply`` (or none, when listing) and records descriptions."""

    def __init__(self, target: Target, apply: int | None = None):
        self.target, self.apply = target, apply
        self.points: list[Mutant] = []
        self._stack: list[str] = []

    # scope ---------------------------------------------------------------------
    def _active(self) -> bool:
        if not self._stack:
            return False  # module level: constants, imports, tables
        t = self.target
        if any(name in t.skip_functions for name in self._stack):
            return False
        return not t.only_functions or any(name in t.only_functions for name in self._stack)

    def _scoped(self, node):
        self._stack.append(node.name)
        # Mutate the body only: decorators, annotations and defaults of the
        # signature are visited as the function's own code is not.
        node.body = self._body(node.body)
        self._stack.pop()
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def _point(self, node: ast.AST, what: str) -> bool:
        """Register a mutation point; True if it is the one to apply."""
        index = len(self.points)
        self.points.append(Mutant(index, getattr(node, "lineno", 0), ".".join(self._stack), what))
        return index == self.apply

    # statements ----------------------------------------------------------------
    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out = []
        for stmt in body:
            if _is_docstring(stmt) or isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Delete)):
                out.append(stmt)
                continue
            if (
                self._active()
                and isinstance(stmt, DELETABLE)
                and self._point(stmt, f"delete `{ast.unparse(stmt).splitlines()[0][:70]}`")
            ):
                out.append(ast.copy_location(ast.Pass(), stmt))
                continue
            out.append(self.visit(stmt))
        return out

    def generic_visit(self, node):
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns", "decorator_list"):
                continue
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(node, name, self._body(value))
            elif isinstance(value, list):
                setattr(node, name, [self.visit(v) if isinstance(v, ast.AST) else v for v in value])
            elif isinstance(value, ast.AST):
                setattr(node, name, self.visit(value))
        return node

    # expressions ---------------------------------------------------------------
    def visit_JoinedStr(self, node):
        return node  # messages, not numbers

    def visit_Compare(self, node):
        self.generic_visit(node)
        if self._active():
            for i, op in enumerate(node.ops):
                new = CMP_SWAP.get(type(op))
                if new and self._point(node, f"{type(op).__name__} -> {new.__name__}"):
                    node.ops[i] = new()
        return node

    def _swap_op(self, node, table: dict, mark: str = ""):
        """Swap ``node.op`` by ``table`` (binary, augmented and boolean operators)."""
        self.generic_visit(node)
        new = table.get(type(node.op))
        what = f"{type(node.op).__name__}{mark} -> {new.__name__ if new else ''}{mark}"
        if new and self._active() and self._point(node, what):
            node.op = new()
        return node

    def visit_BinOp(self, node):
        return self._swap_op(node, BIN_SWAP)

    def visit_AugAssign(self, node):
        return self._swap_op(node, BIN_SWAP, "=")

    def visit_BoolOp(self, node):
        return self._swap_op(node, BOOL_SWAP)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.Not, ast.USub)) and self._active():
            if self._point(node, f"drop unary {type(node.op).__name__}"):
                return node.operand
        return node

    def visit_Constant(self, node):
        if not self._active():
            return node
        v = node.value
        if isinstance(v, bool):
            if self._point(node, f"{v} -> {not v}"):
                return ast.copy_location(ast.Constant(not v), node)
        elif isinstance(v, int):
            if self._point(node, f"{v} -> {v + 1}"):
                return ast.copy_location(ast.Constant(v + 1), node)
        elif isinstance(v, float):
            new = v + 1.0 if abs(v) >= 1 or v == 0 else v * 2
            if self._point(node, f"{v!r} -> {new!r}"):
                return ast.copy_location(ast.Constant(new), node)
        return node


def list_mutants(target: Target) -> list[Mutant]:
    tree = ast.parse((ROOT / target.path).read_text())
    m = _Mutator(target)
    m.visit(tree)
    return m.points


def mutated_code(target: Target, index: int):
    tree = ast.parse((ROOT / target.path).read_text())
    m = _Mutator(target, apply=index)
    tree = ast.fix_missing_locations(m.visit(copy.deepcopy(tree)))
    return compile(tree, str(ROOT / target.path), "exec")


# --- running ----------------------------------------------------------------------
PRELOAD = (  # wmplan.envs first: it picks the headless GL backend before MuJoCo loads
    "wmplan.envs", "numpy", "torch", "scipy.stats", "scipy.integrate", "matplotlib.pyplot", "mujoco",
    "gymnasium", "dm_control.suite", "imageio.v2", "h5py", "yaml", "safetensors.torch",
    "tqdm", "pytest",
)  # fmt: skip


class _TreeFinder:
    """Imports ``wmplan.<pkg>`` from this script's tree (``ROOT/<pkg>``), whatever
    checkout the environment's editable install points at, so the mutants and the
    tests always come from the same tree."""

    def find_spec(self, name, path=None, target=None):
        parts = name.split(".")
        if parts[0] != "wmplan" or len(parts) > 2:
            return None  # deeper modules: found through the package's __path__
        if len(parts) == 1:
            spec = importlib.machinery.ModuleSpec("wmplan", None, is_package=True)
            spec.submodule_search_locations = []
            return spec
        init = ROOT / parts[1] / "__init__.py"
        if not init.is_file():
            return None
        return importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(init.parent)]
        )


def _preload() -> None:
    sys.meta_path.insert(0, _TreeFinder())
    import matplotlib

    matplotlib.use("Agg")
    for name in PRELOAD:
        __import__(name)


class _MutantFinder:
    """Serves the mutated module to every import of its name, including the one its
    package's ``__init__`` makes (``wmplan.planners`` binds ``cem.plan`` in a table
    at import: a module swapped in afterwards would never be called)."""

    def __init__(self, target: Target, code):
        self.name, self.path, self.code = target.module, ROOT / target.path, code

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        return importlib.util.spec_from_file_location(name, self.path, loader=self)

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        exec(self.code, module.__dict__)


def _install(target: Target, index: int | None) -> None:
    """In the child, before anything imports the target: its imports get the mutant."""
    if index is None:
        return
    if target.module in sys.modules:
        raise RuntimeError(f"{target.module} was imported before its mutant was installed")
    sys.meta_path.insert(0, _MutantFinder(target, mutated_code(target, index)))


def _child(target: Target, index: int | None, tests: list[str]) -> int:
    import pytest

    _install(target, index)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    args = ["-x", "-q", "-p", "no:cacheprovider", "-m", "not slow", "--rootdir", str(ROOT), *tests]
    return int(pytest.main(args))


def run_one(
    target: Target, index: int | None, tests: list[str], timeout: float
) -> tuple[str, float]:
    """Run the tests with mutation ``index`` (None: unmutated) in a forked child:
    ('killed' | 'survived' | 'timeout' | 'error', seconds)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.setpgid(0, 0)  # its own group: a timeout kills the workers it spawned too
            code = _child(target, index, tests)
        except BaseException:
            code = 98
        finally:
            os._exit(code)
    deadline = start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() > deadline:
            for sig in (signal.SIGKILL,):
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    pass
            os.waitpid(pid, 0)
            return "timeout", time.perf_counter() - start
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    # pytest: 0 all passed, 1 some failed, 2 interrupted / collection error (a mutant
    # that breaks import), 5 no tests collected (a bad test list: an error here).
    if code == 0:
        return "survived", seconds
    if code in (1, 2):
        return "killed", seconds
    return f"error({code})", seconds


def run_target(name: str, target: Target, args) -> dict:
    tests = [t for t in target.tests if (ROOT / t).exists()]
    mutants = list_mutants(target)
    if args.sample and args.sample < len(mutants):
        rng = random.Random(f"{args.seed}:{name}")
        mutants = sorted(rng.sample(mutants, args.sample), key=lambda m: m.index)
    if args.limit:
        mutants = mutants[: args.limit]
    print(
        f"== {name}: {len(mutants)} mutants of {target.path}; tests: {' '.join(tests)}", flush=True
    )
    status, base = run_one(target, None, tests, timeout=args.max_seconds)
    if status != "survived":
        print(f"   {name}: the unmutated tests do not pass ({status}); module left out", flush=True)
        return {"module": target.path, "tests": tests, "error": status, "total": 0,
                "killed": 0, "timeouts": 0, "score": 0.0, "survivors": []}  # fmt: skip
    timeout = max(args.timeout_factor * base, base + 30.0)
    print(
        f"   unmutated tests pass in {base:.1f} s; per-mutant timeout {timeout:.0f} s", flush=True
    )
    for m in mutants:
        m.status, m.seconds = run_one(target, m.index, tests, timeout)
        if m.status != "killed":
            print(
                f"   {m.status:9s} #{m.index} line {m.line} in {m.function}: {m.what}", flush=True
            )
    killed = sum(m.status in ("killed", "timeout") for m in mutants)
    timeouts = sum(m.status == "timeout" for m in mutants)
    score = killed / max(len(mutants), 1)
    print(f"   {name}: {killed}/{len(mutants)} killed ({timeouts} by timeout) = "
          f"{100 * score:.1f}%", flush=True)  # fmt: skip
    return {
        "module": target.path,
        "tests": tests,
        "baseline_seconds": base,
        "timeout_seconds": timeout,
        "total": len(mutants),
        "killed": killed,
        "timeouts": timeouts,
        "score": score,
        "survivors": [m.__dict__ for m in mutants if m.status not in ("killed", "timeout")],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--modules", default=",".join(TARGETS), help=f"comma list of {', '.join(TARGETS)}"
    )
    p.add_argument("--out", type=Path, help="write the per-module results as JSON here")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    p.add_argument("--limit", type=int, default=0, help="first N mutants per module (0: all)")
    p.add_argument(
        "--sample",
        type=int,
        default=0,
        help="a seeded random N mutants per module (0: all); the same N and --seed pick "
        "the same mutants of the same source, so before/after runs compare",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout-factor", type=float, default=4.0)
    p.add_argument("--max-seconds", type=float, default=900.0, help="limit of the unmutated run")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.modules.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        print(f"error: unknown module(s) {unknown}; valid: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    if args.list:
        for n in names:
            for m in list_mutants(TARGETS[n]):
                print(f"{n} #{m.index} line {m.line} {m.function}: {m.what}")
        return 0
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.chdir(ROOT)
    _preload()
    start = time.perf_counter()
    results = {n: run_target(n, TARGETS[n], args) for n in names}
    total = sum(r["total"] for r in results.values())
    killed = sum(r["killed"] for r in results.values())
    print(f"\n{'module':16s} {'killed':>7s} {'timeout':>7s} {'total':>6s} {'score':>7s}")
    for n, r in results.items():
        print(
            f"{n:16s} {r['killed']:7d} {r['timeouts']:7d} {r['total']:6d} {100 * r['score']:6.1f}%"
        )
    timeouts = sum(r["timeouts"] for r in results.values())
    print(f"{'all':16s} {killed:7d} {timeouts:7d} {total:6d} {100 * killed / max(total, 1):6.1f}%")
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
