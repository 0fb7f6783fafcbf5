"""``volcano``: log2 fold change against significance for one signature."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
from adjustText import adjust_text
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._base import finish, new_axes


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
        do not overlap, each joined to its point by a thin line.
    ax, figsize, save
        Axes to draw into; figure size; path to save to.

    Returns
    -------
    The matplotlib Figure.

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
    ax.legend(fontsize=7, frameon=False)
    texts = [ax.text(lfc[j], y[j], genes[j], fontsize=6) for j in labelled]
    if texts:  # last, on fixed axes limits: labels pushed apart, each tied to its point by a thin line
        ax.set(xlim=ax.get_xlim(), ylim=ax.get_ylim())  # connector lines must not rescale the axes afterwards
        _, arrows = adjust_text(
            texts,
            ax=ax,
            iter_lim=1000,
            force_text=(0.3, 0.6),
            force_explode=(0.3, 1.0),
            expand=(1.2, 1.6),
            prevent_crossings=False,
            arrowprops={"arrowstyle": "-", "color": "0.4", "lw": 0.4},
        )
        _separate(ax, texts, arrows)
    return finish(fig, save)


def _separate(ax: Axes, texts: list, arrows: list, passes: int = 100) -> None:
    """Push apart, vertically and inside the axes, the labels adjustText left overlapping (it can in crowds).

    Each overlapping pair moves apart by its overlap, the lower label down as far as the axes allow and the
    upper one up by the rest; connector lines follow their labels.
    """
    from itertools import combinations

    canvas = ax.figure.canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    to_data = ax.transData.inverted()

    def shift(text, dy):
        x, y = ax.transData.transform(text.get_position())
        text.set_position(to_data.transform((x, y + dy)))

    for _ in range(passes):
        boxes = [t.get_window_extent(renderer) for t in texts]
        moved = False
        for i, j in combinations(range(len(texts)), 2):
            a, b = boxes[i], boxes[j]
            w, h = min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)
            if w <= 0 or h <= 0:
                continue
            upper, lower = (i, j) if a.y0 + a.y1 >= b.y0 + b.y1 else (j, i)
            gap = h + 1.0
            down = min(gap / 2, max(boxes[lower].y0 - frame.y0, 0.0))
            up = min(gap - down, max(frame.y1 - boxes[upper].y1, 0.0))
            shift(texts[lower], -(gap - up) if up < gap - down else -down)
            shift(texts[upper], up)
            boxes[lower], boxes[upper] = (texts[k].get_window_extent(renderer) for k in (lower, upper))
            moved = True
        if not moved:
            break
    for arrow in arrows:
        label = getattr(arrow, "patchA", None)
        if label is not None:
            arrow.set_positions(label.get_position(), None)
