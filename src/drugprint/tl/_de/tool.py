"""``de``: per-group differential expression returning a signatures AnnData (plan → fit → assemble)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from anndata import AnnData
from mudata import MuData

from ..._anndata import as_anndata
from ..._checks import check_choice
from .._parallel import check_parallel
from .assemble import assemble
from .engines import ENGINES, EngineName, FitOptions, offering
from .executors import run_jobs
from .plan import make_plan

if TYPE_CHECKING:
    import distributed


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
    method: EngineName = "deseq2",
    match: str | Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    layer: str | None = None,
    min_replicates: int = 2,
    filter_genes: bool | None = None,
    conditions_per_fit: int | Literal["auto"] | None = "auto",
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
    conditions_per_fit
        Screens: a group with many conditions is fitted in blocks of at most this many conditions, each block
        with the control profiles that share its conditions' levels of the design's factors (plate, replicate
        …), so that the cost grows linearly with the number of compounds. ``"auto"``: blocks of 10 in groups of
        more than 30 conditions (smaller studies are one fit, as before); a number ``k``: blocks of ``k`` in groups
        of more than ``k``. Taken when every test is a condition against the control and the condition is an
        additive term of the design (the default tests); otherwise the group is one fit of the whole design.
        Plates that carry their own controls belong in the design (``covariates=["replicate", "plate"]``): a
        block then takes only its plates' controls, while without ``plate`` every block takes all the group's
        controls, whose number — and each block's cost — grows with the plates. The genes
        are filtered once per group; each test's residual variance (and its empirical-Bayes prior, DESeq2's
        dispersions) rests on its block's profiles instead of the whole screen's (see the statistics page). The
        blocks are listed in ``uns["de"]["fits"]`` (``part``) and noted in ``uns["de"]["notes"]``. ``None``:
        always one fit per group.
    alpha
        Significance level used by DESeq2's independent filtering.
    robust
        ``method="voom"`` or ``"limma"``: limma's ``eBayes(robust=TRUE)``, whose variance prior gives genes with
        outlying variances (hypervariable genes) less weight and a prior degree of freedom of their own (Phipson
        et al. 2016). Other engines refuse it.
    n_cpus
        Processes used by pydeseq2 within each fit.
    n_jobs
        Groups (and blocks of conditions) fitted in parallel (processes); results are identical to ``n_jobs=1``.
        Each worker limits BLAS to one thread, so ``n_jobs`` × ``n_cpus`` should not exceed the cores available.
    client
        A ``dask.distributed`` client: each fit (group or block) is then a task on its cluster (its data scattered
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
    check_choice(method, list(ENGINES), name="method")
    engine = ENGINES[method]
    if robust and not engine.robust:
        raise ValueError(
            f"robust=True is limma's robust empirical Bayes: use method={offering('robust')}, not {method!r}."
        )
    check_parallel(n_jobs, client)
    if pdata.n_obs == 0 or pdata.n_vars == 0:
        raise ValueError(f"pdata is empty ({pdata.n_obs} profiles × {pdata.n_vars} genes).")
    plan = make_plan(
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
        groups=groups,
        layer=layer,
        min_replicates=min_replicates,
        filter_genes=filter_genes,
        allow_single_cells=allow_single_cells,
        allow_normalized=allow_normalized,
        conditions_per_fit=conditions_per_fit,
    )
    options = FitOptions(is_counts=plan.is_counts, alpha=alpha, robust=robust, n_cpus=n_cpus)
    fitted, executor = run_jobs(plan.jobs, method, options, n_jobs=n_jobs, verbose=verbose, client=client)
    params = {
        "coef": _as_list(coef),
        "reduced": reduced,
        "block": block,
        "min_replicates": min_replicates,
        "conditions_per_fit": "none" if conditions_per_fit is None else str(conditions_per_fit),
        "alpha": float(alpha),
        "robust": bool(robust),
        **{"n_cpus": int(n_cpus), "n_jobs": int(n_jobs)},
        "client": "" if client is None else str(client.scheduler.address),
        "executor": executor,
        "mod": mod,
        "allow_single_cells": bool(allow_single_cells),
        "allow_normalized": bool(allow_normalized),
    }
    return assemble(pdata, plan, fitted, params)


def _as_list(keys) -> list[str]:
    if keys is None:
        return []
    return [keys] if isinstance(keys, str) else list(keys)
