"""Checks of arguments against the data, with errors that name the argument to fix."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from anndata import AnnData


def check_obs_keys(
    adata: AnnData, keys: Mapping[str, str | Sequence[str] | None] | Iterable[str | None], *, what: str = "adata"
) -> None:
    """Raise a KeyError naming every missing ``.obs`` column and listing the present ones.

    ``keys`` maps each argument to the column(s) it names (``{"covariates": ["donor"]}``), so the error
    says which argument to fix; a plain list of columns is accepted too.
    """
    named = keys.items() if isinstance(keys, Mapping) else ((None, k) for k in keys)
    missing = []
    for arg, value in named:
        for k in [value] if value is None or isinstance(value, str) else value:
            if k is not None and k not in adata.obs.columns:
                missing.append(f"{k!r} ({arg}=)" if arg else repr(k))
    if missing:
        present = ", ".join(map(repr, adata.obs.columns[:30]))
        more = " …" if adata.obs.shape[1] > 30 else ""
        fix = (
            "Pass the column that holds it to that argument."
            if isinstance(keys, Mapping)
            else "Pass the right name (e.g. sample_key=..., groupby=...)."
        )
        raise KeyError(f"{what}.obs has no column {', '.join(missing)}. Columns present: {present}{more}. {fix}")


def check_choice(value: Any, choices: Sequence[Any], *, name: str) -> None:
    """Raise a ValueError when ``value`` is not one of ``choices``, listing the valid ones."""
    if value not in choices:
        raise ValueError(f"Unknown {name} {value!r}; choose one of {', '.join(map(repr, choices))}.")
