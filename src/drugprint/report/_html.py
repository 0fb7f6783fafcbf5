"""A self-contained HTML report that reads like a short results section: every figure embedded."""

from __future__ import annotations

import base64
import datetime as _dt
import html
from pathlib import Path

import numpy as np
import pandas as pd

from .._anndata import categories
from .._labels import pretty
from ..resources import KEY_PATHWAYS

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em}.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .55em;
text-align:right}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
.scroll{max-height:420px;overflow:auto;display:inline-block;max-width:100%}
figure{margin:.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:.8em 1.2em;align-items:start}
.grid figure img{width:100%;height:auto;cursor:zoom-in}
figure.wide img{max-height:900px;width:auto}
nav.toc{background:#fafafa;border:1px solid #eee;padding:.4em 1em;font-size:.9em;columns:2}
nav.toc a{display:block}
.note{background:#fff8e6;border-left:4px solid #f0b429;padding:.5em 1em;font-size:.9em}
.summary{background:#f3f7fb;border-left:4px solid #2e6da4;padding:.6em 1em}
code{background:#f4f4f4;padding:0 .25em}
"""

ENGINES = {
    "deseq2": "DESeq2 (pydeseq2; Wald test)",
    "voom": "limma-voom (TMM, precision weights, moderated t)",
    "limma": "limma (moderated t)",
    "ttest": "Welch's t-test",
}


def _e(x) -> str:
    return html.escape(str(x))


def _img(path: Path, caption: str, *, wide: bool = False) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    cls = " class='wide'" if wide else ""
    return (
        f'<figure{cls}><img alt="{_e(caption)}" src="data:image/png;base64,{data}" '
        f'onclick="window.open(this.src)"><figcaption>{_e(caption)}</figcaption></figure>'
    )


def _grid(items: list[str]) -> str:
    return f"<div class='grid'>{''.join(items)}</div>" if items else ""


def _table(df: pd.DataFrame, index: bool = False, *, scroll: bool = False) -> str:
    html_ = df.to_html(index=index, border=0, float_format=lambda v: f"{v:.3g}", escape=True)
    return f"<div class='scroll'>{html_}</div>" if scroll else html_


def _interval(lo, hi) -> str:
    return f" [{lo:+.2f}, {hi:+.2f}]" if np.isfinite(lo) and np.isfinite(hi) else " (no interval: no replicates)"


def _by_size(col: pd.Series) -> pd.Series:
    return -col.abs() if col.name == "score" else col


def _top_pathways(table: pd.DataFrame, gk: str, group: str, n: int = 3, alpha: float = 0.05) -> str:
    hits = table[(table[gk] == group) & (table["padj"] < alpha)].sort_values(["padj", "score"], key=_by_size)
    hits = hits.drop_duplicates("source").head(n)
    return "; ".join(
        f"{_e(pretty(r['source']))} {'up' if r['log2fc'] > 0 else 'down'} in {_e(r['condition'])} "
        f"(mean log2FC {r['log2fc']:+.2f}{_interval(r['log2fc_lo'], r['log2fc_hi'])}, padj {r['padj']:.1g})"
        for _, r in hits.iterrows()
    )


def _profiles_sentence(adata, pdata, run: dict, groupby: str, n_samples: int) -> str:
    """Where the profiles came from: cells summed per sample × group, or samples taken as they are."""
    if "n_cells" in pdata.obs and (pdata.obs["n_cells"] == 1).all():
        return f"{pdata.n_obs} samples × {adata.n_vars:,} genes entered the fits as profiles, one per sample."
    return (
        f"{adata.n_obs:,} cells × {adata.n_vars:,} genes from {n_samples} samples were summed into "
        f"{pdata.n_obs} profiles (sample × {_e(groupby)}; counts from {_e(_counts_source(pdata.uns['pseudobulk']))}"
        f"; profiles of fewer than {run['min_cells']} cells dropped)."
    )


def _replicates_sentence(fits: pd.DataFrame, few: bool, method: str) -> str:
    """The replicates each fit rests on (profiles per condition, residual df), and what few of them mean for calls.

    ``few``: some fit has so few that the pathway tests recorded it (``uns["pathways"]["low_df"]``).
    """
    if not len(fits) or "residual_df" not in fits:
        return ""
    by = fits.groupby(["profiles_per_condition", "residual_df"], sort=False)["group"].apply(list)
    text = "; ".join(
        f"{_e(', '.join(map(str, groups)))}: {_e(per)} profiles, {df} residual degree(s) of freedom"
        for (per, df), groups in by.items()
    )
    caution = ""
    if few:
        caution = (
            " With so few, a test can only call large, consistent effects: no call means the study could not tell"
            + (
                "; and gene-level calls include a false one more often than the nominal 5 % (on simulated null "
                "studies with 1–3 residual df, up to a third had a gene called by DESeq2, as by R's, and up to a "
                "quarter by voom; see the statistics page)."
                if method in ("deseq2", "voom")
                else "."
            )
        )
    elif method == "deseq2":
        caution = (
            " DESeq2's Wald tests run somewhat liberal in studies of a few donors (as R's do): read single calls "
            "near padj 0.05 with care."
        )
    return f"Replicates — {text}.{caution}"


def _filter_sentence(de_rec: dict) -> str:
    """Which genes were tested, as the fit did it."""
    if str(de_rec.get("filter_genes", "")).startswith("filterByExpr"):
        return "Genes with too few counts were removed per group with edgeR's filterByExpr rule."
    if de_rec.get("scale") == "log values":
        return "Every gene with more values than coefficients was tested (log-scale values: no count filter)."
    return "Every gene with a count was tested (no expression filter)."


def _counts_source(rec: dict) -> str:
    layer = rec.get("layer", "X")
    return "adata.raw" if rec.get("use_raw") else "X" if layer == "X" else f"layers['{layer}']"


def _diff_col(comp: pd.DataFrame) -> str:
    return "logit_diff" if "logit_diff" in comp else "asin_diff"


def _shift(r: pd.Series, diff: str) -> str:
    """One composition test in words: proportions, the fitted difference with its interval, padj."""
    name = "log odds ratio" if diff == "logit_diff" else "arcsine difference"
    return (
        f"{_e(r['condition'])} ({r['prop_reference']:.3f} → {r['prop']:.3f}; {name} {r[diff]:+.2f}"
        f"{_interval(r[diff + '_lo'], r[diff + '_hi'])}, padj {r['padj']:.2g})"
    )


def _composition_summary(comp: pd.DataFrame, gk: str, dropped: pd.DataFrame, alpha: float = 0.05) -> str:
    """The summary's composition line: cell types whose proportion moved, by direction, strongest first."""
    diff = _diff_col(comp)
    hits = comp[comp["padj"] < alpha]
    if not len(hits):
        top = comp.sort_values("pvalue").iloc[0]
        text = (
            f"<b>Composition</b>: no cell type's proportion changed at padj &lt; {alpha} (samples as replicates). "
            f"Largest: {_e(top[gk])} under {_shift(top, diff)}."
        )
    else:
        moves = []
        for (ct, up), rows in hits.groupby([gk, hits["log2fc"] > 0], observed=True, sort=False):
            rows = rows.reindex(rows["log2fc"].abs().sort_values(ascending=False).index)
            moves.append(
                f"{_e(ct)} {'up' if up else 'down'} under " + ", ".join(_shift(r, diff) for _, r in rows.iterrows())
            )
        still = sorted(set(comp[gk].astype(str)) - set(hits[gk].astype(str)))
        text = (
            "<b>Composition</b> (cell-type proportions, samples as replicates): "
            + "; ".join(moves)
            + (f"; no change in {', '.join(map(_e, still))}" if still else "")
            + "."
        )
    removed = dropped[dropped["removed_by_condition"]]
    if len(removed):
        text += " " + _removed_note(removed, gk)
    return text


def _removed_note(removed: pd.DataFrame, gk: str) -> str:
    """Where a condition pushed profiles below ``min_cells``: its expression signature rests on the survivors."""
    parts = [
        f"{_e(cond)} left too few {_e(ct)} cells in {len(rows)} sample(s) ({', '.join(map(_e, rows.iloc[:, 0]))})"
        for (ct, cond), rows in removed.groupby([gk, "condition"], sort=False)
    ]
    return (
        "; ".join(parts)
        + ": those profiles were dropped, so the expression signatures of these cell types under these conditions "
        "rest on the samples where enough cells survived."
    )


def _could_not_tell(g: str, low_df: pd.DataFrame, method: str, n_deg: int, fits: pd.DataFrame) -> str:
    """A group whose fit had too few residual df for ``method`` to call anything: say so, and what activity calls."""
    mine = low_df[low_df["group"] == g]
    df = int(mine["residual_df"].iloc[0])
    arms = fits.loc[fits["group"] == g, "profiles_per_condition"]
    arms = f" ({_e(arms.iloc[0])} profiles)" if len(arms) else ""
    called = mine[mine["called_by_activity"] > 0]

    def listed(r) -> str:
        calls = [c.rsplit(" ", 1) for c in r["activity_calls"].split("; ")]
        shown = ", ".join(f"{_e(pretty(name))} {'↑' if way == 'up' else '↓'}" for name, way in calls[:3])
        more = int(r["called_by_activity"]) - min(3, len(calls))
        return f"{shown}{f' and {more} more' if more > 0 else ''} in {_e(r['signature'].split('|', 1)[-1])}"

    activity = "; ".join(listed(r) for _, r in called.iterrows()) if len(called) else "nothing either"
    return (
        f"<b>{_e(g)}</b>: <b>could not tell</b> which pathways moved — with {df} residual degree(s) of freedom"
        f"{arms}, {_e(method)} has almost no power (up to {n_deg} DE genes per condition). The self-contained "
        f"activity test, which keeps its error rate at so few replicates, calls {activity}."
    )


def _summary(
    gk, groups, pathway_table, rank, compare, summary, metric, method, composition, dropped, low_df=None, fits=None
) -> str:
    parts = []
    for g in groups:
        mine = pathway_table[pathway_table[gk] == g]
        moved = mine.loc[mine["padj"] < 0.05, "source"].nunique()
        n_deg = summary.loc[summary["group"] == g, "n_deg"]
        weak = low_df is not None and method in ("camera", "fry") and (low_df["group"] == g).any()
        if moved == 0 and weak:
            text = _could_not_tell(g, low_df, method, int(n_deg.max()), fits) + (
                f" Largest effects (interval: how far the set's genes moved on average; padj: {_e(method)}, whether "
                f"they moved more than other genes — a different question): "
                f"{_top_pathways(pathway_table, gk, g, alpha=1.0)}."
            )
        elif moved == 0:
            text = (
                f"<b>{_e(g)}</b>: no pathway reached padj &lt; 0.05 (up to {int(n_deg.max())} DE genes per "
                f"condition). Largest effects (intervals: the set's own mean log2FC; padj: {_e(method)}, not "
                f"significant): {_top_pathways(pathway_table, gk, g, alpha=1.0)}."
            )
        else:
            text = (
                f"<b>{_e(g)}</b>: {moved} of {mine['source'].nunique()} pathways moved (up to {int(n_deg.max())} "
                f"DE genes per condition). Strongest: {_top_pathways(pathway_table, gk, g)}."
            )
        r = None if rank is None else rank[rank["group"] == g].sort_values("rank")
        if r is not None and len(r) >= 2 and r["n_sources"].max() > 0:
            top = r.iloc[0]
            order = " &gt; ".join(_e(c) for c in r["condition"])
            if np.isfinite(top["p_first"]):
                text += (
                    f" Potency {order} across {int(top['n_sources'])} responsive pathways and panels: "
                    f"{_e(top['condition'])} first with score {top['score']:.2f} [{top['score_lo']:.2f}, "
                    f"{top['score_hi']:.2f}], rank interval {top['rank_lo']:.0f}–{top['rank_hi']:.0f}, "
                    f"P(first) = {top['p_first']:.2f}, order against the next p = {top['p_vs_next']:.2g}."
                )
            else:
                text += f" Potency {order} (no replicates: no interval, so no claim on the order)."
        parts.append(text)
    if compare is not None:
        col = metric if metric in compare else "spearman"
        best = compare.dropna(subset=[col]).sort_values(col)
        if len(best):
            lo, hi = best.iloc[0], best.iloc[-1]
            what = "effect correlation (split donors)" if col == "effect_r" else "signature correlation"

            def fmt(row):
                ci = (
                    f" [{row[col + '_lo']:.2f}, {row[col + '_hi']:.2f}]"
                    if f"{col}_lo" in row and np.isfinite(row[f"{col}_lo"])
                    else ""
                )
                return f"{_e(row['a'])} vs {_e(row['b'])} in {_e(row['group'])}: {row[col]:.2f}{ci}"

            parts.append(f"Most alike by {what}: {fmt(hi)}; least alike: {fmt(lo)}.")
    if composition is not None:
        parts.append(_composition_summary(composition, gk, dropped))
    return "<div class='summary'><p>" + "</p><p>".join(parts) + "</p></div>"


def _section(p: list[str], toc: list[tuple[str, str]], anchor: str, title: str) -> None:
    toc.append((anchor, title))
    p.append(f"<h2 id='{anchor}'>{_e(title)}</h2>")


def _group_figs(figs: Path, groups, per_group, kinds: dict[str, str]) -> str:
    """One grid of the groups' figures of these kinds (captions name the group)."""
    items = [
        _img(figs / f"{per_group[g][kind]}.png", f"{g}: {cap}.")
        for g in groups
        for kind, cap in kinds.items()
        if kind in per_group.get(g, {})
    ]
    return _grid(items)


def render(
    out: Path,
    *,
    title,
    adata,
    pdata,
    sig,
    summary,
    qc,
    pathway_table,
    potency_panels,
    rank,
    compare,
    similarity_metric,
    dose_fits,
    composition,
    dropped,
    overview,
    per_group,
    imid,
    provenance,
) -> Path:
    """Write ``out / "report.html"`` from the results of :func:`drugprint.report.run`."""
    run = provenance["drugprint_run"]
    stages = provenance["stages"]
    groupby = run["groupby"]
    metric = "effect_r" if "effect_r" in similarity_metric.values() else "spearman"
    figs = out / "figures"
    groups = [str(g) for g in categories(sig.obs[groupby])]
    conditions = [str(c) for c in categories(sig.obs["condition"])]
    de_rec = sig.uns["de"]
    design = de_rec["fits"]["design"].iloc[0] if len(de_rec["fits"]) else ""
    gs = provenance["gene_sets"]
    p: list[str] = []
    toc: list[tuple[str, str]] = []
    _section(p, toc, "summary", "Summary")
    sim_groups = [g for g in groups if "similarity" in per_group[g]]  # where something moved: elsewhere noise
    if compare is not None:
        compare = compare[compare["group"].isin(sim_groups)]
    p.append(
        _summary(
            groupby,
            groups,
            pathway_table,
            rank,
            compare,
            summary,
            metric,
            sig.uns["pathways"]["params"]["method"],
            composition,
            dropped,
            sig.uns["pathways"].get("low_df"),
            de_rec["fits"],
        )
    )

    _section(p, toc, "design", "1. Inputs and design")
    n_samples = pdata.obs[run["sample_key"]].nunique()
    method = sig.uns["pathways"]["params"]["method"]
    low_df = sig.uns["pathways"].get("low_df")
    few = low_df is not None and len(low_df) > 0
    p.append(
        f"<p>{_profiles_sentence(adata, pdata, run, groupby, n_samples)} Each {_e(groupby)} was fitted separately "
        f"with {ENGINES.get(de_rec['method'], de_rec['method'])}"
        + (" and limma's robust empirical Bayes" if de_rec.get("robust") else "")
        + f" using the design <code>{_e(design)}</code>; every "
        f"condition ({', '.join(map(_e, conditions))}) was compared with <b>{_e(run['control'])}</b> from that "
        "single fit"
        + (f", each against the control of the same {_e(run['match'])}" if run.get("match") else "")
        + f". {_replicates_sentence(de_rec['fits'], few, de_rec['method'])} {_filter_sentence(de_rec)} Pathways "
        f"({_e(gs.get('source', run['nets'][0]))}, {_e(gs.get('version', ''))}) were tested with {_e(method)}"
        + (
            " on each fit's profiles, the samples as replicates.</p>"
            if method in ("camera", "fry", "activity")
            else " on each signature's gene statistics (descriptive: its p-values treat genes as independent).</p>"
        )
    )
    if not run["covariates"]:
        p.append(
            "<p class='note'>No covariate entered the design: samples are treated as independent. If samples "
            "share donors (or batches), add that column (<code>--covariates donor</code>) for a paired analysis."
            "</p>"
        )
    not_run = {k: v for k, v in stages.items() if v != "done"}
    if not_run:
        p.append("<p>Stages not run, and why:</p>")
        p.append(_table(pd.DataFrame(not_run.items(), columns=["stage", "why"])))

    _section(p, toc, "qc", "2. Quality control")
    p += [
        f"<h3>Cells per {_e(groupby)} and condition</h3>",
        _table(qc, index=True, scroll=True),
        f"<p>{len(dropped)} profile(s) dropped for having fewer than {run['min_cells']} cells"
        + (
            " (<code>removed_by_condition</code>: the sample's condition lowered that cell type's proportion, "
            "section 3):</p>" + _table(dropped, scroll=True)
            if len(dropped)
            else ".</p>"
        ),
    ]
    if len(de_rec["skipped"]):
        p += ["<p>Not tested (and why):</p>", _table(de_rec["skipped"], scroll=True)]

    _section(p, toc, "composition", "3. Which cells are there: composition")
    if composition is None:
        p.append(f"<p>Composition {_e(stages.get('composition', ''))}.</p>")
    else:
        crec = provenance["composition"]
        diff = _diff_col(composition)
        p += [
            f"<p>Cells were counted per sample and {_e(groupby)}; each {_e(groupby)}'s proportion "
            f"({_e(crec['transform'])}-transformed) was fitted with <code>{_e(crec['design'])}</code> by limma's "
            "moderated t over the samples (propeller, Phipson et al. 2022, Bioinformatics), against "
            f"<b>{_e(crec['control'])}</b>; p-values are adjusted over the cell types of each condition. A drug "
            "that kills one cell type raises the proportions of all others a little, so read the strongest "
            "changes first.</p>",
            _grid(
                [
                    _img(
                        figs / f"{overview['composition']}.png",
                        "Proportion of each cell type per condition: bars the mean, points the samples; "
                        "* padj < 0.05 against the control.",
                    ),
                    _img(
                        figs / f"{overview['composition_heatmap']}.png",
                        "log2 fold change of each cell type's mean proportion; * padj < 0.05.",
                    ),
                ]
            ),
        ]
        hits = composition[composition["padj"] < 0.05]
        cols = [groupby, "condition", "prop_reference", "prop", "log2fc", diff, f"{diff}_lo", f"{diff}_hi", "padj"]
        p.append(
            "<p>Changes at padj &lt; 0.05 (proportions: mean over samples; the interval is the 95 % interval of the "
            f"fitted {_e(diff)}; all tests in <code>tables/composition.csv</code>):</p>"
            + _table(hits.sort_values("padj")[cols], scroll=True)
            if len(hits)
            else "<p>No cell type's proportion changed at padj &lt; 0.05 (all tests in "
            "<code>tables/composition.csv</code>).</p>"
        )
        removed = dropped[dropped["removed_by_condition"]]
        if len(removed):
            p.append(f"<p class='note'>{_removed_note(removed, groupby)}</p>")
        if provenance["composition_skipped"]:
            p += ["<p>Left out of the composition test (and why):</p>"]
            p.append(_table(pd.DataFrame(provenance["composition_skipped"]), scroll=True))

    _section(p, toc, "de", "4. Differential expression per cell type")
    updown = summary.assign(cell=lambda d: d["n_up"].astype(str) + " ↑ / " + d["n_down"].astype(str) + " ↓")
    updown = updown.pivot_table(index="group", columns="condition", values="cell", aggfunc="first")
    updown = updown.reindex(
        index=[g for g in groups if g in updown.index], columns=[c for c in conditions if c in updown.columns]
    )
    p += [
        "<p>Genes at adjusted p &lt; 0.05 (up / down) for each condition against the control, adjusted within "
        "each cell type (<code>padj</code>)"
        + (
            f"; adjusted over all cell types' tests of the same condition at once (<code>padj_global</code>, "
            f"muscat's p_adj.glb) there are {int(summary['n_deg_global'].sum())} calls in all against "
            f"{int(summary['n_deg'].sum())} (per condition and cell type: <code>tables/de_summary.csv</code>)"
            if "n_deg_global" in summary
            else ""
        )
        + ":</p>",
        _table(updown, index=True, scroll=True),
        "<p>Fits (one per cell type; seconds):</p>",
        _table(de_rec["fits"][["group", "n_profiles", "n_genes_tested", "design", "seconds"]]),
        _group_figs(figs, groups, per_group, {"volcano": "volcano of the condition with most DE genes"}),
    ]

    th = list(sig.uns["potency"]["params"]["thresholds"])
    method = sig.uns["pathways"]["params"]["method"]
    _section(p, toc, "pathways", "5. Pathways and potency")
    p += [
        f"<p class='note'>Why samples are the replicates: the genes of a pathway rise and fall together from sample "
        f"to sample (donor state, activation, handling), so counting genes as independent evidence calls pathways "
        f"that no drug moved. Each pathway is therefore tested on the profiles of its own fit ({_e(method)}: "
        f"{_e(sig.uns['pathways']['null'])}), and every interval comes from the replicates.</p>",
        _img(
            figs / f"{overview['heatmap']}.png",
            f"Pathway scores ({method}) per cell type and condition: the key pathways that moved, then those that "
            "moved most often; dots: padj < 0.05. One colour scale for all cell types, so colours compare between "
            "them; its limit is the 99th percentile of |score| (stronger cells saturate), so a few extreme cells "
            "do not wash out the rest.",
            wide=True,
        ),
    ]
    for key, name in overview.items():
        if key.startswith("heatmap_"):
            coll = provenance["other_gene_sets"].get(key[len("heatmap_") :], {})
            p.append(_img(figs / f"{name}.png", f"{coll.get('source', key)}: scores per cell type.", wide=True))
    p.append(
        f"<p>Tiers: <b>none</b> (not significant), then by the mean |log2FC| of the pathway's genes: <b>modest</b> "
        f"&lt; {th[0]}, <b>moderate</b> &lt; {th[1]}, <b>strong</b> above, each with its 95 % interval "
        "(in the cells of the tier tables; <code>log2fc_lo</code>, <code>log2fc_hi</code> in "
        "<code>tables/potency_pathways.csv</code>)."
        + (
            " The potency score pools every responsive pathway and panel (scaled effects); its intervals, "
            "P(first) and the p-value of each order come from redrawing the effects from the replicates."
            if rank is not None
            else ""
        )
        + "</p>"
    )
    p.append(
        _group_figs(
            figs,
            groups,
            per_group,
            {"tiers": "pathway × condition potency tiers", "rank": "potency ranking with 95 % intervals"},
        )
    )
    silent = [g for g in groups if "tiers" not in per_group[g]]
    if silent:
        p.append(f"<p>No pathway reached significance for any condition in: {', '.join(map(_e, silent))}.</p>")

    if potency_panels is not None:
        _section(p, toc, "panels", "6. Gene panels" + (": cytotoxicity and the IMiD axis" if imid else ""))
        if "cytotoxicity" in overview:
            p.append(
                _img(
                    figs / f"{overview['cytotoxicity']}.png",
                    "Cytotoxicity genes in the cell types where the panel moved: colour log2FC, size −log10 padj.",
                    wide=True,
                )
            )
        else:
            p.append("<p>The cytotoxicity panel (NKG7, GZMB, PRF1, IFNG …) moved in no cell type.</p>")
        called = potency_panels[potency_panels["tier"].astype(str) != "none"]
        cols = ["group", "condition", "source", "log2fc", "log2fc_lo", "log2fc_hi", "padj", "tier"]
        p.append(
            _table(called[cols].astype({"tier": str}), scroll=True)
            if len(called)
            else "<p>No panel moved significantly in any cell type.</p>"
        )
        if imid:
            p.append(
                "<p class='note'>Neosubstrates (IKZF1, IKZF3, CK1α …) are degraded as <i>proteins</i>. Their mRNA "
                "does not report degradation and may even rise; transcript readouts here are not evidence of "
                "degradation, which needs protein data (<code>dp.tl.neosubstrates</code>).</p>"
            )
    else:
        _section(p, toc, "panels", "6. Gene panels")
        p.append(f"<p>Panels {_e(stages.get('panels', ''))}.</p>")

    _section(p, toc, "similarity", "7. Drug similarity")
    if compare is None:
        p.append(f"<p>Similarity {_e(stages.get('compare', ''))}.</p>")
    else:
        if metric == "effect_r":
            p.append(
                "<p>Similarity is the <b>effect correlation</b>: donors are split in halves, one drug's effect in "
                "one half is correlated with the other's in the other half and corrected for split-half "
                "reliability, so the shared control cannot create similarity. Missing where a drug has no "
                "reproducible effect.</p>"
            )
        else:
            p.append(
                "<p class='note'>Similarity is the Spearman correlation of the signatures. Signatures tested "
                "against the same control share its noise, which inflates their correlation.</p>"
            )
        p.append(_group_figs(figs, groups, per_group, {"similarity": "condition × condition similarity"}))
        cols = [
            c
            for c in (
                "group",
                "a",
                "b",
                "effect_r",
                "effect_r_lo",
                "effect_r_hi",
                "spearman",
                "spearman_lo",
                "spearman_hi",
                "jaccard",
            )
            if c in compare
        ]
        p.append(
            _table(compare[cols], scroll=True)
            if len(compare)
            else "<p>No cell type responded, so no similarity is shown (it would compare noise).</p>"
        )

    if dose_fits is not None or any("time" in per_group[g] for g in groups):
        _section(p, toc, "dose", "8. Dose and time")
        if dose_fits is not None:
            shown = dose_fits[dose_fits["source"].isin(KEY_PATHWAYS[:3])]
            p.append(
                _table(
                    shown[
                        ["group", "drug", "source", "ec50", "ec50_lo", "ec50_hi", "emax", "hill", "r2", "ec50_rank"]
                    ].assign(source=lambda d: d["source"].map(pretty)),
                    scroll=True,
                )
            )
        p.append(
            _group_figs(
                figs,
                groups,
                per_group,
                {"dose": "activity against dose with Hill fits; dotted lines: EC50", "time": "activity over time"},
            )
        )

    _section(p, toc, "provenance", "Provenance")
    p += [
        f"<p>Gene sets: {_e(gs.get('source', ''))}, {_e(gs.get('version', ''))}; {_e(gs.get('citation', ''))}; "
        f"licence {_e(gs.get('licence', ''))}; sha256 <code>{_e(gs.get('sha256', ''))[:16]}…</code>.</p>",
        _table(pd.DataFrame(provenance["versions"].items(), columns=["package", "version"])),
        _table(pd.DataFrame(provenance["drugprint_run"].items(), columns=["parameter", "value"]).astype(str)),
        "<p>Timings (s): "
        + ", ".join(f"{k} {v}" for k, v in provenance["timings_seconds"].items())
        + ". Full record: <code>provenance.json</code>; tables in <code>tables/</code>.</p>",
    ]
    nav = "<nav class='toc'>" + "".join(f"<a href='#{a}'>{_e(t)}</a>" for a, t in toc) + "</nav>"
    head = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>drugprint {_e(provenance['versions'].get('drugprint', ''))} · "
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC</p>",
        nav,
    ]
    doc = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(head + p)}</body></html>"
    )
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path
