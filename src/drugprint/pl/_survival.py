"""``kaplan_meier`` and ``hazard_ratios``: the curves and Cox hazard ratios of :func:`drugprint.tl.survival`."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter

from .._docs import doc_params
from ..get import survival_curves, survival_table
from ._base import finish, layout, new_axes, text_width

#: Colours of the score groups: viridis from light (low) to dark (high), so they also read in greyscale.
GROUP_COLOURS = {"low": "#5ec962", "mid": "#21918c", "high": "#440154"}
#: Interval line and point of :func:`hazard_ratios` (filled where ``padj < 0.05``, else white).
FOREST_COLOUR = "#222222"


def _p(p: float) -> str:
    """A p-value in few characters (``0.012``, ``3.4e-05``)."""
    if not np.isfinite(p):
        return "NA"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def _hr(row: pd.Series) -> str:
    """``1.62 (1.33–1.97)``."""
    return f"{row['hr']:.2f} ({row['hr_lo']:.2f}–{row['hr_hi']:.2f})"


def _pick(tab: pd.DataFrame, score: str | None, endpoint: str | None, key: str) -> pd.Series:
    """The table row of ``score`` × ``endpoint`` (default those of the first row); a KeyError names those present."""
    score = str(tab["score"].iloc[0]) if score is None else score
    endpoint = str(tab["endpoint"].iloc[0]) if endpoint is None else endpoint
    for col, name in (("score", score), ("endpoint", endpoint)):
        present = list(dict.fromkeys(tab[col].astype(str)))
        if name not in present:
            raise KeyError(f"{col} {name!r} is not in cohort.uns[{key!r}]; present: {present}.")
    return tab[(tab["score"] == score) & (tab["endpoint"] == endpoint)].iloc[0]


def _at_risk(curve: pd.DataFrame, ticks: Sequence[float]) -> list[int]:
    """Patients of one group still followed at each tick: ``at_risk`` of the first curve row at or after it."""
    times, counts = curve["time"].to_numpy(float), curve["at_risk"].to_numpy(int)
    where = np.searchsorted(times, np.asarray(ticks, dtype=float), side="left")
    return [int(counts[i]) if i < times.size else 0 for i in where]


def _curves(ax: Axes, curves: pd.DataFrame, groups: list[str], ci: bool) -> None:
    """Step curves, their shaded intervals, censoring ticks and the legend."""
    for group in groups:
        part = curves[curves["group"] == group]
        t, s, colour = part["time"].to_numpy(float), part["survival"].to_numpy(float), GROUP_COLOURS[group]
        label = f"{group} (n = {int(part['n'].iloc[0])}, {int(part['events'].sum())} events)"
        ax.step(t, s, where="post", color=colour, lw=1.6, label=label, gid=f"km:{group}")
        if ci:
            lo, hi = part["ci_lo"].to_numpy(float), part["ci_hi"].to_numpy(float)
            ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.18, lw=0, gid=f"ci:{group}")
        cens = part["censored"].to_numpy(int) > 0
        ax.plot(t[cens], s[cens], ls="none", marker="|", ms=5, mew=0.9, color=colour, gid=f"censored:{group}")
    legend = ax.legend(loc="lower left", fontsize=7, title="score group", title_fontsize=7, framealpha=0.85)
    legend.get_frame().set_edgecolor("none")


def _half_width(counts: dict[str, list[int]]) -> float:
    """Half the width (points) of the widest number at risk: how far the first one reaches left of its tick."""
    return 36 * text_width([str(n) for row in counts.values() for n in row], 7)


def _risk_axes(rax: Axes, counts: dict[str, list[int]], ticks: np.ndarray) -> None:
    """The numbers at risk in an axes of their own under the curves (one row per group, high at the bottom)."""
    for i, (group, row) in enumerate(counts.items()):
        for t, n in zip(ticks, row, strict=True):
            rax.text(t, i, str(n), ha="center", va="center", fontsize=7, color=GROUP_COLOURS[group])
    rax.set_ylim(len(counts) - 0.5, -0.5)
    rax.set_yticks(range(len(counts)), list(counts), fontsize=7)
    rax.tick_params(axis="y", pad=_half_width(counts) + 3)
    for label, group in zip(rax.get_yticklabels(), counts, strict=True):
        label.set_color(GROUP_COLOURS[group])
    rax.tick_params(axis="both", length=0, labelbottom=False)
    for spine in rax.spines.values():
        spine.set_visible(False)
    rax.set_title("number at risk", fontsize=7, loc="left")


def _risk_below(ax: Axes, counts: dict[str, list[int]], ticks: np.ndarray) -> None:
    """The numbers at risk as text under the tick labels of ``ax`` (the x label moved below them)."""
    line, top = 9.0, 14.0 + plt.rcParams["xtick.major.pad"]  # points: one row; below the tick labels
    text = {"textcoords": "offset points", "va": "top", "fontsize": 7, "annotation_clip": False}
    ax.annotate("number at risk", (0, 0), xycoords="axes fraction", xytext=(0, -top), ha="left", **text)
    for i, (group, row) in enumerate(counts.items()):
        dy, colour = -top - line * (i + 1), GROUP_COLOURS[group]
        left = (-_half_width(counts) - 3, dy)
        ax.annotate(group, (0, 0), xycoords="axes fraction", xytext=left, ha="right", color=colour, **text)
        for t, n in zip(ticks, row, strict=True):
            where = {"xycoords": ax.get_xaxis_transform(), "xytext": (0, dy), "ha": "center", "gid": "at_risk"}
            ax.annotate(str(n), (t, 0), color=colour, **where, **text)
    ax.xaxis.labelpad = line * (len(counts) + 1) + 4


@doc_params()
def kaplan_meier(
    cohort: AnnData,
    score: str | None = None,
    endpoint: str | None = None,
    *,
    key: str = "survival",
    ci: bool = True,
    risk_table: bool = True,
    time_unit: str | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Kaplan–Meier curves of the score groups of :func:`drugprint.tl.survival`, with the numbers at risk.

    One step curve per score group (below / above the median, or tertiles: light to dark from low to high), its
    shaded 95 % log(−log) interval, ``|`` ticks where patients were censored, and a legend with each group's
    patients and events. The title gives the Cox hazard ratio per SD of the score with its 95 % interval and the
    log-rank p-value of the groups (from :func:`drugprint.get.survival_table`). Under the curves, the numbers at
    risk: the patients of each group still followed at each x tick.

    Parameters
    ----------
    cohort
        The cohort after :func:`drugprint.tl.survival`.
    score, endpoint
        Which curves: default the score and endpoint of the first row of the survival table.
    key
        The ``key_added`` of :func:`drugprint.tl.survival`.
    ci
        Shade the 95 % interval of each curve.
    risk_table
        Show the numbers at risk: in a second axes under the curves when ``ax`` is ``None``; when ``ax`` is
        given, as rows of text under its tick labels (its x label moved below them). ``False`` leaves them out.
    time_unit
        Unit of the times, shown in the x label (``"time (months)"``); ``None`` labels it ``"time"``.
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> cohort = dp.datasets.survival_cohort(n_patients=200, hazard_ratio=1.8)
    >>> dp.tl.survival(
    ...     cohort, "planted_score", time_key=["efs_time", "os_time"], event_key=["efs_event", "os_event"],
    ...     endpoints=["EFS", "OS"], covariates=["age", "stage"], verbose=False,
    ... )
    >>> fig = dp.pl.kaplan_meier(cohort, "planted_score", "OS", time_unit="months")
    """
    row = _pick(survival_table(cohort, key), score, endpoint, key)
    score, endpoint = str(row["score"]), str(row["endpoint"])
    curves = survival_curves(cohort, key, scores=[score], endpoints=[endpoint])
    groups = [g for g in curves["group"].cat.categories if (curves["group"] == g).any()]
    table_height = 0.17 * len(groups) + 0.25  # inches
    figsize = figsize or (5.2, 3.9 + (table_height + 0.2) * risk_table)
    if ax is None and risk_table:
        fig = plt.figure(figsize=figsize, layout=layout(figsize))
        heights = [max(figsize[1] - table_height - 0.2, 2 * table_height), table_height]
        ax, rax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": heights})
    else:
        (fig, ax), rax = new_axes(ax, figsize), None
    _curves(ax, curves, groups, ci)
    ax.set_xlim(0, curves["time"].max() * 1.03)
    ax.set_ylim(0, 1.03)
    ax.set_ylabel("survival probability", fontsize=8)
    ax.set_xlabel("time" if time_unit is None else f"time ({time_unit})", fontsize=8)
    ax.tick_params(labelsize=7, labelbottom=True)
    cox = f"HR per SD {_hr(row)}" if not row["note"] else f"Cox: {row['note']}"
    ax.set_title(f"{score} · {endpoint}\n{cox}, log-rank p = {_p(row['logrank_pvalue'])}", fontsize=8)
    if risk_table:
        lim = ax.get_xlim()
        ticks = np.array([t for t in ax.get_xticks() if lim[0] <= t <= lim[1]])
        ax.set_xticks(ticks)
        counts = {g: _at_risk(curves[curves["group"] == g], ticks) for g in groups}
        (_risk_axes if rax is not None else _risk_below)(rax if rax is not None else ax, counts, ticks)
    return finish(fig, save)


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Round hazard ratios between ``lo`` and ``hi`` to label a log axis: as many as fit (3 to 8), 1 among them."""
    nice = [[1.0], [1.0, 2.0, 5.0], [1.0, 1.5, 2.0, 3.0, 5.0, 7.0], [1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0]]
    best: list[float] = []
    for subs in nice:
        ticks = [m * 10.0**e for e in range(-3, 4) for m in subs if lo <= m * 10.0**e <= hi]
        if len(ticks) > 8:
            break
        best = ticks
        if len(ticks) >= 3:
            break
    return best or [lo, 1.0, hi]


def _forest_rows(ax: Axes, tab: pd.DataFrame) -> None:
    """Interval, point and the text at the right of each row; failed fits as text only."""
    right = ax.get_yaxis_transform()
    for y, row in enumerate(tab.itertuples(index=False)):
        if row.note:
            note = f"not estimated: {row.note}"
            ax.text(1.02, y, note, transform=right, va="center", fontsize=7, style="italic", color="0.4")
            continue
        ax.plot([row.hr_lo, row.hr_hi], [y, y], color=FOREST_COLOUR, lw=1.2, solid_capstyle="butt", gid="interval")
        filled = bool(row.padj < 0.05)
        face = FOREST_COLOUR if filled else "white"
        ax.plot([row.hr], [y], ls="none", marker="s", ms=5.5, mew=1.0, mec=FOREST_COLOUR, mfc=face, zorder=3, gid="hr")
        text = f"{row.hr:.2f} ({row.hr_lo:.2f}–{row.hr_hi:.2f}), {_p(row.padj)}"
        ax.text(1.02, y, text, transform=right, va="center", fontsize=7)


@doc_params()
def hazard_ratios(
    cohort: AnnData,
    *,
    key: str = "survival",
    scores: Sequence[str] | None = None,
    endpoints: Sequence[str] | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    save: str | PathLike | None = None,
) -> Figure:
    """Forest plot of the Cox hazard ratios per SD of each score × endpoint of :func:`drugprint.tl.survival`.

    One row per row of :func:`drugprint.get.survival_table` (in its order, labelled ``score · endpoint``): the
    hazard ratio as a square, filled where ``padj < 0.05`` (BH over the call), its 95 % Wald interval as a line,
    on a log axis with a dashed line at HR = 1; at the right, ``HR (lo–hi), padj``. Rows whose model was not
    fitted (a ``note`` in the table) are drawn as text only.

    Parameters
    ----------
    cohort
        The cohort after :func:`drugprint.tl.survival`.
    key
        Its ``key_added``.
    scores, endpoints
        Rows to show (default all).
    {plot}

    Returns
    -------
    {returns_figure}

    Examples
    --------
    >>> import drugprint as dp
    >>> cohort = dp.datasets.survival_cohort(n_patients=200, hazard_ratio=1.8)
    >>> dp.tl.survival(
    ...     cohort, "planted_score", time_key=["efs_time", "os_time"], event_key=["efs_event", "os_event"],
    ...     endpoints=["EFS", "OS"], covariates=["age", "stage"], verbose=False,
    ... )
    >>> fig = dp.pl.hazard_ratios(cohort)
    """
    tab = survival_table(cohort, key, scores=scores, endpoints=endpoints)
    if tab.empty:
        raise ValueError(f"cohort.uns[{key!r}] holds no score × endpoint to show.")
    tab = tab.assign(note=tab["note"].fillna("").astype(str))
    labels = (tab["score"].astype(str) + " · " + tab["endpoint"].astype(str)).tolist()
    right = text_width([f"{_hr(r)}, {_p(r['padj'])}" for _, r in tab.iterrows()] + ["HR (95 % CI), padj"], 7)
    right = max(right, text_width([f"not estimated: {n}" for n in tab["note"]], 7))
    fig, ax = new_axes(ax, figsize or (text_width(labels, 7) + right + 3.0, 1.1 + 0.28 * len(tab)))
    _forest_rows(ax, tab)
    ok = tab[tab["note"] == ""]
    values = np.r_[ok[["hr_lo", "hr_hi"]].to_numpy(float).ravel(), 1.0]
    values = values[np.isfinite(values) & (values > 0)]
    lo, hi = values.min(), values.max()
    ax.set_xscale("log")
    ax.set_xlim(lo / (hi / lo) ** 0.08 / 1.05, hi * (hi / lo) ** 0.08 * 1.05)
    ax.xaxis.set_major_locator(FixedLocator(_log_ticks(*ax.get_xlim())))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:g}")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvline(1.0, color="0.5", lw=0.8, ls="--", zorder=0)
    ax.set_yticks(range(len(tab)), labels, fontsize=7)
    ax.set_ylim(len(tab) - 0.5, -0.5)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("hazard ratio per SD of the score (95 % CI)", fontsize=8)
    ax.text(1.02, 1.0, "HR (95 % CI), padj", transform=ax.transAxes, va="bottom", fontsize=7, weight="bold")
    ax.set_title("filled: padj < 0.05", fontsize=7, loc="left", color="0.3")
    return finish(fig, save)
