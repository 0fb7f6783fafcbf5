"""The report's sentences: the summary paragraph of each cell type, and the sentences the sections share."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._labels import pretty
from ..tl._compare import alike_pairs
from ..tl._de.engines import ENGINES
from ..tl._sets.methods import SET_METHODS
from ._html import e, interval


def top_pathways(table: pd.DataFrame, gk: str, group: str, alpha: float, n: int = 3, *, by: str = "padj") -> str:
    """The group's ``n`` strongest pathways at ``padj < alpha``, each with the condition that moved it most.

    ``by="padj"``: the smallest adjusted p-value first; ``"effect"``: the largest mean log2FC first (to describe
    what moved most where nothing was called). Each names the other conditions where it passed ``alpha``.
    """
    hits = table[(table[gk] == group) & (table["padj"] < alpha)]
    if by == "padj":
        order = hits.groupby("source", sort=False)["padj"].min().sort_values(kind="stable").index[:n]
    else:
        size = hits["log2fc"].abs().groupby(hits["source"], sort=False).max()
        order = size.sort_values(ascending=False, kind="stable").index[:n]
    parts = []
    for source in order:
        rows = hits[hits["source"] == source]
        rows = rows.reindex(rows["log2fc"].abs().sort_values(ascending=False, kind="stable").index)
        r = rows.iloc[0]
        others = [e(c) for c in rows["condition"].iloc[1:]]
        parts.append(
            f"{e(pretty(r['source']))} {'up' if r['log2fc'] > 0 else 'down'} in {e(r['condition'])} "
            f"(mean log2FC {r['log2fc']:+.2f}{interval(r['log2fc_lo'], r['log2fc_hi'])}, padj {r['padj']:.1g})"
            + (f", also in {', '.join(others)}" if others and by == "padj" else "")
        )
    return "; ".join(parts)


def profiles_sentence(adata, pdata, groupby: str, n_samples: int, min_cells: int) -> str:
    """Where the profiles came from: cells summed per sample × group, or samples taken as they are."""
    if "n_cells" in pdata.obs and (pdata.obs["n_cells"] == 1).all():
        return f"{pdata.n_obs} samples × {adata.n_vars:,} genes entered the fits as profiles, one per sample."
    return (
        f"{adata.n_obs:,} cells × {adata.n_vars:,} genes from {n_samples} samples were summed into "
        f"{pdata.n_obs} profiles (sample × {e(groupby)}; counts from {e(_counts_source(pdata.uns['pseudobulk']))}"
        f"; profiles of fewer than {min_cells} cells dropped)."
    )


def _counts_source(rec: dict) -> str:
    layer = rec.get("layer", "X")
    return "adata.raw" if rec.get("use_raw") else "X" if layer == "X" else f"layers['{layer}']"


def replicates_sentence(fits: pd.DataFrame, few: bool, method: str, alpha: float) -> str:
    """The replicates each fit rests on (profiles per condition, residual df), and what few of them mean for calls.

    ``few``: some fit has so few that the pathway tests recorded it (``uns["pathways"]["low_df"]``).
    """
    if not len(fits) or "residual_df" not in fits:
        return ""
    by = fits.groupby(["profiles_per_condition", "residual_df"], sort=False)["group"].apply(list)
    text = "; ".join(
        f"{e(', '.join(map(str, groups)))}: {e(per)} profiles, {df} residual degree(s) of freedom"
        for (per, df), groups in by.items()
    )
    engine = ENGINES[method]
    caution = " " + engine.caution.format(alpha=alpha) if engine.caution else ""
    if few:
        more = f"; {engine.few_replicates}" if engine.few_replicates else ""
        caution = (
            f" With so few, a test can only call large, consistent effects: no call means the study could not tell"
            f"{more}."
        )
    return f"Replicates — {text}.{caution}"


def filter_sentence(de: dict) -> str:
    """Which genes were tested, as the fit did it."""
    if str(de.get("filter", "")).startswith("filterByExpr"):
        return "Genes with too few counts were removed per group with edgeR's filterByExpr rule."
    if de.get("scale") == "log values":
        return "Every gene with more values than coefficients was tested (log-scale values: no count filter)."
    return "Every gene with a count was tested (no expression filter)."


def diff_col(comp: pd.DataFrame) -> str:
    """The composition table's fitted difference: the logit or the arcsine one."""
    return "logit_diff" if "logit_diff" in comp else "asin_diff"


