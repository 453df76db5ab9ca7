"""The import rule of docs/architecture.md, read from the source with ``ast``.

Data flows one way: envs -> worldmodel -> planners -> agents -> benchmarks. Each
package may import only the packages its row allows (imports inside functions
count too: a late import is still a dependency). ``models`` is data (the shipped
weights, and a resolver of their names that imports nothing of ours) and ``api`` the
public re-export on top of everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> the wmplan packages it may import besides itself
ALLOWED: dict[str, set[str]] = {
    "envs": set(),
    "planners": set(),
    "worldmodel": {"envs"},
    "agents": {"envs", "worldmodel", "planners", "models"},
    "benchmarks": {"envs", "worldmodel", "planners", "agents", "models"},
    "models": set(),
    "api": {"envs", "worldmodel", "planners", "agents", "benchmarks", "models"},
}


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["wmplan", *parts])


def _imports(path: Path, module: str | None = None) -> set[str]:
    """wmplan modules ``path`` imports anywhere in it (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("wmplan.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("wmplan."):
                found.add(module)
                found |= {f"{module}.{a.name}" for a in node.names}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_follow_the_data_flow(package):
    bad = []
    for path in _sources(package):
        for module in _imports(path):
            target = module.split(".")[1]
            if target != package and target not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, "imports against docs/architecture.md:\n" + "\n".join(sorted(set(bad)))


def test_no_import_circle_between_modules():
    """No two modules depend on each other, directly or round a loop (an import moved
    into a function to dodge the circle still counts)."""
    modules = {
        _module_name(p): p for pkg in ALLOWED for p in _sources(pkg) if (ROOT / pkg).is_dir()
    }
    graph = {
        name: {m for m in _imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    # A package's __init__ importing its own submodules is how packages work, not a circle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".") or m == name}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)):
            pytest.fail("import circle: " + " -> ".join(cycle))


def test_the_rule_catches_a_forbidden_import(tmp_path):
    """The parser sees imports inside functions and resolves relative ones."""
    src = tmp_path / "x.py"
    src.write_text(
        "def f():\n    from wmplan.benchmarks import cli\n    import wmplan.agents.mpc\n"
    )
    assert {"wmplan.benchmarks", "wmplan.benchmarks.cli", "wmplan.agents.mpc"} <= _imports(
        src, "wmplan.x"
    )
