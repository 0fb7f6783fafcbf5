"""``de``: per-group differential expression returning a signatures AnnData."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

from .._libsize import check_library_sizes
from .._signatures import LAYERS
from .._utils import (
    as_anndata,
    categories,
    check_choice,
    get_matrix,
    is_integer_valued,
    logger,
    resolve_counts_layer,
    to_dense,
    versions,
)
from ._de_plan import GroupSetup, plan_group, replication_problem, resolve_call, split_by, summarise_skips
from ._engines import ENGINES, check_client, run_jobs
from ._stats.design import Omnibus, quote, tidy_formula
from ._stats.replicates import profile_data

if TYPE_CHECKING:
    import distributed

METHODS = ("deseq2", "voom", "limma", "ttest")
FIT_COLUMNS = [
    "group",
    "n_profiles",
    "profiles_per_condition",
    "residual_df",
    "n_genes_tested",
    "design",
    "dropped_covariates",
    "block_correlation",
    "dispersion_trend",
    "prior_variance",
    "omnibus_df",
    "seconds",
]


def _per_condition(meta: pd.DataFrame, cond_col: str | None) -> str:
    """``"DMSO: 2, lenalidomide: 2"``: the profiles of each condition in a fit (all of them when there is none)."""
    if cond_col is None:
        return f"all: {len(meta)}"
    counts = meta[cond_col].astype(str).value_counts(sort=False)
    return ", ".join(f"{level}: {n}" for level, n in counts.items())


def _constant_within(meta: pd.DataFrame, exclude: set[str]) -> dict[str, object]:
    out = {}
    for col in meta.columns:
        if col in exclude:
            continue
        vals = meta[col]
        if vals.nunique(dropna=False) == 1:
            v = vals.iloc[0]
            out[col] = v.item() if hasattr(v, "item") else v
    return out


def _as_list(keys) -> list[str]:
    if keys is None:
        return []
    return [keys] if isinstance(keys, str) else list(keys)


_BARCODE = re.compile(r"[ACGTN]{10,}")
MAX_ROWS_PER_ARM = 100


def _refuse_single_cells(pdata: AnnData, layer: str | None, condition_key: str | None, groupby: str | None) -> None:
    """Raise when the rows look like single cells rather than samples (pseudoreplication).

    Signs: cell-barcode row names; more than ``MAX_ROWS_PER_ARM`` rows for one group and condition; or more
    than 10 rows per arm that are mostly (≥ 75 %) zeros, as single cells are and samples are not.
    """
    if "n_cells" in pdata.obs.columns:  # profiles from dp.pp.pseudobulk (or an aggregate that counted cells)
        return
    names = pdata.obs_names[:2000].astype(str)
    keys = [k for k in (condition_key, groupby) if k]
    per_arm = int(pdata.obs.groupby(keys, observed=True).size().max()) if keys else pdata.n_obs
    why = []
    if np.mean([bool(_BARCODE.search(n)) for n in names]) >= 0.5:
        why.append(f"row names look like cell barcodes (e.g. {names[0]!r})")
    if per_arm > MAX_ROWS_PER_ARM:
        why.append(f"up to {per_arm} rows share one {' and '.join(keys)}")
    if per_arm > 10:
        zeros = float(np.mean(to_dense(get_matrix(pdata[: min(pdata.n_obs, 500)], layer)) == 0))
        if zeros >= 0.75:
            why.append(f"{zeros:.0%} of the values are zero")
    if why:
        raise ValueError(
            f"pdata looks like {pdata.n_obs} single cells, not samples ({'; '.join(why)}; no obs['n_cells']). Cells "
            "of one sample are not replicates: testing them as such gives p-values that count cells, not samples. "
            "Sum them per sample first: dp.pp.pseudobulk(adata, sample_key=..., groupby=...), then dp.tl.de. If "
            "the rows really are independent samples, pass allow_single_cells=True."
        )


def de(
    pdata: AnnData | MuData,
    condition_key: str = "drug",
    control: str | None = None,
    groupby: str | None = "auto",
    covariates: Sequence[str] | None = None,
    *,
    design: str | None = None,
    contrasts: Sequence[tuple[str, str]] | Mapping[str, Mapping[str, float]] | None = None,
    coef: str | Sequence[str] | None = None,
    reduced: str | None = None,
    block: str | None = None,
    method: Literal["deseq2", "voom", "limma", "ttest"] = "deseq2",
    match: str | Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    layer: str | None = None,
    min_replicates: int = 2,
    filter_genes: bool | None = None,
    alpha: float = 0.05,
    robust: bool = False,
    n_cpus: int = 1,
    n_jobs: int = 1,
    client: distributed.Client | None = None,
    mod: str = "rna",
    allow_single_cells: bool = False,
    allow_normalized: bool = False,
    verbose: bool = True,
) -> AnnData:
    """Differential expression per group (cell type): every test read from one fit of the group's profiles.

    For each group, profiles are fitted with one design — by default ``~ covariates + condition`` with the
    control as the reference level; any formulaic formula with ``design=`` —, genes with too few counts are
    removed first (edgeR's ``filterByExpr`` rule), and every test (pairs of conditions, weightings of
    conditions, single coefficients, an omnibus test against a reduced design) is read from that fit.

    Parameters
    ----------
    pdata
        Profiles × genes, e.g. from :func:`drugprint.pp.pseudobulk`; raw counts for ``method="deseq2"``.
    condition_key
        ``obs`` column with the treatment (drug, or drug at dose): the factor whose levels ``contrasts`` name.
    control
        Level of ``condition_key`` used as the reference (the vehicle), as ``obs`` shows it (``0`` or ``"0"``).
        ``None``: the one level labelled like a vehicle or untreated control (``DMSO``, ``vehicle``, ``ctrl``,
        ``untreated``, ``mock``, ``PBS`` …; see :func:`drugprint.resources.find_vehicle`); an error when no level or
        several levels are (when only ``coef=``/``reduced=`` tests are asked for, the first level then).
    groupby
        ``obs`` column splitting the profiles into independently fitted groups; ``None`` fits all together.
        ``"auto"``: the column :func:`drugprint.pp.pseudobulk` grouped the cells by (``uns["pseudobulk"]``), else
        ``cell_type`` when present, else one group (a bulk study; noted in ``uns["de"]["notes"]``).
    covariates
        Short form of the design: ``obs`` columns entering ``~ covariates + condition`` (e.g. donor, batch, a
        continuous covariate); those constant within a group leave that group's design (recorded). A column of
        integers whose name reads like a grouping (``donor``, ``patient``, ``batch``, ``plate``, ``line``,
        ``replicate`` …; e.g. donors coded 101, 107) enters as a factor, not as a number (noted in
        ``uns["de"]["notes"]``; with ``design=`` the formula decides, e.g. ``C(donor)``).
        ``None``: ``["donor"]`` when ``obs`` has a ``donor`` column, else none; ``[]`` for none.
    design
        The design as a formula in formulaic's syntax (R's), e.g. ``"~ donor + drug"``, ``"~ donor + drug *
        time"``, ``"~ donor + log2_dose"``, ``"~ donor + np.log2(dose)"``; replaces ``covariates``. Text columns
        become factors (levels in category order, else sorted; ``control`` first for ``condition_key``).
        Coefficients are named as formulaic names them: ``"drug[T.lenalidomide]"``,
        ``"drug[T.lenalidomide]:time[T.24]"``, ``"log2_dose"``.
    contrasts
        What to test between levels of ``condition_key``: pairs ``(condition, reference)``, e.g.
        ``[("pomalidomide", "lenalidomide")]``, or named weightings summing to 0, e.g. ``{"CELMoD vs IMiD":
        {"iberdomide": .5, "mezigdomide": .5, "lenalidomide": -.5, "pomalidomide": -.5}}``. A level's effect
        is read at the reference of the design's other factors (numeric covariates at 0), as its coefficient is.
        Default (when ``coef`` and ``reduced`` are not given): each condition against ``control``.
    coef
        Coefficient(s) of the design to test, by name (a continuous covariate, an interaction term); a name
        not in the design is an error listing the names.
    reduced
        A reduced formula nested in the design: an omnibus test of the full design against it in each group —
        DESeq2's likelihood-ratio test (``deseq2``), limma's moderated F (``voom``, ``limma``), e.g.
        ``reduced="~ donor"`` for genes moved by any drug. The row's ``stat`` is the chi-square (LRT) or F
        statistic, ``lfcse`` is NaN, and ``log2fc`` holds the dropped coefficient with the largest absolute
        estimate (signed; NaN when the reduced formula does not keep a subset of the design's columns).
    block
        ``obs`` column of a blocking factor with correlated profiles, e.g. patients sampled before and after
        treatment: modelled by the intra-block correlation (limma's ``duplicateCorrelation``; ``voom`` and
        ``limma`` only). The consensus correlation of each group is in ``uns["de"]["fits"]``.
    method
        ``"deseq2"``: DESeq2's negative-binomial GLM, Wald and likelihood-ratio tests (pydeseq2; its IRLS,
        dispersion and Wald steps batched over genes, same estimates), for counts.
        ``"voom"``: limma-voom for counts (TMM, log-CPM with precision weights, moderated t and F); fast.
        ``"limma"``: limma's linear model and empirical-Bayes moderated t and F for log-scale data
        (microarrays, normalised tables). ``"ttest"``: Welch's t-test on log values (log-CPM for counts),
        ignoring covariates; a plain baseline for pairs only. :func:`drugprint.tl.de_methods` lists what
        each needs and offers. All adjust p-values per test with Benjamini–Hochberg (DESeq2 after its
        independent filtering).
    match
        ``obs`` column(s), e.g. ``"time"``, by which each condition is paired with the control: conditions and
        control are split by the column's values, everything is fitted once per group, and each contrast is
        tested within each value (drug at 6 h vs DMSO at 6 h, …). Result rows are named
        ``"{group}|{condition} vs {reference} @ time=6"`` and carry the column.
    groups
        Restrict to these groups (default: all).
    layer
        Layer of raw counts; ``None`` uses ``layers["counts"]`` when present, else ``X``.
    min_replicates
        Conditions with fewer profiles in a group are left out of that group (recorded).
    filter_genes
        Apply the ``filterByExpr`` rule before fitting (by condition for the short form, by the design's hat
        values for a ``design=`` formula, as edgeR does); default: when the data are counts. Otherwise counts
        keep every gene with a non-zero count, and log-scale data every gene with more non-missing values
        than coefficients.
    alpha
        Significance level used by DESeq2's independent filtering.
    robust
        ``method="voom"`` or ``"limma"``: limma's ``eBayes(robust=TRUE)``, whose variance prior gives genes with
        outlying variances (hypervariable genes) less weight and a prior degree of freedom of their own (Phipson
        et al. 2016). Other engines refuse it.
    n_cpus
        Processes used by pydeseq2 within each fit.
    n_jobs
        Groups fitted in parallel (processes); results are identical to ``n_jobs=1``. Each worker limits BLAS to
        one thread, so ``n_jobs`` × ``n_cpus`` should not exceed the cores available.
    client
        A ``dask.distributed`` client: each group's fit is then a task on its cluster (the group's data scattered
        to a worker, the fit run there with BLAS limited to one thread, as with ``n_jobs``); results are
        identical to ``n_jobs=1`` and come back in group order. ``n_jobs`` is ignored when a client is given (the
        cluster's workers set the parallelism; a warning when ``n_jobs`` is not 1); ``n_cpus`` still applies
        within each task. Needs the ``dask`` extra (``pip install "drugprint[dask]"``).
    mod
        Modality used when ``pdata`` is a MuData.
    allow_single_cells
        ``de`` refuses rows that look like single cells (no ``obs["n_cells"]`` and cell-barcode names, or more
        than 100 rows for one group and condition): cells of one sample are not replicates, and testing them
        as such (pseudoreplication) gives p-values that count cells instead of samples. Sum them per sample with
        :func:`drugprint.pp.pseudobulk` first; pass ``True`` only when the rows really are independent samples.
    allow_normalized
        The count engines (``deseq2``, ``voom``) refuse integer values whose library sizes are all equal, per
        profile or per cell of pseudobulk profiles (``obs["n_cells"]``) — 10,000, 100,000 or 1,000,000 (CP10k,
        CPM, TPM), or one common total, within 0.1 % (3 % from 20 profiles): normalised values rounded back to
        integers, which they would treat as counts. Pass ``True`` for raw counts of equal depth (downsampled).
    verbose
        Show a progress bar (only on a terminal).

    Returns
    -------
    A new **signatures** AnnData: one row per group × test, named ``"{group}|{condition} vs {reference}"`` for
    pairs, ``"{group}|{name}"`` for weightings, ``"{group}|{coefficient}"`` and ``"{group}|{design} vs
    {reduced}"``; ``obs`` holds the ``groupby`` column, ``condition`` (the name for tests that are not pairs),
    ``reference`` (empty for those), ``contrast``, ``test`` (``pair``, ``weights``, ``coef``, ``omnibus``),
    ``n_profiles``, ``n_cells`` (when the profiles carry it), ``n_genes_tested`` and every ``pdata.obs``
    column constant within the condition's profiles (dose, time …); ``var`` is ``pdata.var``; ``layers``
    ``log2fc``, ``lfcse``, ``stat``, ``pvalue``, ``padj``, ``base_mean`` (DESeq2's baseMean; the mean log value
    for the limma methods) (NaN where a gene was not tested), and ``padj_global``: Benjamini–Hochberg over
    every group's p-values of the same test at once (muscat's ``p_adj.glb``; genes each group's own filtering
    kept), for claims across cell types; ``X`` is ``stat`` with untested genes at 0. ``uns["de"]`` records
    every parameter (``client`` as its scheduler's address, ``""`` for none), the executor that ran the fits
    (``executor``: ``"serial"``, ``"loky (n_jobs=2)"`` or ``"dask (<scheduler address>)"``), the tests, and per group
    (``fits``) the profiles per condition, the residual degrees of freedom (profiles minus coefficients: the
    replicates the variance rests on), the formula fitted, block correlation, DESeq2's dispersion trend
    (``"parametric"``, or ``"local"`` where R's parametric fit fails) and prior variance, and the fit time; skipped
    groups and tests, library
    versions, and in ``replicates`` what replicate-level pathway
    tests need from each group's fit (its profiles' log-expression of the tested genes — log-CPM with voom
    precision weights for counts —, the design matrix and each signature's contrast vector; omnibus rows
    have none).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], verbose=False)
    >>> sig.obs_names[0]
    'NK|thalidomide vs DMSO'
    >>> celmod = {"CELMoD vs IMiD": {"iberdomide": .5, "mezigdomide": .5, "lenalidomide": -.5, "pomalidomide": -.5}}
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", contrasts=celmod, verbose=False)
    >>> sig.obs_names[0]
    'NK|CELMoD vs IMiD'
    >>> anova = dp.tl.de(pdata, groups=["NK"], method="voom", design="~ donor + drug", reduced="~ donor", verbose=False)
    >>> anova.obs_names[0]
    'NK|~ donor + drug vs ~ donor'
    """
    pdata = as_anndata(pdata, mod, what="de's input")
    check_choice(method, METHODS, name="method")
    if robust and method not in ("voom", "limma"):
        raise ValueError(
            f"robust=True is limma's robust empirical Bayes: use method='voom' or 'limma', not {method!r}."
        )
    check_client(client)
    if client is not None and n_jobs != 1:
        warnings.warn(f"n_jobs={n_jobs} is ignored: the fits run on the client's cluster.", UserWarning, stacklevel=2)
    engine = ENGINES[method]
    if pdata.n_obs == 0 or pdata.n_vars == 0:
        raise ValueError(f"pdata is empty ({pdata.n_obs} profiles × {pdata.n_vars} genes).")
    call = resolve_call(
        pdata,
        engine,
        condition_key=condition_key,
        control=control,
        groupby=groupby,
        covariates=covariates,
        design=design,
        contrasts=contrasts,
        coef=coef,
        reduced=reduced,
        block=block,
        match=_as_list(match),
    )
    formula, covariates, control, specs = call.formula, call.covariates, call.control, call.specs
    uses_condition, display, groupby = call.uses_condition, call.display, call.groupby
    for note in call.notes:
        logger.info("de: %s", note)
    obs = pdata.obs
    if call.factors:  # integer codes of a grouping (donors 101, 107) as factors, in numeric order
        obs = obs.copy()
        for c in call.factors:
            obs[c] = pd.Categorical(obs[c], categories=np.sort(obs[c].unique()))
    cond_col, ref_levels = (condition_key if uses_condition else None), [control]
    skipped: list[tuple[str, str, str]] = []
    if match is not None:
        obs, cond_col, ref_levels, specs, skipped = split_by(
            obs, condition_key, control, _as_list(match), specs, covariates
        )

    counts_in = engine.needs == "counts"
    layer = resolve_counts_layer(pdata, layer) if counts_in else layer
    if not allow_single_cells:  # before densifying: a million cells would not fit
        _refuse_single_cells(pdata, layer, condition_key if uses_condition else None, groupby)
    x = to_dense(get_matrix(pdata, layer)).astype(np.float64, copy=False)
    n_cells = pdata.obs["n_cells"].to_numpy(dtype=float) if "n_cells" in pdata.obs.columns else None
    is_counts = _check_scale(x, method, counts_in, layer, n_cells, allow_normalized)
    if filter_genes is None:
        filter_genes = is_counts

    if groupby is None:
        group_of = pd.Series("all", index=pdata.obs_names)
        all_groups = ["all"]
    else:
        group_of = obs[groupby].astype(str)
        all_groups = [str(g) for g in categories(pdata.obs[groupby])]
    if groups is not None:
        unknown = [g for g in groups if g not in all_groups]
        if unknown:
            raise ValueError(f"groups {unknown} are not in obs[{groupby!r}]; present: {', '.join(all_groups)}.")
        all_groups = [g for g in all_groups if g in set(groups)]

    setup = GroupSetup(
        specs, cond_col, ref_levels, formula, covariates, condition_key, min_replicates, block, filter_genes, is_counts
    )
    jobs = []
    for group in all_groups:
        mask = (group_of == group).to_numpy()
        job = plan_group(group, obs.loc[mask], x[mask], pdata.var_names, setup, skipped)
        if job is not None:
            jobs.append(job)
    _check_coefs_found(specs, jobs, skipped)
    if not jobs:
        why = replication_problem(obs, cond_col, group_of, min_replicates, covariates)
        raise ValueError("No group could be tested. " + (why or " ".join(summarise_skips(skipped))))
    for line in summarise_skips(skipped):
        warnings.warn(f"Not tested: {line} Recorded in uns['de']['skipped'].", UserWarning, stacklevel=2)

    fitted, executor = run_jobs(
        jobs,
        method,
        is_counts=is_counts,
        alpha=alpha,
        robust=robust,
        n_cpus=n_cpus,
        n_jobs=n_jobs,
        verbose=verbose,
        client=client,
    )
    rows, results, summary, replicates = [], [], [], {}
    shown = None if match is None else f"{condition_key} × {' × '.join(_as_list(match))}"
    for job, (tables, info, seconds) in zip(jobs, fitted, strict=True):
        sub, design_g, tested = job.meta, job.design, job.tested
        logger.info("de: %s fitted in %.1f s (%d profiles, %d genes)", job.group, seconds, len(sub), tested.sum())
        if info.get("dispersion_trend") == "local":
            logger.info(
                "de: %s: DESeq2's parametric dispersion trend could not be fitted; R's local fit was used, as R does",
                job.group,
            )
        omnibus_df = [t.df for t in job.tests.values() if isinstance(t, Omnibus)]
        summary.append(
            {
                "group": job.group,
                "n_profiles": len(sub),
                "profiles_per_condition": _per_condition(sub, cond_col),
                "residual_df": int(design_g.matrix.shape[0] - np.linalg.matrix_rank(design_g.matrix.to_numpy(float))),
                "n_genes_tested": int(tested.sum()),
                "design": design_g.formula.replace(quote("_condition"), shown) if shown else design_g.formula,
                "dropped_covariates": ", ".join(design_g.dropped_terms),
                "block_correlation": float(info.get("block_correlation", np.nan)),
                "dispersion_trend": info.get("dispersion_trend", ""),
                "prior_variance": float(info.get("prior_variance", np.nan)),
                "omnibus_df": omnibus_df[0] if omnibus_df else 0,
                "seconds": round(seconds, 3),
            }
        )
        signatures, contrasts = [], []
        for key, spec in job.specs.items():
            name, row = _row(job, spec, groupby, condition_key, cond_col)
            rows.append((name, row))
            results.append(tables[key])
            if isinstance(job.tests[key], np.ndarray):  # omnibus rows have no contrast for set tests
                signatures.append(name)
                contrasts.append(job.tests[key])
        if signatures:  # voom weights per profile only where a replicate-level set test can use them
            store = profile_data(job.data, design_g, is_counts, info.get("voom"))
            store.update(
                group=job.group,
                genes=np.asarray(pdata.var_names[tested], dtype=str),
                gene_index=np.flatnonzero(tested),
                n_vars=pdata.n_vars,
                signatures=signatures,
                contrasts=contrasts,
            )
            replicates[f"fit{len(replicates)}"] = store

    sig = _assemble(pdata, rows, results, groupby)
    sig.layers["padj_global"] = global_padj(sig)
    sig.uns["de"] = {
        "method": method,
        "condition_key": condition_key,
        "control": control if control is not None else "",
        "groupby": groupby if groupby is not None else "",
        "notes": list(call.notes),
        "design": display,
        "covariates": covariates,
        "contrasts": [list(c) for c in dict.fromkeys((s.condition, s.reference) for s in specs if s.kind == "pair")],
        "coef": _as_list(coef),
        "reduced": tidy_formula(reduced) if reduced is not None else "",
        "block": block if block is not None else "",
        "tests": pd.DataFrame(
            [(s.label, s.kind, s.condition, s.reference, _weights_text(s), s.coef, s.reduced) for s in specs],
            columns=["label", "test", "condition", "reference", "weights", "coef", "reduced"],
        ),
        "match": _as_list(match),
        "layer": "X" if layer is None else layer,
        "min_replicates": int(min_replicates),
        "filter_genes": "filterByExpr (edgeR's rule)" if filter_genes else "none",
        "scale": "counts" if is_counts else "log values",
        "alpha": float(alpha),
        "robust": bool(robust),
        "n_cpus": int(n_cpus),
        "n_jobs": int(n_jobs),
        "client": "" if client is None else str(client.scheduler.address),
        "executor": executor,
        "groups": list(all_groups),
        "mod": mod,
        "allow_single_cells": bool(allow_single_cells),
        "allow_normalized": bool(allow_normalized),
        "fits": pd.DataFrame(summary, columns=FIT_COLUMNS),
        "skipped": pd.DataFrame(skipped, columns=["group", "what", "reason"]),
        "versions": versions(),
        "replicates": {
            k: {**v, "signatures": np.asarray(v["signatures"], dtype=str), "contrasts": np.vstack(v["contrasts"])}
            for k, v in replicates.items()
        },
    }
    return sig


def _check_scale(
    x: np.ndarray, method: str, counts_in: bool, layer: str | None, n_cells: np.ndarray | None, allow: bool
) -> bool:
    """Whether ``x`` holds counts; an error when the engine needs counts and ``x`` does not hold them.

    Integer values whose library sizes are all equal (or, for pseudobulk profiles, equal per cell) are normalised
    values rounded, not counts: an error for the count engines, unless ``allow``.
    """
    where = f"layers[{layer!r}]" if layer else "X"
    is_counts = is_integer_valued(x)
    if counts_in and is_counts:
        fix = (
            "Pass the layer that holds the raw counts (layer=...), or pseudobulk the cells' raw counts "
            "(dp.pp.pseudobulk(adata, layer='counts') or use_raw=True); for normalised values on a log scale use "
            "method='limma'."
        )
        totals = x.sum(axis=1)
        check_library_sizes(totals, what=f"The profiles in {where}", fix=fix, allow=allow)
        if n_cells is not None:
            check_library_sizes(
                totals / np.maximum(n_cells, 1),
                what=f"The cells summed into {where}",
                fix=fix,
                allow=allow,
                cell_means=True,
            )
    if counts_in and not is_counts:
        found = [
            f"{n} {kind} value(s)"
            for kind, n in (
                ("missing (NaN)", int(np.isnan(x).sum())),
                ("negative", int((x < 0).sum())),
                ("non-integer", int((np.isfinite(x) & (x != np.round(x))).sum())),
            )
            if n
        ]
        raise ValueError(
            f"method={method!r} needs raw counts, but {where} holds {', '.join(found)}. "
            "Pseudobulk the raw counts (dp.pp.pseudobulk(adata, layer='counts')), or use method='limma' for "
            "log-scale data."
        )
    if method == "limma" and is_counts and np.nanmax(x) > 100:
        warnings.warn(
            f"{where} looks like raw counts; limma expects log-scale values. Use method='voom' (or 'deseq2').",
            UserWarning,
            stacklevel=3,
        )
    return is_counts


def _check_coefs_found(specs, jobs, skipped) -> None:
    """A coefficient or reduced formula that no group's design can take is a mistake, not a skip: raise."""
    for spec in specs:
        if spec.kind not in ("coef", "omnibus") or any(spec in job.specs.values() for job in jobs):
            continue
        reason = next((r for _, what, r in skipped if what == spec.label), "")
        if spec.kind == "omnibus":
            raise ValueError(f"reduced={spec.reduced!r} could not be tested in any group: {reason}")
        names = jobs[0].design.coefficients if jobs else []
        raise KeyError(
            f"coef {spec.coef!r} is not a coefficient of the design in any group"
            + (f"; its coefficients are: {', '.join(names)}." if names else f" ({reason}).")
        )


