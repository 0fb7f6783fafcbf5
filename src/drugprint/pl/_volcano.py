"""``volcano``: log2 fold change against significance for one signature."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from os import PathLike

import numpy as np
from adjustText import adjust_text
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from .._docs import doc_params
from ._base import finish, new_axes

#: Where the legend may go, in order of preference (the corners of a volcano are mostly empty).
_LEGEND_PLACES = ("upper left", "upper right", "center left", "center right", "lower left", "lower right")


@doc_params()
def volcano(
    sig: AnnData,
    signature: str | int = 0,
    *,
    alpha: float = 0.05,
    lfc_threshold: float = 0.0,
    highlight: Sequence[str] | None = None,
    top: int = 10,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (4.5, 4.0),
    save: str | PathLike | None = None,
) -> Figure:
    """Volcano plot of one signature, with the top genes and ``highlight`` genes labelled.

    Parameters
    ----------
    sig
        Signatures from :func:`drugprint.tl.de`.
    signature
        Row name (e.g. ``"NK|mezigdomide vs DMSO"``) or position.
    alpha, lfc_threshold
        Genes with ``padj < alpha`` and ``|log2FC| > lfc_threshold`` are coloured (red up, blue down).
    highlight
        Genes to mark and label (e.g. a panel), in addition to the ``top`` genes.
    top
        Label this many of the most significant genes (smallest ``padj``). Labels are moved apart so that they
        do not overlap, and off the coloured points where they can; a label away from its point is joined to it
        by a thin line. The legend goes where it covers the fewest points, labels and the threshold line.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    >>> fig = dp.pl.volcano(sig, "NK|mezigdomide vs DMSO", highlight=["NKG7", "GZMB"])
    """
    if isinstance(signature, str):
        if signature not in sig.obs_names:
            raise KeyError(f"No signature {signature!r}; e.g. {list(sig.obs_names[:3])}.")
        i = sig.obs_names.get_loc(signature)
    else:
        i = int(signature)
    name = sig.obs_names[i]
    lfc = np.asarray(sig.layers["log2fc"][i], dtype=float)
    padj = np.asarray(sig.layers["padj"][i], dtype=float)
    ok = np.isfinite(lfc) & np.isfinite(padj)
    y = -np.log10(np.clip(padj, 1e-300, 1))
    up = ok & (padj < alpha) & (lfc > lfc_threshold)
    down = ok & (padj < alpha) & (lfc < -lfc_threshold)
    rest = ok & ~up & ~down
    own = ax is None
    fig, ax = new_axes(ax, figsize)
    ax.scatter(lfc[rest], y[rest], s=4, c="lightgrey", linewidths=0, rasterized=True)
    ax.scatter(lfc[up], y[up], s=6, c="#c0392b", linewidths=0, label=f"up ({up.sum()})")
    ax.scatter(lfc[down], y[down], s=6, c="#2e6da4", linewidths=0, label=f"down ({down.sum()})")
    genes = sig.var_names.to_numpy()
    labelled = list(np.flatnonzero(ok)[np.argsort(padj[ok], kind="stable")[:top]])
    if highlight:
        hl = np.isin(genes, list(highlight)) & ok
        ax.scatter(lfc[hl], y[hl], s=18, facecolors="none", edgecolors="black", linewidths=0.8)
        labelled += [j for j in np.flatnonzero(hl) if j not in labelled]
    ax.axhline(-np.log10(alpha), color="grey", lw=0.6, ls="--")
    ax.set_xlabel("log2 fold change")
    ax.set_ylabel("−log10 adjusted p-value")
    ax.set_title(name, fontsize=9)
    ax.set(xlim=ax.get_xlim(), ylim=ax.get_ylim())  # labels and their lines must not rescale the axes
    legend = ax.legend(fontsize=7, frameon=False, loc="upper left")
    # Labels stay inside the axes, so they need not take part in the layout (which they are placed for).
    texts = [ax.text(lfc[j], y[j], genes[j], fontsize=6, in_layout=False) for j in labelled]
    boxes = np.empty((0, 4))
    if texts:  # last, on fixed axes limits: labels pushed apart, each tied to its point by a thin line
        adjust_text(
            texts,
            x=lfc[up | down],
            y=y[up | down],
            ax=ax,
            iter_lim=100,
            force_text=(0.3, 0.6),
            force_explode=(0.3, 1.0),
            expand=(1.2, 1.6),
            prevent_crossings=False,
        )
        boxes = _separate(ax, texts)  # adjust_text laid the figure out: display extents are final from here on
        to_data = ax.transData.inverted()
        points = ax.transData.transform(np.c_[lfc[labelled], y[labelled]])
        for edge, point in zip(*_connectors(boxes, points, 6.0 * fig.dpi / 72), strict=True):
            ax.add_patch(
                FancyArrowPatch(to_data.transform(edge), to_data.transform(point), arrowstyle="-", color="0.4", lw=0.4)
            )
        if own:  # the labels are placed for this layout: keep it
            fig.set_layout_engine("none")
    line = ax.transData.transform((0, -np.log10(alpha)))[1]
    _place_legend(legend, ax.transData.transform(np.c_[lfc[ok], y[ok]]), boxes, line)
    return finish(fig, save)


def _separate(ax: Axes, texts: list[Text], passes: int = 100) -> np.ndarray:
    """Push apart, vertically and inside the axes, the labels adjustText left overlapping (it can in crowds).

    Each overlapping pair moves apart by its overlap, the lower label down as far as the axes allow and the
    upper one up by the rest. The labels are measured once; returns their final display boxes (x0, y0, x1, y1).
    """
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    boxes = np.array([t.get_window_extent(renderer).extents for t in texts])
    bottoms = boxes[:, 1].copy()
    for _ in range(passes):
        moved = False
        for i, j in combinations(range(len(texts)), 2):
            a, b = boxes[i], boxes[j]
            w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
            if w <= 0 or h <= 0:
                continue
            upper, lower = (i, j) if a[1] + a[3] >= b[1] + b[3] else (j, i)
            gap = h + 1.0
            down = min(gap / 2, max(boxes[lower, 1] - frame.y0, 0.0))
            up = min(gap - down, max(frame.y1 - boxes[upper, 3], 0.0))
            boxes[lower, 1::2] -= gap - up if up < gap - down else down
            boxes[upper, 1::2] += up
            moved = True
        if not moved:
            break
    to_data, shifts = ax.transData.inverted(), boxes[:, 1] - bottoms
    for text, (x, y), dy in zip(texts, ax.transData.transform([t.get_position() for t in texts]), shifts, strict=True):
        if dy:
            text.set_position(to_data.transform((x, y + dy)))
    return boxes


def _connectors(boxes: np.ndarray, points: np.ndarray, min_gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the line from each label's centre to its point leaves the label, and the point (display units).

    Only labels farther than ``min_gap`` from their point get a line.
    """
    centre, half = (boxes[:, :2] + boxes[:, 2:]) / 2, (boxes[:, 2:] - boxes[:, :2]) / 2
    towards = points - centre
    with np.errstate(divide="ignore"):
        leave = np.min(half / np.abs(towards), axis=1)  # fraction of the way at which the line leaves the box
    edge = centre + towards * leave[:, None]
    far = (leave < 1) & (np.hypot(*(points - edge).T) > min_gap)
    return edge[far], points[far]


def _place_legend(legend: Legend, points: np.ndarray, boxes: np.ndarray, line: float) -> None:
    """Put ``legend`` where it covers the fewest points, labels and threshold line (display units), once.

    The places are tried in the order of ``_LEGEND_PLACES``: the first of the least covered wins.
    """
    renderer = legend.figure.canvas.get_renderer()
    labels = [Bbox(b.reshape(2, 2)) for b in boxes]

    def covered(loc: str) -> int:
        legend.set_loc(loc)
        box = legend.get_window_extent(renderer)
        return box.count_contains(points) + box.count_overlaps(labels) + int(box.y0 <= line <= box.y1)

    legend.set_loc(min(_LEGEND_PLACES, key=covered))
