"""The report's sections, one function each: ``(anchor, title, html)`` from a run's results, or ``None``.

Each reads only what the stages produced (:class:`~drugprint.report._stages.Results`): the column names come from
the run's options, the significance level is the run's ``alpha``, and the engines and set tests are named as
their registries describe them.
"""

from __future__ import annotations

import pandas as pd

from .._anndata import categories
from .._labels import pretty
from .._signatures import conditions
from ..resources import GO_ONTOLOGIES, KEY_PATHWAYS
from ..tl._sets.methods import SET_METHODS
from ._cohort_sections import cohort, cohort_summary
from ._headline import group_order, headline_table, legend, readouts, verdict
from ._html import e, grid, group_figs, img, table
from ._sentences import (
    composition_summary,
    diff_col,
    filter_sentence,
    group_summary,
    profiles_sentence,
    removed_note,
    replicates_sentence,
    similarity_sentence,
)


def _groups(r) -> list[str]:
    return [str(g) for g in categories(r["sig"].obs[r.config.groupby])]


def _conditions(r) -> list[str]:
    return [str(c) for c in conditions(r["sig"])]


def _figs(r):
    return r.out / "figures", r["figures"]["overview"], r["figures"]["per_group"]


def _shown_compare(r) -> pd.DataFrame | None:
    """The comparisons of the groups where something moved (elsewhere they compare noise)."""
    compare = r.get("compare")
    if compare is None:
        return None
    per_group = r["figures"]["per_group"]
    return compare[compare["group"].isin([g for g in _groups(r) if "similarity" in per_group[g]])]


def summary(r):
    """The answer first (a verdict and the headline table), then each cell type in words, similarity, composition."""
    ro = readouts(r, imid=r["figures"]["imid"])
    parts = [group_summary(r, g) for g in group_order(r)]
    compare = _shown_compare(r)
    if compare is not None:
        metrics = r["figures"]["metric"]
        sentence = similarity_sentence(compare, "effect_r" if "effect_r" in metrics.values() else "spearman")
        if sentence:
            parts.append(sentence)
    if r.get("composition") is not None:
        parts.append(composition_summary(r["composition"], r.config.groupby, r["dropped"], r.config.alpha))
    if (line := cohort_summary(r)) is not None:
        parts.append(line)
    head = f"<p class='verdict'>{verdict(r, ro)}</p>{headline_table(ro, r)}{legend(r)}"
    return "summary", "Summary", f"<div class='summary'>{head}</div><p>" + "</p><p>".join(parts) + "</p>"


def _tests_sentence(r) -> str:
    """How the tests were read from each fit: every condition against the control, or the tests asked for."""
    de, c = r["de"], r.config
    tests = de["tests"]
    if len(tests) and (tests["test"] == "pair").all() and (tests["reference"] == de["control"]).all():
        return (
            f"every condition ({', '.join(map(e, _conditions(r)))}) was compared with <b>{e(de['control'])}</b> "
            "from that single fit" + (f", each against the control of the same {e(c.match)}" if c.match else "")
        )
    labels = list(dict.fromkeys(tests["label"].str.split(" @ ").str[0]))
    return f"each test ({'; '.join(map(e, labels))}) was read from that single fit"


