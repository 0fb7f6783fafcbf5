"""``enrich_dotplot``: the terms over-represented among each signature's up and down genes."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._docs import doc_params
from ..get import enrich_table
from ._base import finish, grid_axes, text_width


def _shown(tab: pd.DataFrame, alpha: float, n_terms: int) -> list[str]:
    """The ``n_terms`` terms with the smallest padj that pass ``alpha`` somewhere (else the smallest overall)."""
    best = tab.groupby("source", sort=False)["padj"].min().sort_values(kind="stable")
    passed = best[best < alpha]
    return list((passed if len(passed) else best).index[:n_terms])


@doc_params()
def enrich_dotplot(
    sig: AnnData,
    key: str = "enrich",
    *,
    groups: Sequence[str] | None = None,
    directions: Sequence[str] | None = None,
    n_terms: int = 10,
    alpha: float = 0.05,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Dot plot of :func:`drugprint.tl.enrich`: one panel per direction, terms × signatures.

    Each panel shows the ``n_terms`` terms with the smallest adjusted p-value in that direction (those that pass
    ``alpha`` in some signature); a dot's size is the number of list genes in the term, its colour −log10 padj,
    and a black edge marks ``padj < alpha``.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.enrich`.
    key
        Its ``key_added``.
    groups
        Groups (cell types) to show; default all.
    directions
        Panels to draw (``"up"``, ``"down"``, ``"any"``); default those tested.
    n_terms
        Terms per panel.
    alpha
        Significance level of the edge.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.enrich(sig, "go_bp")
    >>> fig = dp.pl.enrich_dotplot(sig, n_terms=8)
    """
    tab = enrich_table(sig, key)
    if groups is not None and "group" in tab:
        tab = tab[tab["group"].isin([str(g) for g in groups])]
    directions = list(directions or dict.fromkeys(tab["direction"]))
    if tab.empty or not directions:
        raise ValueError(f"sig.uns[{key!r}] holds no tested set for these groups and directions.")
    tab = tab.assign(column=(tab["group"] + " · " if "group" in tab else "") + tab["condition"])
    columns = list(dict.fromkeys(tab["column"]))
    shown = {d: _shown(tab[tab["direction"] == d], alpha, n_terms) for d in directions}
    labels = {s: f"{t} ({s})" for s, t in zip(tab["source"], tab["term"], strict=True)}
    longest = text_width([labels[s] for terms in shown.values() for s in terms] or ["x"], 7)
    width = longest + 1.5 + 0.45 * len(columns)
    height = 1.6 + 0.22 * max(len(t) for t in shown.values()) + 0.6 * text_width(columns, 7)
    fig, axes = grid_axes(ax, figsize or (width * len(directions), height), 1, len(directions))
    for ax, direction in zip(axes.ravel(), directions, strict=True):
        part = tab[(tab["direction"] == direction) & tab["source"].isin(shown[direction])]
        y = {s: i for i, s in enumerate(shown[direction])}
        x = {c: i for i, c in enumerate(columns)}
        padj = part["padj"].to_numpy(dtype=float)
        sc = ax.scatter(
            part["column"].map(x),
            part["source"].map(y),
            s=10 + 8 * np.sqrt(part["overlap"].to_numpy(dtype=float)),
            c=np.clip(-np.log10(padj + 1e-300), 0, 20),
            cmap="Reds",
            vmin=0,
            edgecolors=np.where(padj < alpha, "black", "none"),
            linewidths=0.6,
        )
        ax.set_yticks(range(len(y)), [labels[s] for s in y], fontsize=7)
        ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=7)
        ax.set_xlim(-0.6, len(columns) - 0.4)
        ax.set_ylim(len(y) - 0.5, -0.5)
        ax.set_title(f"{direction} genes", fontsize=9)
        fig.colorbar(sc, ax=ax, shrink=0.6).set_label("−log10 padj", fontsize=7)
    return finish(fig, save)
