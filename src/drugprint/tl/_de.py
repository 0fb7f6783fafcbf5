"""``de``: per-group differential expression returning a signatures AnnData."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

from .._utils import (
    as_anndata,
    categories,
    check_choice,
    check_obs_keys,
    get_matrix,
    is_integer_valued,
    logger,
    progress,
    resolve_counts_layer,
    to_dense,
    versions,
)
from ..resources import find_vehicle
from ._design import DesignError, build_design
from ._replicates import profile_data
from ._voom import log_cpm

METHODS = ("deseq2", "voom", "limma", "ttest")
COUNT_METHODS = ("deseq2", "voom")
LAYERS = ("log2fc", "lfcse", "stat", "pvalue", "padj", "base_mean")


def _contrast_list(
    levels: list[str], control: str, contrasts: Sequence[tuple[str, str]] | None, condition_key: str
) -> list[tuple[str, str]]:
    if contrasts is None:
        return [(lv, control) for lv in levels if lv != control]
    out = []
    for c in contrasts:
        if not (isinstance(c, tuple | list) and len(c) == 2):
            raise ValueError(f"Each contrast must be a pair (condition, reference), got {c!r}.")
        a, b = map(str, c)
        for lv in (a, b):
            if lv not in levels:
                raise ValueError(
                    f"Contrast {c!r} names {lv!r}, which is not a level of obs[{condition_key!r}]; "
                    f"levels present: {', '.join(levels)}."
                )
        if a == b:
            raise ValueError(f"Contrast {c!r} compares a condition with itself.")
        out.append((a, b))
    return out


def _filter_genes(counts: pd.DataFrame, group: pd.Series) -> np.ndarray:
    """EdgeR's filterByExpr rule (via decoupler): genes with enough counts in enough profiles."""
    import decoupler as dc

    ad = AnnData(
        counts.to_numpy(dtype=np.float64),
        obs=pd.DataFrame({"g": group.astype(str).to_numpy()}, index=counts.index),
        var=pd.DataFrame(index=counts.columns),
    )
    keep = dc.pp.filter_by_expr(ad, group="g", inplace=False)
    return np.isin(counts.columns.to_numpy(), np.asarray(keep))


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


def _fit_job(method, data, design, todo, condition, alpha, n_cpus, is_counts):
    """Fit one group and time it, with BLAS on one thread.

    Parallel workers must not oversubscribe the cores, and serial fits gain too: the fits are many small
    per-gene solves, where BLAS threads only add overhead (deseq2 on one group: 15 s instead of 52 s).
    """
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    with threadpool_limits(limits=1):
        res = _run_engine(method, data, design, todo, condition, alpha, n_cpus, is_counts)
    return res, time.perf_counter() - t0


def _run_jobs(jobs, method, cond_col, alpha, n_cpus, is_counts, n_jobs, verbose):
    args = [(method, j["data"], j["design"], j["todo"], j["sub"][cond_col], alpha, n_cpus, is_counts) for j in jobs]
    desc = f"DE ({method})"
    if n_jobs == 1 or len(jobs) < 2:
        return [_fit_job(*a) for a in progress(args, total=len(args), desc=desc, verbose=verbose)]
    from joblib import Parallel, delayed

    run = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(delayed(_fit_job)(*a) for a in args)
    return list(progress(run, total=len(args), desc=desc, verbose=verbose))


def _as_list(keys) -> list[str]:
    if keys is None:
        return []
    return [keys] if isinstance(keys, str) else list(keys)


_BARCODE = re.compile(r"[ACGTN]{10,}")
MAX_ROWS_PER_ARM = 100


def _refuse_single_cells(pdata: AnnData, layer: str | None, condition_key: str, groupby: str | None) -> None:
    """Raise when the rows look like single cells rather than samples (pseudoreplication).

    Signs: cell-barcode row names; more than ``MAX_ROWS_PER_ARM`` rows for one group and condition; or more
    than 10 rows per arm that are mostly (≥ 75 %) zeros, as single cells are and samples are not.
    """
    if "n_cells" in pdata.obs.columns:  # profiles from dp.pp.pseudobulk (or an aggregate that counted cells)
        return
    names = pdata.obs_names[:2000].astype(str)
    keys = [condition_key] + ([groupby] if groupby else [])
    per_arm = int(pdata.obs.groupby(keys, observed=True).size().max())
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


