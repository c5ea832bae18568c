"""The architecture holds: only workflows/engine/ imports SpiffWorkflow, arrows point down, no import cycles.

Imports are read from the source (every import statement, those inside functions too), so a lazy import
cannot hide an upward arrow or a cycle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"tests", "bench", "migrations", "tools", "frontend", "node_modules", "static", "instance"}
SERVICES = {"casework", "workflows", "reporting"}
FACES = {"admin", "api", "cli"}
ENGINE_MAX_LINES = 450


def _sources() -> dict[str, Path]:
    """Module name -> file, for the application's own Python files."""
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0].startswith(".") or rel.parts[0] in SKIP:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _sources()


def _imported(path: Path) -> set[str]:
    """Every absolute name an import statement in the file names (`from a import b` names `a.b`)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _own(name: str) -> str | None:
    """The longest application module an imported name refers to."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in MODULES:
            return candidate
    return None


EDGES = {m: {o for o in map(_own, _imported(p)) if o and o != m} for m, p in MODULES.items()}


def _package(module: str) -> str:
    return module.split(".")[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_tree_was_read():
    assert {"access", "app", "workflows.engine", "workflows.tasks", "casework.cases", "reporting.exports",
            "admin", "api", "cli"} <= set(MODULES)


def test_only_the_engine_imports_spiffworkflow():
    outside = sorted(m for m, p in MODULES.items()
                     if any(n.split(".")[0] == "SpiffWorkflow" for n in _imported(p))
                     and not m.startswith("workflows.engine"))
    assert outside == []


def test_engine_modules_stay_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "workflows" / "engine").glob("*.py")}
    assert len(sizes) >= 5
    assert {name: n for name, n in sizes.items() if n > ENGINE_MAX_LINES} == {}


@pytest.mark.parametrize("low", ["models", "access"])
def test_models_and_access_import_no_service_or_face(low):
    upward = {f"{m} -> {o}" for m in MODULES if _package(m) == low for o in EDGES[m]
              if _package(o) in SERVICES | FACES}
    assert upward == set()


def test_services_never_import_a_face():
    upward = {f"{m} -> {o}" for m in MODULES if _package(m) in SERVICES for o in EDGES[m]
              if _package(o) in FACES | {"app"}}
    assert upward == set()


def test_faces_never_import_each_other():
    across = {f"{m} -> {o}" for m in MODULES if _package(m) in FACES for o in EDGES[m]
              if _package(o) in FACES - {_package(m)} | {"app"}}
    assert across == set()


def test_no_import_cycles_between_packages():
    graph: dict[str, set[str]] = {}
    for m, targets in EDGES.items():
        graph.setdefault(_package(m), set()).update(_package(o) for o in targets if _package(o) != _package(m))
    assert _cycles(graph) == []


def test_no_import_cycles_between_modules():
    assert _cycles(EDGES) == []


def test_every_package_says_what_it_owns():
    readme = (ROOT / "README.md").read_text().split("## Layout", 1)[1]
    for name, path in MODULES.items():
        if path.name == "__init__.py":
            assert ast.get_docstring(ast.parse(path.read_text())), f"{name}/__init__.py has no docstring"
            if "." not in name:
                assert f"\n{name}/" in readme, f"README's Layout does not describe {name}/"
