"""``pseudobulk``: sum the counts of each sample × cell type in one sparse pass."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData
from scipy import sparse

from .._utils import (
    as_anndata,
    check_choice,
    check_obs_keys,
    get_matrix,
    is_integer_valued,
    logger,
    resolve_counts_layer,
)


def _as_list(keys: str | Sequence[str] | None) -> list[str]:
    if keys is None:
        return []
    return [keys] if isinstance(keys, str) else list(keys)


def _profile_codes(obs: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer profile id per cell (-1 where a key is missing) and the key values of each profile."""
    grouped = obs.groupby(keys, observed=True, sort=True, dropna=True)
    codes = grouped.ngroup().to_numpy()
    codes = np.where(np.isnan(codes.astype(float)), -1, codes).astype(np.int64)
    return codes, grouped.size().reset_index(name="n_cells")


def _constant_columns(obs: pd.DataFrame, codes: np.ndarray, n_profiles: int) -> pd.DataFrame:
    """The obs columns whose value is the same for every cell of each profile, one row per profile."""
    keep = codes >= 0
    order = np.flatnonzero(keep)[np.argsort(codes[keep], kind="stable")]
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    first = order[starts]
    out = {}
    for col in obs.columns:
        values = obs[col]
        fcodes, _ = pd.factorize(values, use_na_sentinel=True)
        fsorted = fcodes[order]
        if np.array_equal(np.minimum.reduceat(fsorted, starts), np.maximum.reduceat(fsorted, starts)):
            kept = values.iloc[first].reset_index(drop=True)
            if isinstance(kept.dtype, pd.CategoricalDtype):
                kept = kept.cat.remove_unused_categories()
            out[col] = kept
    assert len(first) == n_profiles
    return pd.DataFrame(out)


def pseudobulk(
    adata: AnnData | MuData,
    sample_key: str = "sample",
    groupby: str | Sequence[str] | None = "cell_type",
    *,
    layer: str | None = None,
    func: Literal["sum", "mean"] = "sum",
    min_cells: int = 10,
    mod: str = "rna",
) -> AnnData:
    """Aggregate cells into profiles: one per sample × group, with the sample's metadata.

    Counts are summed in one pass over the non-zeros (an indicator-matrix product, as
    :func:`scanpy.get.aggregate`); the cell matrix is never densified.

    Parameters
    ----------
    adata
        Cells × genes, raw counts in ``layer`` (or ``X``); or a MuData, of which modality ``mod`` is used.
    sample_key
        ``obs`` column naming the biological sample (e.g. donor × drug).
    groupby
        ``obs`` column(s) to split each sample by, usually the cell type; ``None`` for one profile per sample.
    layer
        Layer holding raw counts. ``None`` uses ``layers["counts"]`` when present, else ``X``.
    func
        ``"sum"`` (for count models such as DESeq2) or ``"mean"``.
    min_cells
        Profiles made of fewer cells are dropped (listed in ``uns["pseudobulk"]["dropped"]`` and logged).
    mod
        Modality of a MuData input (its global ``obs`` columns are used too).

    Returns
    -------
    A new AnnData, profiles × genes: ``X`` holds the aggregated values (dense ``float64``); ``obs`` holds
    the sample and group keys, ``n_cells``, and every ``obs`` column that is constant within each profile
    (donor, drug, dose, time …); ``var`` is copied; ``uns["pseudobulk"]`` records the parameters, the
    layer used and the dropped profiles.

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small")
    >>> pdata = dp.pp.pseudobulk(adata, sample_key="sample", groupby="cell_type", min_cells=10)
    >>> pdata.obs.loc["D1_DMSO|NK", ["donor", "drug"]].tolist()
    ['D1', 'DMSO']
    >>> int(pdata.obs.loc["D1_DMSO|NK", "n_cells"])
    25
    """
    adata = as_anndata(adata, mod, what="pseudobulk's input")
    check_choice(func, ["sum", "mean"], name="func")
    if not isinstance(min_cells, int | np.integer) or min_cells < 0:
        raise ValueError(f"min_cells must be a non-negative integer, got {min_cells!r}.")
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise ValueError(f"adata is empty ({adata.n_obs} cells × {adata.n_vars} genes); nothing to aggregate.")
    keys = [sample_key, *_as_list(groupby)]
    check_obs_keys(adata, keys)
    if len(set(keys)) != len(keys):
        raise ValueError(f"sample_key and groupby must name different columns, got {keys}.")
    layer = resolve_counts_layer(adata, layer)
    x = get_matrix(adata, layer)

    codes, profiles = _profile_codes(adata.obs, keys)
    n_missing = int((codes < 0).sum())
    if n_missing:
        warnings.warn(
            f"{n_missing} cells have no value in {keys} and are left out of every profile.", UserWarning, stacklevel=2
        )
    n_profiles = len(profiles)
    cells = np.flatnonzero(codes >= 0)
    indicator = sparse.csr_matrix((np.ones(cells.size), (codes[cells], cells)), shape=(n_profiles, adata.n_obs))
    summed = indicator @ x
    summed = summed.toarray() if sparse.issparse(summed) else np.asarray(summed, dtype=np.float64)
    summed = summed.astype(np.float64, copy=False)
    n_cells = profiles["n_cells"].to_numpy()
    if func == "mean":
        summed /= n_cells[:, None]
    elif not is_integer_valued(x, sample=1_000_000):
        warnings.warn(
            f"The values summed ({'layers[' + repr(layer) + ']' if layer else 'X'}) are not non-negative integers; "
            "count models (dp.tl.de method='deseq2') need raw counts. Pass layer='counts' (or the layer holding them).",
            UserWarning,
            stacklevel=2,
        )

    meta = _constant_columns(adata.obs, codes, n_profiles)
    meta["n_cells"] = n_cells
    names = profiles[keys].astype(str).agg("|".join, axis=1).to_numpy()
    meta.index = pd.Index(names, name=None)
    for k in keys:  # keys are constant by construction; keep them first
        meta.insert(keys.index(k), k, meta.pop(k))

    keep = n_cells >= min_cells
    dropped = profiles.loc[~keep, [*keys, "n_cells"]].astype({k: str for k in keys}).reset_index(drop=True)
    if len(dropped):
        logger.info(
            "pseudobulk: dropped %d of %d profiles with fewer than %d cells: %s",
            len(dropped),
            n_profiles,
            min_cells,
            ", ".join(names[~keep][:10]) + (" …" if len(dropped) > 10 else ""),
        )
    if not keep.any():
        raise ValueError(
            f"Every profile has fewer than min_cells={min_cells} cells (largest: {int(n_cells.max())}). "
            "Lower min_cells or check sample_key/groupby."
        )
    pdata = AnnData(X=summed[keep], obs=meta.iloc[keep].copy(), var=adata.var.copy())
    pdata.uns["pseudobulk"] = {
        "sample_key": sample_key,
        "groupby": _as_list(groupby),
        "layer": "X" if layer is None else layer,
        "func": func,
        "min_cells": int(min_cells),
        "n_profiles": int(keep.sum()),
        "dropped": dropped,
    }
    return pdata