def design(r):
    """Where the profiles came from, the design and tests of each fit, its replicates, what was not run."""
    c, de = r.config, r["de"]
    pdata = r["pdata"]
    record = r.get("pathways_record")
    few = record is not None and record["low_df"] is not None and len(record["low_df"]) > 0
    n_samples = pdata.obs[c.sample_key].nunique()
    text = (
        f"<p>{profiles_sentence(r.adata, pdata, c.groupby, n_samples, c.min_cells)} "
        + (f"Each {e(c.groupby)} was fitted separately with " if not r.samples else "The samples were fitted with ")
        + f"{e(de['label'])}"
        + (" and limma's robust empirical Bayes" if de["robust"] else "")
        + f" using the design <code>{e(de['design'])}</code>; {_tests_sentence(r)}. "
        f"{replicates_sentence(de['fits'], few, de['method'], c.alpha)} {filter_sentence(de)} "
    )
    if record is None:
        text += f"Pathways were not tested ({e(r.stages.get('pathways', ''))}).</p>"
    else:
        gs = r.provenance["gene_sets"]
        text += (
            f"Pathways ({e(gs.get('source', c.nets[0]))}, {e(gs.get('version', ''))}) were tested with "
            f"{e(record['method'])}"
            + (
                " on each fit's profiles, the samples as replicates.</p>"
                if record["replicates"]
                else " on each signature's gene statistics (descriptive: its p-values treat genes as independent).</p>"
            )
        )
    parts = [text]
    if not de["covariates"]:
        parts.append(
            "<p class='note'>No covariate entered the design: samples are treated as independent. If samples "
            "share donors (or batches), add that column (<code>--covariates donor</code>) for a paired analysis."
            "</p>"
        )
    not_run = {k: v for k, v in r.stages.items() if v != "done"}
    if not_run:
        parts += ["<p>Stages not run, and why:</p>", table(pd.DataFrame(not_run.items(), columns=["stage", "why"]))]
    return "design", "1. Inputs and design", "".join(parts)


def qc(r):
    """Cells per group and condition, the profiles dropped for too few cells, the tests not made."""
    c, dropped = r.config, r["dropped"]
    if r.samples:
        counts = r["pdata"].obs.groupby(c.condition_key, observed=True).size().rename("samples").to_frame().T
        parts = ["<h3>Samples per condition</h3>", table(counts, index=True)]
        if len(r["de"]["skipped"]):
            parts += ["<p>Not tested (and why):</p>", table(r["de"]["skipped"], scroll=True)]
        return "qc", "2. Quality control", "".join(parts)
    parts = [
        f"<h3>Cells per {e(c.groupby)} and condition</h3>",
        table(r["qc"], index=True, scroll=True),
        f"<p>{len(dropped)} profile(s) dropped for having fewer than {c.min_cells} cells"
        + (
            " (<code>removed_by_condition</code>: the sample's condition lowered that cell type's proportion, "
            "section 3):</p>" + table(dropped, scroll=True)
            if len(dropped)
            else ".</p>"
        ),
    ]
    if len(r["de"]["skipped"]):
        parts += ["<p>Not tested (and why):</p>", table(r["de"]["skipped"], scroll=True)]
    return "qc", "2. Quality control", "".join(parts)


def composition(r):
    """Which cells are there: the proportions' test, its figures, the changes called."""
    title = "3. Which cells are there: composition"
    comp = r.get("composition")
    if comp is None:
        return "composition", title, f"<p>Composition {e(r.stages.get('composition', ''))}.</p>"
    c, alpha = r.config, r.config.alpha
    figs, overview, _ = _figs(r)
    params, diff = r["composition_record"]["params"], diff_col(comp)
    parts = [
        f"<p>Cells were counted per sample and {e(c.groupby)}; each {e(c.groupby)}'s proportion "
        f"({e(params['transform'])}-transformed) was fitted with <code>{e(params['design'])}</code> by limma's "
        "moderated t over the samples (propeller, Phipson et al. 2022, Bioinformatics), against "
        f"<b>{e(params['control'])}</b>; p-values are adjusted over the cell types of each condition. A drug "
        "that kills one cell type raises the proportions of all others a little, so read the strongest "
        "changes first.</p>",
        img(
            figs / f"{overview['composition']}.png",
            "Proportion of each cell type per condition: bars the mean, points the samples; "
            f"* padj < {alpha:g} against the control.",
            wide=True,
        ),
        img(
            figs / f"{overview['composition_heatmap']}.png",
            "The fitted difference of each cell type's proportion against the control (covariates adjusted, the "
            f"numbers the tests and the headline use); * padj < {alpha:g}.",
            wide=True,
        ),
    ]
    hits = comp[comp["padj"] < alpha]
    cols = [c.groupby, "condition", "prop_reference", "prop", "log2fc", diff, f"{diff}_lo", f"{diff}_hi", "padj"]
    parts.append(
        f"<p>Changes at padj &lt; {alpha:g} (proportions: mean over samples; the interval is the 95 % interval of the "
        f"fitted {e(diff)}; all tests in <code>tables/composition.csv</code>):</p>"
        + table(hits.sort_values("padj")[cols], scroll=True)
        if len(hits)
        else f"<p>No cell type's proportion changed at padj &lt; {alpha:g} (all tests in "
        "<code>tables/composition.csv</code>).</p>"
    )
    removed = r["dropped"][r["dropped"]["removed_by_condition"]]
    if len(removed):
        parts.append(f"<p class='note'>{removed_note(removed, c.groupby)}</p>")
    skipped = r["composition_record"]["skipped"]
    if len(skipped):
        parts += ["<p>Left out of the composition test (and why):</p>", table(skipped, scroll=True)]
    return "composition", title, "".join(parts)


