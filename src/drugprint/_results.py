"""The result contract of ``dp.tl`` (as scanpy's tools), and the deprecations of renamed parameters.

A tool writes its results into named slots of the object it was given: ``uns[key_added]`` holds the tidy
``table`` (and whatever else the tool documents) beside ``params``, the arguments that made it. It returns
``None``, or with ``copy=True`` a copy holding the results (the input is then left as it was). Tables are read
back through ``dp.get``, which restores their column types.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

#: Potency tiers, weakest first (the ordered categories of the ``tier`` column).
TIERS = ("none", "modest", "moderate", "strong")
#: The release in which deprecated names stop working.
REMOVED_IN = "0.3"

F = TypeVar("F", bound=Callable[..., Any])
_PACKAGE = str(Path(__file__).parent)


def caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued here point at the first frame outside drugprint.

    Decorators (:func:`renamed`) add frames between a user's call and the code that warns, so a fixed level
    would point inside the package, where Python's default filters hide DeprecationWarnings.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def store(
    adata: Any,
    key_added: str | None,
    entries: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    copy: bool,
    tool: str,
    getter: str,
    returned: Any = None,
) -> Any:
    """Write ``entries`` and ``params`` to ``uns[key_added]`` of ``adata`` (or of its copy); the tool's return.

    ``key_added=None`` keeps the behaviour of drugprint 0.1 for one release: the table is returned and nothing is
    stored, with a DeprecationWarning pointing to ``dp.get.<getter>``. ``returned`` is what 0.1 returned
    (default: ``entries["table"]``).
    """
    if key_added is None:
        warnings.warn(
            f"dp.tl.{tool}(key_added=None) returning the table is deprecated and stops working in drugprint "
            f"{REMOVED_IN}: keep key_added (results go to uns[key_added]) and read the table with "
            f"dp.get.{getter}(...).",
            DeprecationWarning,
            stacklevel=caller_stacklevel(),
        )
        return entries["table"] if returned is None else returned
    if not isinstance(key_added, str) or not key_added:
        raise TypeError(f"key_added must be a non-empty string, got {key_added!r}.")
    target = adata.copy() if copy else adata
    target.uns[key_added] = {**entries, "params": dict(params)}
    return target if copy else None


def stored(adata: Any, key: str, *, tool: str, entry: str = "table", what: str = "sig") -> Any:
    """``adata.uns[key][entry]`` written by ``dp.tl.<tool>``; a KeyError that says how to make it otherwise."""
    rec = adata.uns.get(key)
    if not isinstance(rec, Mapping) or entry not in rec:
        found = f"it holds {sorted(rec)}" if isinstance(rec, Mapping) else "it is absent"
        raise KeyError(
            f"{what}.uns[{key!r}] has no {entry!r} ({found}); run dp.tl.{tool}({what}) first, or pass key= the "
            f"key_added you gave it."
        )
    return rec[entry]


def table_copy(table: pd.DataFrame, categories: Mapping[str, list] | None = None) -> pd.DataFrame:
    """A copy of a stored table, with the ordered categorical columns it was made with restored."""
    out = table.copy()
    for col, cats in (categories or {}).items():
        if col in out:
            out[col] = pd.Categorical(out[col].astype(str), categories=cats, ordered=True)
    return out.reset_index(drop=True)


def pvalue_basis(sig: Any, key: str) -> pd.Series:
    """Per signature, what the p-values of ``obsm[key]`` rest on (replicates, or genes assumed independent)."""
    rec = sig.uns.get(key, {})
    found = rec.get("basis") if isinstance(rec, Mapping) else None
    if isinstance(found, pd.DataFrame):
        return found.set_index("signature")["basis"].reindex(sig.obs_names).fillna("unknown")
    return pd.Series("unknown", index=sig.obs_names)


def renamed(**new_names: str | tuple[str, Callable[[Any], Any]]) -> Callable[[F], F]:
    """Keep deprecated keyword arguments working for one release: ``@renamed(seed="random_state")``.

    A call with the old name warns (DeprecationWarning) and passes the value on under the new name, converted by
    the function given with it (``old=(new, convert)``) where the meaning changed; giving both is a TypeError.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, target in new_names.items():
                if old not in kwargs:
                    continue
                new, convert = target if isinstance(target, tuple) else (target, None)
                if new in kwargs:
                    raise TypeError(f"{func.__name__}() got {old}= (deprecated) and {new}=; pass only {new}=.")
                warnings.warn(
                    f"{func.__name__}({old}=) is deprecated and stops working in drugprint {REMOVED_IN}; use {new}=.",
                    DeprecationWarning,
                    stacklevel=caller_stacklevel(),
                )
                value = kwargs.pop(old)
                kwargs[new] = convert(value) if convert is not None else value
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