def _weights_text(spec) -> str:
    return ", ".join(f"{lv}: {w:+g}" for lv, w in spec.weights.items()) if spec.kind == "weights" else ""


def _row(job, spec, groupby: str | None, condition_key: str, cond_col: str | None) -> tuple[str, dict]:
    """The signature name and ``obs`` row of one test of one group."""
    sub = job.meta
    if spec.kind in ("pair", "weights") and cond_col is not None:
        cond = sub[cond_col].astype(str)
        counted = cond.isin(spec.levels).to_numpy()
        described = cond.isin([lv for lv, w in spec.weights.items() if w > 0]).to_numpy()
    else:
        counted = described = np.ones(len(sub), dtype=bool)
    row = {} if groupby is None else {groupby: job.group}
    row.update(
        {
            "condition": spec.condition,
            "reference": spec.reference,
            "contrast": spec.label.split(" @ ")[0] if spec.kind == "pair" else spec.label,
            "test": spec.kind,
            "n_profiles": int(counted.sum()),
            "n_genes_tested": int(job.tested.sum()),
        }
    )
    if "n_cells" in sub.columns:
        row["n_cells"] = int(sub.loc[described, "n_cells"].sum())
    exclude = {condition_key, "_condition", "n_cells", *(k for k in [groupby] if k)}
    for k, v in _constant_within(sub.loc[described], exclude).items():
        row.setdefault(k, v)
    return f"{job.group}|{spec.label}", row


