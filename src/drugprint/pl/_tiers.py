"""``potency_tiers``: the pathway × condition tier matrix as a coloured table."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from .._docs import doc_params
from .._labels import pretty
from .._results import TIERS
from ..get import potency_rank_table, potency_table
from ..resources import KEY_PATHWAYS
from ._base import finish, new_axes, results_table, text_width

_COLOURS = {"none": "#f2f2f2", "modest": "#fde0c5", "moderate": "#f59e72", "strong": "#c2452d"}

#: Fewest doses of one drug that make a dose series (as :func:`drugprint.tl.dose_response` and the report need).
MIN_DOSES = 3


def has_dose_series(sig: AnnData, dose_key: str = "dose", drug_key: str = "drug") -> bool:
    """Whether some drug of ``sig`` was given at ``MIN_DOSES`` or more doses (> 0) in ``obs[dose_key]``."""
    if dose_key not in sig.obs or drug_key not in sig.obs:
        return False
    dose = pd.to_numeric(sig.obs[dose_key], errors="coerce")
    given = dose > 0
    if not given.any():
        return False
    per_drug = dose[given].groupby(sig.obs.loc[given, drug_key].astype(str).to_numpy()).nunique()
    return bool(per_drug.max() >= MIN_DOSES)


@doc_params()
def potency_tiers(
    data: AnnData | pd.DataFrame,
    group: str,
    *,
    key: str = "potency",
    sources: Sequence[str] | None = None,
    conditions: Sequence[str] | None = None,
    dose_series: bool | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Coloured table of tiers (none / modest / moderate / strong) for one group, pathways × conditions.

    Arrows give the direction of significant changes; each called tier shows its effect (mean log2FC of the
    pathway's genes) with its 95 % interval from the replicates, so no tier stands without its uncertainty.

    A tier is the size of the effect of one condition. Only across a dose series (a drug at ``MIN_DOSES`` = 3
    doses or more) does it speak of potency; without one the title says "effect at the tested concentration".

    Parameters
    ----------
    data
        Signatures after :func:`drugprint.tl.potency`, or its table (:func:`drugprint.get.potency_table`).
    group
        The group (cell type) to draw.
    key
        ``key_added`` of :func:`drugprint.tl.potency` (when ``data`` are signatures).
    sources, conditions
        Rows and columns to show, in order (default: key pathways when present, conditions in table order).
    dose_series
        Whether the conditions include a dose series, which the title then calls potency. Default: read from
        signatures, true when a drug of ``sig.obs["drug"]`` has 3 or more doses above 0 in ``sig.obs["dose"]``
        (the columns :func:`drugprint.tl.dose_response` reads); false for a table, which carries no doses.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.potency(sig)
    >>> fig = dp.pl.potency_tiers(sig, "Myeloma")
    """
    table = results_table(data, key, potency_table)
    if dose_series is None:
        dose_series = isinstance(data, AnnData) and has_dose_series(data)
    sub = table[table["group"].astype(str) == str(group)]
    if sub.empty:
        raise ValueError(f"No rows for group {group!r}; groups: {sorted(table['group'].astype(str).unique())}.")
    if sources is None:
        sources = [s for s in KEY_PATHWAYS if s in set(sub["source"])] or list(dict.fromkeys(sub["source"]))
    if conditions is None:
        cond = sub["condition"]
        order = cond.cat.categories if isinstance(cond.dtype, pd.CategoricalDtype) else pd.unique(cond)
        conditions = [c for c in order if c in set(cond)]
    tier = sub.pivot_table(index="source", columns="condition", values="tier", aggfunc="first", observed=False)
    tier = tier.reindex(index=list(sources), columns=list(conditions))
    direction = sub.pivot_table(
        index="source", columns="condition", values="direction", aggfunc="first", observed=False
    )
    direction = direction.reindex(index=list(sources), columns=list(conditions))
    effect = {
        col: sub.pivot_table(index="source", columns="condition", values=col, aggfunc="first", observed=False)
        .reindex(index=list(sources), columns=list(conditions))
        .to_numpy(dtype=float)
        for col in ("log2fc", "log2fc_lo", "log2fc_hi")
        if col in sub
    }
    codes = tier.apply(lambda col: col.map({t: i for i, t in enumerate(TIERS)})).to_numpy(dtype=float)
    what = "potency tiers" if dose_series else "effect at the tested concentration\n(tiers of mean log2FC)"
    title = f"{group}: {what}"
    ylabels = [pretty(s) for s in sources]
    # wide enough for the row labels beside a table as wide as the title above it (centred on the table)
    width = max(1.8 + 1.35 * len(conditions), text_width(ylabels, 8) + text_width(title.split("\n"), 9) + 0.6)
    fig, ax = new_axes(ax, figsize or (width, 0.9 + 0.45 * len(sources)))
    ax.imshow(
        np.ma.masked_invalid(codes),
        cmap=ListedColormap([_COLOURS[t] for t in TIERS]),
        vmin=-0.5,
        vmax=len(TIERS) - 0.5,
        aspect="auto",
    )
    for (r, c), t in np.ndenumerate(tier.to_numpy(dtype=object)):
        if isinstance(t, str):
            arrow = "" if t == "none" else (" ↑" if direction.iat[r, c] == "up" else " ↓")
            text = t + arrow
            if t != "none" and len(effect) == 3 and np.isfinite(effect["log2fc"][r, c]):
                lo, hi = effect["log2fc_lo"][r, c], effect["log2fc_hi"][r, c]
                ci = f" [{lo:+.2f}, {hi:+.2f}]" if np.isfinite(lo) and np.isfinite(hi) else ""
                text += f"\n{effect['log2fc'][r, c]:+.2f}{ci}"
            ax.text(c, r, text, ha="center", va="center", fontsize=7, color="white" if t == "strong" else "black")
    ax.set_xticks(range(len(conditions)), conditions, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(sources)), ylabels, fontsize=8)
    ax.set_title(title, fontsize=9)
    return finish(fig, save)


