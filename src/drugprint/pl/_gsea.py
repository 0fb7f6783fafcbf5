"""``gsea_plot``: the classic enrichment plot of one set in one signature, from :func:`drugprint.tl.gsea`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._docs import doc_params
from .._results import caller_stacklevel, stored
from ..get import gsea_table
from ..resources import genesets
from ..tl._stats.gsea import rank, running_sum
from ._base import finish, grid_axes

#: Shading of the leading-edge region.
_EDGE = "#fde0c5"


def _net_of(sig: AnnData, key: str, net: str | PathLike | pd.DataFrame | None) -> pd.DataFrame:
    """The collection the results were made with: ``net`` when given, else the shipped one or file recorded."""
    if net is not None:
        return net if isinstance(net, pd.DataFrame) else genesets(net)
    prov = stored(sig, key, tool="gsea", entry="net")
    prov = dict(prov) if isinstance(prov, Mapping) else {}
    if "file" in prov:  # a shipped collection
        return genesets(prov["name"])
    if Path(str(prov.get("source", ""))).is_file():
        return genesets(prov["source"])
    raise ValueError(
        f"sig.uns[{key!r}] was made with a net of its own ({prov.get('name', 'user net')!r}); pass it as net=."
    )


@doc_params()
def gsea_plot(
    sig: AnnData,
    signature: str,
    source: str,
    key: str = "gsea",
    *,
    net: str | PathLike | pd.DataFrame | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Enrichment plot of one set in one signature (Subramanian et al. 2005): running sum, barcode, ranked list.

    Top: the running sum over the ranked genes, its peak (the ES) marked, the leading edge shaded; middle: a bar at
    each of the set's genes; bottom: the ranking statistic. The title gives NES and padj. The running sum is
    computed again from the signature and the set, as :func:`drugprint.tl.gsea` did (a warning says so when it
    does not reproduce the stored ES, e.g. for another ``net``).

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.gsea`.
    signature
        The signature (a name of ``sig.obs_names``, e.g. ``"Myeloma|mezigdomide vs DMSO"``).
    source
        The set (e.g. ``"HALLMARK_INTERFERON_ALPHA_RESPONSE"``, or a GO ID).
    key
        The ``key_added`` of :func:`drugprint.tl.gsea`.
    net
        The collection the results were made with; default the shipped collection or file recorded in
        ``sig.uns[key]["net"]`` (a DataFrame net of one's own must be passed again).
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.gsea(sig, "hallmark", n_perm=200)
    >>> fig = dp.pl.gsea_plot(sig, "Myeloma|mezigdomide vs DMSO", "HALLMARK_INTERFERON_ALPHA_RESPONSE")
    """
    tab = gsea_table(sig, key)
    row = tab[(tab["signature"] == str(signature)) & (tab["source"] == str(source))]
    if row.empty:
        raise KeyError(
            f"No result for signature {signature!r} and set {source!r} in sig.uns[{key!r}] (untested sets are "
            f"outside min_size..max_size); signatures: {list(dict.fromkeys(tab['signature']))[:5]}."
        )
    row = row.iloc[0]
    layer = stored(sig, key, tool="gsea", entry="params")["layer"]
    values = np.asarray(sig[str(signature)].layers[layer], dtype=float).ravel()
    order = rank(values)
    ranked, genes = values[order], sig.var_names[order]
    net = _net_of(sig, key, net)
    hits = genes.isin(net.loc[net["source"].astype(str) == str(source), "target"].astype(str))
    curve = running_sum(np.abs(ranked), hits)
    peak = int(np.argmax(curve) if row["es"] > 0 else np.argmin(curve))
    if not np.isclose(curve[peak], row["es"], rtol=0, atol=1e-9):
        warnings.warn(
            f"The running sum drawn peaks at {curve[peak]:.4g}, not at the stored ES {row['es']:.4g}: is net= the "
            "collection the results were made with?",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    fig, axes = grid_axes(ax, figsize or (5.5, 4.5), 3, 1, sharex=True, height_ratios=(3.0, 0.6, 1.6))
    _draw(axes[:, 0], ranked, hits, curve, peak, layer)
    axes[0, 0].set_title(f"{row['term']}\n{signature} · NES {row['nes']:.2f}, padj {row['padj']:.2g}", fontsize=9)
    return finish(fig, save)


def _draw(axes: np.ndarray, ranked: np.ndarray, hits: np.ndarray, curve: np.ndarray, peak: int, layer: str) -> None:
    """Running sum (peak marked), barcode and ranked statistic, the leading edge shaded in each."""
    top, bar, low = axes
    x = np.arange(ranked.size)
    edge = (0, peak) if curve[peak] > 0 else (peak, ranked.size - 1)
    for ax in axes:
        ax.axvspan(*edge, color=_EDGE, lw=0, zorder=0)
    top.plot(x, curve, color="#2a9d3f", lw=1.2)
    top.axhline(0, color="grey", lw=0.6)
    top.axvline(peak, color="#c0392b", lw=0.8, ls="--")
    top.plot([peak], [curve[peak]], "o", color="#c0392b", ms=4, label=f"ES {curve[peak]:.2f}")
    top.legend(fontsize=7, frameon=False, loc="lower left" if curve[peak] < 0 else "upper right")
    top.set_ylabel("running sum", fontsize=8)
    bar.vlines(np.flatnonzero(hits), 0, 1, color="black", lw=0.5)
    bar.set_ylim(0, 1)
    bar.set_yticks([])
    low.fill_between(x, ranked, 0, color="grey", lw=0)
    low.axhline(0, color="black", lw=0.5)
    low.set_ylabel(layer, fontsize=8)
    low.set_xlabel(f"rank ({ranked.size} genes)", fontsize=8)
    low.set_xlim(0, max(ranked.size - 1, 1))
    for ax in axes:
        ax.tick_params(labelsize=7)
        if ax is not low:
            ax.tick_params(labelbottom=False)