def global_padj(sig: AnnData) -> np.ndarray:
    """Benjamini–Hochberg over all groups' p-values of each contrast (rows named ``"{group}|{contrast}"``).

    Only p-values whose per-group ``padj`` exists enter (DESeq2's independent filtering and the expression
    filter are respected); the rest stay NaN.
    """
    from scipy.stats import false_discovery_control

    p = np.asarray(sig.layers["pvalue"], dtype=float)
    kept = np.isfinite(p) & np.isfinite(np.asarray(sig.layers["padj"], dtype=float))
    out = np.full(p.shape, np.nan)
    tested = pd.Series(sig.obs_names.str.split("|", n=1).str[-1], index=np.arange(sig.n_obs))
    for rows in tested.groupby(tested, sort=False).groups.values():
        rows = np.asarray(rows)
        block, mask = p[rows], kept[rows]
        if mask.any():
            adj = np.full(block.shape, np.nan)
            adj[mask] = false_discovery_control(block[mask], method="bh")
            out[rows] = adj
    return out


def _assemble(pdata: AnnData, rows: list, results: list[pd.DataFrame], groupby: str | None) -> AnnData:
    names = [n for n, _ in rows]
    obs = pd.DataFrame([r for _, r in rows], index=pd.Index(names))
    for col in ("condition", "reference", "contrast", *(k for k in [groupby] if k)):
        order = list(dict.fromkeys(obs[col]))  # rows follow the groups' (string) category order
        obs[col] = pd.Categorical(obs[col], categories=order)
    layers = {key: np.full((len(names), pdata.n_vars), np.nan) for key in LAYERS}
    for i, res in enumerate(results):
        cols = pdata.var_names.get_indexer(res.index)
        for key in LAYERS:
            layers[key][i, cols] = res[key].to_numpy()
    x = np.nan_to_num(layers["stat"], nan=0.0)
    sig = AnnData(X=x, obs=obs, var=pdata.var.copy(), layers=layers)
    return sig
