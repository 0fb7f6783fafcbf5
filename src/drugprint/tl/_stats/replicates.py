"""What replicate-level tests need from each DE fit, kept in ``sig.uns["de"]["replicates"]``.

One entry per fitted group, keyed ``"fit0"``, ``"fit1"`` … (group labels may hold characters that HDF5 keys
refuse): the group, its profiles, the design matrix, the log-expression of the tested genes (log-CPM after
TMM with voom precision weights for counts; the values themselves for log-scale data), and, for each
signature of the group, its name and contrast vector. Genes are stored by name (subsetting or reordering the
signatures' genes keeps the rest valid) and by position (renaming them in place, e.g. to Ensembl IDs, too);
everything is a plain array, so the signatures round-trip through ``write_h5ad``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

from .design import Design
from .voom import tmm_factors, voom


def profile_data(data: pd.DataFrame, design: Design, is_counts: bool, voomed: tuple | None = None) -> dict:
    """Per-profile log-expression (and voom weights for counts) of one group's fit (profiles × genes in).

    ``voomed``: the log-CPM and weights (genes × profiles) the voom engine already computed for this fit.
    """
    x = data.to_numpy(dtype=float).T
    mat = design.matrix.to_numpy(dtype=float)
    out = {"profiles": np.asarray(data.index, dtype=str), "design": mat}
    if is_counts:
        if voomed is None:
            lib = x.sum(axis=0) * tmm_factors(x)
            expr, weights = voom(x, mat, lib)
        else:
            expr, weights = voomed
        out["weights"] = weights.T.astype(np.float32)
        out["scale"] = "log2 CPM (TMM), voom precision weights"
    else:
        expr = x
        out["scale"] = "log values as given"
    out["expr"] = expr.T.astype(np.float32)
    return out


@dataclass
class Fit:
    """One group's replicate data, genes restricted to those finite in every profile."""

    key: str
    group: str
    genes: pd.Index  # var names, in the rows' order of expr
    expr: np.ndarray  # genes × profiles
    weights: np.ndarray | None  # genes × profiles
    design: np.ndarray  # profiles × coefficients
    signatures: list[str]
    contrasts: np.ndarray  # signatures × coefficients

    @property
    def df_residual(self) -> int:
        return self.design.shape[0] - self.design.shape[1]


def fits(sig: AnnData) -> list[Fit]:
    """The replicate data of every fit whose signatures are (still) in ``sig``; ``[]`` when none is kept."""
    de = sig.uns.get("de")
    store = de.get("replicates") if isinstance(de, dict) else None
    if not isinstance(store, dict):
        return []
    present = set(sig.obs_names)
    out = []
    for key, f in store.items():
        names = [str(s) for s in np.asarray(f["signatures"])]
        rows = [i for i, s in enumerate(names) if s in present]
        if not rows:
            continue
        genes = pd.Index([str(g) for g in np.asarray(f["genes"])])
        if not genes.isin(sig.var_names).all() and sig.n_vars == int(f.get("n_vars", -1)):
            genes = sig.var_names[np.asarray(f["gene_index"], dtype=int)]  # genes renamed in place (e.g. Ensembl)
        expr = np.asarray(f["expr"], dtype=float).T
        # genes still in sig (it may have been subset) with a value in every profile
        keep = genes.isin(sig.var_names) & np.isfinite(expr).all(axis=1)
        weights = np.asarray(f["weights"], dtype=float).T[keep] if "weights" in f else None
        out.append(
            Fit(
                key=str(key),
                group=str(f["group"]),
                genes=genes[keep],
                expr=expr[keep],
                weights=weights,
                design=np.asarray(f["design"], dtype=float),
                signatures=[names[i] for i in rows],
                contrasts=np.atleast_2d(np.asarray(f["contrasts"], dtype=float))[rows],
            )
        )
    return out