def de(r):
    """Genes called per group and test, the fits, a volcano per group."""
    summary, alpha = r["de_summary"], r.config.alpha
    figs, _, per_group = _figs(r)
    groups, conditions = _groups(r), _conditions(r)
    updown = summary.assign(cell=lambda d: d["n_up"].astype(str) + " ↑ / " + d["n_down"].astype(str) + " ↓")
    updown = updown.pivot_table(index="group", columns="condition", values="cell", aggfunc="first")
    updown = updown.reindex(
        index=[g for g in groups if g in updown.index], columns=[c for c in conditions if c in updown.columns]
    )
    tests = r["de"]["tests"]
    default = len(tests) and (tests["test"] == "pair").all() and (tests["reference"] == r["de"]["control"]).all()
    parts = [
        f"<p>Genes at adjusted p &lt; {alpha:g} (up / down) for "
        + ("each condition against the control" if default else "each test")
        + f", adjusted within each cell type (<code>padj</code>): {int(summary['n_deg'].sum())} calls in all."
        + (
            " Adjusted instead over all cell types' tests of the same condition at once (<code>padj_global</code>, "
            f"muscat's p_adj.glb), there are {int(summary['n_deg_global'].sum())} (per condition and cell type: "
            "<code>tables/de_summary.csv</code>)."
            if "n_deg_global" in summary
            else ""
        )
        + "</p>",
        table(updown, index=True, scroll=True),
        _fits(r["de"]),
        group_figs(figs, groups, per_group, {"volcano": "volcano of the condition with most DE genes"}),
        _all_volcanoes(figs, groups, per_group),
        _enrichment(r),
    ]
    title = "4. Differential expression" + ("" if r.samples else " per cell type")
    return "de", title, "".join(parts)


def _collection_name(net: dict, name: str) -> str:
    """A collection as a sentence names it: ``Gene Ontology biological process``, or its recorded source."""
    code = name.removeprefix("go_")
    return (
        f"Gene Ontology {GO_ONTOLOGIES[code]}"
        if name.startswith("go_") and code in GO_ONTOLOGIES
        else net.get("source", name)
    )


def _enrichment(r) -> str:
    """What the up and the down genes do: Table 3 with the top terms of each list, and the dot plot."""
    record = r.get("enrich_record")
    if record is None:
        return f"<h3>What the up and down genes do</h3><p>Over-representation {e(r.stages.get('enrich', ''))}.</p>"
    params, net = record["params"], record["net"]
    figs, overview, _ = _figs(r)
    cols = ["group", "condition", "n_up", "n_down", "n_total", "top_terms_up", "top_terms_down"]
    degs = r["degs"][[c for c in cols if c in r["degs"]]]
    return (
        "<h3>What the up and down genes do</h3>"
        f"<p>The genes called up and those called down (padj &lt; {params['alpha']:g}) were tested separately for "
        f"over-representation in {e(_collection_name(net, params['net']))} ({e(net.get('version', ''))}) by the "
        "one-sided hypergeometric test of limma's goana: the universe is each signature's tested genes that carry "
        f"an annotation, terms of {params['min_size']}–{params['max_size']} of those genes are tested, and p-values "
        "are adjusted within each list. Table 3 (<code>tables/table3_degs.csv</code>; every list's top terms in "
        "<code>tables/enrich.csv</code>):</p>"
        + table(degs, scroll=True)
        + img(
            figs / f"{overview['enrich']}.png",
            "Terms over-represented among the up (left) and down (right) "
            f"genes: size the list's genes in the term, colour −log10 padj, black edge padj < {params['alpha']:g}.",
            wide=True,
        )
    )


