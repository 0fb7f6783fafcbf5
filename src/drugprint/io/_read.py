"""Read the cell-level inputs the CLI accepts (h5ad, h5mu, zarr)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from ._ids import check_map_ids, to_symbols


def _totals(adata: AnnData) -> np.ndarray:
    """Per gene, the total of ``layers["counts"]`` (else ``X``; zeros without either)."""
    x = adata.layers["counts"] if "counts" in adata.layers else adata.X
    return np.zeros(adata.n_vars) if x is None else np.asarray(x.sum(axis=0), dtype=float).ravel()


def _map_var_names(adata: AnnData, map_ids: bool | str) -> AnnData:
    """Rename Ensembl/Entrez ``var_names`` (and ``raw``'s, the same way) to symbols, in place."""
    if map_ids is False:
        return adata
    raw = adata.raw
    own_ids = "gene_ids" in adata.var and not (adata.var["gene_ids"].astype(str) == adata.var_names).all()
    subset = raw is None or adata.var_names.isin(raw.var_names).all()
    why = (
        "var already has a 'gene_ids' column other than var_names"
        if own_ids
        else "var_names are not unique"
        if not adata.var_names.is_unique
        else "adata.raw lacks some of var_names, so both cannot be renamed alike"
        if not subset
        else None
    )
    if why is not None:
        if map_ids is True:
            raise ValueError(f"Cannot map the gene IDs: {why}.")
        return adata
    # with .raw, decide on its genes (usually a superset) so that X and .raw name each gene alike
    ref = adata if raw is None else raw.to_adata()
    mapped = to_symbols(ref.var_names, _totals(ref), map_ids=map_ids, what="total expression", stacklevel=4)
    if mapped is None:
        return adata
    names, id_var, record = mapped
    if raw is not None:
        raw_var = id_var.join(raw.var.drop(columns=id_var.columns.intersection(raw.var.columns)).set_axis(names))
        adata.raw = AnnData(X=raw.X, var=raw_var, obs=adata.obs[[]], varm=dict(raw.varm))
    new = pd.Index(ref.var_names.astype(str)).get_indexer(adata.var_names.astype(str))
    var = adata.var.drop(columns=[c for c in id_var.columns if c in adata.var])
    adata.var = id_var.iloc[new].join(var.set_axis(names[new]))
    adata.uns["gene_ids"] = record
    return adata


def read(path: str | PathLike, *, mod: str = "rna", map_ids: bool | Literal["auto"] = "auto") -> AnnData:
    """Read an ``.h5ad``, ``.zarr`` or ``.h5mu`` file into an AnnData.

    Parameters
    ----------
    path
        File to read.
    mod
        For ``.h5mu`` (MuData): the modality to return.
    map_ids
        Name genes given as human Ensembl IDs (``ENSG…``, versioned or not) or Entrez IDs by their NCBI Gene
        symbol, as :func:`drugprint.io.read_counts` does: ``"auto"`` when at least 90 % of the ``var_names`` are
        such IDs, ``True`` always, ``False`` never. Of IDs sharing a symbol, the one with the highest total
        (of ``layers["counts"]``, else ``X``; of ``.raw`` when present, which is renamed alike) takes it; the
        others, and IDs without a symbol, keep their ID. The IDs are kept in ``var["gene_ids"]``, the record
        in ``uns["gene_ids"]``, with a warning. A ``var["gene_ids"]`` column other than the names is left
        alone (and nothing is mapped).

    Returns
    -------
    The AnnData (the chosen modality for MuData, with the global ``obs`` columns it lacks joined in).

    Examples
    --------
    >>> import drugprint as dp, tempfile, os
    >>> adata = dp.datasets.imid_screen("small")
    >>> path = os.path.join(tempfile.mkdtemp(), "screen.h5ad")
    >>> adata.write_h5ad(path)
    >>> dp.io.read(path).n_obs == adata.n_obs
    True
    """
    import anndata as ad

    check_map_ids(map_ids)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No file at {str(p)!r}.")
    suffix = p.suffix.lower()
    if suffix == ".h5ad":
        adata = ad.read_h5ad(p)
    elif suffix == ".zarr":
        adata = ad.read_zarr(p)
    elif suffix == ".h5mu":
        import mudata as md

        from .._anndata import as_anndata

        adata = as_anndata(md.read_h5mu(p), mod)
    else:
        raise ValueError(f"Cannot read {p.name!r}: use .h5ad, .zarr or .h5mu.")
    return _map_var_names(adata, map_ids)
