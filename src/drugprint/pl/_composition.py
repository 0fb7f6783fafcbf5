"""Figures of cell-type composition: proportions per condition with samples as points, and a heatmap of changes."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._checks import check_choice
from .._docs import doc_params
from .._results import stored
from ..get import composition_table
from ._base import extend, finish, grid_axes, new_axes, symmetric_norm

#: Colour-bar labels of the fitted differences, by ``transform`` of :func:`drugprint.tl.composition`.
_FITTED = {
    "logit": "fitted log odds ratio (adjusted for covariates)",
    "asin": "fitted difference of arcsine √proportion (adjusted for covariates)",
}
_RAW = "log2 ratio of mean proportions (unadjusted)"


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
    ncols: int = 3,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Each cell type's proportion per condition, one point per sample, from :func:`drugprint.tl.composition`.

    One panel per cell type, ``ncols`` per row; the bar is the mean over samples, ``*`` marks a change against the
    control with ``padj < alpha``.

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
    ncols
        Panels per row: the default 3 keeps the figure about 7 inches wide, legible at 800 px, for any number of
        cell types.
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
    if ncols < 1 or not groups:
        raise ValueError(f"Need ncols >= 1 and a cell type to draw; got ncols={ncols!r}, groups={groups!r}.")
    ncols = min(ncols, len(groups))
    nrows = -(-len(groups) // ncols)
    figsize = figsize or (2.2 * ncols + 0.6, 3.2 * nrows)
    fig, axes = grid_axes(ax, figsize, nrows, ncols)
    for empty in axes.ravel()[len(groups) :]:
        empty.remove()
    x = np.arange(len(conditions))
    for panel, group in zip(axes.ravel(), groups, strict=False):
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
    for first in axes[:, 0]:
        first.set_ylabel("proportion of the sample's cells")
    return finish(fig, save)


@doc_params()
def composition_heatmap(
    adata: AnnData,
    *,
    key: str = "composition",
    value: Literal["fitted", "raw"] = "fitted",
    alpha: float = 0.05,
    cmap: str = "RdBu_r",
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Change of each cell type's proportion (rows) per condition (columns); ``*`` where ``padj < alpha``.

    Coloured by default by the change :func:`drugprint.tl.composition` tested: its fitted difference on the
    transformed scale, adjusted for the covariates (``logit_diff``, the log odds ratio of the proportion; or
    ``asin_diff`` after ``transform="asin"``), so colour and ``*`` tell the same story. The ratio of the mean
    proportions (``value="raw"``) ignores the covariates (donors) and can even point the other way.

    Parameters
    ----------
    adata
        The cells after :func:`drugprint.tl.composition`.
    key
        Its ``key_added``.
    value
        What colours the cells: ``"fitted"``, the fitted difference (the table's ``logit_diff`` or
        ``asin_diff``; the colour bar reads "fitted log odds ratio (adjusted for covariates)" after the logit), or
        ``"raw"``, the table's ``log2fc``, log2 of the ratio of the mean proportions ("log2 ratio of mean
        proportions (unadjusted)"; a cell type a drug removed, at ``-inf``, is drawn at -3).
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
    >>> fig = dp.pl.composition_heatmap(adata, value="raw")  # log2 ratio of the mean proportions
    """
    check_choice(value, ["fitted", "raw"], name="value")
    params = stored(adata, key, tool="composition", entry="params", what="adata")
    table = composition_table(adata, key)
    groupby = params["groupby"]
    transform = params.get("transform", "logit")
    if value == "fitted":
        column, label = f"{transform}_diff", _FITTED.get(transform, f"fitted {transform} difference")
    else:
        column, label = "log2fc", _RAW
    if column not in table:
        raise KeyError(f"The composition table has no {column!r}; rerun dp.tl.composition, or pass value='raw'.")
    rows = list(dict.fromkeys(table[groupby].astype(str)))
    cols = list(dict.fromkeys(table["condition"].astype(str)))
    change = table.pivot(index=groupby, columns="condition", values=column).reindex(index=rows, columns=cols)
    padj = table.pivot(index=groupby, columns="condition", values="padj").reindex(index=rows, columns=cols)
    values = change.to_numpy(dtype=float)
    shown = np.clip(values, -3, 3) if value == "raw" else values  # a removed type (log2 ratio -inf) at the end
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
    cb = fig.colorbar(im, ax=ax, shrink=0.8, extend=extend(values, norm))
    cb.set_label(label, fontsize=8)
    ax.set_title(f"composition vs {params['control']}", fontsize=9)
    return finish(fig, save)
