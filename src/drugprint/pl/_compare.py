"""Figures of drug comparisons: similarity heatmap with dendrogram, and DEG overlap (UpSet)."""

from __future__ import annotations

from os import PathLike
from typing import Literal

import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.cluster import hierarchy

from .._docs import doc_params
from .._results import stored
from .._signatures import select_rows, signature_names
from ..get import comparison, similarity_matrix
from ._base import finish, grid_axes


@doc_params()
def similarity(
    sig: AnnData,
    group: str,
    *,
    metric: Literal["spearman", "pearson", "cosine", "effect_r"] = "spearman",
    key: str = "compare",
    cmap: str = "viridis",
    ax: Axes | None = None,
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
    key, cmap
        ``key_added`` of the comparison; colour map.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.compare(sig, n_boot=20)
    >>> fig = dp.pl.similarity(sig, "Myeloma")
    """
    rec = comparison(sig, group, key=key)
    if rec is None:
        compared = list(dict.fromkeys(sig.uns[key]["table"]["group"].astype(str)))
        raise ValueError(f"No comparison for group {group!r}; compared: {compared}.")
    names, link = rec["names"], rec["linkage"]
    mat = similarity_matrix(sig, group, metric, key=key)
    own = ax is None
    fig, axes = grid_axes(ax, figsize, 1, 3, width_ratios=[1.2, 4, 0.25])
    ax_d, ax, cax = axes[0]
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
    if own:
        fig.suptitle(f"{group}: {label}", fontsize=9)  # over the whole figure: clear of the colour bar
    else:
        ax.set_title(f"{group}: {label}", fontsize=9)
    fig.colorbar(im, cax=cax)
    return finish(fig, save)


@doc_params()
def deg_upset(
    sig: AnnData,
    group: str,
    direction: Literal["up", "down"] = "up",
    *,
    key: str = "deg_overlap",
    max_intersections: int = 15,
    ax: Axes | None = None,
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
    key, max_intersections
        ``key_added`` of the overlap; number of largest intersections shown.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.deg_overlap(sig)
    >>> fig = dp.pl.deg_upset(sig, "Myeloma", "up")
    """
    inter = stored(sig, key, tool="deg_overlap", entry="intersections")
    rows = select_rows(sig, [group])  # a KeyError naming the groups present if ``group`` is not one of them
    inter = inter[(inter["group"] == group) & (inter["direction"] == direction)]
    if inter.empty:
        raise ValueError(f"No {direction}-regulated DEGs in group {group!r}.")
    inter = inter.sort_values("n_genes", ascending=False).head(max_intersections)
    # named as deg_overlap names them: by condition, or by signature where the group repeats a condition
    conds = [c for c in signature_names(sig, rows) if any(c in s.split(" & ") for s in inter["conditions"])]
    fig, axes = grid_axes(ax, figsize, 2, 1, sharex=True, height_ratios=[2, 1.2])
    ax_b, ax_m = axes[:, 0]
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
