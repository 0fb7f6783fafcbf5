"""``panel_dotplot``: per-gene changes of a panel (e.g. cytotoxicity) across conditions and cell types."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._docs import doc_params
from .._signatures import group_key, select_rows
from ..resources import panels as shipped_panels
from ._base import finish, new_axes, symmetric_norm, text_width


@doc_params()
def panel_dotplot(
    sig: AnnData,
    panel: str | Sequence[str] = "cytotoxicity",
    *,
    groups: Sequence[str] | None = None,
    alpha: float = 0.05,
    cmap: str = "RdBu_r",
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Dot plot of a gene panel: colour = log2 fold change, size = −log10 adjusted p-value.

    Parameters
    ----------
    sig
        Signatures from :func:`drugprint.tl.de`.
    panel
        A shipped panel name (:func:`drugprint.resources.panels`) or a list of genes.
    groups
        Groups (cell types) to show, in this order. Groups absent from ``sig`` are skipped (a KeyError if none
        is present). Default: the groups in which at least one gene of the panel has ``padj < alpha``, in the
        order of ``sig`` (all groups if none has).
    alpha
        Dots of genes with ``padj < alpha`` get a black edge.
    cmap
        Colour map.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    >>> fig = dp.pl.panel_dotplot(sig, "cytotoxicity", groups=["NK"])

    By default only the groups where the panel responds are drawn:

    >>> sig = dp.tl.de(pdata, groups=["NK", "B"], method="voom", verbose=False)
    >>> fig = dp.pl.panel_dotplot(sig, "cytotoxicity")
    """
    if isinstance(panel, str):
        known = shipped_panels()
        if panel not in known:
            raise ValueError(f"Unknown panel {panel!r}; shipped panels: {', '.join(known)}; or pass a list of genes.")
        genes, title = known[panel], panel
    else:
        genes, title = list(panel), "genes"
    genes = [g for g in genes if g in sig.var_names]
    if not genes:
        raise ValueError(f"No gene of panel {title!r} is in sig.var_names.")
    gk = group_key(sig)
    if gk and groups is None:
        hit = (np.asarray(sig.layers["padj"], dtype=float)[:, sig.var_names.get_indexer(genes)] < alpha).any(axis=1)
        groups = list(dict.fromkeys(sig.obs[gk].astype(str).to_numpy()[hit])) or None
    rows = select_rows(sig, groups if gk else None, skip_missing=True)
    sub = sig[rows, genes]
    lfc = np.asarray(sub.layers["log2fc"], dtype=float)
    padj = np.asarray(sub.layers["padj"], dtype=float)
    ylabels = [f"{r[gk]} · {r['condition']}" if gk else str(r["condition"]) for _, r in sub.obs.iterrows()]
    width = 2.0 + text_width(ylabels, 7) + 0.5 * len(genes)  # with the colour bar and size legend
    height = max(2.6, 0.8 + 0.7 * text_width(genes, 8) + 0.3 * len(rows))  # gene labels rotated by 45°
    fig, ax = new_axes(ax, figsize or (width, height))
    yy, xx = np.meshgrid(np.arange(len(rows)), np.arange(len(genes)), indexing="ij")
    size = np.clip(-np.log10(np.where(np.isfinite(padj), padj, 1.0) + 1e-300), 0, 20)
    edge = np.where((padj < alpha).ravel(), "black", "none")
    sc = ax.scatter(
        xx.ravel(),
        yy.ravel(),
        s=12 + 9 * size.ravel(),
        c=np.nan_to_num(lfc).ravel(),
        cmap=cmap,
        norm=symmetric_norm(lfc),
        edgecolors=edge,
        linewidths=0.6,
    )
    ax.set_xticks(range(len(genes)), genes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), ylabels, fontsize=7)
    ax.set_xlim(-0.6, len(genes) - 0.4)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    # Colour bar in the upper half right of the plot, the size legend hanging below it: neither can overlap.
    cax = ax.inset_axes([1.04, 0.5, 0.05, 0.5])
    cb = fig.colorbar(sc, cax=cax)
    cb.set_label("log2FC", fontsize=8)
    cax.tick_params(labelsize=7)
    handles = [ax.scatter([], [], s=12 + 9 * v, c="grey") for v in (2, 5, 10)]
    ax.legend(
        handles,
        [f"padj 1e-{v}" for v in (2, 5, 10)],
        fontsize=6,
        loc="upper left",
        bbox_to_anchor=(0, 0),
        bbox_transform=cax.transAxes,
        borderaxespad=1.5,
        frameon=False,
    )
    ax.set_title(f"{title} panel (edge: padj < {alpha:g})", fontsize=9)
    return finish(fig, save)
