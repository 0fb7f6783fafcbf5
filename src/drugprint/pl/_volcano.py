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
        adjust_text(
            texts,
            ax=ax,
            iter_lim=300,
            force_text=(0.3, 0.6),
            expand=(1.1, 1.3),
            prevent_crossings=False,
            arrowprops={"arrowstyle": "-", "color": "0.4", "lw": 0.4},
        )
    return finish(fig, save)
