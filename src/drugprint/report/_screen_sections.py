"""The sections of a screen's report: the headline, the design, the clusters, every compound, the strongest hits.

Each is a function of the run's :class:`~drugprint.report._stages.Results` returning ``(anchor, title, html)`` or
``None``, as the study's sections are. The table of every compound is sorted and filtered in the page by
:data:`SCRIPT`, a few lines of plain JavaScript (no library, no network).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._labels import pretty
from ._cohort_sections import cohort, cohort_summary
from ._html import e, grid, img, table
from ._screen import annotation
from ._sections import _groups, provenance

#: Sorts a ``table.sortable`` by the column whose header is clicked (numbers as numbers) and filters its rows by
#: the text typed into the input named ``<table id>-filter``.
SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function(t){
  var body=t.tBodies[0];
  Array.prototype.forEach.call(t.tHead.rows[0].cells,function(h,i){
    h.title='click to sort';h.style.cursor='pointer';
    h.onclick=function(){
      var up=h.getAttribute('data-dir')!=='up';h.setAttribute('data-dir',up?'up':'down');
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[i].textContent.trim(),y=b.cells[i].textContent.trim(),nx=parseFloat(x),ny=parseFloat(y);
        var c=(isNaN(nx)||isNaN(ny))?x.localeCompare(y):nx-ny;return up?c:-c;});
      rows.forEach(function(r){body.appendChild(r);});};});
  var f=document.getElementById(t.id+'-filter');
  if(f){f.oninput=function(){var q=f.value.toLowerCase(),n=0;
    Array.prototype.forEach.call(body.rows,function(r){var ok=r.textContent.toLowerCase().indexOf(q)>=0;
      r.style.display=ok?'':'none';n+=ok?1:0;});
    var c=document.getElementById(t.id+'-count');if(c){c.textContent=n+' shown';}};}
});
"""


def _replicates(r) -> str:
    """Profiles per compound and line (the replicates), as a number or a range."""
    c, obs = r.config, r["pdata"].obs
    treated = obs[obs[c.condition_key].astype(str) != str(r["de"]["control"])]
    n = treated.groupby([c.groupby, c.condition_key], observed=True).size()
    return "–" if not len(n) else str(int(n.min())) if n.min() == n.max() else f"{int(n.min())}–{int(n.max())}"


def hits_per_line(r) -> pd.DataFrame:
    """Per line: compounds tested, hits, their share, the median DE genes of the hits, fits and residual df."""
    hits, fits = r["hits"], r["de"]["fits"]
    by = hits.groupby("group", sort=False)
    out = pd.DataFrame(
        {
            "compounds tested": by.size(),
            "hits": by["hit"].sum().astype(int),
            "median DE genes of hits": hits[hits["hit"]].groupby("group")["n_deg"].median(),
        }
    ).reindex(_groups(r))
    out.insert(2, "share", (out["hits"] / out["compounds tested"]).map(lambda v: f"{v:.0%}"))
    fits = fits.assign(group=fits["group"].astype(str))
    df = fits.groupby("group")["residual_df"].agg(["min", "max"]).reindex(out.index)
    out["fits"] = fits.groupby("group").size().reindex(out.index).fillna(0).astype(int)
    out["residual df"] = [f"{a:g}" if a == b else f"{a:g}–{b:g}" for a, b in zip(df["min"], df["max"], strict=True)]
    return out.rename_axis(r.config.groupby)


def summary(r):
    """The screen in numbers: compounds, lines, replicates, hits per line, clusters, what the design allows."""
    c, per = r.config, r["hit_conditions"]
    params = r["sig"].uns["screen_hits"]["params"]
    lines = _groups(r)
    found = r.get("clusters")
    n_hit = int(per["hit"].sum())
    clusters = (
        f"clustered by their fingerprints across the lines into <b>{found['cluster'].nunique()}</b> families "
        "(section 2)"
        if found is not None and len(found)
        else f"not clustered ({e(r.stages.get('clusters', ''))})"
    )
    head = (
        f"<p class='verdict'>A screen of <b>{len(per)}</b> compounds in <b>{len(lines)}</b> {e(c.groupby)}(s) "
        f"({e(', '.join(lines))}), <b>{_replicates(r)}</b> replicate profile(s) per compound and line, each "
        f"against <b>{e(r['de']['control'])}</b>. <b>{n_hit}</b> compounds are hits in at least one line (at least "
        f"{params['min_genes']} genes at padj &lt; {params['alpha']:g}), {clusters}.</p>"
    )
    parts = [head, table(hits_per_line(r), index=True), _allows(r)]
    if (line := cohort_summary(r)) is not None:
        parts.append(f"<p>{line}</p>")
    return "summary", "Summary", f"<div class='summary'>{''.join(parts)}</div>"


