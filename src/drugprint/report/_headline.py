"""The report's headline: the key readouts of every cell type and condition in one table, and a short verdict.

The readouts are read from the stages' tables, never recomputed: the DE gene counts (``de_summary``), the panels that
suit each cell type (:func:`drugprint.resources.panels_for`), the cell type's strongest pathways and its proportion
(``composition``). Each is an effect with its 95 % interval and a mark from its own test, so a statement of the
headline can be checked against the tables it came from (``tests/report/test_headline.py`` does).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._labels import pretty
from ..resources import panels_for
from ..tl._sets.methods import SET_METHODS
from ._html import e
from ._sentences import QUESTIONS

#: Pathways and panels shown per cell type in the headline (the strongest; all are in the sections below).
N_PATHWAYS, N_PANELS = 2, 1

_COLUMNS = [
    "group",
    "column",
    "kind",
    "readout",
    "source",
    "signature",
    "effect",
    "lo",
    "hi",
    "padj",
    "mark",
    "called",
    "text",
]


def mark(padj: float, alpha: float) -> str:
    """``*`` at ``padj < alpha``, ``**`` below ``alpha / 10``, ``***`` below ``alpha / 100``; ``""`` otherwise."""
    if not np.isfinite(padj) or padj >= alpha:
        return ""
    return "***" if padj < alpha / 100 else "**" if padj < alpha / 10 else "*"


def columns(sig) -> pd.Series:
    """Signature → its headline column: the condition, or the test's label where it is not a pair with the control."""
    obs = sig.obs
    label = obs["contrast"].astype(str)
    pair = obs["test"].astype(str) == "pair"
    short = [c.replace(f" vs {ref}", "", 1) for c, ref in zip(label, obs["reference"].astype(str), strict=True)]
    return pd.Series(np.where(pair, short, label), index=obs.index)


def low_df_groups(r) -> dict[str, int]:
    """Groups whose fit had few residual df for the set test chosen (``uns["pathways"]["low_df"]``), with the df."""
    record = r.get("pathways_record")
    low = None if record is None else record["low_df"]
    if low is None or not len(low) or SET_METHODS[record["method"]].power_at_low_df:
        return {}
    return {str(g): int(rows["residual_df"].min()) for g, rows in low.groupby("group", sort=False)}


def activity_calls(r) -> set[tuple[str, str]]:
    """``(signature, source)`` the activity test called at the run's ``alpha`` in fits with few residual df."""
    return set(r.get("pathways_activity", set())) | set(r.get("panels_activity", set()))


def _effect(effect: float, lo: float, hi: float) -> str:
    ci = f" [{lo:+.2f}, {hi:+.2f}]" if np.isfinite(lo) and np.isfinite(hi) else ""
    return f"{effect:+.2f}{ci}"


def _de_rows(r, cols: pd.Series) -> list[dict]:
    rows = []
    for _, s in r["de_summary"].iterrows():
        text = f"{int(s['n_up'])}↑ {int(s['n_down'])}↓" if "n_up" in s else f"{int(s['n_deg'])}"
        rows.append(
            {
                "group": str(s["group"]),
                "column": cols[s["signature"]],
                "kind": "de",
                "readout": f"DE genes (padj < {r.config.alpha:g})",
                "source": "de",
                "signature": s["signature"],
                "effect": float(s["n_deg"]),
                "called": s["n_deg"] > 0,
                "mark": "",
                "text": text,
            }
        )
    return rows


def _set_rows(r, kind: str, table: pd.DataFrame, sources: dict[str, list[str]], cols: pd.Series) -> list[dict]:
    """One row per group × source chosen × signature: the set's mean log2FC, interval, padj, and its mark."""
    gk, alpha, few, activity = r.config.groupby, r.config.alpha, low_df_groups(r), activity_calls(r)
    rows = []
    for _, t in table[table["source"].isin({s for v in sources.values() for s in v})].iterrows():
        g = str(t[gk])
        if t["source"] not in sources.get(g, []):
            continue
        m = mark(t["padj"], alpha)
        by_activity = g in few and not m and (t["signature"], t["source"]) in activity
        called = bool(m) or by_activity
        name = pretty(t["source"])
        if kind == "panel":  # how much of the panel the claim rests on
            name += f" panel ({t['n_genes_tested']}/{t['n_genes_set']} genes)" if "n_genes_tested" in t else " panel"
        rows.append(
            {
                "group": g,
                "column": cols[t["signature"]],
                "kind": kind,
                "readout": name,
                "source": t["source"],
                "signature": t["signature"],
                "effect": t["log2fc"],
                "lo": t["log2fc_lo"],
                "hi": t["log2fc_hi"],
                "padj": t["padj"],
                "mark": "†" if by_activity else m,
                "called": called,
                "text": _effect(t["log2fc"], t["log2fc_lo"], t["log2fc_hi"]),
            }
        )
    return rows


