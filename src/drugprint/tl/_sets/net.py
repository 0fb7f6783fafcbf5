"""A gene-set net made ready for scoring: weights, names HDF5 can store, identifiers matched to the signatures."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._results import caller_stacklevel
from ...resources import harmonise_net, match_net

#: Stands in for "/" in set names (U+2215, reads the same; "/" cannot be part of an HDF5 or zarr key)
SLASH = "\u2215"


def prepare_net(
    sig: AnnData,
    net: pd.DataFrame,
    layer: str | None,
    id_column: str | None,
    min_fraction: float,
    species: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, str, pd.DataFrame]:
    """The net as given (with weights), the net on ``sig``'s genes, how genes were matched, and the overlap per set.

    The net on ``sig``'s genes has ``source``, ``target`` (a ``var_name``), ``weight`` and ``input_target`` (the
    identifier the net used). Errors name duplicated gene names, a missing ``layer`` and, when no gene matches,
    the identifiers the data has. ``species``: as :func:`drugprint.resources.harmonise_net` (``None`` detects
    mouse data and matches them through orthologues).
    """
    original = net if "weight" in net.columns else net.assign(weight=1.0)
    slashed = sorted({str(x) for x in original["source"] if "/" in str(x)})
    if slashed:  # set names become obsm column keys, which HDF5 and zarr refuse to contain "/"
        original = original.assign(source=original["source"].astype(str).str.replace("/", SLASH, regex=False))
        warnings.warn(
            f"{len(slashed)} gene-set name(s) contain '/', which .h5ad/.zarr keys cannot hold (e.g. {slashed[0]!r}); "
            f"stored with '{SLASH}' (division slash) instead.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    if not sig.var_names.is_unique:
        dup = sig.var_names[sig.var_names.duplicated()].unique()[:5].tolist()
        raise ValueError(f"Gene names are duplicated (e.g. {dup}); run sig.var_names_make_unique() first.")
    if layer is not None and layer not in sig.layers:
        raise KeyError(
            f"sig.layers has no {layer!r}; present: {list(sig.layers.keys())}. Is this a signatures AnnData?"
        )
    matched, matched_by = harmonise_net(original, sig.var, id_column=id_column, species=species)
    if matched.empty:  # say which identifiers the data has, not the (empty) matched ones
        match_net(original, sig.var_names, min_fraction=min_fraction, species=species)
    report = match_net(original, matched["input_target"].unique(), min_fraction=min_fraction)
    return original, matched[["source", "target", "weight", "input_target"]], matched_by, report


def minimum(overlap: pd.DataFrame, tmin: int, min_tested_fraction: float) -> pd.Series:
    """Per set (``overlap``'s index), the tested genes it needs to be scored in a signature.

    At least ``tmin``, and at least ``min_tested_fraction`` of the set's genes (``overlap["n_genes"]``, counted in
    the net as given, whether the data has them or not), rounded up.
    """
    if not 0 <= min_tested_fraction <= 1:
        raise ValueError(f"min_fraction must be between 0 and 1, got {min_tested_fraction!r}.")
    share = np.ceil(min_tested_fraction * overlap["n_genes"].to_numpy(dtype=float) - 1e-9)
    return pd.Series(np.maximum(int(tmin), share).astype(int), index=overlap.index)
