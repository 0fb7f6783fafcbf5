"""AnnData access shared by the tools: the object to work on (a modality of a MuData), a matrix, its categories."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse


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


def to_dense(x: Any) -> np.ndarray:
    """Return a dense ``numpy`` array from a dense, sparse or matrix input."""
    if sparse.issparse(x):
        return x.toarray()
    return np.asarray(x)


def categories(values: pd.Series) -> list:
    """Categories in their declared order for categoricals, else in order of first appearance."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().unique())
        return [c for c in values.cat.categories if c in present]
    return list(pd.unique(values.dropna()))
