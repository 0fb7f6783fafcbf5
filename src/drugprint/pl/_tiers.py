"""``potency_tiers``: the pathway × condition tier matrix as a coloured table."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..tl._potency import TIERS
from ._base import KEY_PATHWAYS, finish, new_axes, pretty

_COLOURS = {"none": "#f2f2f2", "modest": "#fde0c5", "moderate": "#f59e72", "strong": "#c2452d"}


def potency_tiers(
    table: pd.DataFrame,
    group: str,
    *,
    sources: Sequence[str] | None = None,
    conditions: Sequence[str] | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Coloured table of tiers (none / modest / moderate / strong) for one group, pathways × conditions.

    Arrows give the direction of significant changes.

    Parameters
    ----------
    table
        Output of :func:`drugprint.tl.potency`.
    group
        The group (cell type) to draw.
    sources, conditions
        Rows and columns to show, in order (default: key pathways when present, conditions in table order).
    ax, figsize, save
        Axes to draw into; figure size; path to save to.

    Returns
    -------
    The matplotlib Figure.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> fig = dp.pl.potency_tiers(dp.tl.potency(sig), "Myeloma")
    """
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
    codes = tier.apply(lambda col: col.map({t: i for i, t in enumerate(TIERS)})).to_numpy(dtype=float)
    fig, ax = new_axes(ax, figsize or (1.8 + 1.0 * len(conditions), 0.9 + 0.34 * len(sources)))
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
            ax.text(c, r, t + arrow, ha="center", va="center", fontsize=7, color="white" if t == "strong" else "black")
    ax.set_xticks(range(len(conditions)), conditions, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(sources)), [pretty(s) for s in sources], fontsize=8)
    ax.set_title(f"{group}: potency tiers", fontsize=9)
    return finish(fig, save)


def potency_rank(
    table: pd.DataFrame,
    group: str,
    *,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (4.5, 3.0),
    save: str | PathLike | None = None,
) -> Figure:
    """Potency scores of one group with their intervals from the replicates, most potent on top.

    Parameters
    ----------
    table
        Output of :func:`drugprint.tl.potency_rank`.
    group
        The group (cell type) to draw.
    ax, figsize, save
        Axes to draw into; figure size; path to save to.

    Returns
    -------
    The matplotlib Figure.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> fig = dp.pl.potency_rank(dp.tl.potency_rank(sig, n_draws=200), "Myeloma")
    """
    sub = table[table["group"].astype(str) == str(group)].sort_values("score")
    if sub.empty:
        raise ValueError(f"No rows for group {group!r}; groups: {sorted(table['group'].astype(str).unique())}.")
    fig, ax = new_axes(ax, figsize)
    y = np.arange(len(sub))
    err = np.vstack([sub["score"] - sub["score_lo"], sub["score_hi"] - sub["score"]])
    err = None if not np.isfinite(err).all() else err  # published tables: no replicates, no interval
    ax.barh(y, sub["score"], xerr=err, color="#c2452d", alpha=0.8, capsize=3)
    for yi, (_, r) in zip(y, sub.iterrows(), strict=True):
        if np.isfinite(r["p_first"]):
            ax.text(r["score_hi"] + 0.02, yi, f"P(1st) {r['p_first']:.2f}", va="center", fontsize=7)
    ax.set_yticks(y, sub["condition"], fontsize=8)
    ax.set_xlim(0, 1.25)
    ax.set_xlabel("potency score (mean scaled effect)")
    ax.set_title(f"{group}: potency across {int(sub['n_sources'].max())} responsive pathways/panels", fontsize=9)
    return finish(fig, save)
