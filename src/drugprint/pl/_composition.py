"""Figures of cell-type composition: proportions per condition with samples as points, and a log2FC heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._docs import doc_params
from .._results import stored
from ..get import composition_table
from ._base import finish, grid_axes, new_axes, symmetric_norm


def _proportions(adata: AnnData, key: str) -> tuple[pd.DataFrame, dict]:
    """Per sample × cell type: its proportion and condition, from ``uns[key]``; and the tool's params."""
    params = stored(adata, key, tool="composition", entry="params", what="adata")
    counts = stored(adata, key, tool="composition", entry="counts", what="adata")
    samples = stored(adata, key, tool="composition", entry="samples", what="adata").set_index("sample")
    groupby = params["groupby"]
    long = counts.assign(prop=counts["n_cells"] / counts.groupby("sample")["n_cells"].transform("sum"))
    long = long[long["sample"].isin(samples.index)]
    long["condition"] = samples.loc[long["sample"], params["condition_key"]].to_numpy()
    return long.rename(columns={groupby: "group"}), params


@doc_params()
def composition(
    adata: AnnData,
    *,
    key: str = "composition",
    groups: Sequence[str] | None = None,
    alpha: float = 0.05,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Each cell type's proportion per condition, one point per sample, from :func:`drugprint.tl.composition`.

    One panel per cell type; the bar is the mean over samples, ``*`` marks a change against the control with
    ``padj < alpha``.

    Parameters
    ----------
    adata
        The cells after :func:`drugprint.tl.composition`.
    key
        Its ``key_added``.
    groups
        Cell types to draw, in this order (default: all).
    alpha
        Significance level of the marks.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small")
    >>> dp.tl.composition(adata)
    >>> fig = dp.pl.composition(adata, groups=["Myeloma", "NK"])
    """
    long, params = _proportions(adata, key)
    table = composition_table(adata, key).rename(columns={params["groupby"]: "group"})
    present = list(dict.fromkeys(long["group"].astype(str)))
    groups = list(groups) if groups is not None else present
    unknown = [g for g in groups if g not in present]
    if unknown:
        raise KeyError(f"cell types {unknown} were not counted; present: {present}.")
    conditions = [params["control"], *dict.fromkeys(table["condition"].astype(str))]
    figsize = figsize or (2.2 * len(groups) + 0.6, 3.2)
    fig, axes = grid_axes(ax, figsize, 1, len(groups))
    x = np.arange(len(conditions))
    for panel, group in zip(axes[0], groups, strict=True):
        sub = long[long["group"].astype(str) == group]
        means = sub.groupby("condition")["prop"].mean().reindex(conditions)
        panel.bar(x, means.to_numpy(), color="#d9d9d9", width=0.7)
        pos = sub["condition"].map({c: i for i, c in enumerate(conditions)}).to_numpy(dtype=float)
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(sub))  # fixed: equal inputs, equal figures
        panel.scatter(pos + jitter, sub["prop"], s=10, color="black", zorder=3)
        calls = table[(table["group"].astype(str) == group) & (table["padj"] < alpha)]
        for cond in calls["condition"].astype(str):
            i = conditions.index(cond)
            panel.text(i, sub.loc[sub["condition"] == cond, "prop"].max(), "*", ha="center", va="bottom")
        panel.set_title(group, fontsize=9)
        panel.set_xticks(x, conditions, rotation=45, ha="right", fontsize=7)
    axes[0][0].set_ylabel("proportion of the sample's cells")
    return finish(fig, save)


@doc_params()
def composition_heatmap(
    adata: AnnData,
    *,
    key: str = "composition",
    alpha: float = 0.05,
    cmap: str = "RdBu_r",
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """log2 fold change of each cell type's proportion (rows) per condition (columns); ``*`` where ``padj < alpha``.

    Parameters
    ----------
    adata
        The cells after :func:`drugprint.tl.composition`.
    key
        Its ``key_added``.
    alpha
        Significance level of the marks.
    cmap
        Colour map.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small")
    >>> dp.tl.composition(adata)
    >>> fig = dp.pl.composition_heatmap(adata)
    """
    params = stored(adata, key, tool="composition", entry="params", what="adata")
    table = composition_table(adata, key)
    groupby = params["groupby"]
    rows = list(dict.fromkeys(table[groupby].astype(str)))
    cols = list(dict.fromkeys(table["condition"].astype(str)))
    lfc = table.pivot(index=groupby, columns="condition", values="log2fc").reindex(index=rows, columns=cols)
    padj = table.pivot(index=groupby, columns="condition", values="padj").reindex(index=rows, columns=cols)
    values = lfc.to_numpy(dtype=float)
    shown = np.clip(values, -3, 3)  # a type a drug removed (log2FC -inf) is drawn at the colour's end
    label_w = 0.06 * max(map(len, rows))  # inches the row labels need (8 pt); rotated column labels below
    label_h = 0.045 * max(map(len, cols))
    fig, ax = new_axes(ax, figsize or (2.2 + label_w + 0.6 * len(cols), 1.0 + label_h + 0.35 * len(rows)))
    norm = symmetric_norm(shown, floor=0.5)
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect="auto")
    for (r, c), q in np.ndenumerate(padj.to_numpy(dtype=float)):
        if q < alpha:
            ax.text(c, r, "*", ha="center", va="center", fontsize=10)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    fig.colorbar(im, ax=ax, label="log2 FC of proportion", shrink=0.8)
    ax.set_title(f"composition vs {params['control']}", fontsize=9)
    return finish(fig, save)
