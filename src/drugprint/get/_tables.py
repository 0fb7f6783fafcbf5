"""Tidy long views of signature results (as ``sc.get``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._checks import check_choice
from .._results import pvalue_basis, stored, table_copy
from .._signatures import LAYERS, check_signatures, group_key, select_rows
from ._results import _comparisons, compare_table


def de_table(
    sig: AnnData,
    *,
    groups: Sequence[str] | None = None,
    conditions: Sequence[str] | None = None,
    alpha: float | None = None,
    padj: Literal["group", "global"] = "group",
    tested_only: bool = True,
) -> pd.DataFrame:
    """One row per signature × gene with the DE statistics.

    Parameters
    ----------
    sig
        Signatures from :func:`drugprint.tl.de`.
    groups, conditions
        Keep only these groups (cell types) and conditions.
    alpha
        Keep only genes with an adjusted p-value below ``alpha``.
    padj
        Which adjusted p-value ``alpha`` applies to: ``"group"`` (``padj``: Benjamini–Hochberg within each
        cell type's test) or ``"global"`` (``padj_global``: across all cell types' tests of the same contrast,
        as muscat's ``p_adj.glb``).
    tested_only
        Drop genes that were not tested in a signature (NaN statistics).

    Returns
    -------
    DataFrame with ``signature``, the group column, ``condition``, ``reference``, ``gene`` and the columns
    ``log2fc``, ``lfcse``, ``stat``, ``pvalue``, ``padj``, ``base_mean`` and ``padj_global`` (when present),
    sorted by signature then p-value.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    >>> tab = dp.get.de_table(sig, conditions=["mezigdomide"], alpha=0.05)
    >>> "NKG7" in set(tab["gene"])
    True
    """
    check_signatures(sig, layers=("log2fc",))
    check_choice(padj, ("group", "global"), name="padj")
    sub = sig[np.sort(select_rows(sig, groups, conditions))]
    present = [k for k in (*LAYERS, "padj_global") if k in sub.layers]
    n, g = sub.shape
    out = pd.DataFrame({"signature": np.repeat(sub.obs_names.to_numpy(), g), "gene": np.tile(sub.var_names, n)})
    gk = group_key(sig)
    meta_cols = [c for c in (gk, "condition", "reference") if c and c in sub.obs]
    for c in reversed(meta_cols):
        out.insert(1, c, np.repeat(sub.obs[c].astype(str).to_numpy(), g))
    for k in present:
        out[k] = np.asarray(sub.layers[k], dtype=float).ravel()
    if tested_only:
        out = out[np.isfinite(out["log2fc"]) & np.isfinite(out["stat"] if "stat" in out else out["log2fc"])]
    if alpha is not None:
        col = "padj" if padj == "group" else "padj_global"
        if col not in out:
            raise KeyError(f"sig.layers has no {col!r}; signatures from dp.tl.de carry it (or pass padj='group').")
        out = out[out[col] < alpha]
    sort = ["signature", "pvalue"] if "pvalue" in out else ["signature"]
    return out.sort_values(sort, kind="stable").reset_index(drop=True)


def pathway_table(sig: AnnData, key: str = "pathways") -> pd.DataFrame:
    """One row per signature × pathway (or panel) with ``score``, ``padj``, ``log2fc`` and its interval.

    ``log2fc_lo``/``log2fc_hi`` (present when the signatures kept their replicates) bound the effect;
    ``basis`` says whether the p-value rests on the replicates or on genes assumed independent. For panels
    (:func:`drugprint.tl.panels`, which records them), ``n_genes_tested`` is the number of the panel's genes
    tested in the signature and ``n_genes_set`` the panel's size: what the score rests on. Sets not scored in a
    signature (too few genes tested) have no row; ``uns[key]["coverage"]`` lists them all.

    Parameters
    ----------
    sig
        Signatures scored by :func:`drugprint.tl.pathways` or :func:`drugprint.tl.panels`.
    key
        The ``key_added`` of that call: ``"pathways"``, ``"panels"`` or another.

    Returns
    -------
    Long DataFrame with ``signature``, the group column, ``condition``, ``reference``, ``source``, ``score``,
    ``padj``, ``log2fc``, ``log2fc_lo``, ``log2fc_hi`` (when present), ``basis`` and, when ``uns[key]`` holds
    a ``coverage`` table, ``n_genes_tested`` and ``n_genes_set``.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    >>> dp.tl.panels(sig)
    >>> tab = dp.get.pathway_table(sig, "panels")
    >>> list(tab.columns)[-8:]
    ['score', 'padj', 'log2fc', 'log2fc_lo', 'log2fc_hi', 'basis', 'n_genes_tested', 'n_genes_set']
    >>> row = tab.set_index(["signature", "source"]).loc[("NK|mezigdomide vs DMSO", "cytotoxicity")]
    >>> int(row["n_genes_tested"]), int(row["n_genes_set"])
    (7, 8)
    """
    if key not in sig.obsm:
        raise KeyError(f"sig.obsm has no {key!r}; run dp.tl.pathways or dp.tl.panels first.")
    parts = {"score": sig.obsm[key]}
    for suffix in ("padj", "log2fc", "log2fc_lo", "log2fc_hi"):
        if f"{key}_{suffix}" in sig.obsm:
            parts[suffix] = sig.obsm[f"{key}_{suffix}"]
    long = pd.concat({k: v.stack(future_stack=True) for k, v in parts.items()}, axis=1)
    long.index.names = ["signature", "source"]
    long = long.reset_index()
    gk = group_key(sig)
    meta_cols = [c for c in (gk, "condition", "reference") if c and c in sig.obs]
    for c in reversed(meta_cols):
        long.insert(1, c, sig.obs.loc[long["signature"], c].astype(str).to_numpy())
    long["basis"] = pvalue_basis(sig, key).reindex(long["signature"]).to_numpy()
    long = long[long["score"].notna()].reset_index(drop=True)
    return _with_coverage(long, sig.uns.get(key))


def _with_coverage(long: pd.DataFrame, rec) -> pd.DataFrame:
    """``long`` with ``n_genes_tested`` and ``n_genes_set`` from the record's ``coverage`` table, when it has one."""
    cov = rec.get("coverage") if isinstance(rec, dict) else None
    if not isinstance(cov, pd.DataFrame) or cov.empty:
        return long
    column = next(c for c in cov.columns if c not in ("signature", "group", "n_tested", "n_genes", "genes_tested"))
    counts = cov.astype({"signature": str, column: str}).set_index(["signature", column])[["n_tested", "n_genes"]]
    counts = counts.reindex(pd.MultiIndex.from_arrays([long["signature"].astype(str), long["source"].astype(str)]))
    for name, col in (("n_genes_tested", "n_tested"), ("n_genes_set", "n_genes")):
        values = counts[col]
        long[name] = values.to_numpy(dtype=np.int64) if values.notna().all() else values.to_numpy(dtype=float)
    return long


def similarity_matrix(
    sig: AnnData,
    group: str,
    metric: Literal["spearman", "pearson", "cosine", "effect_r"] = "spearman",
    *,
    key: str = "compare",
    ordered: bool = False,
) -> pd.DataFrame | None:
    """Drug × drug similarity matrix of one group, from :func:`drugprint.tl.compare`.

    Use this rather than ``sig.uns[key]`` itself: the stored layout keys groups by position so that any
    label (``"CD4/CD8 T"``, ``"len/dex"``) survives ``write_h5ad`` and ``write_zarr``.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.compare`.
    group
        Group (cell type) label; ``"all"`` when compared with ``groupby="none"``.
    metric
        A signature metric computed by ``compare``, or ``"effect_r"`` (the split-donor effect correlation,
        from ``compare(pdata=…)``; diagonal 1).
    key
        ``uns`` key of the comparison.
    ordered
        Rows and columns in the group's dendrogram order (as :func:`drugprint.pl.similarity` draws them,
        top to bottom reversed) instead of the order of the signatures in ``sig``.

    Returns
    -------
    Square DataFrame indexed by the signatures' condition labels (by their names when a group repeats a
    condition), or ``None`` when ``group`` was not compared (fewer than two signatures or too few informative
    genes, or not a group of ``sig``).

    Raises
    ------
    KeyError
        When ``sig.uns`` has no comparison at ``key``.
    ValueError
        When ``metric`` was not computed.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK", "Myeloma"], method="voom", verbose=False)
    >>> dp.tl.compare(sig, metrics=["cosine"], ci="none")
    >>> m = dp.get.similarity_matrix(sig, "Myeloma", "cosine")
    >>> m.shape, round(float(m.loc["iberdomide", "iberdomide"]), 6)
    ((5, 5), 1.0)
    >>> dp.get.similarity_matrix(sig, "B") is None  # not compared
    True
    """
    rec = _comparisons(sig, key).get(str(group))
    if rec is None:
        return None
    names = rec["names"]
    if metric == "effect_r":
        tab = compare_table(sig, key)
        if "effect_r" not in tab:
            raise ValueError("No effect correlation was computed; run dp.tl.compare(sig, pdata=pdata).")
        tab = tab[tab["group"].astype(str) == str(group)]
        mat = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
        for a, b, r in zip(tab["a"].astype(str), tab["b"].astype(str), tab["effect_r"].astype(float), strict=True):
            mat.loc[a, b] = mat.loc[b, a] = r
    elif metric in rec["matrices"]:
        mat = rec["matrices"][metric]
    else:
        raise ValueError(f"Metric {metric!r} was not computed; available: {list(rec['matrices'])}.")
    return mat.loc[rec["order"], rec["order"]] if ordered else mat


#: The label columns of :func:`query_table`, returned as strings.
_QUERY_LABELS = ("query", "reference", "group", "condition", "study", "direction")


def query_table(sig: AnnData, key: str = "query", query: str | None = None) -> pd.DataFrame:
    """Each query's scores against the atlas entries, from :func:`drugprint.tl.query`.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.query`.
    key
        Its ``key_added``.
    query
        Keep only the rows of this query (a name of ``sig.obs_names``); default every query.

    Returns
    -------
    One row per query × atlas entry scored (each query's ``n_top`` highest and lowest when the query was run with
    ``n_top``), by query then ``rank``: ``query``; ``reference``, the atlas entry (CMap's "reference signature",
    not its control); the entry's ``group`` and ``condition`` (and ``study`` when the atlas has one); ``score``
    (``"spearman"``: ``r * sqrt(n_genes - 1)``; ``"wks"``: the normalised connectivity score); ``r`` or
    ``wtcs``; ``n_genes``, the moving genes the entry was scored on; ``pvalue``; ``padj`` (Benjamini–Hochberg
    within the query); ``direction`` (``"similar"``, ``"reversing"``, or ``"neither"`` for a score of 0) and
    ``rank`` (1 = highest score within the query); ``shared_control``: query and entry were tested against the
    same control in the same study, so their p-values do not hold.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK", "Myeloma"], method="voom", verbose=False)
    >>> dp.tl.query(sig, sig, verbose=False)
    >>> tab = dp.get.query_table(sig, query="NK|mezigdomide vs DMSO")
    >>> tab.columns.tolist()[:6]
    ['query', 'reference', 'group', 'condition', 'score', 'r']
    >>> len(tab)  # the nine other signatures
    9
    """
    table = stored(sig, key, tool="query")
    if query is not None:
        present = list(dict.fromkeys(table["query"].astype(str)))
        if str(query) not in present:
            raise KeyError(f"query {query!r} is not in sig.uns[{key!r}]; queries: {present[:10]}.")
        table = table[(table["query"] == str(query)).to_numpy()]
    out = table_copy(table)
    for col in _QUERY_LABELS:
        if col in out:
            out[col] = out[col].astype(str)
    return out


def screen_hits_table(
    sig: AnnData, key: str = "screen_hits", *, level: Literal["signature", "condition"] = "signature"
) -> pd.DataFrame:
    """The hit calls of a screen, per signature or per compound, from :func:`drugprint.tl.screen_hits`.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.screen_hits`.
    key
        Its ``key_added``.
    level
        ``"signature"``: one row per cell line × compound; ``"condition"``: one row per compound.

    Returns
    -------
    ``level="signature"``: ``signature``, ``group`` (the cell line), ``condition``, ``hit`` (at least
    ``min_genes`` genes at ``padj < alpha``), ``n_up``, ``n_down``, ``n_deg``, ``n_tested`` and ``top_genes`` (the
    strongest called genes, ``"ISG15↑, MX1↑"``). ``level="condition"``: ``condition``, ``hit`` (in any line),
    ``n_groups`` (lines tested), ``n_hit`` (lines where it is a hit), ``hit_in`` (their names), ``n_deg`` (DE genes
    summed over the lines) and ``n_deg_max``.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.datasets.screen(8, cell_lines=2, n_genes=400)
    >>> sig = dp.tl.de(pdata, condition_key="compound", covariates=["replicate"], method="voom", verbose=False)
    >>> dp.tl.screen_hits(sig)
    >>> dp.get.screen_hits_table(sig, level="condition").columns.tolist()
    ['condition', 'hit', 'n_groups', 'n_hit', 'hit_in', 'n_deg', 'n_deg_max']
    """
    check_choice(level, ["signature", "condition"], name="level")
    table = stored(sig, key, tool="screen_hits", entry="table" if level == "signature" else "conditions")
    out = table_copy(table)
    out["hit"] = out["hit"].astype(bool)
    return out


def cluster_table(sig: AnnData, key: str = "clusters") -> pd.DataFrame:
    """The cluster of each compound, from :func:`drugprint.tl.cluster_signatures`.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.cluster_signatures`.
    key
        Its ``key_added``.

    Returns
    -------
    One row per clustered condition: ``condition``, ``cluster`` (``C1`` … by decreasing size; an ordered
    categorical), ``n_hit`` (lines where it is a hit) and ``n_deg`` (DE genes of those signatures).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.datasets.screen(16, cell_lines=2, n_families=2, n_genes=600)
    >>> sig = dp.tl.de(pdata, condition_key="compound", covariates=["replicate"], method="voom", verbose=False)
    >>> dp.tl.screen_hits(sig)
    >>> dp.tl.cluster_signatures(sig)
    >>> dp.get.cluster_table(sig).columns.tolist()
    ['condition', 'cluster', 'n_hit', 'n_deg']
    """
    table = stored(sig, key, tool="cluster_signatures")
    names = sorted(set(table["cluster"].astype(str)), key=lambda c: int(c[1:]))
    return table_copy(table, {"cluster": names})


def cluster_pathways(
    sig: AnnData, n: int | None = 3, *, key: str = "clusters", pathways: str = "pathways", alpha: float | None = None
) -> pd.DataFrame:
    """The pathways most often called among each cluster's signatures, with their median effect.

    Reads the clusters of :func:`drugprint.tl.cluster_signatures` and the set tests of :func:`drugprint.tl.pathways`
    (``obsm[pathways + "_padj"]``, ``obsm[pathways + "_log2fc"]``) of the signatures that were clustered (the hit
    signatures, with ``hits_only=True``).

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.cluster_signatures` and :func:`drugprint.tl.pathways`.
    n
        Pathways kept per cluster (``None``: every one scored).
    key
        ``key_added`` of :func:`drugprint.tl.cluster_signatures`.
    pathways
        ``key_added`` of :func:`drugprint.tl.pathways` (or of :func:`drugprint.tl.panels`).
    alpha
        Significance level on the pathways' ``padj``; default the clustering's.

    Returns
    -------
    One row per cluster × pathway, by cluster then ``rank``: ``cluster``, ``rank`` (1: called in the most of the
    cluster's signatures, ties broken by the larger median effect), ``source``, ``n_signatures`` (the cluster's
    signatures scored), ``n_called`` (of them at ``padj < alpha``), ``share_called``, ``median_log2fc`` (the
    median over the cluster's signatures of the set's mean log2 fold change) and ``direction`` (``"up"`` /
    ``"down"``, its sign).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.datasets.screen(16, cell_lines=2, n_families=2, n_genes=1500)
    >>> sig = dp.tl.de(pdata, condition_key="compound", covariates=["replicate"], method="voom", verbose=False)
    >>> dp.tl.screen_hits(sig)
    >>> dp.tl.cluster_signatures(sig)
    >>> dp.tl.pathways(sig)
    >>> top = dp.get.cluster_pathways(sig, n=1)
    >>> top.columns.tolist()[:4]
    ['cluster', 'rank', 'source', 'n_signatures']
    """
    params = stored(sig, key, tool="cluster_signatures", entry="params")
    for k in (f"{pathways}_padj", f"{pathways}_log2fc"):
        if k not in sig.obsm:
            raise KeyError(f"sig.obsm has no {k!r}; run dp.tl.pathways(sig, key_added={pathways!r}) first.")
    if key not in sig.obs:
        raise KeyError(f"sig.obs has no {key!r}; run dp.tl.cluster_signatures(sig, key_added={key!r}) first.")
    alpha = params["alpha"] if alpha is None else alpha
    rows = sig.obs[key].notna().to_numpy() & sig.obs_names.isin(np.asarray(sig.uns[key]["signatures"], dtype=str))
    cluster = sig.obs[key].astype(str).to_numpy()[rows]
    padj = sig.obsm[f"{pathways}_padj"].iloc[rows]
    lfc = sig.obsm[f"{pathways}_log2fc"].iloc[rows].reindex(columns=padj.columns)
    scored = padj.notna().groupby(cluster).sum()
    called = (padj < alpha).groupby(cluster).sum()
    median = lfc.groupby(cluster).median()
    long = pd.DataFrame(
        {
            "cluster": np.repeat(called.index.to_numpy(dtype=str), called.shape[1]),
            "source": np.tile(called.columns.to_numpy(dtype=str), called.shape[0]),
            "n_signatures": scored.to_numpy().ravel(),
            "n_called": called.to_numpy().ravel(),
            "median_log2fc": median.reindex(index=called.index, columns=called.columns).to_numpy(float).ravel(),
        }
    )
    long = long[long["n_signatures"] > 0]
    long["share_called"] = long["n_called"] / long["n_signatures"]
    long["direction"] = np.where(long["median_log2fc"] >= 0, "up", "down")
    long["_size"], long["_c"] = -long["median_log2fc"].abs(), long["cluster"].str[1:].astype(int)
    long = long.sort_values(["_c", "n_called", "_size"], ascending=[True, False, True], kind="stable")
    long.insert(1, "rank", long.groupby("cluster", sort=False).cumcount() + 1)
    long = long[long["rank"] <= n] if n is not None else long
    cols = ["cluster", "rank", "source", "n_signatures", "n_called", "share_called", "median_log2fc", "direction"]
    return long[cols].reset_index(drop=True)
