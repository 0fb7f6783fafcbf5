"""``panels``: gene-panel scores per signature, and per-cell module scores for plotting."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._checks import check_obs_keys
from .._docs import doc_params
from .._env import logger
from .._results import renamed
from ..resources import panels as shipped_panels
from ._sets import score_sets
from ._sets.methods import SetMethodName


def _panel_net(panels: Mapping[str, Sequence[str]] | None) -> pd.DataFrame:
    shipped = panels is None
    panels = shipped_panels() if shipped else panels
    if not isinstance(panels, Mapping) or not panels:
        raise TypeError("panels must be a non-empty mapping of panel name -> list of gene symbols.")
    rows = []
    for name, genes in panels.items():
        if isinstance(genes, str) or not len(genes):
            raise ValueError(f"Panel {name!r} must be a non-empty list of gene symbols, got {genes!r}.")
        rows += [(name, g, 1.0) for g in dict.fromkeys(genes)]
    net = pd.DataFrame(rows, columns=["source", "target", "weight"])
    net.attrs = {"name": "panels", "source": "drugprint.resources.panels" if shipped else "user panels"}
    return net


@doc_params()
def panels(
    sig: AnnData,
    panels: Mapping[str, Sequence[str]] | None = None,
    *,
    method: SetMethodName = "camera",
    layer: str | None = "stat",
    tmin: int = 2,
    min_fraction: float = 0.5,
    key_added: str = "panels",
    level: float = 0.95,
    species: Literal["human", "mouse"] | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Test gene panels (cytotoxicity, IRF4–MYC, IL2 de-repression, neosubstrate mRNA, interferon) on each signature.

    Panels are tested like pathways (:func:`drugprint.tl.pathways`), with the samples as replicates: by
    default limma's camera (does the panel move more than the other tested genes, given how its genes
    co-vary between samples?). The effect is the mean log2 fold change of the panel's tested genes, with an
    interval from the replicates.

    A panel is scored in a signature only when at least ``tmin`` of its genes **and** at least ``min_fraction``
    of them were tested there (genes filtered out of a cell type, or absent from the data, are not tested);
    otherwise it is NaN in that signature. A panel's name claims a programme: two of eight cytotoxicity genes
    (TNF and NKG7 in monocytes, say) are not that programme, and a call resting on one of them would be
    reported as "cytotoxicity". How many of each panel's genes every signature tested is recorded
    (``uns[key_added]["coverage"]``) and shown by :func:`drugprint.get.pathway_table` (``n_genes_tested``,
    ``n_genes_set``). Which panels suit which cell type: :func:`drugprint.resources.panels_for`.

    Parameters
    ----------
    sig
        Signatures AnnData from :func:`drugprint.tl.de`.
    panels
        Panel name → genes; default :func:`drugprint.resources.panels`.
    method
        Any test of :func:`drugprint.tl.set_methods`: ``"camera"`` (default), ``"fry"``, ``"activity"`` (the
        samples as replicates) or a decoupler method such as ``"ulm"`` (genes as units).
    layer
        Layer scored by ``"ulm"`` (``None``: ``X``).
    tmin
        Panels with fewer tested genes in a signature are not scored there.
    min_fraction
        Panels with fewer than this fraction of their genes tested in a signature are not scored there (a panel
        of 8 genes needs 4, one of 5 needs 3); ``0`` leaves ``tmin`` alone. A panel the data mostly lack (below
        this fraction among all ``sig.var_names``) is also named in a warning.
    key_added
        Writes ``sig.obsm[key_added]`` (scores), ``[key_added + "_padj"]``, ``[key_added + "_log2fc"]`` and
        ``sig.uns[key_added]`` (as for :func:`drugprint.tl.pathways`, with ``panels``: one row per ``panel`` ×
        ``gene``, and ``coverage``: one row per signature × panel with ``signature``, ``group``, ``panel``,
        ``n_tested`` — the panel's genes tested in the signature —, ``n_genes`` — the panel's size — and
        ``genes_tested``, ``"; "``-joined); with replicates also ``[key_added + "_log2fc_lo"]`` and ``"_hi"``.
        A panel scored in no signature has no column.
    level
        Confidence level of the effect intervals.
    species
        The data's organism for matching the (human) collection: ``None`` detects mouse symbols (``Ikzf1``) or
        ``ENSMUSG`` IDs and matches them through HCOP one-to-one orthologues (:func:`drugprint.resources.orthologs`),
        ``"human"`` matches the genes as given, ``"mouse"`` always goes through the orthologues. The route is
        recorded in ``uns[key_added]["matched_by"]``.
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    >>> dp.tl.panels(sig)
    >>> bool(sig.obsm["panels_log2fc"].loc["NK|mezigdomide vs DMSO", "cytotoxicity"] > 0)
    True

    Most interferon genes are filtered out of these NK cells (1 of 10 tested), so that panel is not scored:

    >>> cov = sig.uns["panels"]["coverage"].set_index(["signature", "panel"])
    >>> cov.loc[("NK|mezigdomide vs DMSO", "interferon"), ["n_tested", "n_genes"]].tolist()
    [1, 10]
    >>> "interferon" in sig.obsm["panels"]
    False
    """
    if not isinstance(sig, AnnData):
        raise TypeError(f"panels expects a signatures AnnData, got {type(sig).__name__}.")
    sig = sig.copy() if copy else sig
    net = _panel_net(panels)
    score_sets(
        sig,
        net,
        method=method,
        layer=layer,
        level=level,
        tmin=tmin,
        key_added=key_added,
        min_fraction=min_fraction,
        min_tested_fraction=min_fraction,
        coverage="panel",
        # a table, not a dict keyed by panel names (which may hold "/", refused in h5ad and zarr keys)
        extra={"panels": net[["source", "target"]].set_axis(["panel", "gene"], axis=1).reset_index(drop=True)},
        species=species,
    )
    return sig if copy else None


