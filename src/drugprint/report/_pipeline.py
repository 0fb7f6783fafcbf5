"""The main job end to end: cells → profiles → signatures → pathways, panels, potency, similarity → report."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import get, pp, tl
from .._anndata import categories
from .._env import logger, versions
from .._results import renamed
from ..resources import KEY_PATHWAYS, genesets, provenance
from ._figures import draw_all, is_imid_study, slug


def de_summary(sig, groupby: str, alpha: float = 0.05) -> pd.DataFrame:
    """Per signature: genes tested, up and down at ``padj < alpha`` within the cell type.

    With ``padj_global`` (from :func:`drugprint.tl.de`), ``n_deg_global`` counts the genes at
    ``padj_global < alpha``: adjusted over all cell types' tests of the same contrast.

    Parameters
    ----------
    sig
        Signatures from :func:`drugprint.tl.de`.
    groupby
        ``obs`` column of the groups (cell types).
    alpha
        Significance level on the adjusted p-values.

    Returns
    -------
    DataFrame, one row per signature: ``signature``, ``group``, ``condition``, ``n_tested``, ``n_up``,
    ``n_down``, ``n_deg`` and (with ``padj_global``) ``n_deg_global``.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    >>> tab = dp.report.de_summary(sig, "cell_type")
    >>> bool((tab["n_deg"] == tab["n_up"] + tab["n_down"]).all()), len(tab) == sig.n_obs
    (True, True)
    """
    padj = np.asarray(sig.layers["padj"], dtype=float)
    lfc = np.asarray(sig.layers["log2fc"], dtype=float)
    hit = padj < alpha
    out = pd.DataFrame(
        {
            "signature": sig.obs_names,
            "group": sig.obs[groupby].astype(str).to_numpy(),
            "condition": sig.obs["condition"].astype(str).to_numpy(),
            "n_tested": sig.obs["n_genes_tested"].to_numpy(),
            "n_up": (hit & (lfc > 0)).sum(axis=1),
            "n_down": (hit & (lfc < 0)).sum(axis=1),
        }
    ).assign(n_deg=lambda d: d["n_up"] + d["n_down"])
    if "padj_global" in sig.layers:
        out["n_deg_global"] = (np.asarray(sig.layers["padj_global"], dtype=float) < alpha).sum(axis=1)
    return out


#: Stages ``run`` can leave out (``skip=``); the others are the analysis itself.
OPTIONAL_STAGES = ("composition", "panels", "rank", "compare", "dose", "time")


def _composition(adata, sample_key: str, groupby: str, condition_key: str, control: str, covariates) -> AnnData:
    """:func:`~drugprint.tl.composition` on a copy of the cells' ``obs`` only (the caller's object is not touched)."""
    cells = AnnData(obs=adata.obs.copy())
    tl.composition(cells, sample_key, groupby, condition_key, control, covariates)
    return cells


def dropped_profiles(
    dropped: pd.DataFrame,
    obs: pd.DataFrame,
    *,
    sample_key: str,
    groupby: str,
    condition_key: str,
    composition: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Profiles pseudobulk dropped for too few cells, with their condition and whether the condition removed the cells.

    A drug that kills a cell type can push its profiles below ``min_cells``: those cells are then missing from the
    expression analysis *because of* the drug, and the signature of that cell type under that drug rests on the
    profiles that survived. This joins each dropped profile to the composition test of its cell type and condition.

    Parameters
    ----------
    dropped
        ``uns["pseudobulk"]["dropped"]`` of :func:`drugprint.pp.pseudobulk`: one row per dropped profile.
    obs
        The cells' ``obs``, to read each sample's condition.
    sample_key, groupby, condition_key
        ``obs`` columns of the samples, cell types and conditions.
    composition
        :func:`drugprint.get.composition_table`, or ``None`` when it was not run.
    alpha
        Significance level on the composition ``padj``.

    Returns
    -------
    ``dropped`` with ``condition``, the composition test's ``prop_log2fc`` and ``prop_padj`` of that cell type and
    condition (NaN for the control or without a test), and ``removed_by_condition``: the condition lowered the
    cell type's proportion at ``padj < alpha``.

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small")
    >>> pdata = dp.pp.pseudobulk(adata)
    >>> dp.tl.composition(adata)
    >>> tab = dp.report.dropped_profiles(
    ...     pdata.uns["pseudobulk"]["dropped"], adata.obs, sample_key="sample", groupby="cell_type",
    ...     condition_key="drug", composition=dp.get.composition_table(adata),
    ... )
    >>> tab.loc[tab["removed_by_condition"], ["sample", "cell_type", "condition"]].values.tolist()
    [['D1_mezigdomide', 'Myeloma', 'mezigdomide']]
    """
    condition = obs.groupby(sample_key, observed=True)[condition_key].first().astype(str)
    condition.index = condition.index.astype(str)
    out = dropped.assign(condition=dropped[sample_key].astype(str).map(condition))
    out["prop_log2fc"], out["prop_padj"] = np.nan, np.nan
    if composition is not None and len(out):
        test = composition.assign(**{groupby: composition[groupby].astype(str)}).set_index([groupby, "condition"])
        keys = pd.MultiIndex.from_arrays([out[groupby].astype(str), out["condition"]])
        found = keys.isin(test.index)
        out.loc[found, "prop_log2fc"] = test.loc[keys[found], "log2fc"].to_numpy()
        out.loc[found, "prop_padj"] = test.loc[keys[found], "padj"].to_numpy()
    out["removed_by_condition"] = (out["prop_padj"] < alpha) & (out["prop_log2fc"] < 0)
    return out