def _allows(r) -> str:
    """What the design allows: blocks of compounds with their controls, and the residual df the tests rest on."""
    de = r["de"]
    fits = de["fits"]
    blocked = "part" in fits and fits["part"].astype(str).str.len().gt(0).any()
    df = fits["residual_df"]
    text = (
        f"Each test rests on {int(df.min())}–{int(df.max())} residual degrees of freedom"
        if df.min() != df.max()
        else f"Each test rests on {int(df.min())} residual degrees of freedom"
    )
    if blocked:
        text += (
            f"; the lines were fitted in {len(fits)} blocks of compounds, each with its control profiles, so that the "
            "cost grows linearly with the compounds (each test's variance rests on its block's profiles)"
        )
    notes = [n for n in de["record"].get("notes", []) if "block" in str(n)]
    more = f" <span class='meta'>{e(notes[0])}</span>" if notes else ""
    return f"<p>{text}.{more}</p>"


def design(r):
    """The engine and design, the hit rule and why it holds its error rate, the stages not run at screen scale."""
    c, de = r.config, r["de"]
    params = r["sig"].uns["screen_hits"]["params"]
    text = (
        f"<p>{r['pdata'].n_obs} profiles entered the fits, each {e(c.groupby)} fitted on its own with "
        f"{e(de['label'])} using the design <code>{e(de['design'])}</code>; every compound was compared with "
        f"<b>{e(de['control'])}</b>. A compound is a <b>hit</b> in a line when at least {params['min_genes']} genes "
        f"reach padj &lt; {params['alpha']:g} (Benjamini–Hochberg over the genes of that signature). One gene would "
        "be enough if the engines' p-values were exact; on simulated screens with plate, replicate and gene-programme "
        "noise (3 replicates), compounds that do nothing were called hits in 9 % (voom) and 25 % (DESeq2) of their "
        "lines with one gene, and in 0.4 % and 3.4 % with three (the statistics page). Every call is in "
        "<code>tables/screen_hits.csv</code>.</p>"
    )
    parts = [text]
    not_run = {k: v for k, v in r.stages.items() if v != "done"}
    if not_run:
        parts += ["<p>Stages not run, and why:</p>", table(pd.DataFrame(not_run.items(), columns=["stage", "why"]))]
    return "design", "1. Design and hit calls", "".join(parts)


def clusters(r):
    """The clustered similarity map of the hit compounds and the strongest pathways of each cluster."""
    title = "2. Mechanism clusters"
    found, made = r.get("clusters"), r["screen_figures"]
    if found is None or made["map"] is None:
        return "clusters", title, f"<p>Clusters {e(r.stages.get('clusters', 'not run'))}.</p>"
    shown, n_hits = made["map"]["shown"], made["map"]["n_hits"]
    col = annotation(r["sig"])
    caption = (
        "Similarity of the hit compounds: the correlation of their fingerprints (each compound's statistics over the "
        "lines' informative genes) in the principal components the clusters were built on, ordered by cluster; "
        "bars: the cluster"
        + (f" and the data's {col}" if col else "")
        + "."
        + (
            f" {shown} of the {n_hits} hits are shown: the strongest of each cluster (by DE genes), in proportion "
            "to its size."
            if shown < n_hits
            else ""
        )
    )
    parts = [
        "<p>The hit compounds were clustered by their fingerprints across the lines (scanpy's PCA, neighbour graph "
        "and Leiden; <code>dp.tl.cluster_signatures</code>): compounds of one mechanism move the same genes the same "
        "way, whatever their potency.</p>",
        img(r.out / "figures" / f"{made['map']['file']}.png", caption, wide=True),
        _cluster_table(r, found, col),
    ]
    return "clusters", title, "".join(parts)


def _cluster_table(r, found: pd.DataFrame, col: str | None) -> str:
    """Per cluster: its compounds, their annotation, and the pathways called most often among its signatures."""
    by = found.assign(cluster=found["cluster"].astype(str)).groupby("cluster", sort=False)
    out = pd.DataFrame({"compounds": by.size(), "DE genes (median)": by["n_deg"].median()})
    out = out.loc[sorted(out.index, key=lambda c: int(c[1:]))]
    if col is not None:
        names = r["sig"].obs.groupby("condition", observed=True)[col].first().astype(str)
        counts = found.assign(a=names.reindex(found["condition"].astype(str)).to_numpy())
        out[col] = counts.groupby("cluster", observed=True)["a"].agg(_composition).reindex(out.index)
    paths = r.get("cluster_pathways")
    if paths is not None:
        shown = (paths["n_called"] > 0) & ((paths["rank"] == 1) | (paths["share_called"] >= 0.25))
        text = paths[shown].assign(
            t=lambda d: (
                d["source"].map(pretty)
                + " "
                + np.where(d["direction"] == "up", "↑", "↓")
                + " ("
                + d["n_called"].astype(str)
                + "/"
                + d["n_signatures"].astype(str)
                + ", "
                + d["median_log2fc"].map(lambda v: f"{v:+.2f}")
                + ")"
            )
        )
        out["strongest pathways (called / signatures, median log2FC)"] = (
            text.groupby("cluster")["t"].agg("; ".join).reindex(out.index).fillna("")
        )
    return (
        "<p>The strongest pathways per cluster: those called (padj &lt; "
        f"{r.config.alpha:g}) in the most of the cluster's hit signatures (the first, and up to two more called in "
        "a quarter of them), with the median of their genes' mean log2 fold change (all three of each cluster in "
        "<code>tables/cluster_pathways.csv</code>):</p>" + table(out.rename_axis("cluster").reset_index())
    )


