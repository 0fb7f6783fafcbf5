"""``pathway_heatmap``: condition × pathway activity, cell type by cell type."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Literal

import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..tl._potency import _group_key
from ._base import KEY_PATHWAYS, finish, group_rows, new_axes, pretty, symmetric_norm


def pathway_heatmap(
    sig: AnnData,
    key: str = "pathways",
    *,
    sources: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    value: Literal["score", "log2fc"] = "score",
    alpha: float = 0.05,
    cmap: str = "RdBu_r",
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Heatmap of pathway activity: rows are conditions within each group, columns pathways.

    Cells with ``padj < alpha`` carry a dot.

    Parameters
    ----------
    sig
        Signatures with ``obsm[key]`` (from :func:`drugprint.tl.pathways`).
    key
        ``obsm`` key of the scores.
    sources
        Pathways to show; default the key interferon, p53, TNFα/NF-κB, apoptosis, cell-cycle and MYC sets
        when scored, else every scored set.
    groups
        Groups (cell types) to show, in this order.
    value
        ``"score"`` (the method's statistic) or ``"log2fc"`` (mean log2 fold change of the set's genes).
    alpha
        Significance level for the dots.
    cmap
        Diverging colour map, centred at 0.
    ax, figsize, save
        Draw into ``ax``; figure size; save to this path.

    Returns
    -------
    The matplotlib Figure.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> fig = dp.pl.pathway_heatmap(sig)
    """
    if key not in sig.obsm:
        raise KeyError(f"sig.obsm has no {key!r}; run dp.tl.pathways(sig) first.")
    scores = sig.obsm[key] if value == "score" else sig.obsm[f"{key}_log2fc"]
    padj = sig.obsm.get(f"{key}_padj")
    if sources is None:
        sources = [s for s in KEY_PATHWAYS if s in scores.columns] or list(scores.columns)
    missing = [s for s in sources if s not in scores.columns]
    if missing:
        raise KeyError(f"{missing} were not scored; scored: {list(scores.columns)[:8]} …")
    gk = _group_key(sig)
    order = group_rows(sig, groups)
    labels = list(sig.obs["condition"].astype(str)) if "condition" in sig.obs else list(sig.obs_names)
    group_of = sig.obs[gk].astype(str).to_numpy() if gk else np.array(["all"] * sig.n_obs)
    mat = scores.iloc[order][list(sources)].to_numpy(dtype=float)
    n_rows, n_cols = mat.shape
    fig, ax = new_axes(ax, figsize or (1.6 + 0.55 * n_cols, 1.2 + 0.28 * n_rows))
    im = ax.imshow(np.ma.masked_invalid(mat), aspect="auto", cmap=cmap, norm=symmetric_norm(mat))
    if padj is not None:
        sig_mask = padj.iloc[order][list(sources)].to_numpy(dtype=float) < alpha
        yy, xx = np.nonzero(sig_mask)
        ax.scatter(xx, yy, s=6, c="black", marker="o", linewidths=0)
    ax.set_xticks(range(n_cols), [pretty(s) for s in sources], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n_rows), [labels[i] for i in order], fontsize=7)
    rows_group = group_of[order]
    bounds = np.flatnonzero(rows_group[1:] != rows_group[:-1])
    for b in bounds:
        ax.axhline(b + 0.5, color="white", lw=2)
    if gk:
        starts = np.r_[0, bounds + 1]
        ends = np.r_[bounds, n_rows - 1]
        for s, e in zip(starts, ends, strict=True):
            ax.annotate(
                rows_group[s],
                xy=(-0.01, 1 - (s + e + 1) / 2 / n_rows),
                xycoords="axes fraction",
                xytext=(-70, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=8,
                fontweight="bold",
            )
    cb = fig.colorbar(im, ax=ax, shrink=0.6)
    cb.set_label("pathway score" if value == "score" else "mean log2FC", fontsize=8)
    ax.set_title(f"Pathway activity (dot: padj < {alpha:g})", fontsize=9)
    return finish(fig, save)
