"""The import graph of our packages has no circles.

Every module of the packages is parsed with `ast` (nothing is imported), and every import
counts: at module level, inside functions and under `if TYPE_CHECKING:` (a circle that only
type checkers follow still ties the two modules together, and turns into an import error the
day someone moves the import up). Relative imports are resolved against the module's
package. An edge goes to the module named, never implicitly to its parent packages: that
`simulator/__init__.py` imports `simulator.run` is how a package exposes its API, not a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

from bankdw.config import PROJECT_ROOT

PACKAGES = ("bankdw", "extract", "expectations", "models", "simulator", "dags")

Graph = dict[str, dict[str, int]]
"""module -> imported module -> line of the first such import."""


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Module name -> file, for every .py file of the packages under `root`."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> dict[str, int]:
    """The modules of `known` that module `name` imports anywhere in its file."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets: dict[str, int] = {}

    def add(candidate: str, line: int) -> None:
        # the longest known prefix: `import a.b.c` and `from a.b import name` both load a.b
        while candidate and candidate not in known:
            candidate = candidate.rpartition(".")[0]
        if candidate and candidate != name:
            targets.setdefault(candidate, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base = ".".join(base_parts[: len(base_parts) - (node.level - 1)])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in known else base, node.lineno)
    return targets


def import_graph(root: Path, packages: Iterable[str]) -> Graph:
    modules = module_files(root, packages)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """One circle per strongly connected component with more than one module (Tarjan),
    each as the path `a, b, ..., a`, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, {})):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(_circle_through(graph, set(c), c[0]) for c in components)


def _circle_through(graph: Graph, members: set[str], start: str) -> list[str]:
    """The shortest circle from `start` back to itself inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node]):
                if target not in members or target in previous:
                    continue
                previous[target] = node
                if target == start:
                    path = [start]
                    while path[-1] != start or len(path) == 1:
                        path.append(previous[path[-1]])
                    return path[::-1]
                following.append(target)
        frontier = following
    raise AssertionError(f"no circle through {start}")  # unreachable for a component


def describe(graph: Graph, circle: list[str]) -> str:
    steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in pairwise(circle)]
    return "; ".join(steps)


def test_our_packages_import_each_other_without_circles() -> None:
    # given every module of our packages, when their imports are followed
    graph = import_graph(PROJECT_ROOT, PACKAGES)
    # then the graph is what it should be (the packages were found and imports resolved) ...
    assert len(graph) > 40 and "simulator.activity" in graph["simulator.ledger"], sorted(graph)
    assert "bankdw.config" in graph["bankdw.pipeline"]
    # ... and it has no circle
    found = cycles(graph)
    assert found == [], "\n".join(describe(graph, c) for c in found)


def test_a_circle_through_a_type_checking_import_or_a_function_is_found_and_named(tmp_path: Path) -> None:
    # given a package with two circles: a imports b at module level and b imports a only under
    # TYPE_CHECKING; sub.c imports d at module level and d imports sub.c inside a function
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .a import A\n")
    (package / "a.py").write_text("from . import b\nA = 1\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "c.py").write_text("import pkg.d\n")
    (package / "d.py").write_text("def f():\n    from .sub.c import g\n    return g\n")
    (package / "e.py").write_text("from pkg import A\nfrom .sub import c\n")  # the package itself: no circle
    graph = import_graph(tmp_path, ["pkg"])
    assert graph["pkg.e"] == {"pkg": 1, "pkg.sub.c": 2} and graph["pkg"] == {"pkg.a": 1}
    # when the circles are looked for, then both are found, each named module by module
    found = cycles(graph)
    assert found == [["pkg.a", "pkg.b", "pkg.a"], ["pkg.d", "pkg.sub.c", "pkg.d"]]
    assert describe(graph, found[0]) == "pkg.a (line 1) -> pkg.b; pkg.b (line 3) -> pkg.a"
    assert describe(graph, found[1]) == "pkg.d (line 2) -> pkg.sub.c; pkg.sub.c (line 1) -> pkg.d"
