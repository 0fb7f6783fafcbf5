"""Dose–response curves with EC50 marks, and time courses."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._base import finish, layout, new_axes, pretty, text_width


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

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.dose_response`.
    group, source
        The group (cell type) and pathway/panel to draw.
    key, ax, figsize, save
        ``uns`` key; axes to draw into; figure size (default: 3.8 inches high and wide enough for the legend
        right of the plot); path to save to.

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


def neosubstrates(
    table: pd.DataFrame,
    group: str,
    *,
    genes: list[str] | None = None,
    groupby: str = "cell_type",
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Protein against mRNA change of each neosubstrate per drug: degradation is seen in the protein only.

    Parameters
    ----------
    table
        Output of :func:`drugprint.tl.neosubstrates`.
    group
        The group (cell type) to draw.
    genes
        Genes to show (default: all in the table).
    groupby
        Name of the group column in ``table``.
    figsize, save
        Figure size; path to save to.

    Returns
    -------
    The matplotlib Figure: one panel per gene, bars of mRNA (grey) and protein (red) log2 fold change per
    drug; ``*`` marks a significant change (padj < 0.05).

    Examples
    --------
    >>> import drugprint as dp
    >>> mdata = dp.datasets.imid_screen("small", modalities=("rna", "prot"), n_donors=3, cells_per_sample=80)
    >>> fig = dp.pl.neosubstrates(dp.tl.neosubstrates(mdata, key_added=None), "CD4 T")
    """
    import matplotlib.pyplot as plt

    sub = table[table[groupby].astype(str) == str(group)]
    if sub.empty:
        raise ValueError(f"No rows for group {group!r}; groups: {sorted(table[groupby].astype(str).unique())}.")
    genes = genes or list(dict.fromkeys(sub["gene"]))
    drugs = list(dict.fromkeys(sub["condition"]))
    figsize = figsize or (3.2 * len(genes), 3.4)
    fig, axes = plt.subplots(1, len(genes), figsize=figsize, squeeze=False, sharey=True, layout=layout(figsize))
    x = np.arange(len(drugs))
    for ax, gene in zip(axes[0], genes, strict=True):
        g = sub[sub["gene"] == gene].set_index("condition").reindex(drugs)
        for off, col, q, colour, label in (
            (-0.2, "rna_log2fc", "rna_padj", "#9e9e9e", "mRNA"),
            (0.2, "protein_log2fc", "protein_padj", "#c2452d", "protein"),
        ):
            vals = g[col].to_numpy(dtype=float)
            ax.bar(x + off, np.nan_to_num(vals), width=0.38, color=colour, label=label)
            for xi, v, p in zip(x + off, vals, g[q].to_numpy(dtype=float), strict=True):
                if np.isfinite(p) and p < 0.05:
                    ax.text(xi, v + (0.05 if v >= 0 else -0.15), "*", ha="center", fontsize=9)
        ax.axhline(0, color="black", lw=0.6)
        protein = g["protein"].dropna().iloc[0] if g["protein"].notna().any() else ""
        ax.set_title(f"{gene} ({protein})", fontsize=9)
        ax.set_xticks(x, drugs, rotation=45, ha="right", fontsize=8)
    fig.suptitle(group, fontsize=9)  # once for all panels: panel titles stay short
    axes[0][0].set_ylabel("log2 fold change vs control")
    axes[0][0].legend(fontsize=7, frameon=False)
    return finish(fig, save)
