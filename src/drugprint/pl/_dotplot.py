"""``panel_dotplot``: per-gene changes of a panel (e.g. cytotoxicity) across conditions and cell types."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..resources import panels as shipped_panels
from ..tl._potency import _group_key
from ._base import finish, group_rows, new_axes, symmetric_norm


def panel_dotplot(
    sig: AnnData,
    panel: str | Sequence[str] = "cytotoxicity",
    *,
    groups: Sequence[str] | None = ("NK", "CD8 T"),
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
        Groups (cell types) to show; ``None`` for all. Groups absent from ``sig`` are skipped (a KeyError if
        none is present).
    alpha
        Dots of genes with ``padj < alpha`` get a black edge.
    cmap, ax, figsize, save
        Colour map; axes to draw into; figure size; path to save to.

    Returns
    -------
    The matplotlib Figure.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    >>> fig = dp.pl.panel_dotplot(sig, "cytotoxicity", groups=["NK"])
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
    gk = _group_key(sig)
    rows = group_rows(sig, groups if gk else None, skip_missing=True)
    sub = sig[rows, genes]
    lfc = np.asarray(sub.layers["log2fc"], dtype=float)
    padj = np.asarray(sub.layers["padj"], dtype=float)
    ylabels = [f"{r[gk]} · {r['condition']}" if gk else str(r["condition"]) for _, r in sub.obs.iterrows()]
    fig, ax = new_axes(ax, figsize or (1.8 + 0.5 * len(genes), 1.0 + 0.3 * len(rows)))
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
    cb = fig.colorbar(sc, ax=ax, shrink=0.6)
    cb.set_label("log2 fold change", fontsize=8)
    for v in (2, 5, 10):
        ax.scatter([], [], s=12 + 9 * v, c="grey", label=f"padj 1e-{v}")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.25, 1.0), frameon=False)
    ax.set_title(f"{title} panel (edge: padj < {alpha:g})", fontsize=9)
    return finish(fig, save)
