"""Docstring text shared by many functions, written once (as scanpy's ``_doc_params``).

A docstring names a shared paragraph as ``{name}`` on a line of its own, at the indentation of the parameter
list; :func:`doc_params` fills it in. Other braces in docstrings are left alone.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

SHARED = {
    "sig": """\
sig
    Signatures: from :func:`drugprint.tl.de`, :func:`drugprint.io.read_de_table` or
    :func:`drugprint.tl.concat_signatures`.""",
    "sig_scored": """\
sig
    Signatures scored by :func:`drugprint.tl.pathways` or :func:`drugprint.tl.panels`: ``obsm[key]``,
    ``obsm[key + "_padj"]`` and ``obsm[key + "_log2fc"]``.""",
    "key_scores": """\
key
    Which scores: ``"pathways"``, ``"panels"``, or another ``key_added`` of those two tools.""",
    "sources": """\
sources
    Pathways or panels to include (default: every one scored).""",
    "groupby": """\
groupby
    ``obs`` column of groups (cell types), each analysed on its own; default the one :func:`drugprint.tl.de`
    used. ``"none"`` takes all signatures as one group (e.g. across studies).""",
    "alpha": """\
alpha
    Significance level on the adjusted p-value.""",
    "random_state": """\
random_state
    Seed of the random draws (equal seeds give equal results).""",
    "copy": """\
copy
    Return a copy holding the results and leave the input as it was, instead of writing into it.""",
    "returns_copy": """\
``None``, or with ``copy=True`` the copy holding the results.""",
    "plot": """\
ax
    Axes to draw into; a new figure of ``figsize`` when ``None``.
figsize
    Figure size in inches, when ``ax`` is ``None``.
save
    Path to save the figure to (format from the suffix).""",
    "returns_figure": """\
The matplotlib Figure (that of ``ax`` when given); it is never shown here.""",
}


def key_added(getter: str, more: str = "", *, where: str = "") -> str:
    """The ``key_added`` paragraph of a tool whose table :func:`drugprint.get.<getter>` reads (``where``: its owner)."""
    text = (
        f"Results go to ``{where}uns[key_added]``: the ``table`` (read it with :func:`drugprint.get.{getter}`){more} "
        "and the ``params`` they were made with."
    )
    return "key_added\n" + textwrap.fill(text, 116, initial_indent="    ", subsequent_indent="    ")


def doc_params(**more: str) -> Callable[[F], F]:
    """Fill ``{name}`` placeholders in a docstring from :data:`SHARED` and ``more``."""
    texts = {**SHARED, **more}

    def fill(match: re.Match) -> str:
        indent, name = match.group(1), match.group(2)
        if name not in texts:
            return match.group(0)
        return textwrap.indent(texts[name], indent)

    def decorate(obj: F) -> F:
        obj.__doc__ = re.sub(r"(?m)^([ \t]*)\{(\w+)\}$", fill, inspect.cleandoc(obj.__doc__ or ""))
        return obj

    return decorate