def _split_by(obs: pd.DataFrame, condition_key: str, control: str, keys: list[str], wanted, covariates):
    """Relabel conditions as ``"condition @ key=value"`` by the ``match`` columns; contrasts within each value."""
    clash = [k for k in keys if k in covariates or k == condition_key]
    if clash:
        raise ValueError(
            f"match columns {clash} cannot also be covariates or the condition; drop them from covariates or match."
        )
    tags = list(obs[keys].astype(str).itertuples(index=False, name=None))
    where = {t: " @ " + ", ".join(f"{k}={v}" for k, v in zip(keys, t, strict=True)) for t in tags}
    cond = obs[condition_key].astype(str).to_numpy()
    work = obs.copy()
    work["_condition"] = [c + where[t] for c, t in zip(cond, tags, strict=True)]
    label_of = {c + where[t]: (c, where[t]) for c, t in zip(cond, tags, strict=True)}
    ref_levels = [control + w for w in where.values()]
    internal = [(a + w, b + w) for w in where.values() for a, b in wanted if a + w in label_of and b + w in label_of]
    return work, "_condition", ref_levels, label_of, internal


def _run_engine(method, data: pd.DataFrame, design, contrasts, condition: pd.Series, alpha, n_cpus, counts: bool):
    if method == "deseq2":
        from ._deseq2 import fit_deseq2

        return fit_deseq2(data.astype(np.int64), design, contrasts, alpha=alpha, n_cpus=n_cpus)
    if method == "voom":
        from ._voom import fit_voom

        return fit_voom(data, design, contrasts)
    if method == "limma":
        from ._limma import fit_limma

        return fit_limma(data, design, contrasts)
    from ._ttest import fit_ttest

    return fit_ttest(log_cpm(data.T).T if counts else data, condition, contrasts)


