"""Dose–response curves with EC50 marks, and time courses."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from mudata import MuData

from .._docs import doc_params
from .._labels import pretty
from .._results import stored
from ..get import dose_table, neosubstrate_table, time_course_table
from ..tl import hill
from ._base import finish, grid_axes, layout, new_axes, results_table, text_width


@doc_params()
def dose_response(
    sig: AnnData,
    group: str,
    source: str,
    *,
    key: str = "dose_response",
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Activity against dose for each drug, with the fitted Hill curve and its EC50 marked.

    The default figure is 3.8 inches high and wide enough for the legend right of the plot.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.dose_response`.
    group, source
        The group (cell type) and pathway/panel to draw.
    key
        ``key_added`` of :func:`drugprint.tl.dose_response`.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", doses=[0.01, 0.1, 1, 10], n_donors=3, cells_per_sample=80)
    >>> sig = dp.tl.de(dp.pp.pseudobulk(adata), condition_key="condition", groups=["Myeloma"], method="voom",
    ...                verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.dose_response(sig, sources=["HALLMARK_P53_PATHWAY"])
    >>> fig = dp.pl.dose_response(sig, "Myeloma", "HALLMARK_P53_PATHWAY")
    """
    fits, pts = dose_table(sig, key), stored(sig, key, tool="dose_response", entry="points")
    fits = fits[(fits["group"] == group) & (fits["source"] == source)]
    pts = pts[(pts["group"] == group) & (pts["source"] == source)]
    if fits.empty:
        raise ValueError(f"No fit for group {group!r} and source {source!r}.")
    own = ax is None
    fig, ax = new_axes(ax, figsize or (5.0, 3.8))
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
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # clear of the curves
    if own and figsize is None:  # widened by the legend, however long the drug names
        size = (4.2 + text_width(ax.get_legend_handles_labels()[1], 7), 3.8)
        fig.set_size_inches(size)
        fig.set_layout_engine(layout(size))
    return finish(fig, save)


@doc_params()
def time_course(
    data: AnnData | pd.DataFrame,
    group: str,
    source: str,
    *,
    key: str = "time_course",
    value: str = "log2fc",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (5.0, 3.5),
    save: str | PathLike | None = None,
) -> Figure:
    """Pathway activity over time, one line per drug; filled markers where ``padj < 0.05``.

    Parameters
    ----------
    data
        Signatures after :func:`drugprint.tl.time_course`, or its table (:func:`drugprint.get.time_course_table`).
    group, source
        The group and pathway/panel to draw.
    key
        ``key_added`` of :func:`drugprint.tl.time_course` (when ``data`` are signatures).
    value
        Column plotted (``"log2fc"`` or ``"score"``).
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", timepoints=[6, 24], n_donors=3, cells_per_sample=80)
    >>> sig = dp.tl.de(dp.pp.pseudobulk(adata), match="time", groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.time_course(sig)
    >>> fig = dp.pl.time_course(sig, "Myeloma", "HALLMARK_APOPTOSIS")
    """
    table = results_table(data, key, time_course_table)
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


@doc_params()
def neosubstrates(
    data: MuData | pd.DataFrame,
    group: str,
    *,
    key: str = "neosubstrates",
    genes: list[str] | None = None,
    groupby: str | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Protein against mRNA change of each neosubstrate per drug: degradation is seen in the protein only.

    One panel per gene (by default 3.2 inches wide each), bars of mRNA (grey) and protein (red) log2 fold change
    per drug; ``*`` marks a significant change (padj < 0.05).

    Parameters
    ----------
    data
        The MuData after :func:`drugprint.tl.neosubstrates`, or its table (:func:`drugprint.get.neosubstrate_table`).
    group
        The group (cell type) to draw.
    key
        ``key_added`` of :func:`drugprint.tl.neosubstrates` (when ``data`` is the MuData).
    genes
        Genes to show (default: all in the table).
    groupby
        Name of the group column in the table (default: the ``groupby`` it was made with, else its first column).
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> mdata = dp.datasets.imid_screen("small", modalities=("rna", "prot"), n_donors=3, cells_per_sample=80)
    >>> dp.tl.neosubstrates(mdata)
    >>> fig = dp.pl.neosubstrates(mdata, "CD4 T")
    """
    table = results_table(data, key, neosubstrate_table)
    if groupby is None:
        made_with = data.uns[key]["params"].get("groupby") if isinstance(data, MuData) else None
        groupby = made_with if made_with in table else table.columns[0]
    sub = table[table[groupby].astype(str) == str(group)]
    if sub.empty:
        raise ValueError(f"No rows for group {group!r}; groups: {sorted(table[groupby].astype(str).unique())}.")
    genes = genes or list(dict.fromkeys(sub["gene"]))
    drugs = list(dict.fromkeys(sub["condition"]))
    figsize = figsize or (3.2 * len(genes), 3.4)
    fig, axes = grid_axes(ax, figsize, 1, len(genes), sharey=True)
    x = np.arange(len(drugs))
    for panel, gene in zip(axes[0], genes, strict=True):
        g = sub[sub["gene"] == gene].set_index("condition").reindex(drugs)
        for off, col, q, colour, label in (
            (-0.2, "rna_log2fc", "rna_padj", "#9e9e9e", "mRNA"),
            (0.2, "protein_log2fc", "protein_padj", "#c2452d", "protein"),
        ):
            vals = g[col].to_numpy(dtype=float)
            panel.bar(x + off, np.nan_to_num(vals), width=0.38, color=colour, label=label)
            for xi, v, p in zip(x + off, vals, g[q].to_numpy(dtype=float), strict=True):
                if np.isfinite(p) and p < 0.05:
                    panel.text(xi, v + (0.05 if v >= 0 else -0.15), "*", ha="center", fontsize=9)
        panel.axhline(0, color="black", lw=0.6)
        protein = g["protein"].dropna().iloc[0] if g["protein"].notna().any() else ""
        panel.set_title(f"{gene} ({protein})", fontsize=9)
        panel.set_xticks(x, drugs, rotation=45, ha="right", fontsize=8)
    if ax is None:
        fig.suptitle(group, fontsize=9)  # once for all panels: panel titles stay short
    else:
        axes[0][0].set_title(f"{group}: {axes[0][0].get_title()}", fontsize=9)
    axes[0][0].set_ylabel("log2 fold change vs control")
    axes[0][0].legend(fontsize=7, frameon=False)
    return finish(fig, save)