def _shift(r: pd.Series, diff: str) -> str:
    """One composition test in words: proportions, the fitted difference with its interval, padj."""
    name = "log odds ratio" if diff == "logit_diff" else "arcsine difference"
    return (
        f"{e(r['condition'])} ({r['prop_reference']:.3f} → {r['prop']:.3f}; {name} {r[diff]:+.2f}"
        f"{interval(r[diff + '_lo'], r[diff + '_hi'])}, padj {r['padj']:.2g})"
    )


def composition_summary(comp: pd.DataFrame, gk: str, dropped: pd.DataFrame, alpha: float) -> str:
    """The summary's composition line: cell types whose proportion moved, by direction, strongest first."""
    diff = diff_col(comp)
    hits = comp[comp["padj"] < alpha]
    if not len(hits):
        top = comp.sort_values("pvalue").iloc[0]
        text = (
            f"<b>Composition</b>: no cell type's proportion changed at padj &lt; {alpha:g} (samples as replicates). "
            f"Largest: {e(top[gk])} under {_shift(top, diff)}."
        )
    else:
        moves = []
        for (ct, up), rows in hits.groupby([gk, hits["log2fc"] > 0], observed=True, sort=False):
            rows = rows.reindex(rows["log2fc"].abs().sort_values(ascending=False).index)
            moves.append(
                f"{e(ct)} {'up' if up else 'down'} under " + ", ".join(_shift(r, diff) for _, r in rows.iterrows())
            )
        still = sorted(set(comp[gk].astype(str)) - set(hits[gk].astype(str)))
        text = (
            "<b>Composition</b> (cell-type proportions, samples as replicates): "
            + "; ".join(moves)
            + (f"; no change in {', '.join(map(e, still))}" if still else "")
            + "."
        )
    removed = dropped[dropped["removed_by_condition"]]
    if len(removed):
        text += " " + removed_note(removed, gk)
    return text


def removed_note(removed: pd.DataFrame, gk: str) -> str:
    """Where a condition pushed profiles below ``min_cells``: its expression signature rests on the survivors."""
    parts = [
        f"{e(cond)} left too few {e(ct)} cells in {len(rows)} sample(s) ({', '.join(map(e, rows.iloc[:, 0]))})"
        for (ct, cond), rows in removed.groupby([gk, "condition"], sort=False)
    ]
    return (
        "; ".join(parts)
        + ": those profiles were dropped, so the expression signatures of these cell types under these conditions "
        "rest on the samples where enough cells survived."
    )


def could_not_tell(g: str, low_df: pd.DataFrame, method: str, n_deg: int, fits: pd.DataFrame) -> str:
    """A group whose fit had too few residual df for ``method`` to call anything: say so, and what activity calls."""
    mine = low_df[low_df["group"] == g]
    df = int(mine["residual_df"].iloc[0])
    arms = fits.loc[fits["group"] == g, "profiles_per_condition"]
    arms = f" ({e(arms.iloc[0])} profiles)" if len(arms) else ""
    called = mine[mine["called_by_activity"] > 0]

    def listed(r) -> str:
        calls = [c.rsplit(" ", 1) for c in r["activity_calls"].split("; ")]
        shown = ", ".join(f"{e(pretty(name))} {'↑' if way == 'up' else '↓'}" for name, way in calls[:3])
        more = int(r["called_by_activity"]) - min(3, len(calls))
        return f"{shown}{f' and {more} more' if more > 0 else ''} in {e(r['signature'].split('|', 1)[-1])}"

    activity = "; ".join(listed(r) for _, r in called.iterrows()) if len(called) else "nothing either"
    return (
        f"<b>{e(g)}</b>: <b>could not tell</b> which pathways moved — with {df} residual degree(s) of freedom"
        f"{arms}, {e(method)} has almost no power (up to {n_deg} DE genes per condition). The self-contained "
        f"activity test, which keeps its error rate at so few replicates, calls {activity}."
    )


#: What a set test's p-value asks, by its null.
QUESTIONS = {
    "competitive": "did the set's genes move more than the other genes?",
    "self-contained": "did the set's genes move at all?",
    "gene-level": "descriptive only (genes counted as independent)",
}


