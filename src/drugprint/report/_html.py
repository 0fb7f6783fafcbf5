"""A self-contained HTML report: every figure embedded, tables inline."""

from __future__ import annotations

import base64
import datetime as _dt
import html
from pathlib import Path

import pandas as pd

from .._utils import categories
from ..pl._base import pretty

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em}.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .55em;
text-align:right}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
.note{background:#fff8e6;border-left:4px solid #f0b429;padding:.5em 1em;font-size:.9em}
code{background:#f4f4f4;padding:0 .25em}
"""


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _table(df: pd.DataFrame, index: bool = False, floatfmt: str = "{:.3g}") -> str:
    return df.to_html(index=index, border=0, float_format=lambda v: floatfmt.format(v), escape=True)


def render(
    out: Path, *, title, adata, pdata, sig, summary, qc, potency, potency_panels, tier_figs, volcano_figs, provenance
) -> Path:
    """Write ``out / "report.html"`` from the results of :func:`drugprint.report.run`."""
    run = provenance["drugprint_run"]
    groupby, cond_key = run["groupby"], run["condition_key"]
    figs = out / "figures"
    groups = [str(g) for g in categories(sig.obs[groupby])]
    conditions = [c for c in categories(pdata.obs[cond_key]) if c != run["control"]]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='meta'>drugprint {html.escape(provenance['versions'].get('drugprint', ''))} · "
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC</p>",
    ]

    # inputs and design
    n_samples = pdata.obs[run["sample_key"]].nunique()
    design = sig.uns["de"]["groups"]["design"].iloc[0] if len(sig.uns["de"]["groups"]) else ""
    engine = {
        "deseq2": "DESeq2 (pydeseq2; Wald test)",
        "voom": "limma-voom (TMM, precision weights, moderated t)",
        "limma": "limma (moderated t)",
        "ttest": "Welch's t-test",
    }[sig.uns["de"]["method"]]
    parts += [
        "<h2>1. Inputs and design</h2>",
        f"<p>{adata.n_obs:,} cells × {adata.n_vars:,} genes from {n_samples} samples were summed into "
        f"{pdata.n_obs} profiles (sample × {html.escape(groupby)}; profiles of fewer than {run['min_cells']} "
        f"cells dropped). Each {html.escape(groupby)} was fitted separately with {engine} "
        f"using the design <code>{html.escape(design)}</code>; every condition "
        f"({', '.join(map(html.escape, map(str, conditions)))}) was compared with "
        f"<b>{html.escape(run['control'])}</b> from that single fit. Genes with too few counts were removed "
        f"per group with edgeR's filterByExpr rule. Pathway activity is decoupler's univariate linear "
        f"model on the per-gene statistics over "
        f"{html.escape(provenance['gene_sets'].get('source', run['net']))} "
        f"({html.escape(provenance['gene_sets'].get('version', ''))}).</p>",
    ]

    # QC
    dropped = pdata.uns["pseudobulk"]["dropped"]
    parts += [
        "<h2>2. Quality control</h2>",
        f"<h3>Cells per {html.escape(groupby)} and condition</h3>",
        _table(qc, index=True),
        f"<p>{len(dropped)} profile(s) dropped for having fewer than {run['min_cells']} cells"
        + (":</p>" + _table(dropped) if len(dropped) else ".</p>"),
    ]
    skipped = sig.uns["de"]["skipped"]
    if len(skipped):
        parts += ["<p>Not tested:</p>", _table(skipped)]

    # DE summary
    counts = summary.pivot_table(index="group", columns="condition", values="n_deg", aggfunc="first")
    counts = counts.reindex(
        index=[g for g in groups if g in counts.index], columns=[c for c in conditions if c in counts.columns]
    )
    updown = summary.assign(cell=lambda d: d["n_up"].astype(str) + " ↑ / " + d["n_down"].astype(str) + " ↓")
    updown = updown.pivot_table(index="group", columns="condition", values="cell", aggfunc="first")
    updown = updown.reindex(index=counts.index, columns=counts.columns)
    timing = sig.uns["de"]["groups"][["group", "n_profiles", "n_genes_tested", "seconds"]]
    parts += [
        "<h2>3. Differential expression per cell type</h2>",
        "<p>Genes at adjusted p &lt; 0.05 (up / down) in each cell type for each drug against the control:</p>",
        _table(updown, index=True),
        "<p>Fits (one per cell type; seconds of DESeq2):</p>",
        _table(timing),
    ]
    for g, name in volcano_figs.items():
        parts.append(_img(figs / f"{name}.png", f"{g}: volcano of the condition with the most DE genes."))

    # pathways and tiers
    parts += [
        "<h2>4. Pathways</h2>",
        _img(
            figs / "pathway_heatmap.png",
            "Pathway scores (decoupler ulm t-value) per cell type and drug; dots mark padj < 0.05.",
        ),
        "<p>Potency tiers: <b>none</b> (not significant), then by the mean |log2FC| of the pathway's genes: "
        f"<b>modest</b> &lt; {potency_thresholds(sig)[0]}, <b>moderate</b> &lt; {potency_thresholds(sig)[1]}, "
        "<b>strong</b> above. Drugs are ranked within each pathway by that effect size.</p>",
    ]
    for g, name in tier_figs.items():
        parts.append(_img(figs / f"{name}.png", f"{g}: pathway × drug potency tiers."))
    silent = [g for g in groups if g not in tier_figs]
    if silent:
        parts.append(f"<p>No pathway reached significance for any drug in: {', '.join(map(html.escape, silent))}.</p>")
    ranking = _potency_ranking(potency)
    if not ranking.empty:
        parts += ["<h3>Drug order per cell type and key pathway (most potent first)</h3>", _table(ranking)]

    # cytotoxicity
    cyto = potency_panels[potency_panels["source"] == "cytotoxicity"]
    parts += [
        "<h2>5. Cytotoxicity and the IMiD axis</h2>",
        _img(
            figs / "cytotoxicity_dotplot.png",
            "Cytotoxicity genes: colour log2 fold change, size −log10 padj (edge: padj < 0.05).",
        ),
        _table(cyto[["group", "condition", "score", "log2fc", "padj", "rank", "tier"]].astype({"tier": str}))
        if len(cyto)
        else "<p>The cytotoxicity panel was not scored (too few tested genes).</p>",
        "<p class='note'>Neosubstrates (IKZF1, IKZF3, CK1α …) are degraded as <i>proteins</i>. Their mRNA "
        "does not report degradation and may even rise; the transcript readouts here are not evidence of "
        "degradation, which needs protein data.</p>",
    ]

    # provenance
    gs = provenance["gene_sets"]
    parts += [
        "<h2>6. Provenance</h2>",
        f"<p>Gene sets: {html.escape(gs.get('source', ''))}, {html.escape(gs.get('version', ''))}; "
        f"{html.escape(gs.get('citation', ''))}; licence {html.escape(gs.get('licence', ''))}; sha256 "
        f"<code>{html.escape(gs.get('sha256', ''))[:16]}…</code>.</p>",
        _table(pd.DataFrame(provenance["versions"].items(), columns=["package", "version"])),
        _table(pd.DataFrame(provenance["drugprint_run"].items(), columns=["parameter", "value"]).astype(str)),
        "<p>Timings (s): "
        + ", ".join(f"{k} {v}" for k, v in provenance["timings_seconds"].items())
        + ". Full record: <code>provenance.json</code>; tables in <code>tables/</code>.</p>",
    ]
    doc = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path


def potency_thresholds(sig) -> list[float]:
    return list(sig.uns.get("potency", {}).get("params", {}).get("thresholds", [0.25, 0.5]))


def _potency_ranking(potency: pd.DataFrame) -> pd.DataFrame:
    from ..pl._base import KEY_PATHWAYS

    sub = potency[potency["source"].isin(KEY_PATHWAYS) & (potency["tier"].astype(str) != "none")]
    if sub.empty:
        return pd.DataFrame()
    rows = []
    for (g, s), d in sub.sort_values("rank").groupby(["group", "source"], sort=False):
        rows.append(
            {
                "group": g,
                "pathway": pretty(s),
                "direction": d["direction"].iloc[0],
                "order (tier)": " > ".join(
                    f"{c} ({t})" for c, t in zip(d["condition"], d["tier"].astype(str), strict=True)
                ),
            }
        )
    return pd.DataFrame(rows)
