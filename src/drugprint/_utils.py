"""Small helpers shared across modules: input checks, progress bars, matrix access."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

logger = logging.getLogger("drugprint")


def check_obs_keys(adata: AnnData, keys: Iterable[str | None], *, what: str = "adata") -> None:
    """Raise a KeyError naming every missing ``.obs`` column and listing the present ones."""
    missing = [k for k in keys if k is not None and k not in adata.obs.columns]
    if missing:
        present = ", ".join(map(repr, adata.obs.columns[:30]))
        more = " …" if adata.obs.shape[1] > 30 else ""
        raise KeyError(
            f"{what}.obs has no column {', '.join(map(repr, missing))}. "
            f"Columns present: {present}{more}. Pass the right name (e.g. sample_key=..., groupby=...)."
        )


def as_anndata(data: Any, mod: str = "rna", *, what: str = "data") -> AnnData:
    """The AnnData to work on: ``data`` itself, or modality ``mod`` of a MuData.

    A modality gets the global ``obs`` columns it lacks joined in, in a new AnnData that shares the
    modality's matrices, ``var``, ``obsm`` and ``uns`` (``data`` is never modified).
    """
    if isinstance(data, AnnData):
        return data
    try:
        from mudata import MuData
    except ImportError:  # pragma: no cover - mudata is a dependency
        MuData = ()
    if isinstance(data, MuData):
        if mod not in data.mod:
            raise KeyError(f"The MuData has no modality {mod!r}; modalities: {list(data.mod)}. Pass mod=...")
        adata = data.mod[mod]
        extra = [c for c in data.obs.columns if c not in adata.obs.columns and ":" not in c]
        if extra:
            adata = AnnData(
                X=adata.X,
                obs=adata.obs.join(data.obs.loc[adata.obs_names, extra]),
                var=adata.var,
                uns=dict(adata.uns),
                obsm=dict(adata.obsm),
                varm=dict(adata.varm),
                layers=dict(adata.layers),
                obsp=dict(adata.obsp),
                varp=dict(adata.varp),
            )
        return adata
    raise TypeError(f"{what} must be an AnnData or a MuData, got {type(data).__name__}.")


def read_table(path: str | PathLike, **kwargs) -> pd.DataFrame:
    """Read a CSV/TSV table, the separator chosen by extension.

    Parameters
    ----------
    path
        The file; ``.tsv``, ``.txt``, ``.tab`` and ``.sf`` are tab-separated, anything else comma-separated.
        Gzip-compressed files (``.gz``) are read too.
    **kwargs
        Passed to :func:`pandas.read_csv` (``sep`` overrides the choice by extension).

    Returns
    -------
    The table; ``FileNotFoundError`` names a missing file, ``ValueError`` one that does not parse.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No file at {str(p)!r}.")
    name = p.name.lower().removesuffix(".gz")
    sep = "\t" if name.endswith((".tsv", ".txt", ".tab", ".sf")) else ","
    kwargs.setdefault("sep", sep)
    try:
        return pd.read_csv(p, **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(
            f"Could not parse {p.name!r} as a {'tab' if kwargs['sep'] == chr(9) else 'comma'}-separated table: {err}"
        ) from err


def check_choice(value: Any, choices: Sequence[Any], *, name: str) -> None:
    """Raise a ValueError when ``value`` is not one of ``choices``, listing the valid ones."""
    if value not in choices:
        raise ValueError(f"Unknown {name} {value!r}; choose one of {', '.join(map(repr, choices))}.")


def get_matrix(adata: AnnData, layer: str | None) -> Any:
    """Return ``adata.layers[layer]`` or ``adata.X``, with a clear error for an unknown layer."""
    if layer is None:
        if adata.X is None:
            raise ValueError("adata.X is empty; pass layer=... naming the layer that holds the data.")
        return adata.X
    if layer not in adata.layers:
        raise KeyError(
            f"adata.layers has no {layer!r}; layers present: {list(adata.layers.keys()) or 'none'}. "
            "Pass layer=None to use adata.X."
        )
    return adata.layers[layer]


def resolve_counts_layer(adata: AnnData, layer: str | None) -> str | None:
    """``None`` means ``layers["counts"]`` when it exists, else ``X``; other values pass through."""
    if layer is None and "counts" in adata.layers:
        return "counts"
    return layer


def to_dense(x: Any) -> np.ndarray:
    """Return a dense ``numpy`` array from a dense, sparse or matrix input."""
    if sparse.issparse(x):
        return x.toarray()
    return np.asarray(x)


def is_integer_valued(x: Any, *, sample: int | None = None) -> bool:
    """Whether all stored values are finite, non-negative integers (checks the non-zeros of sparse input)."""
    data = x.data if sparse.issparse(x) else np.asarray(x).ravel()
    if sample is not None and data.size > sample:
        data = data[:: max(1, data.size // sample)]
    if data.size == 0:
        return True
    if np.issubdtype(data.dtype, np.integer):
        return bool((data >= 0).all())
    return bool(np.isfinite(data).all() and (data >= 0).all() and np.equal(np.mod(data, 1), 0).all())


def progress(iterable: Iterable, *, total: int | None = None, desc: str = "", verbose: bool = True):
    """Wrap ``iterable`` in a tqdm bar, shown only when ``verbose`` and stderr is a terminal."""
    from tqdm import tqdm

    disable = (not verbose) or not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=False)


def categories(values: pd.Series) -> list:
    """Categories in their declared order for categoricals, else in order of first appearance."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().unique())
        return [c for c in values.cat.categories if c in present]
    return list(pd.unique(values.dropna()))


def versions() -> dict[str, str]:
    """Versions of drugprint and the libraries whose numbers a result depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("drugprint", "anndata", "scanpy", "decoupler", "pydeseq2", "numpy", "scipy", "pandas"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - every listed package is a dependency
            out[pkg] = "not installed"
    return out