def _net_key(i: int, name: str) -> str:
    return "pathways" if i == 0 else f"pathways_{slug(Path(name).stem if Path(name).suffix else name)}"


def _stage(stages: dict[str, str], name: str, skip: Sequence[str], why_not: str | None, fn):
    """Run an optional stage unless skipped or impossible; record what happened and why (never abort)."""
    if name in skip:
        stages[name] = "skipped on request"
        return None
    if why_not:
        stages[name] = f"not run: {why_not}"
        logger.info("%s not run: %s", name, why_not)
        return None
    try:
        out = fn()
    except (ValueError, KeyError) as err:  # an optional stage that cannot run on these data is reported, not fatal
        message = err.args[0] if err.args else str(err)
        stages[name] = f"not run: {message}"
        warnings.warn(f"{name} not run: {message}", UserWarning, stacklevel=3)
        return None
    stages[name] = "done"
    return out


def _table(tool, getter, sig, *args, **kwargs):
    """Run a ``dp.tl`` tool on ``sig`` and read its table back with its ``dp.get`` getter."""
    tool(sig, *args, **kwargs)
    return getter(sig, kwargs["key_added"]) if "key_added" in kwargs else getter(sig)


def run(
    adata,
    out: str | PathLike,
    *,
    sample_key: str = "sample",
    groupby: str = "cell_type",
    condition_key: str = "drug",
    control: str | None = None,
    covariates: Sequence[str] | None = None,
    method: Literal["deseq2", "voom", "limma", "ttest"] = "deseq2",
    robust: bool = False,
    match: str | None = None,
    donor_key: str | None = "donor",
    layer: str | None = None,
    use_raw: bool | None = None,
    min_cells: int = 10,
    nets: str | Sequence[str] = "hallmark",
    pathway_method: Literal["camera", "fry", "activity", "ulm"] = "camera",
    skip: Sequence[str] = (),
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
    points of a drug, :func:`~drugprint.tl.dose_response` and :func:`~drugprint.tl.time_course`.

    Any design :func:`~drugprint.tl.de` fits works: one treated arm or several, doses, time points. Optional
    stages (``OPTIONAL_STAGES``) run when their inputs exist; otherwise the report says why (a single treated
    arm has nothing to compare; no panel has enough measured genes) and the run goes on.

    Parameters
    ----------
    adata
        Cells × genes with raw counts (``layers["counts"]``, ``.raw`` or ``X``) and the ``obs`` keys below.
    out
        Output directory (created).
    sample_key, groupby, layer, use_raw, min_cells
        As in :func:`drugprint.pp.pseudobulk`.
    condition_key, control, covariates, method, robust, match
        As in :func:`drugprint.tl.de` (``control=None``: the level labelled like a vehicle; ``covariates=None``:
        ``donor`` when present; ``method``: ``"deseq2"`` or the faster ``"voom"``; ``robust``: limma's robust
        empirical Bayes with ``"voom"`` or ``"limma"``; ``match="time"`` pairs drugs and control by time point).
    donor_key
        ``obs`` column of donors, for the effect correlation of :func:`~drugprint.tl.compare` (used when present).
    nets
        Gene-set collection(s) for :func:`drugprint.tl.pathways`: names (``"hallmark"``, ``"progeny"``,
        ``"imid"``) or GMT/CSV paths. The first is stored as ``"pathways"`` and drives potency; others as
        ``"pathways_<name>"``.
    pathway_method
        Test of :func:`drugprint.tl.pathways` and :func:`drugprint.tl.panels`.
    skip
        Optional stages to leave out: any of ``"composition"``, ``"panels"``, ``"rank"``, ``"compare"``,
        ``"dose"``, ``"time"``.
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
    (``composition``, ``None`` when not run), ``stages`` (what ran, and why not), timings and output paths.

    Examples
    --------
    >>> import drugprint as dp, tempfile
    >>> adata = dp.datasets.imid_screen("small")
    >>> nk = adata[adata.obs["cell_type"] == "NK"].copy()
    >>> res = dp.report.run(nk, tempfile.mkdtemp(), method="voom", verbose=False)
    >>> res["paths"]["report"].name
    'report.html'
    """
    from ._html import render

    nets = [nets] if isinstance(nets, str | PathLike) else list(nets)
    if not nets:
        raise ValueError("nets is empty; name at least one gene-set collection (e.g. 'hallmark').")
    skip = [skip] if isinstance(skip, str) else list(skip)
    unknown = [s for s in skip if s not in OPTIONAL_STAGES]
    if unknown:
        raise ValueError(f"skip= names unknown stage(s) {unknown}; optional stages: {', '.join(OPTIONAL_STAGES)}.")
    out = Path(out)
    figs, tables = out / "figures", out / "tables"
    figs.mkdir(parents=True, exist_ok=True)
    tables.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    stages: dict[str, str] = {}

    t0 = time.perf_counter()
    pdata = pp.pseudobulk(
        adata, sample_key=sample_key, groupby=groupby, layer=layer, use_raw=use_raw, min_cells=min_cells
    )
    timings["pseudobulk"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sig = tl.de(
        pdata,
        condition_key=condition_key,
        control=control,
        groupby=groupby,
        covariates=covariates,
        method=method,
        robust=robust,
        match=match,
        n_cpus=n_cpus,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    control, covariates = sig.uns["de"]["control"], sig.uns["de"]["covariates"]
    timings["de"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    comp_covariates = list(covariates) + ([match] if match and match not in covariates else [])
    one_type = f"a single {groupby} (proportions need two or more)" if adata.obs[groupby].nunique() < 2 else None
    cells = _stage(
        stages,
        "composition",
        skip,
        one_type,
        lambda: _composition(adata, sample_key, groupby, condition_key, control, comp_covariates),
    )
    comp = get.composition_table(cells) if cells is not None else None
    dropped = dropped_profiles(
        pdata.uns["pseudobulk"]["dropped"],
        adata.obs,
        sample_key=sample_key,
        groupby=groupby,
        condition_key=condition_key,
        composition=comp,
    )
    timings["composition"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    net_dfs = {}
    for i, name in enumerate(nets):
        key = _net_key(i, str(name))
        net_dfs[key] = genesets(name)
        if i == 0:  # the main collection: its failure is the run's
            tl.pathways(sig, net_dfs[key], method=pathway_method, key_added=key)
        else:
            _stage(
                stages, key, (), None, lambda k=key: tl.pathways(sig, net_dfs[k], method=pathway_method, key_added=k)
            )
    _stage(stages, "panels", skip, None, lambda: tl.panels(sig, method=pathway_method))
    has_panels = stages["panels"] == "done"
    pot = _table(tl.potency, get.potency_table, sig, "pathways")
    pot_panels = (
        _table(tl.potency, get.potency_table, sig, "panels", key_added="potency_panels") if has_panels else None
    )
    keys = ["pathways"] + (["panels"] if has_panels else [])
    per_group = sig.obs.groupby(groupby, observed=True).size()
    one_arm = "each cell type has a single condition against the control" if per_group.max() < 2 else None
    rank = _stage(
        stages,
        "rank",
        skip,
        one_arm,
        lambda: _table(tl.potency_rank, get.potency_rank_table, sig, keys, random_state=random_state),
    )
    has_donors = donor_key is not None and donor_key in pdata.obs and match is None
    cmp = _stage(
        stages,
        "compare",
        skip,
        one_arm and f"{one_arm}: there are no two drugs to compare",
        lambda: _table(
            tl.compare,
            get.compare_table,
            sig,
            pdata=pdata if has_donors else None,
            donor_key=donor_key or "donor",
            random_state=random_state,
        ),
    )
    doses = sig.obs.groupby("drug", observed=True)["dose"].nunique().max() if {"dose", "drug"} <= set(sig.obs) else 0
    key_sources = [s for s in KEY_PATHWAYS if s in sig.obsm["pathways"]] or None
    dose_fits = _stage(
        stages,
        "dose",
        skip,
        None if doses >= 3 else "no drug was given at three or more doses (obs 'drug' and 'dose')",
        lambda: _table(tl.dose_response, get.dose_table, sig, sources=key_sources),
    )
    time_table = _stage(
        stages,
        "time",
        skip,
        None if match is not None and match in sig.obs else "no time points (pass match= naming the time column)",
        lambda: _table(tl.time_course, get.time_course_table, sig, match, sources=key_sources),
    )
    tiers_table = get.summary_table(sig, "tiers")
    degs_table = get.summary_table(sig, "degs")
    timings["pathways_potency_comparison"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    summary = de_summary(sig, groupby)
    qc = (
        pdata.obs.pivot_table(index=groupby, columns=condition_key, values="n_cells", aggfunc="sum", observed=True)
        .fillna(0)
        .astype(int)
    )
    path_table = get.pathway_table(sig, "pathways")
    extra_tables = {k: get.pathway_table(sig, k) for k in net_dfs if k != "pathways" and k in sig.obsm}
    written = {
        "de_results": (get.de_table(sig), False),
        "pathways": (path_table, False),
        **{k: (t, False) for k, t in extra_tables.items()},
        "panels": (get.pathway_table(sig, "panels"), False) if has_panels else None,
        "potency_pathways": (pot, False),
        "potency_panels": (pot_panels, False) if has_panels else None,
        "potency_rank": (rank, False) if rank is not None else None,
        "similarity": (cmp, False) if cmp is not None else None,
        "table2_tiers": (tiers_table, True),
        "table3_degs": (degs_table, False),
        "de_summary": (summary, False),
        "qc_cells_per_group": (qc, True),
        "qc_dropped_profiles": (dropped, False),
        "composition": (comp, False) if comp is not None else None,
        "composition_counts": (cells.uns["composition"]["counts"], False) if cells is not None else None,
        "dose_response": (dose_fits, False) if dose_fits is not None else None,
        "time_course": (time_table, False) if time_table is not None else None,
    }
    for old in tables.glob("*.csv"):  # a rerun into the same folder must not leave stale tables
        old.unlink()
    for name, item in written.items():
        if item is not None:
            item[0].to_csv(tables / f"{name}.csv", index=item[1])

    moved = [t for t in (pot, pot_panels) if t is not None]
    responsive = sorted({str(g) for t in moved for g in t.loc[t["tier"].astype(str) != "none", "group"]})
    conditions = [c for c in categories(sig.obs["condition"])]
    imid = is_imid_study(conditions)
    overview, per_group_figs, similarity_metric = draw_all(
        figs,
        sig=sig,
        groupby=groupby,
        pathway_table=path_table,
        potency=pot,
        rank=rank,
        compare=cmp,
        de_summary=summary,
        dose_fits=dose_fits,
        time_table=time_table,
        composition=cells,
        imid=imid,
        extra_tables=extra_tables,
        responsive=responsive,
    )
    timings["tables_figures"] = time.perf_counter() - t0

    prov = {
        "drugprint_run": {
            "sample_key": sample_key,
            "groupby": groupby,
            "condition_key": condition_key,
            "control": control,
            "covariates": list(covariates),
            "method": method,
            "robust": robust,
            "match": match,
            "donor_key": donor_key,
            "layer": layer,
            "use_raw": use_raw,
            "min_cells": min_cells,
            "nets": [str(n) for n in nets],
            "pathway_method": pathway_method,
            "skip": skip,
            "n_cpus": n_cpus,
            "n_jobs": n_jobs,
        },
        "stages": stages,
        "input": {"n_cells": int(adata.n_obs), "n_genes": int(adata.n_vars)},
        "pseudobulk": {k: v for k, v in pdata.uns["pseudobulk"].items() if k != "dropped"},
        "de": {k: v for k, v in sig.uns["de"].items() if k not in ("fits", "skipped", "replicates")},
        "de_groups": sig.uns["de"]["fits"].to_dict(orient="records"),
        "de_skipped": sig.uns["de"]["skipped"].to_dict(orient="records"),
        "gene_sets": provenance(net_dfs["pathways"]),
        "other_gene_sets": {k: provenance(v) for k, v in net_dfs.items() if k != "pathways"},
        "pathways": {
            **{k: v for k, v in sig.uns["pathways"].items() if k not in ("net", "overlap", "basis", "replicates")},
            "pvalue_basis": sig.uns["pathways"]["basis"]["basis"].value_counts().to_dict(),
        },
        "composition": cells.uns["composition"]["params"] if cells is not None else None,
        "composition_skipped": cells.uns["composition"]["skipped"].to_dict(orient="records")
        if cells is not None
        else [],
        "potency": sig.uns["potency"]["params"],
        "potency_rank": sig.uns["potency_rank"]["params"] if rank is not None else None,
        "compare": sig.uns["compare"]["params"] if cmp is not None else None,
        "versions": versions(),
        "timings_seconds": {k: round(v, 2) for k, v in timings.items()},
    }
    (out / "provenance.json").write_text(json.dumps(prov, indent=2, default=str))
    sig.write_h5ad(out / "signatures.h5ad")
    report = render(
        out,
        title=title,
        adata=adata,
        pdata=pdata,
        sig=sig,
        summary=summary,
        qc=qc,
        pathway_table=path_table,
        potency_panels=pot_panels,
        rank=rank,
        compare=cmp,
        similarity_metric=similarity_metric,
        dose_fits=dose_fits,
        composition=comp,
        dropped=dropped,
        overview=overview,
        per_group=per_group_figs,
        imid=imid,
        provenance=prov,
    )
    logger.info("report written to %s", report)
    return {
        "pdata": pdata,
        "sig": sig,
        "potency": pot,
        "composition": comp,
        "stages": stages,
        "timings": timings,
        "paths": {"report": report, "tables": tables, "figures": figs},
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
