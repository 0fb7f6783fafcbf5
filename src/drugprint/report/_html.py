"""A self-contained HTML report that reads like a short results section: every figure embedded."""

from __future__ import annotations

import base64
import datetime as _dt
import html
from pathlib import Path

import numpy as np
import pandas as pd

from .._utils import categories
from ..pl._base import KEY_PATHWAYS, pretty

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em}.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .55em;
text-align:right}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
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


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _table(df: pd.DataFrame, index: bool = False) -> str:
    return df.to_html(index=index, border=0, float_format=lambda v: f"{v:.3g}", escape=True)


def _summary(rank, compare, summary, metric, responsive) -> str:
    parts = []
    silent = [g for g in dict.fromkeys(rank["group"]) if g not in responsive]
    for g in responsive:
        r = rank[rank["group"] == g].sort_values("rank")
        top = r.iloc[0]
        n_deg = summary[(summary["group"] == g) & (summary["condition"] == top["condition"])]["n_deg"]
        parts.append(
            f"<b>{_e(g)}</b>: {int(top['n_sources'])} pathways or panels responded; potency "
            f"{' &gt; '.join(_e(c) for c in r['condition'])} (most potent: {_e(top['condition'])}, "
            f"score {top['score']:.2f} [{top['score_lo']:.2f}, {top['score_hi']:.2f}], rank interval "
            f"{top['rank_lo']:.0f}–{top['rank_hi']:.0f}, P(first) = {top['p_first']:.2f}, order against the next "
            f"p = {top['p_vs_next']:.2g}; {int(n_deg.iloc[0]) if len(n_deg) else 0} DE genes)."
            if np.isfinite(top["p_first"])
            else f"<b>{_e(g)}</b>: {int(top['n_sources'])} pathways or panels responded; potency "
            f"{' &gt; '.join(_e(c) for c in r['condition'])} (no replicates: no interval)."
        )
    if silent:
        parts.append(f"No pathway or panel responded in {', '.join(map(_e, silent))}.")
    col = metric if metric in compare else "spearman"
    best = compare[compare["group"].isin(responsive)].dropna(subset=[col]).sort_values(col)
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
    return "<div class='summary'><p>" + "</p><p>".join(parts) + "</p></div>"


