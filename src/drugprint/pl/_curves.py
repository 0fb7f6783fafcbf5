"""Dose–response curves with EC50 marks, and time courses."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._base import finish, new_axes, pretty


def dose_response(
    sig: AnnData,
    group: str,
    source: str,
    *,
    key: str = "dose_response",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (5.0, 3.8),
    save: str | PathLike | None = None,
) -> Figure:
    """Activity against dose for each drug, with the fitted Hill curve and its EC50 marked.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.dose_response`.
    group, source
        The group (cell type) and pathway/panel to draw.
    key, ax, figsize, save
        ``uns`` key; axes to draw into; figure size; path to save to.

    Returns
    -------
    The matplotlib Figure.

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", doses=[0.01, 0.1, 1, 10], n_donors=3, cells_per_sample=80)
    >>> sig = dp.tl.de(dp.pp.pseudobulk(adata), condition_key="condition", groups=["Myeloma"], method="voom",
    ...                verbose=False)
    >>> dp.tl.pathways(sig)
    >>> _ = dp.tl.dose_response(sig, sources=["HALLMARK_P53_PATHWAY"])
    >>> fig = dp.pl.dose_response(sig, "Myeloma", "HALLMARK_P53_PATHWAY")
    """
    from ..tl._dose import hill

    if key not in sig.uns:
        raise KeyError(f"sig.uns has no {key!r}; run dp.tl.dose_response(sig) first.")
    fits, pts = sig.uns[key]["table"], sig.uns[key]["points"]
    fits = fits[(fits["group"] == group) & (fits["source"] == source)]
    pts = pts[(pts["group"] == group) & (pts["source"] == source)]
    if fits.empty:
        raise ValueError(f"No fit for group {group!r} and source {source!r}.")
    fig, ax = new_axes(ax, figsize)
    colours = dict(zip(fits["drug"], [f"C{i}" for i in range(len(fits))], strict=False))
    grid = np.logspace(np.log10(pts["dose"].min()) - 0.5, np.log10(pts["dose"].max()) + 0.5, 200)
    for _, f in fits.iterrows():
        c = colours[f["drug"]]
        p = pts[pts["drug"] == f["drug"]]
        ax.scatter(p["dose"], p["value"], color=c, s=18, zorder=3)
        if f.get("converged", False):
            ax.plot(
                grid,
                hill(grid, f["bottom"], f["emax"], np.log10(f["ec50"]), f["hill"]),
                color=c,
                label=f"{f['drug']} (EC50 {f['ec50']:.3g})",
            )
            ax.axvline(f["ec50"], color=c, ls=":", lw=1)
        else:
            ax.plot(p["dose"], p["value"], color=c, ls="--", label=f"{f['drug']} (no fit)")
    ax.set_xscale("log")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("dose")
    ax.set_ylabel("mean log2FC" if sig.uns[key]["params"]["value"] == "log2fc" else "score")
    ax.set_title(f"{group}: {pretty(source)}", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return finish(fig, save)


def time_course(
    table: pd.DataFrame,
    group: str,
    source: str,
    *,
    value: str = "log2fc",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (5.0, 3.5),
    save: str | PathLike | None = None,
) -> Figure:
    """Pathway activity over time, one line per drug; filled markers where ``padj < 0.05``.

    Parameters
    ----------
    table
        Output of :func:`drugprint.tl.time_course`.
    group, source
        The group and pathway/panel to draw.
    value
        Column plotted (``"log2fc"`` or ``"score"``).
    ax, figsize, save
        Axes to draw into; figure size; path to save to.

    Returns
    -------
    The matplotlib Figure.

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", timepoints=[6, 24], n_donors=3, cells_per_sample=80)
    >>> sig = dp.tl.de(dp.pp.pseudobulk(adata), match="time", groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> fig = dp.pl.time_course(dp.tl.time_course(sig), "Myeloma", "HALLMARK_APOPTOSIS")
    """
    sub = table[(table["group"] == group) & (table["source"] == source)]
    if sub.empty:
        raise ValueError(f"No rows for group {group!r} and source {source!r}.")
    fig, ax = new_axes(ax, figsize)
    for i, (drug, d) in enumerate(sub.groupby("drug", sort=False)):
        d = d.sort_values("time")
        ax.plot(d["time"], d[value], color=f"C{i}", marker="o", mfc="none", label=drug)
        if "padj" in d:
            s = d[d["padj"] < 0.05]
            ax.scatter(s["time"], s[value], color=f"C{i}", zorder=3)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("time (h)")
    ax.set_ylabel(value)
    ax.set_title(f"{group}: {pretty(source)}", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return finish(fig, save)