def _fits(de: dict) -> str:
    """One row per fit: its profiles per condition and residual df (what the tests rest on), and the engine's notes."""
    fits = de["fits"]
    cols = ["group", "profiles_per_condition", "residual_df", "n_genes_tested", "design"]
    cols += [
        c for c in ("dispersion_trend", "block_correlation") if c in fits and fits[c].astype(str).str.len().gt(0).any()
    ]
    parts = [
        "<p>Fits (one per cell type: the profiles of each condition and the residual degrees of freedom its "
        "tests rest on):</p>",
        table(fits[[c for c in cols if c in fits] + ["seconds"]]),
    ]
    if de.get("warnings"):
        items = "".join(f"<li>{e(w)}</li>" for w in de["warnings"])
        parts.append(f"<p>What the fits reported:</p><ul class='notes'>{items}</ul>")
    return "".join(parts)


def _all_volcanoes(figs, groups, per_group) -> str:
    """Every condition's volcano, when the run asked for them (``volcanoes="all"``), folded."""
    items = [
        img(figs / f"{name}.png", f"{g}: {cond}.") for g in groups for cond, name in per_group[g].get("volcanoes", [])
    ]
    return (
        f"<details><summary>Volcano of every condition ({len(items)})</summary>{grid(items)}</details>" if items else ""
    )


def _basis_note(record: dict) -> str:
    """Why the pathway p-values are what they are: the replicates, or (descriptive) the genes."""
    method = record["method"]
    replicate_tests = ", ".join(n for n, m in SET_METHODS.items() if m.replicates)
    if record["replicates"]:
        return (
            f"<p class='note'>Why samples are the replicates: the genes of a pathway rise and fall together from "
            f"sample to sample (donor state, activation, handling), so counting genes as independent evidence calls "
            f"pathways that no drug moved. Each pathway is therefore tested on the profiles of its own fit "
            f"({e(method)}: {e(record['null'])}), and every interval comes from the replicates.</p>"
        )
    return (
        f"<p class='note'>Pathway p-values here come from {e(method)} on each signature's gene statistics "
        f"({e(record['null'])}). The genes of a pathway rise and fall together from sample to sample, so these "
        "p-values are too small: read them as a description; the intervals still come from the replicates. "
        f"For calls, use a test with the samples as replicates ({replicate_tests}).</p>"
    )


def pathways(r):
    """The pathway heatmaps, the tiers and ranks of effect (potency where a dose series backs the word)."""
    doses = r.stages.get("dose") == "done"
    title = "5. Pathways and potency" if doses else "5. Pathways and the size of each effect"
    record = r.get("pathways_record")
    if record is None:
        return "pathways", title, f"<p>Pathways {e(r.stages.get('pathways', ''))}.</p>"
    alpha, method = r.config.alpha, record["method"]
    figs, overview, per_group = _figs(r)
    groups = _groups(r)
    parts = [
        _basis_note(record),
        img(
            figs / f"{overview['heatmap']}.png",
            "Pathways per cell type and condition, coloured by the mean log2 fold change of their genes (one scale "
            "for all cell types, so colours compare between them): the key pathways that moved, then those that "
            f"moved most often; dots: padj < {alpha:g} ({method}).",
            wide=True,
        ),
    ]
    for key, name in overview.items():
        if key.startswith("heatmap_"):
            coll = r.provenance["other_gene_sets"].get(key[len("heatmap_") :], {})
            caption = f"{coll.get('source', key)}: mean log2 fold change of each set's genes per cell type."
            parts.append(img(figs / f"{name}.png", caption, wide=True))
    th = r["thresholds"]
    parts.append(
        f"<p>Tiers: <b>none</b> (not significant), then by the mean |log2FC| of the pathway's genes: <b>modest</b> "
        f"&lt; {th[0]}, <b>moderate</b> &lt; {th[1]}, <b>strong</b> above, each with its 95 % interval "
        "(in the cells of the tier tables; <code>log2fc_lo</code>, <code>log2fc_hi</code> in "
        "<code>tables/potency_pathways.csv</code>)."
        + (
            f" The {'potency' if doses else 'effect'} score pools every responsive pathway and panel (scaled "
            "effects); its intervals, P(first) and the p-value of each order come from redrawing the effects from "
            "the replicates."
            + ("" if doses else " Without a dose series these rank effects at the tested concentrations, not potency.")
            if r.get("rank") is not None
            else ""
        )
        + "</p>"
    )
    word = "potency" if doses else "effect (at the tested concentration)"
    kinds = {"tiers": f"pathway × condition {word} tiers", "rank": f"{word} ranking with 95 % intervals"}
    parts.append(group_figs(figs, groups, per_group, kinds))
    silent = [g for g in groups if "tiers" not in per_group[g]]
    if silent:
        parts.append(f"<p>No pathway reached significance for any condition in: {', '.join(map(e, silent))}.</p>")
    return "pathways", title, "".join(parts)


