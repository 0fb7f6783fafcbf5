"""``read_de_table``: a published differential-expression table as a signatures AnnData."""

from __future__ import annotations

import warnings
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from .._signatures import LAYERS
from .._tables import read_table


def read_de_table(
    path: str | PathLike | pd.DataFrame,
    gene_col: str,
    log2fc_col: str,
    pvalue_col: str | None = None,
    padj_col: str | None = None,
    stat_col: str | None = None,
    *,
    group_col: str | None = None,
    group: str | None = None,
    groupby: str = "cell_type",
    condition: str = "treated",
    reference: str = "control",
    study: str | None = None,
    platform: str = "published table",
) -> AnnData:
    """Turn a published DE table into a signatures AnnData, comparable with :func:`drugprint.tl.de` output.

    Parameters
    ----------
    path
        CSV/TSV file (or DataFrame) with one row per gene (per group when ``group_col`` is given).
    gene_col, log2fc_col, pvalue_col, padj_col, stat_col
        Column names. When no statistic is given it is derived from the p-value as
        ``sign(log2FC) · Φ⁻¹(1 − p/2)`` (from the adjusted p-value when only that is given, with a warning:
        it is then conservative); without any p-value the log2 fold change stands in (warning).
    group_col
        Column naming the group (cell type) of each row: one signature per group.
    group
        The group of a single-group table (e.g. ``"CD4 naive"``).
    groupby
        Name of the group column in the result's ``obs`` (as in :func:`drugprint.tl.de`).
    condition, reference
        What was compared (e.g. ``"lenalidomide"``, ``"DMSO"``).
    study, platform
        Recorded in ``obs`` (``study`` defaults to the file name) to keep cross-study comparisons honest.

    Returns
    -------
    Signatures AnnData: one row per group, layers ``log2fc``, ``stat``, ``pvalue``, ``padj`` (and NaN
    ``lfcse``/``base_mean``), ``X`` = ``stat`` (0 where missing), ``uns["de"]`` with the source and columns used.
    Duplicated genes keep their most significant row (smallest p-value, else largest ``|stat|``, else largest
    ``|log2FC|``).

    Examples
    --------
    >>> import drugprint as dp, pandas as pd
    >>> tab = pd.DataFrame({"gene": ["IKZF1", "GZMB", "MYC"], "logFC": [0.2, 1.1, -0.8], "FDR": [0.3, 1e-4, 2e-3]})
    >>> sig = dp.io.read_de_table(tab, "gene", "logFC", padj_col="FDR", condition="lenalidomide", reference="DMSO")
    >>> sig.obs_names[0], round(float(sig[:, "GZMB"].layers["stat"][0, 0]), 2)
    ('all|lenalidomide vs DMSO', 3.89)
    """
    if isinstance(path, pd.DataFrame):
        df, source = path.copy(), "DataFrame"
    else:
        df, source = read_table(path), Path(path).name
    cols = {
        "gene_col": gene_col,
        "log2fc_col": log2fc_col,
        "pvalue_col": pvalue_col,
        "padj_col": padj_col,
        "stat_col": stat_col,
        "group_col": group_col,
    }
    missing = {k: v for k, v in cols.items() if v is not None and v not in df.columns}
    if missing:
        raise KeyError(f"{source} has no column(s) {missing}; columns: {list(df.columns)[:15]}.")
    if stat_col is None and pvalue_col is None and padj_col is None:
        warnings.warn(
            "No statistic or p-value column: the log2 fold change stands in for the statistic.",
            UserWarning,
            stacklevel=2,
        )
    elif stat_col is None and pvalue_col is None:
        warnings.warn(
            "The statistic is derived from adjusted p-values, so it is conservative.", UserWarning, stacklevel=2
        )
    df[gene_col] = df[gene_col].astype(str)
    for c in (log2fc_col, pvalue_col, padj_col, stat_col):
        if c is not None:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    for c in (pvalue_col, padj_col):
        if c is not None and ((df[c] < 0) | (df[c] > 1)).any():
            raise ValueError(f"Column {c!r} has values outside [0, 1]; is it a p-value column?")
    groups = (
        [(group if group is not None else "all", df)]
        if group_col is None
        else [(str(g), d) for g, d in df.groupby(group_col, sort=False)]
    )
    genes = pd.Index(pd.unique(df[gene_col]))
    layers = {k: np.full((len(groups), len(genes)), np.nan) for k in LAYERS}
    for i, (_, d) in enumerate(groups):
        if pvalue_col or padj_col:
            order = d[pvalue_col or padj_col].fillna(2.0)
        else:
            order = -d[stat_col or log2fc_col].abs()
        d = d.assign(_o=order.to_numpy()).sort_values("_o", kind="stable").drop_duplicates(gene_col)
        j = genes.get_indexer(d[gene_col])
        lfc = d[log2fc_col].to_numpy(dtype=float)
        layers["log2fc"][i, j] = lfc
        p = d[pvalue_col].to_numpy(dtype=float) if pvalue_col else None
        q = d[padj_col].to_numpy(dtype=float) if padj_col else None
        if p is not None:
            layers["pvalue"][i, j] = p
        if q is not None:
            layers["padj"][i, j] = q
        if stat_col is not None:
            stat = d[stat_col].to_numpy(dtype=float)
        elif p is not None or q is not None:
            stat = np.sign(lfc) * stats.norm.isf(np.clip(p if p is not None else q, 1e-300, 1) / 2)
        else:
            stat = lfc
        layers["stat"][i, j] = stat
    names = [f"{g}|{condition} vs {reference}" for g, _ in groups]
    obs = pd.DataFrame(
        {
            groupby: [g for g, _ in groups],
            "condition": condition,
            "reference": reference,
            "contrast": f"{condition} vs {reference}",
            "study": study or source,
            "platform": platform,
            "n_genes_tested": np.isfinite(layers["stat"]).sum(axis=1),
        },
        index=names,
    )
    for c in (groupby, "condition", "reference", "contrast"):
        obs[c] = pd.Categorical(obs[c], categories=list(dict.fromkeys(obs[c])))
    sig = AnnData(X=np.nan_to_num(layers["stat"]), obs=obs, var=pd.DataFrame(index=genes), layers=layers)
    sig.uns["de"] = {
        "method": "published table",
        "source": source,
        "groupby": groupby,
        "columns": {k: v for k, v in cols.items() if v is not None},
    }
    return sig
