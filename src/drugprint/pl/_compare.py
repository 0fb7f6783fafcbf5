"""Figures of drug comparisons: similarity heatmap with dendrogram, and DEG overlap (UpSet)."""

from __future__ import annotations

from os import PathLike
from typing import Literal

import matplotlib.pyplot as plt
import numpy as np
from anndata import AnnData
from matplotlib.figure import Figure
from scipy.cluster import hierarchy

from ..get import similarity_matrix
from ..tl._compare import _comparisons
from ._base import finish, group_rows, layout


def similarity(
    sig: AnnData,
    group: str,
    *,
    metric: Literal["spearman", "pearson", "cosine", "effect_r"] = "spearman",
    key: str = "compare",
    cmap: str = "viridis",
    figsize: tuple[float, float] = (5.5, 4.5),
    save: str | PathLike | None = None,
) -> Figure:
    """Drug × drug similarity of one group as a heatmap, ordered by and drawn with its dendrogram.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.compare`.
    group
        The group (cell type) to draw.
    metric
        A signature metric, or ``"effect_r"`` (the split-donor effect correlation; needs ``compare(pdata=…)``).
    key, cmap, figsize, save
        ``uns`` key of the comparison; colour map; figure size; path to save to.

    Returns
    -------
    The matplotlib Figure.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> _ = dp.tl.compare(sig, n_boot=20)
    >>> fig = dp.pl.similarity(sig, "Myeloma")
    """
    if key not in sig.uns:
        raise KeyError(f"sig.uns has no {key!r}; run dp.tl.compare(sig) first.")
    compared = _comparisons(sig, key)
    if group not in compared:
        raise ValueError(f"No comparison for group {group!r}; compared: {list(compared)}.")
    names, link = compared[group]["names"], compared[group]["linkage"]
    mat = similarity_matrix(sig, group, metric, key=key)
    fig = plt.figure(figsize=figsize, layout=layout(figsize))
    gs = fig.add_gridspec(1, 3, width_ratios=[1.2, 4, 0.25])
    ax_d, ax, cax = fig.add_subplot(gs[0]), fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    dn = hierarchy.dendrogram(
        link, orientation="left", no_labels=True, ax=ax_d, color_threshold=0, above_threshold_color="black"
    )
    ax_d.axis("off")
    order = [names[i] for i in dn["leaves"]][::-1]
    m = mat.loc[order, order].to_numpy(dtype=float)
    im = ax.imshow(m, cmap=cmap, vmin=min(0.0, np.nanmin(m)), vmax=1.0, aspect="auto")  # rows level with leaves
    for (i, j), v in np.ndenumerate(m):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.6 else "black")
    ax.set_xticks(range(len(order)), order, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(order)), order, fontsize=8)
    label = {"effect_r": "effect correlation"}.get(metric, f"{metric} of signatures")
    fig.suptitle(f"{group}: {label}", fontsize=9)  # over the whole figure: clear of the colour bar
    fig.colorbar(im, cax=cax)
    return finish(fig, save)


def deg_upset(
    sig: AnnData,
    group: str,
    direction: Literal["up", "down"] = "up",
    *,
    key: str = "deg_overlap",
    max_intersections: int = 15,
    figsize: tuple[float, float] = (7.0, 4.0),
    save: str | PathLike | None = None,
) -> Figure:
    """UpSet plot of DEG sets: intersection sizes (bars) over the conditions in each intersection (dots).

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.deg_overlap`.
    group, direction
        Which group and direction to draw.
    key, max_intersections, figsize, save
        ``uns`` key; number of largest intersections shown; figure size; path to save to.

    Returns
    -------
    The matplotlib Figure.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> _ = dp.tl.deg_overlap(sig)
    >>> fig = dp.pl.deg_upset(sig, "Myeloma", "up")
    """
    if key not in sig.uns:
        raise KeyError(f"sig.uns has no {key!r}; run dp.tl.deg_overlap(sig) first.")
    inter = sig.uns[key]["intersections"]
    group_rows(sig, [group])  # a KeyError naming the groups present if ``group`` is not one of them
    inter = inter[(inter["group"] == group) & (inter["direction"] == direction)]
    if inter.empty:
        raise ValueError(f"No {direction}-regulated DEGs in group {group!r}.")
    inter = inter.sort_values("n_genes", ascending=False).head(max_intersections)
    conds = [
        c for c in sig.obs["condition"].astype(str).unique() if any(c in s.split(" & ") for s in inter["conditions"])
    ]
    fig, (ax_b, ax_m) = plt.subplots(2, 1, figsize=figsize, height_ratios=[2, 1.2], sharex=True, layout=layout(figsize))
    x = np.arange(len(inter))
    ax_b.bar(x, inter["n_genes"], color="#444")
    for xi, n in zip(x, inter["n_genes"], strict=True):
        ax_b.text(xi, n, str(n), ha="center", va="bottom", fontsize=7)
    ax_b.set_ylabel("genes")
    ax_b.set_title(f"{group}: {direction}-regulated genes shared between drugs", fontsize=9)
    for xi, combo in zip(x, inter["conditions"], strict=True):
        members = combo.split(" & ")
        ys = [conds.index(c) for c in members if c in conds]
        ax_m.scatter([xi] * len(conds), range(len(conds)), color="#ddd", s=30)
        ax_m.scatter([xi] * len(ys), ys, color="black", s=30)
        if len(ys) > 1:
            ax_m.plot([xi, xi], [min(ys), max(ys)], color="black", lw=1.5)
    ax_m.set_yticks(range(len(conds)), conds, fontsize=8)
    ax_m.set_xticks([])
    ax_m.invert_yaxis()
    return finish(fig, save)