def strongest_sources(
    table: pd.DataFrame, gk: str, alpha: float, called: set, n: int, describe: set[str] = frozenset()
) -> dict[str, list[str]]:
    """Each group's ``n`` strongest sets: called in the most conditions, then by smallest padj, largest effect.

    Only sets called in some condition are shown, except in the groups of ``describe`` (too few replicates for the
    set test), where the largest effects are shown as a description when nothing was called.
    """
    out = {}
    for g, rows in table.groupby(gk, observed=True, sort=False):
        by_activity = [(s, src) in called for s, src in zip(rows["signature"], rows["source"], strict=True)]
        hit = (rows["padj"] < alpha).to_numpy() | np.array(by_activity, dtype=bool)
        score = rows.assign(hit=hit, size=rows["log2fc"].abs()).groupby("source")
        ranked = score.agg(hits=("hit", "sum"), padj=("padj", "min"), size=("size", "max"))
        ranked = ranked.sort_values(["hits", "padj", "size"], ascending=[False, True, False])
        if str(g) not in describe:
            ranked = ranked[ranked["hits"] > 0]
        out[str(g)] = list(ranked.index[:n])
    return out


def _panel_sources(r, table: pd.DataFrame, imid: bool) -> dict[str, list[str]]:
    """Each group's panels that suit its cell type and were scored (neosubstrate mRNA is not a readout of effect)."""
    gk, out = r.config.groupby, {}
    for g, rows in table.groupby(gk, observed=True, sort=False):
        scored = set(rows.loc[rows["log2fc"].notna(), "source"])
        suited = [p for p in panels_for(str(g), imid=imid) if p in scored and p != "neosubstrates"]
        out[str(g)] = suited[:N_PANELS]
    return out


def _composition_rows(r, cols: pd.Series) -> list[dict]:
    comp, gk, alpha = r.get("composition"), r.config.groupby, r.config.alpha
    if comp is None:
        return []
    diff = "logit_diff" if "logit_diff" in comp else "asin_diff"
    name = "proportion (log odds ratio)" if diff == "logit_diff" else "proportion (arcsine difference)"
    condition = r["sig"].obs["condition"].astype(str)
    rows = []
    for _, t in comp.iterrows():
        for signature in condition.index[(condition == str(t["condition"])).to_numpy()]:
            if str(r["sig"].obs.loc[signature, gk]) != str(t[gk]):
                continue
            m = mark(t["padj"], alpha)
            lo, hi = t[f"{diff}_lo"], t[f"{diff}_hi"]
            rows.append(
                {
                    "group": str(t[gk]),
                    "column": cols[signature],
                    "kind": "composition",
                    "readout": name,
                    "source": "composition",
                    "signature": signature,
                    "effect": t[diff],
                    "lo": lo,
                    "hi": hi,
                    "padj": t["padj"],
                    "mark": m,
                    "called": bool(m),
                    "text": _effect(t[diff], lo, hi),
                }
            )
    return rows


def readouts(r, *, imid: bool) -> pd.DataFrame:
    """The headline's readouts, one row per group × column × readout (``_COLUMNS``), groups by response."""
    cols = columns(r["sig"])
    rows = _de_rows(r, cols)
    called = activity_calls(r)
    if r.get("panels") is not None:
        rows += _set_rows(r, "panel", r["panels"], _panel_sources(r, r["panels"], imid), cols)
    if r.get("pathways") is not None:
        few = set(low_df_groups(r))
        chosen = strongest_sources(r["pathways"], r.config.groupby, r.config.alpha, called, N_PATHWAYS, few)
        rows += _set_rows(r, "pathway", r["pathways"], chosen, cols)
    rows += _composition_rows(r, cols)
    out = pd.DataFrame(rows).reindex(columns=_COLUMNS)
    order = group_order(r)
    kinds = {"de": 0, "panel": 1, "pathway": 2, "composition": 3}
    out["_g"], out["_k"] = out["group"].map(order.index), out["kind"].map(kinds)
    return out.sort_values(["_g", "_k"], kind="stable").drop(columns=["_g", "_k"]).reset_index(drop=True)