def _question(method: str) -> str:
    """What a pathway's padj answers, and what its interval answers: they are different questions."""
    spec = SET_METHODS[method]
    return (
        f"interval: the mean log2FC of the set's genes, how far they moved; padj: {e(method)}, {e(spec.null)}, "
        f"{QUESTIONS.get(spec.null, e(spec.hypothesis))}"
    )


def _folded(title: str, text: str) -> str:
    return f" <details class='more'><summary>{title}</summary>{text}</details>"


def group_summary(r, g: str) -> str:
    """The summary's paragraph on one group: what moved (or why no call), then its order of effect."""
    c = r.config
    gk, alpha, summary = c.groupby, c.alpha, r["de_summary"]
    n_deg = int(summary.loc[summary["group"] == g, "n_deg"].max())
    table = r.get("pathways")
    if table is None:
        return f"<b>{e(g)}</b>: up to {n_deg} DE genes per test; pathways {e(r.stages.get('pathways', ''))}."
    method = r["pathways_record"]["method"]
    low_df = r["pathways_record"]["low_df"]
    mine = table[table[gk] == g]
    moved = mine.loc[mine["padj"] < alpha, "source"].nunique()
    spec = SET_METHODS[method]
    weak = low_df is not None and spec.replicates and not spec.power_at_low_df and (low_df["group"] == g).any()
    largest = _folded(
        "Largest effects, not significant",
        f"({_question(method)}): {top_pathways(table, gk, g, alpha=1.0, by='effect')}.",
    )
    if moved == 0 and weak:
        text = could_not_tell(g, low_df, method, n_deg, r["de"]["fits"]) + largest
    elif moved == 0:
        text = (
            f"<b>{e(g)}</b>: no pathway reached padj &lt; {alpha:g} with {e(method)} (up to {n_deg} DE genes per "
            f"condition)." + largest
        )
    else:
        text = (
            f"<b>{e(g)}</b>: {moved} of {mine['source'].nunique()} pathways moved (up to {n_deg} "
            f"DE genes per condition). Strongest ({_question(method)}): {top_pathways(table, gk, g, alpha)}."
        )
    return text + _order_sentence(r.get("rank"), g, r.stages.get("dose") == "done")


def _order_sentence(rank: pd.DataFrame | None, g: str, doses: bool) -> str:
    """The group's order of effect: potency only where a dose series backs the word."""
    rows = None if rank is None else rank[rank["group"] == g].sort_values("rank")
    if rows is None or len(rows) < 2 or rows["n_sources"].max() <= 0:
        return ""
    top = rows.iloc[0]
    order = " &gt; ".join(e(c) for c in rows["condition"])
    what = "Potency" if doses else "Order of effect at the tested concentration"
    if not np.isfinite(top["p_first"]):
        return f" {what}: {order} (no replicates: no interval, so no claim on the order)."
    return (
        f" {what}: {order} (over {int(top['n_sources'])} responsive pathways and panels; {e(top['condition'])} "
        f"first with P = {top['p_first']:.2f}, rank interval {top['rank_lo']:.0f}–{top['rank_hi']:.0f}; against "
        f"the next, p = {top['p_vs_next']:.2g})."
    )


def similarity_sentence(compare: pd.DataFrame, metric: str) -> str | None:
    """The most and least alike comparable pairs by ``metric`` (one pair: only it), and the pairs left out."""
    col = metric if metric in compare else "spearman"
    what = "effect correlation (split donors, capped at 1)" if col == "effect_r" else "Spearman of the signatures"
    most, least = alike_pairs(compare, col)
    if most is None:
        return None

    def fmt(row):
        ci = f" [{row[col + '_lo']:.2f}, {row[col + '_hi']:.2f}]" if np.isfinite(row.get(f"{col}_lo", np.nan)) else ""
        return f"{e(row['a'])} vs {e(row['b'])} in {e(row['group'])}: {row[col]:.2f}{ci}"

    text = (
        f"Most alike by {what}: {fmt(most)}; least alike: {fmt(least)}."
        if least is not None
        else f"One pair could be compared, by {what}: {fmt(most)}."
    )
    if "comparable" in compare and (~compare["comparable"].astype(bool)).any():
        n = int((~compare["comparable"].astype(bool)).sum())
        text += (
            f" {n} pair(s) left out: a condition without a reproducible effect correlates with the others only "
            "through the shared control (<code>note</code> in <code>tables/similarity.csv</code>)."
        )
    return text
