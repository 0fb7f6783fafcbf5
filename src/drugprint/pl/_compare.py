"""Figures of drug comparisons: similarity heatmap with dendrogram, and DEG overlap (UpSet)."""

from __future__ import annotations

from os import PathLike
from typing import Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle
from scipy.cluster import hierarchy

from .._docs import doc_params
from .._results import stored
from .._signatures import select_rows, signature_names
from ..get import compare_table, comparison, similarity_matrix
from ._base import finish, grid_axes

#: What each metric is, as titles and colour bars name it.
METRIC_LABELS = {
    "spearman": "Spearman of signatures",
    "pearson": "Pearson of signatures",
    "cosine": "cosine of signatures",
    "effect_r": "effect correlation (split donors, capped at ±1)",
}


@doc_params()
def similarity(
    sig: AnnData,
    group: str,
    *,
    metric: Literal["spearman", "pearson", "cosine", "effect_r"] = "spearman",
    key: str = "compare",
    cmap: str = "RdBu_r",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (5.5, 4.5),
    save: str | PathLike | None = None,
) -> Figure:
    """Drug × drug similarity of one group as a heatmap, ordered by and drawn with its dendrogram.

    The title and the colour bar name the metric; the colour scale is its whole range, −1 to 1, in every figure.
    Missing values (``NaN``: e.g. the effect correlation of a drug without a reproducible effect) are grey cells
    annotated "n/a". Pairs that are not ``comparable`` (see :func:`drugprint.tl.compare`: a drug in them has no
    reproducible effect, so their similarity measures no shared fingerprint) are hatched, their value printed in
    italics, and the subtitle says so.

    The dendrogram is average linkage on 1 − the metric drawn (for the signatures' Spearman, the linkage
    :func:`drugprint.tl.compare` stored). Conditions without any value are listed below the clustered ones,
    outside the dendrogram. When more than half of the pairs have no value, or fewer than 3 conditions have one,
    nothing is clustered: the conditions keep their order in ``sig``, no dendrogram is drawn and the subtitle says
    why.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.compare`.
    group
        The group (cell type) to draw.
    metric
        A signature metric, or ``"effect_r"`` (the split-donor effect correlation; needs ``compare(pdata=…)``).
    key, cmap
        ``key_added`` of the comparison; colour map (diverging: the scale is centred on 0).
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
    >>> fig.axes[-1].get_ylabel()
    'Spearman of signatures'
    """
    rec = comparison(sig, group, key=key)
    if rec is None:
        compared = list(dict.fromkeys(sig.uns[key]["table"]["group"].astype(str)))
        raise ValueError(f"No comparison for group {group!r}; compared: {compared}.")
    names = [str(n) for n in rec["names"]]
    mat = similarity_matrix(sig, group, metric, key=key).loc[names, names]
    order, link, notes = _cluster_order(rec, mat, metric)
    own = ax is None
    if link is None:
        fig, axes = grid_axes(ax, figsize, 1, 2, width_ratios=[4, 0.25])
        ax, cax = axes[0]
    else:
        fig, axes = grid_axes(ax, figsize, 1, 3, width_ratios=[1.2, 4, 0.25])
        ax_d, ax, cax = axes[0]
        hierarchy.dendrogram(
            link, orientation="left", no_labels=True, ax=ax_d, color_threshold=0, above_threshold_color="black"
        )
        n_out = len(order) - (len(link) + 1)  # conditions below the clustered ones: leaves level with their rows
        ax_d.set_ylim(-10 * n_out, 10 * (len(link) + 1))
        ax_d.axis("off")
    m = mat.loc[order, order].to_numpy(dtype=float)
    marked = _not_comparable(sig, group, key)
    im = _draw_cells(ax, m, order, marked, cmap)
    if marked & {frozenset((a, b)) for a in order for b in order if a != b}:
        notes.append("hatched: not comparable (a drug without reproducible effect)")
    label = METRIC_LABELS.get(metric, metric)
    title = f"{group}: {label}" + "".join(f"\n{n}" for n in notes)
    if own:
        fig.suptitle(title, fontsize=9)  # over the whole figure: clear of the colour bar
    else:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, cax=cax)
    cax.set_ylabel(label, fontsize=8)
    return finish(fig, save)


def _cluster_order(rec: dict, mat: pd.DataFrame, metric: str) -> tuple[list[str], np.ndarray | None, list[str]]:
    """Rows top to bottom, the linkage of the clustered ones (``None``: nothing clustered) and what the title says.

    ``mat`` is square, in the order of the signatures in ``sig``.
    """
    names, m = list(mat.index), mat.to_numpy(dtype=float)
    n = len(names)
    off = ~np.eye(n, dtype=bool)
    n_pairs, n_nan = n * (n - 1) // 2, int(np.isnan(m[off]).sum()) // 2
    has = np.isfinite(np.where(off, m, np.nan)).any(axis=1)
    if 2 * n_nan > n_pairs:
        return names, None, [f"not clustered (order as given): {n_nan} of {n_pairs} pairs n/a"]
    if has.sum() < 3:
        return names, None, ["not clustered (order as given): fewer than 3 conditions with values"]
    kept = [c for c, h in zip(names, has, strict=True) if h]
    basis = "spearman" if "spearman" in rec["matrices"] else next(iter(rec["matrices"]))
    if metric == basis and has.all() and not n_nan:
        link = rec["linkage"]
    else:  # the conditions with values, pairs without one taken as uncorrelated
        dist = np.clip(1 - np.nan_to_num(m[np.ix_(has, has)], nan=0.0), 0, 2)
        link = hierarchy.linkage(dist[np.triu_indices(len(kept), 1)], method="average")
    rest = [c for c, h in zip(names, has, strict=True) if not h]
    notes = [f"not clustered (no values): {', '.join(rest)}"] if rest else []
    return [kept[i] for i in hierarchy.leaves_list(link)][::-1] + rest, link, notes


def _not_comparable(sig: AnnData, group: str, key: str) -> set[frozenset]:
    """The pairs of ``group`` that :func:`drugprint.tl.compare` found not ``comparable`` (none in older results)."""
    tab = compare_table(sig, key)
    if "comparable" not in tab:
        return set()
    tab = tab[(tab["group"].astype(str) == str(group)) & ~tab["comparable"].astype(bool)]
    return {frozenset((a, b)) for a, b in zip(tab["a"].astype(str), tab["b"].astype(str), strict=True)}


def _draw_cells(ax: Axes, m: np.ndarray, order: list[str], marked: set[frozenset], cmap: str) -> AxesImage:
    """The heatmap on [−1, 1]: values printed, ``NaN`` grey and "n/a", pairs not comparable hatched."""
    colours = plt.get_cmap(cmap).with_extremes(bad="#d0d0d0")
    norm = Normalize(vmin=-1.0, vmax=1.0)
    im = ax.imshow(np.ma.masked_invalid(m), cmap=colours, norm=norm, aspect="auto")  # rows level with leaves
    for (i, j), v in np.ndenumerate(m):
        odd = i != j and frozenset((order[i], order[j])) in marked
        if odd:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#555", lw=0))
        if np.isfinite(v):
            r, g, b, _ = colours(norm(v))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            text, colour = f"{v:.2f}", "white" if dark else "black"
        else:
            text, colour = "n/a", "#444"
        ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour, style="italic" if odd else "normal")
    ax.set_xticks(range(len(order)), order, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(order)), order, fontsize=8)
    return im


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