def _coverage(r) -> str:
    """Genes tested of each panel, per cell type: what each panel's claim rests on, and which were not scored."""
    cov, scored = r.get("panel_coverage"), r.get("panels")
    if cov is None or not len(cov):
        return ""
    cov = cov.drop_duplicates(["group", "panel"])
    done = set() if scored is None else set(zip(scored[r.config.groupby].astype(str), scored["source"], strict=True))
    cov = cov.assign(
        cell=[
            f"{t}/{n}" + ("" if (str(g), p) in done else " (not scored)")
            for g, p, t, n in zip(cov["group"], cov["panel"], cov["n_tested"], cov["n_genes"], strict=True)
        ]
    )
    shown = cov.pivot_table(index="group", columns="panel", values="cell", aggfunc="first")
    return (
        "<p>Genes tested of each panel (tested / in the panel). A panel is scored only where at least half of its "
        "genes, and two, were tested: a panel's name claims a programme, and a quarter of it is not that "
        "programme.</p>" + table(shown, index=True)
    )


def panels(r):
    """The gene panels: cytotoxicity dot plot, panels called, and what transcripts can say of degradation."""
    scored, potency_panels = r.get("panels"), r.get("potency_panels")
    if scored is None:
        return "panels", "6. Gene panels", f"<p>Panels {e(r.stages.get('panels', ''))}.</p>"
    figs, overview, _ = _figs(r)
    imid = r["figures"]["imid"]
    parts = []
    if "cytotoxicity" in overview:
        caption = "Cytotoxicity genes in the cell types where the panel moved: colour log2FC, size −log10 padj."
        parts.append(img(figs / f"{overview['cytotoxicity']}.png", caption, wide=True))
    else:
        parts.append("<p>The cytotoxicity panel (NKG7, GZMB, PRF1, IFNG …) moved in no cell type.</p>")
    if potency_panels is not None:  # with their tiers
        called = potency_panels[potency_panels["tier"].astype(str) != "none"].astype({"tier": str})
        cols = ["group", "condition", "source", "log2fc", "log2fc_lo", "log2fc_hi", "padj", "tier"]
    else:  # pathways left out: no tiers, the calls alone
        called = scored[scored["padj"] < r.config.alpha]
        cols = [r.config.groupby, "condition", "source", "log2fc", "log2fc_lo", "log2fc_hi", "padj"]
    parts.append(
        table(called[cols], scroll=True) if len(called) else "<p>No panel moved significantly in any cell type.</p>"
    )
    parts.append(_coverage(r))
    if imid:
        parts.append(
            "<p class='note'>Neosubstrates (IKZF1, IKZF3, CK1α …) are degraded as <i>proteins</i>. Their mRNA "
            "does not report degradation and may even rise; transcript readouts here are not evidence of "
            "degradation, which needs protein data (<code>dp.tl.neosubstrates</code>).</p>"
        )
    title = "6. Gene panels" + (": cytotoxicity and the IMiD axis" if imid else "")
    return "panels", title, "".join(parts)