def render(
    out: Path,
    *,
    title,
    adata,
    pdata,
    sig,
    summary,
    qc,
    potency,
    potency_panels,
    rank,
    compare,
    responsive,
    similarity_metric,
    dose_fits,
    per_group,
    provenance,
) -> Path:
    """Write ``out / "report.html"`` from the results of :func:`drugprint.report.run`."""
    run = provenance["drugprint_run"]
    groupby, cond_key = run["groupby"], run["condition_key"]
    metric = "effect_r" if "effect_r" in similarity_metric.values() else "spearman"
    figs = out / "figures"
    groups = [str(g) for g in categories(sig.obs[groupby])]
    conditions = [c for c in categories(pdata.obs[cond_key]) if c != run["control"]]
    de_rec = sig.uns["de"]
    design = de_rec["fits"]["design"].iloc[0] if len(de_rec["fits"]) else ""
    gs = provenance["gene_sets"]
    p = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>drugprint {_e(provenance['versions'].get('drugprint', ''))} · "
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC</p>",
        "<h2>Summary</h2>",
        _summary(rank, compare, summary, metric, responsive),
    ]

    n_samples = pdata.obs[run["sample_key"]].nunique()
    p += [
        "<h2>1. Inputs and design</h2>",
        f"<p>{adata.n_obs:,} cells × {adata.n_vars:,} genes from {n_samples} samples were summed into "
        f"{pdata.n_obs} profiles (sample × {_e(groupby)}; profiles of fewer than {run['min_cells']} cells "
        f"dropped). Each {_e(groupby)} was fitted separately with {ENGINES.get(de_rec['method'], de_rec['method'])}"
        f" using the design <code>{_e(design)}</code>; every condition "
        f"({', '.join(map(_e, conditions))}) was compared with <b>{_e(run['control'])}</b> from that single fit"
        + (f", each against the control of the same {_e(run['match'])}" if run.get("match") else "")
        + ". Genes with too few counts were removed per group with edgeR's filterByExpr rule. Pathways "
        f"({_e(gs.get('source', run['net']))}, {_e(gs.get('version', ''))}) were tested with "
        f"{_e(sig.uns['pathways']['method'])} on each fit's profiles, the samples as replicates.</p>",
    ]

    dropped = pdata.uns["pseudobulk"]["dropped"]
    p += [
        "<h2>2. Quality control</h2>",
        f"<h3>Cells per {_e(groupby)} and condition</h3>",
        _table(qc, index=True),
        f"<p>{len(dropped)} profile(s) dropped for having fewer than {run['min_cells']} cells"
        + (":</p>" + _table(dropped) if len(dropped) else ".</p>"),
    ]
    if len(de_rec["skipped"]):
        p += ["<p>Not tested (and why):</p>", _table(de_rec["skipped"])]

    updown = summary.assign(cell=lambda d: d["n_up"].astype(str) + " ↑ / " + d["n_down"].astype(str) + " ↓")
    updown = updown.pivot_table(index="group", columns="condition", values="cell", aggfunc="first")
    updown = updown.reindex(
        index=[g for g in groups if g in updown.index], columns=[c for c in conditions if c in updown.columns]
    )
    p += [
        "<h2>3. Differential expression per cell type</h2>",
        "<p>Genes at adjusted p &lt; 0.05 (up / down) for each condition against the control:</p>",
        _table(updown, index=True),
        "<p>Fits (one per cell type; seconds):</p>",
        _table(de_rec["fits"][["group", "n_profiles", "n_genes_tested", "seconds"]]),
    ]
    for g in groups:
        if "volcano" in per_group[g]:
            p.append(
                _img(figs / f"{per_group[g]['volcano']}.png", f"{g}: volcano of the condition with most DE genes.")
            )

    th = list(sig.uns["potency"]["params"]["thresholds"])
    method = sig.uns["pathways"]["method"]
    p += [
        "<h2>4. Pathways and potency</h2>",
        f"<p class='note'>Why samples are the replicates: the genes of a pathway rise and fall together from sample "
        f"to sample (donor state, activation, handling), so counting genes as independent evidence calls pathways "
        f"that no drug moved. Each pathway is therefore tested on the profiles of its own fit ({_e(method)}: "
        f"{_e(sig.uns['pathways']['null'])}), and every interval comes from the replicates.</p>",
        _img(figs / "pathway_heatmap.png", f"Pathway scores ({method}) per cell type and drug; dots: padj < 0.05."),
        f"<p>Tiers: <b>none</b> (not significant), then by the mean |log2FC| of the pathway's genes: <b>modest</b> "
        f"&lt; {th[0]}, <b>moderate</b> &lt; {th[1]}, <b>strong</b> above, each with its 95 % interval "
        "(<code>log2fc_lo</code>, <code>log2fc_hi</code>); falling cell-cycle pathways read "
        "<i>impaired</i> / <i>more significantly impaired</i> in <code>tables/table2_tiers.csv</code>. The potency "
        "score pools every responsive pathway and panel (scaled effects); its intervals, P(first) and the p-value "
        "of each order come from redrawing the effects from the replicates.</p>",
    ]
    for g in groups:
        for kind, cap in (("tiers", "pathway × drug potency tiers"), ("rank", "potency ranking with 95 % interval")):
            if kind in per_group[g]:
                p.append(_img(figs / f"{per_group[g][kind]}.png", f"{g}: {cap}."))
    silent = [g for g in groups if "tiers" not in per_group[g]]
    if silent:
        p.append(f"<p>No key pathway reached significance for any drug in: {', '.join(map(_e, silent))}.</p>")

    cyto = potency_panels[potency_panels["source"] == "cytotoxicity"]
    p += [
        "<h2>5. Cytotoxicity and the IMiD axis</h2>",
        _img(figs / "cytotoxicity_dotplot.png", "Cytotoxicity genes: colour log2FC, size −log10 padj.")
        if (figs / "cytotoxicity_dotplot.png").exists()
        else "<p>No cytotoxicity gene was measured.</p>",
        _table(
            cyto[["group", "condition", "score", "log2fc", "log2fc_lo", "log2fc_hi", "padj", "rank", "tier"]].astype(
                {"tier": str}
            )
        )
        if len(cyto)
        else "<p>The cytotoxicity panel was not scored (too few tested genes).</p>",
        "<p class='note'>Neosubstrates (IKZF1, IKZF3, CK1α …) are degraded as <i>proteins</i>. Their mRNA does not "
        "report degradation and may even rise; transcript readouts here are not evidence of degradation, which "
        "needs protein data (<code>dp.tl.neosubstrates</code>).</p>",
    ]

    p.append("<h2>6. Drug similarity</h2>")
    if metric == "effect_r":
        p.append(
            "<p>Similarity is the <b>effect correlation</b>: donors are split in halves, one drug's effect in one "
            "half is correlated with the other's in the other half and corrected for split-half reliability, "
            "so the shared control cannot create similarity. Missing where a drug has no reproducible effect."
            "</p>"
        )
    else:
        p.append(
            "<p class='note'>Similarity is the Spearman correlation of the signatures. Signatures tested against "
            "the same control share its noise, which inflates their correlation.</p>"
        )
    for g in groups:
        if "similarity" in per_group[g]:
            how = "effect correlation" if similarity_metric[g] == "effect_r" else "Spearman correlation of signatures"
            p.append(_img(figs / f"{per_group[g]['similarity']}.png", f"{g}: drug × drug similarity ({how})."))
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
    resp = [g for g in groups if "similarity" in per_group[g]]
    if resp:
        p.append(_table(compare[compare["group"].isin(resp)][cols]))

    if dose_fits is not None or any("time" in d for d in per_group.values()):
        p.append("<h2>7. Dose and time</h2>")
        if dose_fits is not None:
            shown = dose_fits[dose_fits["source"].isin(KEY_PATHWAYS[:3])]
            p.append(
                _table(
                    shown[
                        ["group", "drug", "source", "ec50", "ec50_lo", "ec50_hi", "emax", "hill", "r2", "ec50_rank"]
                    ].assign(source=lambda d: d["source"].map(pretty))
                )
            )
        for g in groups:
            for kind, cap in (
                ("dose", "activity against dose with Hill fits; dotted lines: EC50"),
                ("time", "pathway activity over time"),
            ):
                if kind in per_group[g]:
                    p.append(_img(figs / f"{per_group[g][kind]}.png", f"{g}: {cap}."))

    p += [
        "<h2>Provenance</h2>",
        f"<p>Gene sets: {_e(gs.get('source', ''))}, {_e(gs.get('version', ''))}; {_e(gs.get('citation', ''))}; "
        f"licence {_e(gs.get('licence', ''))}; sha256 <code>{_e(gs.get('sha256', ''))[:16]}…</code>.</p>",
        _table(pd.DataFrame(provenance["versions"].items(), columns=["package", "version"])),
        _table(pd.DataFrame(provenance["drugprint_run"].items(), columns=["parameter", "value"]).astype(str)),
        "<p>Timings (s): "
        + ", ".join(f"{k} {v}" for k, v in provenance["timings_seconds"].items())
        + ". Full record: <code>provenance.json</code>; tables in <code>tables/</code>.</p>",
    ]
    doc = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(p)}</body></html>"
    )
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path