def de(
    pdata: AnnData | MuData,
    condition_key: str = "drug",
    control: str | None = None,
    groupby: str | None = "cell_type",
    covariates: Sequence[str] | None = None,
    *,
    method: Literal["deseq2", "voom", "limma", "ttest"] = "deseq2",
    contrasts: Sequence[tuple[str, str]] | None = None,
    match: str | Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    layer: str | None = None,
    min_replicates: int = 2,
    filter_genes: bool | None = None,
    alpha: float = 0.05,
    n_cpus: int = 1,
    n_jobs: int = 1,
    mod: str = "rna",
    allow_single_cells: bool = False,
    verbose: bool = True,
) -> AnnData:
    """Differential expression per group (cell type): every condition against the control, from one fit.

    For each group, profiles are fitted with the design ``~ covariates + condition`` (the control as the
    reference level), genes with too few counts are removed first (edgeR's ``filterByExpr`` rule, via
    :func:`decoupler.pp.filter_by_expr`), and each contrast is read from that single fit.

    Parameters
    ----------
    pdata
        Profiles × genes, e.g. from :func:`drugprint.pp.pseudobulk`; raw counts for ``method="deseq2"``.
    condition_key
        ``obs`` column with the treatment (drug, or drug at dose).
    control
        Level of ``condition_key`` used as the reference (the vehicle). ``None``: the one level labelled like a
        vehicle or untreated control (``DMSO``, ``vehicle``, ``ctrl``, ``untreated``, ``mock``, ``PBS`` …; see
        :func:`drugprint.resources.find_vehicle`); an error when no level or several levels are.
    groupby
        ``obs`` column splitting the profiles into independently fitted groups; ``None`` fits all together.
    covariates
        ``obs`` columns entering the design before the condition (e.g. donor, batch, a continuous dose).
        ``None``: ``["donor"]`` when ``obs`` has a ``donor`` column, else none (recorded in ``uns["de"]``);
        ``[]`` for none.
    method
        ``"deseq2"``: DESeq2's negative-binomial GLM and Wald test (pydeseq2; its IRLS and Wald steps batched over
        genes, same estimates), for counts.
        ``"voom"``: limma-voom for counts (TMM, log-CPM with precision weights, moderated t); fast.
        ``"limma"``: limma's linear model and empirical-Bayes moderated t for log-scale data (microarrays,
        normalised tables). ``"ttest"``: Welch's t-test on log values (log-CPM for counts), ignoring covariates;
        a plain baseline. All adjust p-values per contrast with Benjamini–Hochberg (DESeq2 after its
        independent filtering).
    contrasts
        Pairs ``(condition, reference)`` to test, e.g. ``[("pomalidomide", "lenalidomide")]``. Default: each
        condition against ``control``.
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
        Apply the ``filterByExpr`` rule before fitting; default: when the data are counts (any method, so
        ``"ttest"`` on counts too). Otherwise counts keep every gene with a non-zero count, and log-scale data
        every gene with more non-missing values than coefficients.
    alpha
        Significance level used by DESeq2's independent filtering.
    n_cpus
        Processes used by pydeseq2 within each fit.
    n_jobs
        Groups fitted in parallel (processes); results are identical to ``n_jobs=1``. Each worker limits BLAS to
        one thread, so ``n_jobs`` × ``n_cpus`` should not exceed the cores available.
    mod
        Modality used when ``pdata`` is a MuData.
    allow_single_cells
        ``de`` refuses rows that look like single cells (no ``obs["n_cells"]`` and cell-barcode names, or more
        than 100 rows for one group and condition): cells of one sample are not replicates, and testing them
        as such (pseudoreplication) gives p-values that count cells instead of samples. Sum them per sample with
        :func:`drugprint.pp.pseudobulk` first; pass ``True`` only when the rows really are independent samples.
    verbose
        Show a progress bar (only on a terminal).

    Returns
    -------
    A new **signatures** AnnData: one row per group × contrast, named ``"{group}|{condition} vs {reference}"``;
    ``obs`` holds the ``groupby`` column, ``condition``, ``reference``, ``contrast``, ``n_profiles``,
    ``n_cells`` (when the profiles carry it), ``n_genes_tested`` and every ``pdata.obs`` column constant
    within the condition's profiles (dose, time …); ``var`` is ``pdata.var``; ``layers`` ``log2fc``, ``lfcse``,
    ``stat``, ``pvalue``, ``padj``, ``base_mean`` (DESeq2's baseMean; the mean log value for the limma
    methods) (NaN where a gene was not tested), and ``padj_global``: Benjamini–Hochberg over every group's
    p-values of the same contrast at once (muscat's ``p_adj.glb``; genes each group's own filtering kept), for
    claims across cell types; ``X`` is ``stat`` with untested genes at 0. ``uns["de"]`` records every parameter,
    the design and fit time of each group (``fits``),
    skipped groups and contrasts, library versions, and in ``replicates`` what replicate-level pathway tests
    need from each group's fit (its profiles' log-expression of the tested genes — log-CPM with voom
    precision weights for counts —, the design matrix and each signature's contrast vector).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], verbose=False)
    >>> sig.obs_names[0]
    'NK|thalidomide vs DMSO'
    """
    pdata = as_anndata(pdata, mod, what="de's input")
    check_choice(method, METHODS, name="method")
    if pdata.n_obs == 0 or pdata.n_vars == 0:
        raise ValueError(f"pdata is empty ({pdata.n_obs} profiles × {pdata.n_vars} genes).")
    if covariates is None:
        covariates = ["donor"] if "donor" in pdata.obs.columns else []
        logger.info("de: covariates %s (default: the 'donor' column when present)", covariates)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    check_obs_keys(
        pdata,
        {"condition_key": condition_key, "groupby": groupby, "covariates": covariates, "match": _as_list(match)},
        what="pdata",
    )
    if condition_key in covariates:
        raise ValueError(f"{condition_key!r} is the condition; remove it from covariates.")
    for key in (condition_key, groupby, *_as_list(match)):
        n_missing = 0 if key is None else int(pdata.obs[key].isna().sum())
        if n_missing:
            raise ValueError(
                f"obs[{key!r}] has {n_missing} missing value(s) in {pdata.n_obs} profiles; a missing label would "
                f"become a hidden level of the design. Fill them, or drop those profiles first: "
                f"pdata[pdata.obs[{key!r}].notna()]."
            )
    if not pdata.var_names.is_unique:
        dup = pdata.var_names[pdata.var_names.duplicated()].unique()[:5].tolist()
        raise ValueError(f"Gene names are duplicated (e.g. {dup}); run pdata.var_names_make_unique() first.")
    levels = [str(x) for x in categories(pdata.obs[condition_key])]
    if control is None:
        control = find_vehicle(levels)
        if control is None:
            raise ValueError(
                f"No single level of obs[{condition_key!r}] reads like the control (DMSO, vehicle, ctrl, untreated "
                f"…); levels present: {', '.join(levels)}. Pass control=... naming it."
            )
        logger.info("de: control %r (the level labelled like a vehicle)", control)
    if control not in levels:
        raise ValueError(
            f"Control {control!r} is not a level of obs[{condition_key!r}]; levels present: {', '.join(levels)}. "
            "Pass control=... (dp.resources.resolve_compound maps labels such as 'vehicle' to 'DMSO')."
        )
    wanted = _contrast_list(levels, control, contrasts, condition_key)
    obs, cond_col, ref_levels, label_of, pairs = pdata.obs, condition_key, [control], None, wanted
    if match is not None:
        obs, cond_col, ref_levels, label_of, pairs = _split_by(
            pdata.obs, condition_key, control, _as_list(match), wanted, covariates
        )

    counts_in = method in COUNT_METHODS
    layer = resolve_counts_layer(pdata, layer) if counts_in else layer
    if not allow_single_cells:  # before densifying: a million cells would not fit
        _refuse_single_cells(pdata, layer, condition_key, groupby)
    x = to_dense(get_matrix(pdata, layer)).astype(np.float64, copy=False)
    where = f"layers[{layer!r}]" if layer else "X"
    is_counts = is_integer_valued(x)
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
            stacklevel=2,
        )
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

    skipped, jobs = [], []
    for group in all_groups:
        mask = (group_of == group).to_numpy()
        meta = obs.loc[mask]
        cond = meta[cond_col].astype(str)
        counts_per_level = cond.value_counts()
        too_few = [lv for lv, n in counts_per_level.items() if n < min_replicates]
        for lv in too_few:
            skipped.append((group, lv, f"{counts_per_level[lv]} profile(s) < min_replicates={min_replicates}"))
        reference = next((lv for lv in ref_levels if lv in counts_per_level and lv not in too_few), None)
        if reference is None:
            skipped.append((group, "*", f"control {control!r} has too few profiles"))
            warnings.warn(
                f"Group {group!r} skipped: control {control!r} has fewer than {min_replicates} profiles.",
                UserWarning,
                stacklevel=2,
            )
            continue
        keep_levels = [lv for lv in counts_per_level.index if lv not in too_few]
        todo = [(a, b) for a, b in pairs if a in keep_levels and b in keep_levels]
        for a, b in pairs:
            if (a, b) not in todo and a not in too_few and b not in too_few:
                skipped.append((group, f"{a} vs {b}", "condition absent from this group"))
        if not todo:
            skipped.append((group, "*", "no contrast has both conditions with enough profiles"))
            warnings.warn(f"Group {group!r} skipped: no testable contrast.", UserWarning, stacklevel=2)
            continue
        kept = cond.isin(keep_levels).to_numpy()
        sub = meta.loc[kept]
        try:
            design = build_design(sub, cond_col, reference, covariates)
        except DesignError as err:
            skipped.append((group, "*", str(err)))
            warnings.warn(f"Group {group!r} skipped: {err}", UserWarning, stacklevel=2)
            continue
        counts = pd.DataFrame(x[np.flatnonzero(mask)[kept]], index=sub.index, columns=pdata.var_names)
        if filter_genes:
            tested = _filter_genes(counts, sub[cond_col])
        elif is_counts:
            tested = (counts.sum(axis=0) > 0).to_numpy()
        else:
            tested = (np.isfinite(counts).sum(axis=0) > design.matrix.shape[1]).to_numpy()
        if tested.sum() == 0:
            skipped.append((group, "*", "no gene passed the expression filter"))
            warnings.warn(f"Group {group!r} skipped: no gene passed the expression filter.", UserWarning, stacklevel=2)
            continue
        jobs.append(
            {
                "group": group,
                "sub": sub,
                "design": design,
                "todo": todo,
                "tested": tested,
                "data": counts.loc[:, tested],
            }
        )

    fitted = _run_jobs(jobs, method, cond_col, alpha, n_cpus, is_counts, n_jobs, verbose)
    rows, results, summary, replicates = [], [], [], {}
    formula = condition_key if match is None else f"{condition_key} × {' × '.join(_as_list(match))}"
    for job, (res, seconds) in zip(jobs, fitted, strict=True):
        group, sub, design, todo, tested = job["group"], job["sub"], job["design"], job["todo"], job["tested"]
        logger.info("de: %s fitted in %.1f s (%d profiles, %d genes)", group, seconds, len(sub), tested.sum())
        summary.append(
            (
                group,
                len(sub),
                int(tested.sum()),
                design.formula(formula),
                ", ".join(design.dropped_covariates),
                round(seconds, 3),
            )
        )
        sub_cond = sub[cond_col].astype(str)
        store = profile_data(job["data"], design, is_counts)
        store.update(
            group=group,
            genes=np.asarray(pdata.var_names[tested], dtype=str),
            gene_index=np.flatnonzero(tested),
            n_vars=pdata.n_vars,
            signatures=[],
            contrasts=[],
        )
        replicates[f"fit{len(replicates)}"] = store
        for a, b in todo:
            in_a = (sub_cond == a).to_numpy()
            la, lb, where_ = (a, b, "") if label_of is None else (*label_of[a][:1], label_of[b][0], label_of[a][1])
            row = {} if groupby is None else {groupby: group}
            row.update(
                {
                    "condition": la,
                    "reference": lb,
                    "contrast": f"{la} vs {lb}",
                    "n_profiles": int(in_a.sum() + (sub_cond == b).sum()),
                    "n_genes_tested": int(tested.sum()),
                }
            )
            if "n_cells" in sub.columns:
                row["n_cells"] = int(sub.loc[in_a, "n_cells"].sum())
            exclude = {condition_key, cond_col, "n_cells", *(k for k in [groupby] if k)}
            for k, v in _constant_within(sub.loc[in_a], exclude).items():
                row.setdefault(k, v)
            rows.append((f"{group}|{la} vs {lb}{where_}", row))
            results.append(res[a, b])
            store["signatures"].append(rows[-1][0])
            store["contrasts"].append(design.contrast(a, b))

    if not rows:
        reasons = "; ".join(f"{g}: {r}" for g, _, r in skipped[:6])
        raise ValueError(f"No group could be tested ({reasons}).")
    sig = _assemble(pdata, rows, results, groupby)
    sig.layers["padj_global"] = global_padj(sig)
    sig.uns["de"] = {
        "method": method,
        "condition_key": condition_key,
        "control": control,
        "groupby": groupby if groupby is not None else "",
        "covariates": covariates,
        "contrasts": [list(c) for c in wanted],
        "match": _as_list(match),
        "layer": "X" if layer is None else layer,
        "min_replicates": int(min_replicates),
        "filter_genes": "filterByExpr (edgeR rule, decoupler.pp.filter_by_expr defaults)" if filter_genes else "none",
        "scale": "counts" if is_counts else "log values",
        "alpha": float(alpha),
        "n_cpus": int(n_cpus),
        "n_jobs": int(n_jobs),
        "groups": list(all_groups),
        "mod": mod,
        "allow_single_cells": bool(allow_single_cells),
        "fits": pd.DataFrame(
            summary, columns=["group", "n_profiles", "n_genes_tested", "design", "dropped_covariates", "seconds"]
        ),
        "skipped": pd.DataFrame(skipped, columns=["group", "what", "reason"]),
        "versions": versions(),
        "replicates": {
            k: {**v, "signatures": np.asarray(v["signatures"], dtype=str), "contrasts": np.vstack(v["contrasts"])}
            for k, v in replicates.items()
        },
    }
    return sig


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
