"""The package's shape: no import cycle between its modules, and no function too long to read on one screen."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "drugprint"
#: Functions longer than this (without their docstring) in these rooms cannot be read in one sitting.
MAX_LINES = 80
CHECKED = ("tl", "report", "cli.py")


def _modules(package: Path) -> dict[str, tuple[Path, bool]]:
    """Every module of ``package`` by dotted name, with whether it is a package's ``__init__``."""
    out = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        init = parts[-1] == "__init__"
        out[".".join(parts[:-1] if init else parts)] = (path, init)
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The nodes under ``if TYPE_CHECKING:`` (imports there never run)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the package's modules it imports, anywhere in it (inside functions too).

    ``from a import b`` counts as an import of ``a.b`` when that is a module, else of ``a``. Imports under
    ``if TYPE_CHECKING:`` and a module's imports of its own parent package's ``__init__`` are not counted.
    """
    modules = _modules(package)
    graph = {name: set() for name in modules}
    for name, (path, init) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_only(tree)
        here = name.split(".") if init else name.split(".")[:-1]
        parent = ".".join(here)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found = sub if sub in modules else target
                    if found in modules and found != name and not (found == parent and not init):
                        graph[name].add(found)
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules and a.name != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "modules that import each other in a circle: " + "; ".join(" ↔ ".join(c) for c in found)


def test_cycle_check_counts_what_runs(tmp_path):
    """A circle through a function-local import is found; TYPE_CHECKING imports and a parent's ``__init__`` are not."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "def f():\n    from .b import g\n",
        "b.py": "from .a import f\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import h\n",
        "d.py": "from .c import TYPE_CHECKING\n",
        "sub/__init__.py": "from .e import x\n",
        "sub/e.py": "from . import y\nx = 1\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"} and "pkg.d" not in graph["pkg.c"] and graph["pkg.sub.e"] == set()
    assert cycles(graph) == [["pkg.a", "pkg.b"]]
    assert "drugprint.tl._stats.deseq2" in import_graph()["drugprint.tl._de.engines"]  # inside a function


def test_stats_import_only_downward():
    """The statistics room imports nothing from the tools, the report or the plots."""
    graph = import_graph()
    for name, deps in graph.items():
        if name.startswith("drugprint.tl._stats"):
            outside = [d for d in deps if not d.startswith("drugprint.tl._stats") and d.startswith("drugprint.")]
            assert not [d for d in outside if d.startswith(("drugprint.tl", "drugprint.report", "drugprint.pl"))]


def _long_functions() -> list[str]:
    paths = [
        p for room in CHECKED for p in ([PACKAGE / room] if room.endswith(".py") else (PACKAGE / room).rglob("*.py"))
    ]
    out = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            lines = node.end_lineno - node.lineno + 1
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines -= first.end_lineno - first.lineno + 1
            if lines > MAX_LINES:
                out.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_functions_fit_on_a_screen():
    long = _long_functions()
    assert not long, f"functions over {MAX_LINES} lines without their docstring: " + "; ".join(long)


@pytest.mark.parametrize("room", CHECKED)
def test_rooms_exist(room):
    assert (PACKAGE / room).exists()