def group_order(r) -> list[str]:
    """Groups by response: the most DE genes in any condition first."""
    summary = r["de_summary"]
    most = summary.groupby("group", sort=False)["n_deg"].max().sort_values(ascending=False, kind="stable")
    return [str(g) for g in most.index]


def headline_table(ro: pd.DataFrame, r) -> str:
    """The headline table: cell types as rows (by response), one line per readout, the conditions as columns."""
    if not len(ro):
        return ""
    conds = list(dict.fromkeys(columns(r["sig"])))
    few = low_df_groups(r)
    head = "".join(f"<th>{e(c)}</th>" for c in conds)
    body = []
    for g, rows in ro.groupby("group", sort=False):
        readouts_ = list(dict.fromkeys(rows["readout"]))
        note = f"<br><small>{few[g]} residual df: effects descriptive</small>" if g in few else ""
        for i, name in enumerate(readouts_):
            mine = rows[rows["readout"] == name].drop_duplicates("column").set_index("column")
            cells = "".join(_cell(mine.loc[c] if c in mine.index else None) for c in conds)
            first = f"<th rowspan='{len(readouts_)}' class='group'>{e(g)}{note}</th>" if i == 0 else ""
            row_class = "first" if i == 0 else ""
            body.append(f"<tr class='{row_class}'>{first}<td class='readout'>{e(name)}</td>{cells}</tr>")
    return (
        f"<table class='headline'><thead><tr><th>{e(r.config.groupby)}</th><th>readout</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _cell(row) -> str:
    """One headline cell, its signature and source in ``data-`` attributes (to check it against the tables)."""
    if row is None:
        return "<td class='na'>–</td>"
    data = f"data-signature='{e(row['signature'])}' data-source='{e(row['source'])}'"
    if row["kind"] == "de":
        return f"<td class='{'called' if row['called'] else ''}' {data}>{e(row['text'])}</td>"
    way = ("up" if row["effect"] > 0 else "down") if row["called"] else ""
    return f"<td class='{way}' {data}>{e(row['text'])}<sup>{e(row['mark'])}</sup></td>"


def legend(r) -> str:
    """What the table's numbers and marks mean, with the run's level and set test."""
    alpha, record = r.config.alpha, r.get("pathways_record")
    sets = ""
    if record is not None:
        spec = SET_METHODS[record["method"]]
        sets = f" (pathways and panels: {e(spec.name)}, {e(spec.null)}: {QUESTIONS.get(spec.null, '')})"
    dagger = (
        " † called by the activity test (self-contained: did the set move at all?), which keeps its error rate at "
        "few replicates, where the set test has no power."
        if low_df_groups(r)
        else ""
    )
    return (
        "<p class='legend'>Each cell: effect [95 % interval]. Pathways and panels: the mean log2 fold change of their "
        "tested genes (how far they moved); proportion: the fitted difference (covariates adjusted). Marks: "
        f"* padj &lt; {alpha:g}, ** &lt; {alpha / 10:g}, *** &lt; {alpha / 100:g}{sets}; no mark: not "
        f"significant.{dagger} Coloured cells are called (green up, red down).</p>"
    )


def top_genes(sig, signature: str, alpha: float, n: int = 5) -> list[str]:
    """The signature's ``n`` most significant genes at ``padj < alpha``, with their direction (``"ISG15↑"``)."""
    i = sig.obs_names.get_loc(signature)
    padj = np.asarray(sig.layers["padj"][i], dtype=float)
    lfc = np.asarray(sig.layers["log2fc"][i] if "log2fc" in sig.layers else sig.X[i], dtype=float)
    ok = np.flatnonzero(np.nan_to_num(padj, nan=1.0) < alpha)
    order = ok[np.lexsort((-np.abs(lfc[ok]), padj[ok]))][:n]
    return [f"{sig.var_names[j]}{'↑' if lfc[j] > 0 else '↓'}" for j in order]


def _listed(rows: pd.DataFrame, n: int = 3) -> str:
    """``cond (effect [ci] mark), cond2, cond3``: the largest effect with its numbers, the others named."""
    rows = rows.reindex(rows["effect"].abs().sort_values(ascending=False).index)
    first = rows.iloc[0]
    rest = [e(c) for c in rows["column"].iloc[1:n]]
    more = len(rows) - n
    return (
        f"{e(first['column'])} ({e(first['text'])}{e(first['mark'])})"
        + "".join(f", {c}" for c in rest)
        + (f" and {more} more" if more > 0 else "")
    )


def _arrow(rows: pd.DataFrame) -> str:
    return "rose" if (rows["effect"] > 0).mean() >= 0.5 else "fell"


def verdict(r, ro: pd.DataFrame) -> str:
    """Two to four sentences: the strongest response and its genes, what moved elsewhere, proportions, power.

    The strongest response is the group and condition with the most DE genes; elsewhere, the panel that suits each
    other group (else its strongest pathway) where it was called; the proportions that changed; and, when a fit had
    too few residual df for the set test, what that allows.
    """
    alpha = r.config.alpha
    de = ro[ro["kind"] == "de"]
    parts = []
    if len(de) and de["effect"].max() > 0:
        top = de.sort_values("effect", ascending=False, kind="stable").iloc[0]
        g0, c0 = top["group"], top["column"]
        genes = ", ".join(map(e, top_genes(r["sig"], top["signature"], alpha)))
        here = ro[(ro["group"] == g0) & (ro["column"] == c0) & ro["kind"].isin(["panel", "pathway"]) & ro["called"]]
        sets = "".join(f"; {e(x['readout'])} {e(x['text'])}{e(x['mark'])}" for _, x in here.iterrows())
        parts.append(
            f"The strongest response is in <b>{e(g0)}</b> under <b>{e(c0)}</b>: {int(top['effect'])} genes at padj "
            f"&lt; {alpha:g} ({e(top['text'])}; top: {genes}){sets}."
        )
        parts += _elsewhere(ro, g0)
    else:
        parts.append(f"No gene reached padj &lt; {alpha:g} in any {e(r.config.groupby)} and condition.")
    comp = ro[(ro["kind"] == "composition") & ro["called"]]
    if len(comp):
        moves = [f"{e(g)} {_arrow(rows)} under {_listed(rows)}" for g, rows in comp.groupby("group", sort=False)]
        parts.append("Proportions: " + "; ".join(moves[:3]) + ".")
    power = power_sentence(r)
    return " ".join(parts + ([power] if power else []))


def _elsewhere(ro: pd.DataFrame, g0: str) -> list[str]:
    """The suited panels (else the strongest pathway) that moved in up to two other groups."""
    out = []
    for g, rows in ro[(ro["group"] != g0) & ro["called"]].groupby("group", sort=False):
        for kind in ("panel", "pathway"):
            hits = rows[rows["kind"] == kind]
            if len(hits):
                name = hits["readout"].iloc[0]
                hits = hits[hits["readout"] == name]
                out.append(f"In <b>{e(g)}</b> the {e(name)} {_arrow(hits)} under {_listed(hits)}.")
                break
        if len(out) == 2:
            break
    return out


def power_sentence(r) -> str:
    """What few replicates allow, stated when a fit has too few residual df for the set test chosen."""
    few = low_df_groups(r)
    if not few:
        return ""
    c, pdata, fits = r.config, r["pdata"], r["de"]["fits"]
    df = min(few.values())
    arms = fits.loc[fits["group"].astype(str).isin(few), "profiles_per_condition"]
    arms = f" ({e(arms.iloc[0])} profiles per {e(c.groupby)})" if len(arms) else ""
    donors = (
        f"{pdata.obs[c.donor_key].nunique()} donors"
        if c.donor_key and c.donor_key in pdata.obs
        else f"{pdata.obs[c.sample_key].nunique()} samples"
    )
    method = r["pathways_record"]["method"]
    return (
        f"<b>Power</b>: with {donors}{arms}, each fit has {df} residual df, too few for {e(method)} to call a pathway:"
        " the pathway effects are descriptive (their intervals say how far the genes moved), † marks those the "
        "activity test calls, and a missing mark is not evidence that nothing moved."
    )