def similarity(r):
    """How alike the conditions are: the effect correlation (split donors), else the signatures' Spearman."""
    title = "7. Drug similarity"
    compare = _shown_compare(r)
    if compare is None:
        return "similarity", title, f"<p>Similarity {e(r.stages.get('compare', ''))}.</p>"
    figs, _, per_group = _figs(r)
    metric = r["figures"]["metric"]
    by = {m: [g for g, v in metric.items() if v == m] for m in dict.fromkeys(metric.values())}
    parts = []
    if "effect_r" in by:
        parts.append(
            f"<p>In {e(', '.join(by['effect_r']))} similarity is the <b>effect correlation</b>: donors are split in "
            "halves, one drug's effect in one half is correlated with the other's in the other half and corrected "
            "for split-half reliability (capped at 1), so the shared control cannot create similarity.</p>"
        )
    if "spearman" in by:
        parts.append(
            f"<p class='note'>In {e(', '.join(by['spearman']))} similarity is the Spearman correlation of the "
            "signatures (too few donors to split): signatures tested against the same control share its noise, "
            "which inflates their correlation.</p>"
        )
    parts.append(group_figs(figs, _groups(r), per_group, {"similarity": "condition × condition similarity"}))
    ok = compare["comparable"].astype(bool) if "comparable" in compare else pd.Series(True, index=compare.index)
    names = ("group", "a", "b", "effect_r", "effect_r_lo", "effect_r_hi", "spearman", "spearman_lo", "spearman_hi")
    cols = [c for c in (*names, "jaccard") if c in compare]
    parts.append(
        table(compare.loc[ok, cols], scroll=True)
        if ok.any()
        else "<p>No pair of conditions could be compared: none has a reproducible effect in the same cell type.</p>"
    )
    if (~ok).any():
        parts.append(
            f"<p>{int((~ok).sum())} pair(s) left out, and why:</p>"
            + table(compare.loc[~ok, ["group", "a", "b", "note"]], scroll=True)
        )
    return "similarity", title, "".join(parts)


def dose_time(r):
    """Dose-response fits of the key pathways, activity over time; ``None`` without doses or time points."""
    figs, _, per_group = _figs(r)
    groups, dose = _groups(r), r.get("dose")
    if dose is None and not any("time" in per_group[g] for g in groups):
        return None
    parts = []
    if dose is not None:
        shown = dose[dose["source"].isin(KEY_PATHWAYS[:3])]
        cols = ["group", "drug", "source", "ec50", "ec50_lo", "ec50_hi", "emax", "hill", "r2", "ec50_rank"]
        parts.append(table(shown[cols].assign(source=lambda d: d["source"].map(pretty)), scroll=True))
    kinds = {"dose": "activity against dose with Hill fits; dotted lines: EC50", "time": "activity over time"}
    parts.append(group_figs(figs, groups, per_group, kinds))
    return "dose", "8. Dose and time", "".join(parts)


def provenance(r):
    """Gene sets, versions, options and timings of the run."""
    prov = r.provenance
    gs = prov["gene_sets"]
    parts = [
        f"<p>Gene sets: {e(gs.get('source', ''))}, {e(gs.get('version', ''))}; {e(gs.get('citation', ''))}; "
        f"licence {e(gs.get('licence', ''))}; sha256 <code>{e(gs.get('sha256', ''))[:16]}…</code>.</p>",
        table(pd.DataFrame(prov["versions"].items(), columns=["package", "version"])),
        table(pd.DataFrame(prov["drugprint_run"].items(), columns=["parameter", "value"]).astype(str)),
        "<p>Timings (s): "
        + ", ".join(f"{k} {v}" for k, v in prov["timings_seconds"].items())
        + ". Full record: <code>provenance.json</code>; tables in <code>tables/</code>.</p>",
    ]
    return "provenance", "Provenance", "".join(parts)


#: The report's sections in order.
SECTIONS = (summary, design, qc, composition, de, pathways, panels, similarity, dose_time, cohort, provenance)