@renamed(key_prefix=("key_added", lambda prefix: prefix.removesuffix("_")))
@doc_params()
def score_cells(
    adata: AnnData,
    panels: Mapping[str, Sequence[str]] | None = None,
    *,
    groupby: str = "cell_type",
    layer: str | None = None,
    key_added: str = "panel",
    random_state: int = 0,
    species: Literal["human", "mouse"] | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Per-cell module scores of each panel (:func:`scanpy.tl.score_genes`), computed within each cell type.

    Scores are computed on log-normalised expression: from ``layer`` (or ``X``) when it already holds
    log-normalised values, otherwise from counts normalised to 10,000 per cell and ``log1p``-transformed,
    on a private copy. Scoring within each ``groupby`` level keeps the reference gene pool cell-type specific.

    Parameters
    ----------
    adata
        Cells × genes, in memory or backed (read from disk once).
    panels
        Panel name → genes; default :func:`drugprint.resources.panels`. No panel gene among the data's genes
        (another identifier, another organism) is an error; a panel without any is warned and left NaN.
    groupby
        ``obs`` column of cell types.
    layer
        Where expression is read (``None``: ``X``).
    key_added
        Scores are written to ``adata.obs[key_added + "_" + panel]``, the parameters and the genes scored per
        cell type and panel (``genes``) to ``adata.uns[key_added]``.
    random_state
        Seed of the control-gene sampling in :func:`scanpy.tl.score_genes`.
    species
        As in :func:`drugprint.tl.panels`: mouse data are matched through one-to-one orthologues (detected, or
        ``"mouse"``); the route is recorded in ``uns[key_added]["matched_by"]``.
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small")
    >>> dp.tl.score_cells(adata, {"cytotoxicity": ["NKG7", "GZMB", "PRF1", "GNLY"]})
    >>> "panel_cytotoxicity" in adata.obs
    True
    """
    import scanpy as sc

    from .._anndata import get_matrix
    from .._counts import is_dask, is_integer_valued
    from ..resources import harmonise_net, match_net

    check_obs_keys(adata, [groupby])
    panels = shipped_panels() if panels is None else panels
    net = _panel_net(panels)
    matched, matched_by = harmonise_net(net, adata.var, species=species)  # mouse data: through orthologues
    if matched.empty:  # no panel gene at all: the error names the data's genes
        match_net(net, adata.var_names, min_fraction=0.0, species=species)
    genes_of = matched.groupby("source", sort=False)["target"].agg(list)
    absent = [p for p in panels if p not in genes_of.index]
    if absent:
        warnings.warn(
            f"Panel(s) {', '.join(absent)} have no gene among adata.var_names: their columns stay NaN.",
            UserWarning,
            stacklevel=2,
        )
    x = get_matrix(adata, layer)
    if is_dask(x):
        x = x.compute()
    x = x.to_memory() if hasattr(x, "to_memory") else x.copy()  # a backed (on-disk) matrix is read once
    work = AnnData(X=x, obs=adata.obs[[groupby]].copy(), var=pd.DataFrame(index=adata.var_names))
    if is_integer_valued(x, sample=100_000):
        sc.pp.normalize_total(work, target_sum=1e4)
        sc.pp.log1p(work)
    out = pd.DataFrame(np.nan, index=adata.obs_names, columns=[f"{key_added}_{p}" for p in panels])
    used = []
    for ct in work.obs[groupby].dropna().unique():
        sub = work[work.obs[groupby] == ct].copy()
        for name, genes in genes_of.items():
            present = [g for g in dict.fromkeys(genes) if g in sub.var_names]
            if not present:
                logger.info("score_cells: panel %s has no gene in the data", name)
                continue
            sc.tl.score_genes(
                sub, present, score_name="_s", random_state=random_state, ctrl_size=min(50, max(10, sub.n_vars // 100))
            )
            out.loc[sub.obs_names, f"{key_added}_{name}"] = sub.obs["_s"].to_numpy()
            used.append((str(ct), name, len(present)))
    target = (adata.to_memory() if adata.isbacked else adata.copy()) if copy else adata
    for col in out.columns:
        target.obs[col] = out[col].to_numpy()
    target.uns[key_added] = {
        "genes": pd.DataFrame(used, columns=[groupby, "panel", "n_genes"]),
        "params": {"groupby": groupby, "layer": layer or "X", "random_state": random_state},
        "matched_by": matched_by,
    }
    return target if copy else None
