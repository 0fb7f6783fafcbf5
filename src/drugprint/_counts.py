"""Raw counts: where in an AnnData they are (a layer, ``X`` or ``.raw``) and whether values are counts at all."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ._anndata import get_matrix


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
