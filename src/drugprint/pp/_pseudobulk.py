"""``pseudobulk``: sum the counts of each sample × cell type in one sparse pass."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

from .._anndata import as_anndata
from .._checks import check_choice, check_obs_keys
from .._counts import describe_values, get_counts
from .._env import logger
from .._libsize import check_library_sizes
from ._aggregate import aggregate_sum


def _as_list(keys: str | Sequence[str] | None) -> list[str]:
    if keys is None:
        return []
    return [keys] if isinstance(keys, str) else list(keys)


def _profile_codes(obs: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """Profile id per cell (−1 where a key is missing), each profile's key values, size and first cell.

    Profiles are ordered by the keys (category order for categoricals, sorted values otherwise).
    """
    cols = [obs[k] if isinstance(obs[k].dtype, pd.CategoricalDtype) else obs[k].astype("category") for k in keys]
    cat_codes = [c.cat.codes.to_numpy().astype(np.int64) for c in cols]
    sizes = [len(c.cat.categories) for c in cols]
    missing = np.zeros(len(obs), dtype=bool)
    for c in cat_codes:
        missing |= c < 0
    combined = np.ravel_multi_index([np.where(missing, 0, c) for c in cat_codes], sizes)
    present, first, inverse = np.unique(combined[~missing], return_index=True, return_inverse=True)
    codes = np.full(len(obs), -1, dtype=np.int64)
    codes[~missing] = inverse
    first = np.flatnonzero(~missing)[first]
    values = np.unravel_index(present, sizes)
    profiles = pd.DataFrame({k: c.cat.categories[v] for k, c, v in zip(keys, cols, values, strict=True)})
    profiles["n_cells"] = np.bincount(inverse, minlength=len(present))
    return codes, profiles, first


def _constant_columns(obs: pd.DataFrame, codes: np.ndarray, first: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """The obs columns constant within every profile (one row per profile), and how many profiles the others vary in."""
    keep = codes >= 0
    out, varying = {}, {}
    for col in obs.columns:
        values = obs[col]
        fcodes = (
            values.cat.codes.to_numpy()
            if isinstance(values.dtype, pd.CategoricalDtype)
            else pd.factorize(values, use_na_sentinel=True)[0]
        )
        same = fcodes[keep] == fcodes[first][codes[keep]]
        if same.all():
            kept = values.iloc[first].reset_index(drop=True)
            if isinstance(kept.dtype, pd.CategoricalDtype):
                kept = kept.cat.remove_unused_categories()
            out[col] = kept
        else:
            varying[str(col)] = int(np.unique(codes[keep][~same]).size)
    return pd.DataFrame(out), varying


def pseudobulk(
    adata: AnnData | MuData,
    sample_key: str = "sample",
    groupby: str | Sequence[str] | None = "cell_type",
    *,
    layer: str | None = None,
    use_raw: bool | None = None,
    func: Literal["sum", "mean"] = "sum",
    min_cells: int = 10,
    mod: str = "rna",
    allow_normalized: bool = False,
) -> AnnData:
    """Aggregate cells into profiles: one per sample × group, with the sample's metadata.

    Counts are summed in one pass over the non-zeros (an indicator-matrix product, as
    :func:`scanpy.get.aggregate`); the cell matrix is never densified. A Dask array in ``X`` or the layer
    (e.g. from :func:`anndata.experimental.read_elem_lazy` on zarr or h5ad) is reduced chunk by chunk with
    bounded memory on the active Dask scheduler or ``dask.distributed`` client; the result is the same.

    The counts may sit in a layer, in ``X`` or, as in the usual scanpy workflow (``X`` normalised and
    log-transformed), in ``adata.raw``, often with more genes than ``X``: see ``layer`` and ``use_raw``.

    Parameters
    ----------
    adata
        Cells × genes, raw counts in ``layer``, ``X`` or ``.raw``; or a MuData, of which modality ``mod`` is used.
    sample_key
        ``obs`` column naming the biological sample (e.g. donor × drug).
    groupby
        ``obs`` column(s) to split each sample by, usually the cell type; ``None`` for one profile per sample.
    layer
        Layer holding raw counts; ``"raw"`` (when no layer has that name) means ``adata.raw``. ``None`` uses
        ``layers["counts"]`` when present, else ``X`` (or ``adata.raw``, see ``use_raw``).
    use_raw
        Sum ``adata.raw.X``, with all the genes of ``adata.raw.var`` (scanpy's convention). ``None``: only when
        ``layer`` is ``None``, there is no ``layers["counts"]``, ``X`` holds no counts (non-integer values in a
        sample of rows, e.g. after ``log1p``) and ``adata.raw`` does, with a warning. ``False``: never.
        ``True`` with a ``layer`` is a ``ValueError``; without ``adata.raw`` a ``KeyError``.
    func
        ``"sum"`` (for count models such as DESeq2) or ``"mean"``.
    min_cells
        Profiles made of fewer cells are dropped (listed in ``uns["pseudobulk"]["dropped"]`` and logged).
    mod
        Modality of a MuData input (its global ``obs`` columns are used too).
    allow_normalized
        Sum integer values whose cells all have about the same total — 10,000 (CP10k), 1,000,000 or one common
        total (within 3 %; or 90 % of them within 20 % of their median) — as counts. By default that is an error:
        they are normalised values rounded back to integers, and count models (``dp.tl.de``) would treat their
        sums as counts.

    Returns
    -------
    A new AnnData, profiles × genes: ``X`` holds the aggregated values (dense ``float64``); ``obs`` holds
    the sample and group keys, ``n_cells``, and every ``obs`` column that is constant within each profile
    (donor, drug, dose, time …); ``var`` is copied (``adata.raw.var`` when the counts come from ``.raw``);
    ``uns["pseudobulk"]`` records the parameters, where the counts came from (``"layer"``: ``"X"``, a layer
    name or ``"raw"``; ``"use_raw"``: whether ``adata.raw`` was read), the dropped profiles, and the ``obs``
    columns not kept because they vary within profiles (``"varying"``: column, number of profiles).

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small")
    >>> pdata = dp.pp.pseudobulk(adata, sample_key="sample", groupby="cell_type", min_cells=10)
    >>> pdata.obs.loc["D1_DMSO|NK", ["donor", "drug"]].tolist()
    ['D1', 'DMSO']
    >>> int(pdata.obs.loc["D1_DMSO|NK", "n_cells"])
    25

    The scanpy way: counts kept in ``.raw``, ``X`` normalised and log-transformed.

    >>> import scanpy as sc
    >>> cells = adata.copy()
    >>> cells.X = cells.layers.pop("counts")
    >>> cells.raw = cells.copy()  # a copy: normalize_total changes a float X in place
    >>> sc.pp.normalize_total(cells)
    >>> sc.pp.log1p(cells)
    >>> from_raw = dp.pp.pseudobulk(cells, use_raw=True)
    >>> from_raw.uns["pseudobulk"]["layer"], bool((from_raw.X == pdata.X).all())
    ('raw', True)
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
    counts = get_counts(adata, layer, use_raw)
    x = counts.x
    obs, var = (df if isinstance(df, pd.DataFrame) else df.to_memory() for df in (adata.obs, counts.var))  # lazy
    if not var.index.is_unique:
        dup = var.index[var.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"Gene names are duplicated (e.g. {dup}); run adata.var_names_make_unique() first.")

    codes, profiles, first = _profile_codes(obs, keys)
    n_missing = int((codes < 0).sum())
    if n_missing:
        warnings.warn(
            f"{n_missing} cells have no value in {keys} and are left out of every profile.", UserWarning, stacklevel=2
        )
    n_profiles = len(profiles)
    summed, counts_like, totals = aggregate_sum(x, codes, n_profiles)
    n_cells = profiles["n_cells"].to_numpy()
    if func == "mean":
        summed /= n_cells[:, None]
    elif counts_like:
        check_library_sizes(
            totals[codes >= 0],
            what=f"The cells' counts in {counts.where}",
            fix="Pass layer=... naming the layer of raw counts, or use_raw=True if adata.raw holds them.",
            allow=allow_normalized,
            cells=True,
        )
    else:
        warnings.warn(
            f"{counts.where} holds {describe_values(x)}: not non-negative integers, so the sums are not counts. Count "
            "models (dp.tl.de method='deseq2') need raw counts: pass layer=... naming the layer that holds them, "
            "or use_raw=True if adata.raw does.",
            UserWarning,
            stacklevel=2,
        )

    meta, varying = _constant_columns(obs, codes, first)
    if varying:
        logger.info(
            "pseudobulk: obs columns that vary within a profile are not kept: %s",
            ", ".join(f"{c} (within {n} of {n_profiles} profiles)" for c, n in varying.items()),
        )
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
    pdata = AnnData(X=summed[keep], obs=meta.iloc[keep].copy(), var=var.copy())
    pdata.uns["pseudobulk"] = {
        "sample_key": sample_key,
        "groupby": _as_list(groupby),
        "layer": "raw" if counts.from_raw else counts.layer or "X",
        "use_raw": counts.from_raw,
        "func": func,
        "min_cells": int(min_cells),
        "mod": mod,
        "allow_normalized": bool(allow_normalized),
        "n_profiles": int(keep.sum()),
        "dropped": dropped,
        # a table, not a dict keyed by column names (which may hold "/", refused in h5ad and zarr keys)
        "varying": pd.DataFrame({"column": list(varying), "n_profiles": list(varying.values())}, dtype=object).astype(
            {"n_profiles": int}
        ),
    }
    return pdata
