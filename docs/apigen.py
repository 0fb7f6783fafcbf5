"""The API pages, written from each namespace's ``__all__`` before Sphinx reads the sources.

One page per namespace (``docs/api/<ns>.rst``): an autosummary table of its functions (Sphinx writes one stub
page per function into ``docs/api/generated/``) and its constants, each with the ``#:`` comment above its
definition. A name added to a namespace's ``__all__`` appears at the next build; nothing here lists names.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import numpy as np

#: The documented namespaces, in the order of the API index, with the title of each page.
NAMESPACES = {
    "pp": "Preprocessing: cells to profiles",
    "tl": "Tools: statistics that add results",
    "pl": "Plotting",
    "get": "Getters: tidy tables",
    "io": "Reading data",
    "resources": "Resources: gene sets, panels, compounds",
    "datasets": "Datasets",
    "report": "Report: the main job end to end",
}

API_DIR = Path(__file__).parent / "api"


def namespace(ns: str) -> ModuleType:
    """The module ``drugprint.<ns>``."""
    return importlib.import_module(f"drugprint.{ns}")


def public_names(ns: str) -> tuple[list[str], list[str]]:
    """The callables and the constants of ``drugprint.<ns>.__all__``, each in ``__all__`` order."""
    module = namespace(ns)
    names = list(module.__all__)
    functions = [n for n in names if callable(getattr(module, n))]
    constants = [n for n in names if n not in functions]
    return functions, constants


def _comment_above(path: Path, name: str) -> str:
    """The ``#:`` comment lines right above the top-level assignment of ``name`` in ``path``, or ``""``."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        comment, i = [], node.lineno - 2
        while i >= 0 and lines[i].lstrip().startswith("#:"):
            comment.insert(0, lines[i].lstrip()[2:].strip())
            i -= 1
        return " ".join(comment)
    return ""


def constant_doc(ns: str, name: str) -> str:
    """The ``#:`` comment documenting constant ``name`` where it is defined (a module of the namespace), or ``""``.

    The namespace's ``__init__`` only imports the name, so every module of the package is searched (as Sphinx
    reads ``#:`` comments, without importing Sphinx: the tests run without the ``doc`` extra).
    """
    package = namespace(ns)
    folder = Path(package.__file__).parent
    for path in [folder / "__init__.py", *sorted(folder.glob("*.py"))]:
        comment = _comment_above(path, name)
        if comment:
            return comment
    return ""


def _value(obj: object) -> str | None:
    """A short rendering of a constant's value for ``:value:``, or ``None`` when too long to show."""
    text = repr(obj)
    return text if len(text) <= 110 and "\n" not in text else None


def namespace_page(ns: str) -> str:
    """The reStructuredText of ``docs/api/<ns>.rst``."""
    module = namespace(ns)
    functions, constants = public_names(ns)
    title = f"``dp.{ns}``: {NAMESPACES[ns]}"
    summary = inspect.getdoc(module) or ""
    lines = [f".. _api-{ns}:", "", title, "=" * len(title), "", f".. module:: drugprint.{ns}", ""]
    if summary:
        lines += [summary.splitlines()[0], ""]
    if functions:
        lines += [".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in functions]
        lines += [""]
    if constants:
        lines += ["Constants", "---------", ""]
        for name in constants:
            obj = getattr(module, name)
            lines += [f".. py:data:: {name}"]
            value = _value(obj)
            if value is not None:
                lines += [f"   :value: {value}"]
            else:
                lines += [f"   :type: {type(obj).__name__}"]
            lines += [""]
            doc = constant_doc(ns, name)
            if doc:
                lines += [f"   {line}" if line else "" for line in doc.splitlines()]
            if isinstance(obj, dict):
                lines += ["", "   Keys: " + ", ".join(f"``{k}``" for k in obj) + "."]
            lines += [""]
    return "\n".join(lines).rstrip() + "\n"


def index_page() -> str:
    """The reStructuredText of ``docs/api/index.rst``: the namespaces and what each holds."""
    lines = [".. _api:", "", "API", "===", ""]
    lines += [
        "``import drugprint as dp``: every public function, by namespace. The pages are written from each",
        "namespace's ``__all__`` at every build, so they list exactly what the package exports.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    lines += [f"   {ns}" for ns in NAMESPACES]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> bool:
    """Write ``text`` unless ``path`` already holds it (an unchanged page is not rebuilt)."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def write_pages(out: Path = API_DIR) -> list[Path]:
    """Write the API index and one page per namespace into ``out``; drop pages and stubs of names that left.

    autosummary writes a stub per function into ``out / "generated"`` but never removes one: a function taken
    out of ``__all__`` would leave a page outside every toctree (a warning, so a failed build). Returns the pages
    written (changed or new).
    """
    pages = {out / "index.rst": index_page()}
    pages.update({out / f"{ns}.rst": namespace_page(ns) for ns in NAMESPACES})
    for old in out.glob("*.rst"):
        if old not in pages:
            old.unlink()
    stubs = {f"drugprint.{ns}.{name}.rst" for ns in NAMESPACES for name in public_names(ns)[0]}
    for old in (out / "generated").glob("*.rst"):
        if old.name not in stubs:
            old.unlink()
    return [path for path, text in pages.items() if _write(path, text)]


def _cell(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value).replace("|", "\\|") or "—"


def _markdown_table(frame) -> str:
    header = ["method", *frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([f"`{name}`", *(_cell(v) for v in row)]) + " |" for name, row in frame.iterrows()]
    return "\n".join(lines)


def methods_page() -> str:
    """The DE engines and the gene-set tests as Markdown tables, read from their registries.

    The statistics page includes it (``docs/_generated/methods.md``), so a newly registered engine or set test
    is listed at the next build.
    """
    from drugprint.tl import de_methods, set_methods

    engines = de_methods()[["needs", "tests", "omnibus", "block", "robust", "reference"]]
    sets = set_methods()[["null", "units", "power_at_low_df", "reference"]]
    sets = sets.rename(columns={"power_at_low_df": "power at ≤ 3 residual df"})
    return (
        "**DE engines** (`dp.tl.de(method=...)`, `drugprint run --method`):\n\n"
        + _markdown_table(engines)
        + "\n\n**Gene-set tests** (`dp.tl.pathways(method=...)`, `dp.tl.panels`, `drugprint run --pathway-method`):"
        + "\n\n"
        + _markdown_table(sets)
        + "\n"
    )


def write_methods(out: Path) -> bool:
    """Write :func:`methods_page` to ``out`` (``docs/_generated/methods.md``); whether it changed."""
    return _write(out, methods_page())
