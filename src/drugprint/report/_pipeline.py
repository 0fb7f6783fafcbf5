"""The main job end to end: cells → profiles → signatures → pathways, panels, potency, similarity → report."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Literal

import pandas as pd
from anndata import AnnData

from .. import get
from .._env import logger, versions
from .._results import renamed
from ..resources import provenance as provenance_of
from ..tl._de.engines import EngineName
from ..tl._sets.methods import SetMethodName
from ._config import RunConfig
from ._render import render
from ._stages import Results, stages, walk


def run(
    adata,
    out: str | PathLike,
    *,
    sample_key: str = "sample",
    groupby: str | None = "cell_type",
    condition_key: str = "drug",
    control: str | None = None,
    covariates: Sequence[str] | None = None,
    design: str | None = None,
    contrasts: Sequence[tuple[str, str]] | Mapping[str, Mapping[str, float]] | None = None,
    coef: str | Sequence[str] | None = None,
    reduced: str | None = None,
    block: str | None = None,
    method: EngineName = "deseq2",
    robust: bool = False,
    alpha: float = 0.05,
    match: str | None = None,
    donor_key: str | None = "donor",
    layer: str | None = None,
    use_raw: bool | None = None,
    min_cells: int = 10,
    nets: str | Sequence[str] = ("hallmark",),
    pathway_method: SetMethodName = "camera",
    enrich_net: str = "go_bp",
    skip: Sequence[str] = (),
    drug_key: str = "drug",
    dose_key: str = "dose",
    volcanoes: Literal["best", "all"] = "best",
    layout: Literal["auto", "study", "screen"] = "auto",
    detail: int | Sequence[str] = 10,
    cohort: str | PathLike | AnnData | None = None,
    time_key: str | Sequence[str] | None = None,
    event_key: str | Sequence[str] | None = None,
    endpoints: Sequence[str] | None = None,
    cohort_covariates: Sequence[str] | None = None,
    cohort_groups: Sequence[str] | None = None,
    split: Literal["median", "tertiles"] = "median",
    random_state: int = 0,
    n_cpus: int = 1,
    n_jobs: int = 1,
    title: str = "drugprint report",
    verbose: bool = True,
) -> dict:
    """Run the whole analysis on cells and write ``report.html``, CSV tables, figures and provenance to ``out``.

    Steps: :func:`~drugprint.pp.pseudobulk`, :func:`~drugprint.tl.de`, :func:`~drugprint.tl.composition` (the
    cell types' proportions, with the design's covariates and ``match``; profiles dropped because a condition
    removed their cells are named, see :func:`dropped_profiles`), :func:`~drugprint.tl.pathways` (one
    key per collection in ``nets``), :func:`~drugprint.tl.panels`, :func:`~drugprint.tl.potency` and
    :func:`~drugprint.tl.potency_rank`, :func:`~drugprint.tl.compare` (with the split-donor effect correlation
    when ``donor_key`` is present), the summary tables, and, when the signatures carry several doses or time
    points of a drug, :func:`~drugprint.tl.dose_response` and :func:`~drugprint.tl.time_course`. Given a patient
    ``cohort``, the signatures are scored in each patient (:func:`~drugprint.tl.signature_score`) and tested for
    survival (:func:`~drugprint.tl.survival`), in a section of their own.

    Any design :func:`~drugprint.tl.de` fits works: one treated arm or several, doses, time points. Optional
    stages (``OPTIONAL_STAGES``) run when their inputs exist; otherwise the report says why (a single treated
    arm has nothing to compare; no panel has enough measured genes) and the run goes on.

    Parameters
    ----------
    adata
        Cells × genes with raw counts (``layers["counts"]``, ``.raw`` or ``X``) and the ``obs`` keys below; or,
        with ``groupby=None``, samples × genes (bulk counts from :func:`~drugprint.io.read_counts`, or log
        intensities from :func:`~drugprint.io.read_microarray` with ``method="limma"``): each sample is a profile
        as it is, in one group, and the stages about cells (composition) are not run.
    out
        Output directory (created).
    sample_key, groupby, layer, use_raw, min_cells
        As in :func:`drugprint.pp.pseudobulk`; ``groupby=None``: the rows are samples (bulk), see ``adata``.
    condition_key, control, covariates, design, contrasts, coef, reduced, block, method, robust, match
        As in :func:`drugprint.tl.de` (``control=None``: the level labelled like a vehicle; ``covariates=None``:
        ``donor`` when present; ``design``: any formula instead, e.g. ``"~ donor + drug * time"``, with
        ``contrasts``, ``coef`` or ``reduced`` to choose the tests and ``block`` for correlated profiles;
        ``method``: ``"deseq2"`` or the faster ``"voom"``; ``robust``: limma's robust empirical Bayes with
        ``"voom"`` or ``"limma"``; ``match="time"`` pairs drugs and control by time point).
    alpha
        Significance level of every call the report makes and counts (adjusted p-values), and of DESeq2's
        independent filtering.
    donor_key
        ``obs`` column of donors, for the effect correlation of :func:`~drugprint.tl.compare` (used when present).
    nets
        Gene-set collection(s) for :func:`drugprint.tl.pathways`: names (``"hallmark"``, ``"progeny"``,
        ``"imid"``) or GMT/CSV paths. The first is stored as ``"pathways"`` and drives potency; others as
        ``"pathways_<name>"``.
    pathway_method
        Test of :func:`drugprint.tl.pathways` and :func:`drugprint.tl.panels` (:func:`drugprint.tl.set_methods`).
    enrich_net
        Collection for :func:`~drugprint.tl.enrich`, the over-representation of each condition's up and down
        genes (default Gene Ontology biological process; the top terms go into Table 3).
    skip
        Optional stages to leave out: any of ``"composition"``, ``"pathways"``, ``"panels"``, ``"enrich"``,
        ``"rank"``, ``"compare"``, ``"dose"``, ``"time"``. An optional stage that cannot run on the data (genes
        no collection knows, one arm …) is reported as not run, with the reason; the run goes on.
    drug_key, dose_key
        ``obs`` columns of the drug and its dose, for :func:`~drugprint.tl.dose_response` (run when a drug was given
        at three or more doses: the conditions are then drug × dose).
    volcanoes
        ``"best"``: one volcano per cell type (its condition with the most DE genes); ``"all"``: every
        condition's too, folded under the DE section.
    layout
        ``"study"``: every condition in full (the sections above); ``"screen"``: an overview for screens of
        hundreds to thousands of compounds: the hits per line (:func:`~drugprint.tl.screen_hits`), the clusters of
        the hit compounds (:func:`~drugprint.tl.cluster_signatures`) on a clustered similarity map with the
        strongest pathways of each, a sortable and searchable table of every compound, and the details of the
        strongest hits; the figure grids of each line and condition, the panels and the over-representation are
        skipped (and the report says why). ``"auto"``: the screen layout when a group has more than 30
        conditions.
    detail
        Screen layout: the compounds given a detail section (a volcano, the pathways of each line): a number (the
        hits with the most DE genes) or a list of names.
    cohort
        Patients × genes (a path to ``.h5ad``, ``.h5mu`` or ``.zarr``, or an AnnData, which is not modified) with
        follow-up in ``obs``: the signatures of ``cohort_groups`` are scored in every patient
        (:func:`~drugprint.tl.signature_score`: their genes at ``padj < alpha``) and each score is tested for
        each endpoint (:func:`~drugprint.tl.survival`: Cox per SD of the score, Kaplan–Meier curves, log-rank).
        The report gains the section "Patient cohort: does the signature predict survival?" and
        ``tables/cohort_survival.csv``. An association of a score with survival is not a causal effect of the
        drug, and the report says so.
    time_key, event_key
        ``obs`` columns of the cohort holding the time to event and the event (1 event, 0 censored): one of each
        per endpoint.
    endpoints
        Names of the endpoints (default the ``time_key`` columns).
    cohort_covariates
        ``obs`` columns of the cohort the Cox models adjust for (e.g. age, stage).
    cohort_groups
        The groups (values of ``groupby``) whose signatures are scored (default all).
    split
        Patient groups of the Kaplan–Meier curves and log-rank test: ``"median"`` or ``"tertiles"``.
    random_state
        Seed of the resampling in :func:`drugprint.tl.potency_rank` and :func:`drugprint.tl.compare`.
    n_cpus, n_jobs
        Processes per DESeq2 fit; cell types fitted in parallel.
    title
        Title of the report.
    verbose
        Progress bars on a terminal.

    Returns
    -------
    Dict with the profiles (``pdata``), signatures (``sig``), the potency table, the composition table
    (``composition``, ``None`` when not run), the scored ``cohort`` (with :func:`~drugprint.tl.survival`'s results;
    ``None`` without a cohort), the ``layout`` used, ``stages`` (what ran, and why not), timings and output paths.

    Examples
    --------
    >>> import drugprint as dp, tempfile
    >>> adata = dp.datasets.imid_screen("small")
    >>> nk = adata[adata.obs["cell_type"] == "NK"].copy()
    >>> res = dp.report.run(nk, tempfile.mkdtemp(), method="voom", verbose=False)
    >>> res["paths"]["report"].name
    'report.html'
    """
    options = {k: v for k, v in locals().items() if k not in ("adata", "out")}
    samples = groupby is None  # bulk: the rows are samples, one group
    if samples:
        options["groupby"], options["min_cells"] = "group", 1
    results = Results(config=RunConfig(**options), adata=adata, out=Path(out), samples=samples)
    for folder in ("figures", "tables"):
        (results.out / folder).mkdir(parents=True, exist_ok=True)
    for old in (results.out / "figures").glob("*.png"):  # a rerun into the same folder must not show stale figures
        old.unlink()
    walk(results, stages(results.config))
    t0 = time.perf_counter()
    write_tables(results)
    results.provenance = provenance(results)
    (results.out / "provenance.json").write_text(json.dumps(results.provenance, indent=2, default=str))
    results["sig"].write_h5ad(results.out / "signatures.h5ad", compression="gzip")
    report = render(results)
    results.timings["report"] = time.perf_counter() - t0
    logger.info("report written to %s", report)
    return {
        "pdata": results["pdata"],
        "sig": results["sig"],
        "potency": results.get("potency"),
        "composition": results.get("composition"),
        "cohort": results.get("cohort"),
        "layout": results.get("layout", "study"),
        "stages": results.stages,
        "timings": results.timings,
        "paths": {"report": report, "tables": results.out / "tables", "figures": results.out / "figures"},
    }


#: The tables a run writes into ``tables/``: product → (file name, whether the index is written).
TABLES = {
    "de_results": ("de_results", False),
    "pathways": ("pathways", False),
    "panels": ("panels", False),
    "potency": ("potency_pathways", False),
    "potency_panels": ("potency_panels", False),
    "rank": ("potency_rank", False),
    "compare": ("similarity", False),
    "tiers": ("table2_tiers", True),
    "degs": ("table3_degs", False),
    "de_summary": ("de_summary", False),
    "qc": ("qc_cells_per_group", True),
    "dropped": ("qc_dropped_profiles", False),
    "composition": ("composition", False),
    "composition_counts": ("composition_counts", False),
    "enrich": ("enrich", False),
    "dose": ("dose_response", False),
    "time": ("time_course", False),
    "hits": ("screen_hits", False),
    "hit_conditions": ("screen_hits_per_compound", False),
    "clusters": ("clusters", False),
    "cluster_pathways": ("cluster_pathways", False),
    "compounds": ("screen_compounds", False),
    "cohort_survival": ("cohort_survival", False),
    "cohort_signatures": ("cohort_signatures", False),
}


#: Conditions whose calls are tabled at once in a screen (the long table of a block, never of the whole screen).
SCREEN_BLOCK = 100


def write_tables(results: Results) -> None:
    """Every table the stages produced into ``tables/*.csv`` (stale tables of an earlier run removed first)."""
    folder = results.out / "tables"
    for old in folder.glob("*.csv"):  # a rerun into the same folder must not leave stale tables
        old.unlink()
    tables = dict(results.products)
    sig = results["sig"]
    if results.get("layout") == "screen":  # the calls only (every gene is in signatures.h5ad), a block at a time
        names = get.conditions(sig)
        blocks = [names[i : i + SCREEN_BLOCK] for i in range(0, len(names), SCREEN_BLOCK)]
        tables["de_results"] = pd.concat([get.de_table(sig, conditions=b, alpha=results.config.alpha) for b in blocks])
    else:
        tables["de_results"] = get.de_table(sig)
    if "cells" in tables:
        tables["composition_counts"] = results["cells"].uns["composition"]["counts"]
    extra = {k: (k, False) for k in results.get("nets", {}) if k != "pathways"}
    for product, (name, index) in {**TABLES, **extra}.items():
        if tables.get(product) is not None:
            tables[product].to_csv(folder / f"{name}.csv", index=index)


def provenance(results: Results) -> dict:
    """The record of a run: its options as resolved, what each stage did, the tools' parameters, versions, timings."""
    r, c = results, results.config
    de, path, comp = r["de"], r.get("pathways_record"), r.get("composition_record")
    sig, nets = r["sig"], r.get("nets", {})
    run = {**c.record(), "control": de["control"], "covariates": list(de["covariates"])}
    return {
        "drugprint_run": run,
        "stages": r.stages,
        "input": {"n_cells": int(r.adata.n_obs), "n_genes": int(r.adata.n_vars)},
        "pseudobulk": {k: v for k, v in r["pdata"].uns["pseudobulk"].items() if k != "dropped"},
        "de": de["record"],
        "de_groups": de["fits"].to_dict(orient="records"),
        "de_skipped": de["skipped"].to_dict(orient="records"),
        "gene_sets": provenance_of(nets["pathways"]) if "pathways" in nets else {},
        "other_gene_sets": {k: provenance_of(v) for k, v in nets.items() if k != "pathways"},
        "pathways": None if path is None else {**path["record"], "pvalue_basis": path["pvalue_basis"]},
        "composition": comp["params"] if comp is not None else None,
        "composition_skipped": comp["skipped"].to_dict(orient="records") if comp is not None else [],
        "potency": sig.uns["potency"]["params"] if "potency" in r.products else None,
        "potency_rank": sig.uns["potency_rank"]["params"] if "rank" in r.products else None,
        "compare": sig.uns["compare"]["params"] if "compare" in r.products else None,
        "screen_hits": sig.uns["screen_hits"]["params"] if "hits" in r.products else None,
        "clusters": sig.uns["clusters"]["params"] if r.get("clusters") is not None else None,
        "cohort": r.get("cohort_record"),
        "versions": versions(),
        "timings_seconds": {k: round(v, 2) for k, v in r.timings.items()},
    }


@renamed(seed="random_state")
def demo(
    out: str | PathLike = "results",
    *,
    preset: str = "default",
    random_state: int = 0,
    n_cpus: int = 1,
    n_jobs: int = 1,
    verbose: bool = True,
) -> dict:
    """Simulate the bundled IMiD/CELMoD screen and run :func:`run` on it.

    Parameters
    ----------
    out
        Output directory (created).
    preset
        Size of the simulated screen: ``"default"`` or ``"small"`` (:func:`drugprint.datasets.imid_screen`).
    random_state
        Seed of the simulation and of the resampling in :func:`run`.
    n_cpus, n_jobs
        Processes per DESeq2 fit; cell types fitted in parallel.
    verbose
        Progress bars on a terminal.

    Returns
    -------
    What :func:`run` returns, with the simulation's time added to ``timings``.

    Examples
    --------
    >>> import drugprint as dp, tempfile
    >>> res = dp.report.demo(tempfile.mkdtemp(), preset="small", verbose=False)  # doctest: +SKIP
    """
    from ..datasets import imid_screen

    t0 = time.perf_counter()
    adata = imid_screen(preset, random_state=random_state)
    t_sim = time.perf_counter() - t0
    res = run(
        adata,
        out,
        random_state=random_state,
        n_cpus=n_cpus,
        n_jobs=n_jobs,
        verbose=verbose,
        title=f"drugprint demo: simulated IMiD/CELMoD screen ({preset} preset, random_state {random_state})",
    )
    res["timings"] = {"simulate": t_sim, **res["timings"]}
    return res