def _composition(values: pd.Series) -> str:
    counts = values.value_counts()
    return ", ".join(f"{k} ({v})" for k, v in counts.items())


def compounds(r):
    """Every compound in one table, sortable by any column and filtered by what is typed."""
    tab = r["compounds"].copy()
    tab["hit"] = np.where(tab["hit"].astype(bool), "yes", "no")
    parts = [
        f"<p>Every compound ({len(tab)}): hit in how many lines, its cluster, the genes called in each line, the "
        "pathways called in most of its hit signatures"
        + (" and its largest effect score (dp.tl.potency_rank)" if "effect score (max)" in tab else "")
        + ". Click a column to sort; type to filter (tables/screen_compounds.csv).</p>",
        "<p><input id='compound-table-filter' type='search' placeholder='filter: compound, cluster, pathway …' "
        "size='40'> <span id='compound-table-count' class='meta'></span></p>",
        table(tab, scroll=True, table_id="compound-table", classes="sortable", na_rep=""),
    ]
    return "compounds", "3. Every compound", "".join(parts)


def detail(r):
    """The strongest hits, one by one: the volcano of the line where most genes moved, and their pathways."""
    made = r["screen_figures"]["detail"]
    if not made:
        return None
    parts = [
        f"<p>The {len(made)} compound(s) "
        + ("named (detail=)" if not isinstance(r.config.detail, int) else "with the most DE genes")
        + ": the volcano of the line where most genes moved, and the pathways called in any line.</p>"
    ]
    compounds = r["compounds"].set_index("compound")
    for compound, rec in made.items():
        volcano = img(
            r.out / "figures" / f"{rec['file']}.png", f"{compound} in {rec['group']} (the line with most DE genes)."
        )
        parts.append(f"<h3>{e(compound)}</h3>" + grid([volcano, _facts(r, compounds.loc[compound], rec)]))
    return "detail", "4. The strongest hits", "".join(parts)


def _facts(r, row: pd.Series, rec: dict) -> str:
    """A compound's cluster, the lines where it is a hit, its strongest line's top genes, its pathways."""
    hits = r["hits"]
    best = hits.loc[hits["signature"] == rec["signature"]].iloc[0]
    cluster = f"cluster <b>{e(row['cluster'])}</b>; " if row.get("cluster") else ""
    mine = hits[hits["condition"] == row.name]
    lines = ", ".join(f"{e(g)} {int(n)}" for g, n in zip(mine["group"], mine["n_deg"], strict=True))
    return (
        f"<div><p>{cluster}a hit in {int(row['n_hit'])} of {int(row['n_lines'])} lines (DE genes: {lines}); "
        f"top genes in {e(rec['group'])}: {e(best['top_genes'])}.</p>{_detail_pathways(r, str(row.name))}</div>"
    )


def _detail_pathways(r, compound: str) -> str:
    """One compound's pathways called in any line: the effect in each line, marked where called."""
    paths = r.get("pathways")
    if paths is None:
        return ""
    gk, alpha = r.config.groupby, r.config.alpha
    mine = paths[paths["condition"].astype(str) == compound]
    called = mine.loc[mine["padj"] < alpha, "source"].unique()
    if not len(called):
        return f"<p>No pathway called at padj &lt; {alpha:g} in any line.</p>"
    mine = mine[mine["source"].isin(called)].assign(
        cell=lambda d: d["log2fc"].map(lambda v: f"{v:+.2f}") + np.where(d["padj"] < alpha, " *", "")
    )
    wide = mine.pivot_table(index="source", columns=gk, values="cell", aggfunc="first", observed=True)
    order = mine.groupby("source")["padj"].min().sort_values().index[:8]
    wide = wide.reindex(order).rename(index=pretty).rename_axis(None, axis=1).rename_axis("pathway")
    return f"<p>Pathways called in any line (mean log2FC of their genes; * padj &lt; {alpha:g}):</p>" + table(
        wide.reset_index()
    )


#: The screen's sections in order.
SECTIONS = (summary, design, clusters, compounds, detail, cohort, provenance)
