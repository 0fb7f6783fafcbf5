"""Small helpers shared across modules: input checks, progress bars, matrix access."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

logger = logging.getLogger("drugprint")


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
                raw=adata.raw,
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


def is_dask(x: Any) -> bool:
    """Whether ``x`` is a Dask array (without importing Dask when it is not installed)."""
    return type(x).__module__.startswith("dask")


def sample_rows(x: Any, n: int = 2_000) -> Any:
    """Up to ``n`` rows of ``x`` in memory, to check its values cheaply.

    Evenly spaced rows of a NumPy or SciPy matrix; the first rows of a Dask or backed one (one chunk read).
    """
    if isinstance(x, np.ndarray) or sparse.issparse(x):
        return x if x.shape[0] <= n else x[np.linspace(0, x.shape[0] - 1, n).astype(np.int64)]
    head = x[:n]
    return head.compute() if is_dask(head) else head


def describe_values(x: Any) -> str:
    """What a sample of rows of ``x`` holds instead of counts, e.g. ``"non-integer values (max 7.2)"``."""
    s = sample_rows(x)
    v = np.asarray(s.data if sparse.issparse(s) else s, dtype=np.float64).ravel()
    finite = np.isfinite(v)
    checks = (("negative", v < 0), ("non-integer", finite & (v % 1 != 0)), ("NaN/infinite", ~finite))
    kinds = [k for k, bad in checks if bad.any()]
    top = float(v[finite].max()) if finite.any() else float("nan")
    log = ", as after normalize_total + log1p" if kinds == ["non-integer"] and top < 20 else ""
    return f"{'/'.join(kinds) or 'non-count'} values (max {top:.3g} in a sample of rows{log})"


class Counts(NamedTuple):
    """The raw counts :func:`get_counts` found: matrix, its genes, and where (a layer, else ``X`` or ``.raw``)."""

    x: Any
    var: pd.DataFrame
    layer: str | None
    from_raw: bool

    @property
    def where(self) -> str:
        return "adata.raw.X" if self.from_raw else f"layers[{self.layer!r}]" if self.layer else "X"


def get_counts(adata: AnnData, layer: str | None = None, use_raw: bool | None = None) -> Counts:
    """The raw counts of ``adata`` with their genes: a layer, ``X`` or ``adata.raw``.

    ``use_raw=True``, or ``layer="raw"`` when no layer has that name and ``use_raw`` is not ``False``, read
    ``adata.raw`` (all its genes). Otherwise :func:`resolve_counts_layer` chooses; with ``use_raw=None`` an
    ``X`` that holds no counts (checked on a sample of rows) gives way to an integer-valued ``adata.raw``,
    with a warning.
    Meant to be called from a public function (warnings point at its caller).
    """
    if use_raw and layer is not None:
        raise ValueError(
            f"use_raw=True and layer={layer!r} both say where the counts are; pass only one of them "
            "(use_raw=True for adata.raw, layer=... for a layer)."
        )
    from_raw = bool(use_raw) or (layer == "raw" and "raw" not in adata.layers and use_raw is None)
    if from_raw and adata.raw is None:
        raise KeyError(
            f"{'use_raw=True' if use_raw else 'layer=' + repr(layer)} asks for adata.raw, but adata.raw is None and "
            f"adata.layers has no 'raw' (layers present: {list(adata.layers.keys()) or 'none'}). Pass layer=... "
            "naming the layer of raw counts, or keep the counts before normalising (adata.raw = adata.copy(), or "
            "adata.layers['counts'] = adata.X.copy())."
        )
    layer = None if from_raw else resolve_counts_layer(adata, layer)
    auto = use_raw is None and not from_raw and layer is None and adata.X is not None and adata.raw is not None
    if auto and not is_integer_valued(sample_rows(adata.X)) and is_integer_valued(sample_rows(adata.raw.X)):
        warnings.warn(
            f"X holds {describe_values(adata.X)}, not raw counts, and there is no layers['counts']; using the "
            f"integer counts in adata.raw ({adata.raw.n_vars} genes) instead. Pass use_raw=True to silence this "
            "warning, or use_raw=False / layer=... to choose other values.",
            UserWarning,
            stacklevel=3,
        )
        from_raw = True
    if from_raw:
        return Counts(adata.raw.X, adata.raw.var, None, True)
    return Counts(get_matrix(adata, layer), adata.var, layer, False)


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


def optional_import(module: str, extra: str, purpose: str) -> Any:
    """Import an optional dependency, or raise an ``ImportError`` naming the extra that installs it.

    Parameters
    ----------
    module
        The module to import, e.g. ``"leidenalg"`` or ``"distributed"``.
    extra
        The drugprint extra that installs it: ``"protein"`` (muon), ``"cluster"`` (leidenalg, igraph) or
        ``"dask"`` (dask, distributed, zarr, xarray); ``"all"`` installs every one.
    purpose
        What needs it, e.g. ``"dp.tl.annotate (clustering)"``; the message reads
        ``"<purpose> needs <module>; install it with: pip install 'drugprint[<extra>]'"``.

    Returns
    -------
    The imported module.

    Examples
    --------
    >>> from drugprint._utils import optional_import
    >>> optional_import("math", "all", "an example").sqrt(4.0)
    2.0
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        missing = isinstance(err, ModuleNotFoundError) and err.name in (module, module.split(".")[0])
        cause = "" if missing else f" (importing it failed: {err})"
        install = f"pip install 'drugprint[{extra}]'"
        raise ImportError(f"{purpose} needs {module}{cause}; install it with: {install}") from err
