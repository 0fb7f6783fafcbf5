"""``query``: the atlas entries one signature resembles most and reverses most (:func:`drugprint.tl.query`)."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .._docs import doc_params
from .._results import stored
from ..get import query_table
from ._base import finish, new_axes, text_width

#: Bar colours of similar and reversing entries (those at ``padj >= alpha`` are drawn paler).
COLOURS = {"similar": "#b2182b", "reversing": "#2166ac"}
#: The x-axis label for each method of :func:`drugprint.tl.query`.
SCORE_LABELS = {"spearman": "score (z = r·√(m − 1))", "wks": "normalised connectivity score (NCS)"}


def _shown(tab: pd.DataFrame, n_top: int) -> pd.DataFrame:
    """The ``n_top`` highest positive and the ``n_top`` lowest negative scores, highest first."""
    similar = tab[tab["score"] > 0].sort_values("score", ascending=False, kind="stable").head(n_top)
    reversing = tab[tab["score"] < 0].sort_values("score", kind="stable").head(n_top)
    return pd.concat([similar, reversing.iloc[::-1]], ignore_index=True)


@doc_params()
def query(
    sig: AnnData,
    query: str,
    *,
    n_top: int = 10,
    key: str = "query",
    alpha: float = 0.05,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Bars of the atlas entries one query resembles most and reverses most, from :func:`drugprint.tl.query`.

    The ``n_top`` entries with the highest positive scores (red, top) and the ``n_top`` with the lowest negative
    scores (blue, bottom), score on x; entries at ``padj < alpha`` are drawn in full colour and marked ``*``, the
    others paler.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.query`.
    query
        The query (a name of ``sig.obs_names``) to show.
    n_top
        Entries shown in each direction.
    key
        The ``key_added`` of :func:`drugprint.tl.query`.
    alpha
        FDR level of the marks.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK", "Myeloma"], method="voom", verbose=False)
    >>> dp.tl.query(sig, sig, verbose=False)
    >>> fig = dp.pl.query(sig, "NK|mezigdomide vs DMSO", n_top=5)
    """
    if int(n_top) != n_top or n_top < 1:
        raise ValueError(f"n_top must be a positive integer, got {n_top!r}.")
    shown = _shown(query_table(sig, key, query=query), int(n_top))
    if shown.empty:
        raise ValueError(f"Query {query!r} has no entry with a non-zero score in sig.uns[{key!r}].")
    method = stored(sig, key, tool="query", entry="params").get("method", "spearman")
    labels = shown["reference"].astype(str).tolist()
    width = text_width(labels, 7) + 3.6
    fig, ax = new_axes(ax, figsize or (width, 1.2 + 0.2 * len(shown)))
    y = np.arange(len(shown))
    called = shown["padj"].to_numpy(dtype=float) < alpha
    colours = shown["direction"].map(COLOURS).to_numpy()
    bars = ax.barh(y, shown["score"], color=colours, alpha=None, height=0.7)
    for patch, ok in zip(bars, called, strict=True):
        patch.set_alpha(1.0 if ok else 0.4)
    for yi, score, ok in zip(y, shown["score"], called, strict=True):
        if ok:
            ax.annotate(
                "*",
                (score, yi),
                xytext=(2 if score > 0 else -2, -3),
                textcoords="offset points",
                ha="left" if score > 0 else "right",
                va="center",
                fontsize=9,
            )
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.margins(x=0.08)
    ax.set_xlabel(SCORE_LABELS.get(method, "score"), fontsize=8)
    ax.set_title(f"{query}", fontsize=9)
    handles = [Patch(color=c, label=d) for d, c in COLOURS.items() if d in set(shown["direction"])]
    ax.legend(handles=handles, title=f"* padj < {alpha:g}", fontsize=7, title_fontsize=7, loc="best", frameon=False)
    return finish(fig, save)
