"""The API documentation, without building it: every public name is documented and listed by docs/apigen.py.

Every callable in a namespace's ``__all__`` has a numpydoc docstring with a summary, a Parameters section naming
exactly its parameters, a Returns section and doctest Examples; every public constant has a ``#:`` comment; and
the API page written for the namespace lists every name. ``make docs`` then renders what is checked here.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]+)\n-{3,}\n", re.M)


def _load_apigen():
    spec = importlib.util.spec_from_file_location("drugprint_docs_apigen", ROOT / "docs" / "apigen.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


apigen = _load_apigen()
FUNCTIONS = [(ns, name) for ns in apigen.NAMESPACES for name in apigen.public_names(ns)[0]]
CONSTANTS = [(ns, name) for ns in apigen.NAMESPACES for name in apigen.public_names(ns)[1]]


def _sections(doc: str) -> dict[str, str]:
    """Section title → body of a numpydoc docstring (the summary and extended description under ``""``)."""
    marks = list(SECTION.finditer(doc))
    out = {"": doc[: marks[0].start()] if marks else doc}
    for mark, nxt in zip(marks, [*marks[1:], None], strict=True):
        out[mark.group("title").strip()] = doc[mark.end() : nxt.start() if nxt else len(doc)]
    return out


def _documented(body: str) -> list[str]:
    """Parameter names of a Parameters section: its unindented lines, ``a, b`` naming several (types dropped)."""
    names = []
    for line in body.splitlines():
        if line and not line[0].isspace():
            names += [part.split(" : ")[0].strip() for part in line.split(" : ")[0].split(",")]
    return names


def _signature_names(obj) -> list[str]:
    names = []
    for p in inspect.signature(obj).parameters.values():
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        names.append(prefix + p.name)
    return names


def test_every_namespace_exports_something():
    assert set(apigen.NAMESPACES) == {"pp", "tl", "pl", "get", "io", "resources", "datasets", "report"}
    for ns in apigen.NAMESPACES:
        assert apigen.public_names(ns)[0], f"dp.{ns} exports no function"
    assert len(FUNCTIONS) > 40


@pytest.mark.parametrize(("ns", "name"), FUNCTIONS, ids=[f"{ns}.{name}" for ns, name in FUNCTIONS])
def test_public_function_docstring(ns, name):
    obj = getattr(apigen.namespace(ns), name)
    doc = inspect.getdoc(obj)
    where = f"dp.{ns}.{name}"
    assert doc, f"{where} has no docstring"
    sections = _sections(doc)
    assert sections[""].strip(), f"{where}: no summary line"
    known = {"", "Parameters", "Other Parameters", "Returns", "Raises", "Warns", "Warnings", "See Also", "Notes"}
    unknown = set(sections) - known - {"References", "Examples"}
    assert not unknown, f"{where}: sections {unknown} (a typo, or one napoleon does not know)"
    params = _signature_names(obj)
    if params:
        assert "Parameters" in sections, f"{where} takes {params} but has no Parameters section"
        documented = _documented(sections["Parameters"])
        missing = [p for p in params if p not in documented]
        extra = [d for d in documented if d not in params]
        assert not missing, f"{where}: parameters not documented: {missing}"
        assert not extra, f"{where}: documented parameters it does not take: {extra}"
    else:
        assert "Parameters" not in sections, f"{where} takes no parameter but documents some"
    assert "Returns" in sections and sections["Returns"].strip(), f"{where} has no Returns section"
    assert "Examples" in sections, f"{where} has no Examples section"
    assert ">>> " in sections["Examples"], f"{where}: its Examples hold no doctest"


@pytest.mark.parametrize(("ns", "name"), CONSTANTS, ids=[f"{ns}.{name}" for ns, name in CONSTANTS])
def test_public_constant_has_a_doc_comment(ns, name):
    assert apigen.constant_doc(ns, name), f"dp.{ns}.{name} needs a '#:' comment on the line above its definition"


@pytest.mark.parametrize("ns", list(apigen.NAMESPACES))
def test_api_page_lists_every_public_name(ns):
    page = apigen.namespace_page(ns)
    functions, constants = apigen.public_names(ns)
    listed = re.search(r"\.\. autosummary::\n(?:   :.*\n)*\n((?:   \S+\n)+)", page)
    assert listed is not None, page
    assert [line.strip() for line in listed.group(1).splitlines()] == functions
    for name in constants:
        assert f".. py:data:: {name}\n" in page
    assert f".. module:: drugprint.{ns}\n" in page


def test_pages_are_written_and_stale_stubs_removed(tmp_path):
    stale = tmp_path / "generated" / "drugprint.tl.no_longer_public.rst"
    stale.parent.mkdir()
    stale.write_text("gone\n")
    kept = tmp_path / "generated" / "drugprint.tl.de.rst"
    kept.write_text("stub\n")
    written = apigen.write_pages(tmp_path)
    assert {p.name for p in written} == {"index.rst", *(f"{ns}.rst" for ns in apigen.NAMESPACES)}
    assert not stale.exists() and kept.exists()
    assert apigen.write_pages(tmp_path) == []  # unchanged pages are not rewritten (Sphinx would reread them)
    index = (tmp_path / "index.rst").read_text()
    assert all(f"\n   {ns}\n" in index for ns in apigen.NAMESPACES)


def test_docs_pages_exist_and_are_in_the_toctree():
    docs = ROOT / "docs"
    index = (docs / "index.md").read_text(encoding="utf-8")
    for page in ("installation", "tutorials", "data_objects", "statistics", "cli", "api/index", "contributing"):
        assert f"\n{page}\n" in index, page
        if page != "api/index":
            assert (docs / f"{page}.md").exists(), page
    assert "\nchangelog\n" in index and "../CHANGELOG.md" in (docs / "changelog.md").read_text(encoding="utf-8")


def test_methods_tables_follow_the_registries(monkeypatch):
    """The statistics page's tables of engines and set tests are read from the registries, new entries included."""
    from dataclasses import replace

    from drugprint.tl._de.engines import ENGINES
    from drugprint.tl._sets.methods import SET_METHODS

    monkeypatch.setitem(ENGINES, "welch", replace(ENGINES["ttest"], name="welch"))
    page = apigen.methods_page()
    for name in [*ENGINES, *SET_METHODS]:
        assert f"| `{name}` |" in page
    assert "| `voom` | counts | pair, weights, coef, omnibus | moderated F | yes | yes |" in page
    assert "| `camera` | competitive | replicates | no |" in page
