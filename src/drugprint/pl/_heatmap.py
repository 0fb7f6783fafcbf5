"""``pathway_heatmap``: condition × pathway activity, cell type by cell type."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from os import PathLike
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from .._checks import check_choice
from .._docs import doc_params
from .._labels import pretty
from .._results import caller_stacklevel, renamed
from .._signatures import condition_labels, group_key, group_labels, select_rows
from ..resources import KEY_PATHWAYS
from ._base import extend, finish, new_axes, symmetric_norm, text_width


def _colour_values(sig: AnnData, key: str, color: str) -> tuple[pd.DataFrame, str]:
    """The table that colours the cells and the colour bar's label: the sets' mean log2FC, or the test's score.

    Without ``obsm[key + "_log2fc"]`` (signatures scored by an older drugprint) the score, with a warning.
    """
    lfc_key = f"{key}_log2fc"
    if color == "log2fc":
        if lfc_key in sig.obsm:
            return sig.obsm[lfc_key], "mean log2FC of the set's genes"
        warnings.warn(
            f"sig.obsm has no {lfc_key!r} (the sets' mean log2 fold change): coloured by the score of "
            f"obsm[{key!r}] instead; rerun dp.tl.pathways (or dp.tl.panels) to colour by effect.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    rec = sig.uns.get(key)
    params = rec.get("params", {}) if isinstance(rec, dict) else {}
    method = params.get("method") if isinstance(params, dict) else None
    return sig.obsm[key], f"{method} statistic (no units)" if method else "set score (no units)"


@renamed(value="color")
@doc_params()
def pathway_heatmap(
    sig: AnnData,
    key: str = "pathways",
    *,
    sources: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    color: Literal["log2fc", "score"] = "log2fc",
    alpha: float = 0.05,
    robust: bool = True,
    scale: Literal["global", "group"] = "global",
    cmap: str = "RdBu_r",
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Heatmap of pathway activity: rows are conditions within each group, columns pathways.

    Cells are coloured by effect, the mean log2 fold change of the set's genes, by default; cells with
    ``padj < alpha`` (the set test's, whichever value colours) carry a dot. The test's score (e.g. camera's
    statistic) ranks sets by evidence, not by size: a cell type with many replicates and a small change can
    score above one with few replicates and a large change, so it colours only when asked (``color="score"``).

    Parameters
    ----------
    sig
        Signatures with ``obsm[key]`` and ``obsm[key + "_log2fc"]`` (from :func:`drugprint.tl.pathways` or
        :func:`drugprint.tl.panels`).
    key
        ``obsm`` key of the scores (``key + "_log2fc"``: the effects, ``key + "_padj"``: the adjusted p-values).
    sources
        Pathways to show; default the key interferon, p53, TNFα/NF-κB, apoptosis, cell-cycle and MYC sets
        when scored, else every scored set.
    groups
        Groups (cell types) to show, in this order.
    color
        What colours the cells: ``"log2fc"``, the mean log2 fold change of the set's genes
        (``obsm[key + "_log2fc"]``; the colour bar reads "mean log2FC of the set's genes"), or ``"score"``, the set
        test's statistic (``obsm[key]``, labelled by the method in ``uns[key]["params"]["method"]``, e.g. "camera
        statistic (no units)"). Signatures without ``obsm[key + "_log2fc"]`` (scored by drugprint 0.1) are
        coloured by the score, with a warning. Replaces ``value`` (deprecated), whose default was ``"score"``.
    alpha
        Significance level for the dots.
    robust
        Colour limits at the 99th percentile of ``|value|`` instead of its maximum, so that a few extreme cells
        do not wash out the rest; larger values saturate, and the colour bar's arrows mark them.
    scale
        ``"global"``: one colour scale for all groups, comparable between them. ``"group"``: each group (cell
        type) is coloured relative to its own limit (shown next to its name), so that a weakly responding cell
        type is not blank beside a strongly responding one; colours are then comparable within a group only, and
        a cell type where nothing moved shows its noise at full colour (read the dots and the limits).
    cmap
        Diverging colour map, centred at 0.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> fig = dp.pl.pathway_heatmap(sig)
    >>> fig = dp.pl.pathway_heatmap(sig, robust=False)  # limits at the largest |mean log2FC|
    >>> fig = dp.pl.pathway_heatmap(sig, color="score")  # the set test's statistic

    Every cell type on its own colour scale:

    >>> sig = dp.tl.de(pdata, groups=["Myeloma", "NK"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> fig = dp.pl.pathway_heatmap(sig, scale="group")
    """
    if key not in sig.obsm:
        raise KeyError(f"sig.obsm has no {key!r}; run dp.tl.pathways(sig) first.")
    check_choice(color, ["log2fc", "score"], name="color")
    scores, label = _colour_values(sig, key, color)
    padj = sig.obsm.get(f"{key}_padj")
    if sources is None:
        sources = [s for s in KEY_PATHWAYS if s in scores.columns] or list(scores.columns)
    missing = [s for s in sources if s not in scores.columns]
    if missing:
        raise KeyError(f"{missing} were not scored; scored: {list(scores.columns)[:8]} …")
    gk = group_key(sig)
    order = select_rows(sig, groups)
    labels = condition_labels(sig).tolist()
    group_of = group_labels(sig).to_numpy()
    mat = scores.iloc[order][list(sources)].to_numpy(dtype=float)
    n_rows, n_cols = mat.shape
    rows_group = group_of[order]
    names = list(dict.fromkeys(rows_group))
    lims = {g: symmetric_norm(mat[rows_group == g], robust=robust).vmax for g in names} if scale == "group" else {}
    if lims:  # each group in units of its own limit
        mat = mat / np.array([lims[g] for g in rows_group])[:, None]
    norm = TwoSlopeNorm(0.0, -1.0, 1.0) if lims else symmetric_norm(mat, robust=robust)
    ylabels, xlabels = [labels[i] for i in order], [pretty(s) for s in sources]
    tick_width = text_width(ylabels, 7)
    left = tick_width + 1.1 * text_width(names, 8) * bool(gk)  # condition and (bold) group labels
    bottom = 0.87 * text_width(xlabels, 8)  # pathway labels, rotated by 60°
    fig, ax = new_axes(ax, figsize or (1.5 + left + 0.55 * n_cols, 0.9 + bottom + 0.28 * n_rows))
    im = ax.imshow(np.ma.masked_invalid(mat), aspect="auto", cmap=cmap, norm=norm)
    if padj is not None:
        sig_mask = padj.iloc[order][list(sources)].to_numpy(dtype=float) < alpha
        yy, xx = np.nonzero(sig_mask)
        ax.scatter(xx, yy, s=6, c="black", marker="o", linewidths=0)
    ax.set_xticks(range(n_cols), xlabels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n_rows), ylabels, fontsize=7)
    bounds = np.flatnonzero(rows_group[1:] != rows_group[:-1])
    for b in bounds:
        ax.axhline(b + 0.5, color="white", lw=2)
    if gk:
        starts = np.r_[0, bounds + 1]
        ends = np.r_[bounds, n_rows - 1]
        for s, e in zip(starts, ends, strict=True):
            ax.annotate(
                f"{rows_group[s]}\n(±{lims[rows_group[s]]:.3g})" if lims else rows_group[s],
                xy=(-0.01, 1 - (s + e + 1) / 2 / n_rows),
                xycoords="axes fraction",
                xytext=(-12 - 72 * tick_width, 0),  # clear of the longest condition label
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=8,
                fontweight="bold",
            )
    cb = fig.colorbar(im, ax=ax, shrink=0.6, extend=extend(mat, norm))
    cb.set_label(f"{label} / cell type's limit" if lims else label, fontsize=8)
    ax.set_title(f"Pathway activity (dot: padj < {alpha:g})", fontsize=9)
    return finish(fig, save)