@doc_params()
def potency_rank(
    data: AnnData | pd.DataFrame,
    group: str,
    *,
    key: str = "potency_rank",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (4.5, 3.0),
    save: str | PathLike | None = None,
) -> Figure:
    """Potency scores of one group with their intervals from the replicates, most potent on top.

    The probability of ranking first (over the replicate draws) is listed on the right, as ``P(1st)``.

    Parameters
    ----------
    data
        Signatures after :func:`drugprint.tl.potency_rank`, or its table (:func:`drugprint.get.potency_rank_table`).
    group
        The group (cell type) to draw.
    key
        ``key_added`` of :func:`drugprint.tl.potency_rank` (when ``data`` are signatures).
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.potency_rank(sig, n_draws=200)
    >>> fig = dp.pl.potency_rank(sig, "Myeloma")
    """
    table = results_table(data, key, potency_rank_table)
    sub = table[table["group"].astype(str) == str(group)].sort_values("score")
    if sub.empty:
        raise ValueError(f"No rows for group {group!r}; groups: {sorted(table['group'].astype(str).unique())}.")
    fig, ax = new_axes(ax, figsize)
    y = np.arange(len(sub))
    err = np.vstack([sub["score"] - sub["score_lo"], sub["score_hi"] - sub["score"]])
    err = None if not np.isfinite(err).all() else err  # published tables: no replicates, no interval
    ax.barh(y, sub["score"], xerr=err, color="#c2452d", alpha=0.8, capsize=3)
    p_first = [f"{p:.2f}" if np.isfinite(p) else "" for p in sub["p_first"]]
    if any(p_first):  # a column right of the plot: clear of the bars and intervals, however long the names
        right = ax.secondary_yaxis("right")
        right.set_ticks(y, p_first)
        right.tick_params(length=0, labelsize=7)
        right.set_ylabel("P(1st)", fontsize=7)
    ax.set_yticks(y, sub["condition"], fontsize=8)
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("potency score (mean scaled effect)")
    n = int(sub["n_sources"].max())
    ax.set_title(f"{group}: potency\nacross {n} responsive pathways/panels", fontsize=9)
    return finish(fig, save)
