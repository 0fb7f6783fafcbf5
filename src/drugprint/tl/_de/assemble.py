"""The fits of a ``de`` call assembled: one signature per group × test, and the record in ``uns["de"]``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._env import logger, versions
from ..._signatures import LAYERS
from .._stats.design import Omnibus, quote, tidy_formula
from .._stats.multitest import bh
from .._stats.replicates import profile_data
from .engines import FitJob
from .plan import Plan

#: The columns of ``uns["de"]["fits"]``: one row per fitted group.
FIT_COLUMNS = [
    "group",
    "part",
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


def assemble(pdata: AnnData, plan: Plan, fitted: list, params: dict) -> AnnData:
    """The signatures AnnData of the fitted ``plan.jobs``, with ``uns["de"]`` recording ``params`` and the fits.

    ``fitted`` holds ``(tables by test key, fit facts, seconds)`` per job; ``params`` the call's own arguments
    (method, alpha, executor …), written into ``uns["de"]`` in the record's order.
    """
    rows, results, fits, replicates = [], [], [], {}
    places = []  # (group, test) positions of the rows, to order them when groups were fitted in blocks
    group_at = {g: i for i, g in enumerate(plan.groups)}
    test_at = {spec.label: i for i, spec in enumerate(plan.specs)}
    for job, (tables, info, seconds) in zip(plan.jobs, fitted, strict=True):
        logger.info(
            "de: %s fitted in %.1f s (%d profiles, %d genes)", job.group, seconds, len(job.meta), job.tested.sum()
        )
        if info.get("dispersion_trend") == "local":
            logger.info(
                "de: %s: DESeq2's parametric dispersion trend could not be fitted; R's local fit was used, as R does",
                job.group,
            )
        fits.append(_fit_row(job, info, seconds, plan))
        signatures, contrasts = [], []
        for key, spec in job.specs.items():
            name, row = _row(job, spec, plan.groupby, plan.condition_key, plan.cond_col)
            rows.append((name, row))
            places.append((group_at[job.group], test_at[spec.label]))
            results.append(tables[key])
            if isinstance(job.tests[key], np.ndarray):  # omnibus rows have no contrast for set tests
                signatures.append(name)
                contrasts.append(job.tests[key])
        if signatures:  # voom weights per profile only where a replicate-level set test can use them
            replicates[f"fit{len(replicates)}"] = _replicate_record(job, info, plan, pdata, signatures, contrasts)
    if any(job.part for job in plan.jobs):  # blocks of conditions: rows back in the tests' order within each group
        order = sorted(range(len(rows)), key=places.__getitem__)
        rows, results = [rows[i] for i in order], [results[i] for i in order]
    sig = _signatures(pdata, rows, results, plan.groupby)
    sig.layers["padj_global"] = global_padj(sig)
    sig.uns["de"] = _record(plan, params, fits, replicates)
    return sig


def _per_condition(meta: pd.DataFrame, cond_col: str | None) -> str:
    """``"DMSO: 2, lenalidomide: 2"``: the profiles of each condition in a fit (all of them when there is none)."""
    if cond_col is None:
        return f"all: {len(meta)}"
    counts = meta[cond_col].astype(str).value_counts(sort=False)
    return ", ".join(f"{level}: {n}" for level, n in counts.items())


def _fit_row(job: FitJob, info: dict, seconds: float, plan: Plan) -> dict:
    """The row of ``uns["de"]["fits"]`` of one group: its profiles, replicates, design and what the fit found."""
    shown = f"{plan.condition_key} × {' × '.join(plan.match)}" if plan.match else None
    design = job.design
    omnibus_df = [t.df for t in job.tests.values() if isinstance(t, Omnibus)]
    return {
        "group": job.group,
        "part": job.part,
        "n_profiles": len(job.meta),
        "profiles_per_condition": _per_condition(job.meta, plan.cond_col),
        "residual_df": int(design.matrix.shape[0] - np.linalg.matrix_rank(design.matrix.to_numpy(float))),
        "n_genes_tested": int(job.tested.sum()),
        "design": design.formula.replace(quote("_condition"), shown) if shown else design.formula,
        "dropped_covariates": ", ".join(design.dropped_terms),
        "block_correlation": float(info.get("block_correlation", np.nan)),
        "dispersion_trend": info.get("dispersion_trend", ""),
        "prior_variance": float(info.get("prior_variance", np.nan)),
        "omnibus_df": omnibus_df[0] if omnibus_df else 0,
        "seconds": round(seconds, 3),
    }


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


def _row(job: FitJob, spec, groupby: str | None, condition_key: str, cond_col: str | None) -> tuple[str, dict]:
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


def _replicate_record(job: FitJob, info: dict, plan: Plan, pdata: AnnData, signatures: list, contrasts: list) -> dict:
    """What replicate-level set tests need from one fit (:mod:`drugprint.tl._stats.replicates`)."""
    store = profile_data(job.data, job.design, plan.is_counts, info.get("voom"))
    store.update(
        group=job.group,
        genes=np.asarray(pdata.var_names[job.tested], dtype=str),
        gene_index=np.flatnonzero(job.tested),
        n_vars=pdata.n_vars,
        signatures=np.asarray(signatures, dtype=str),
        contrasts=np.vstack(contrasts),
    )
    return store


def global_padj(sig: AnnData) -> np.ndarray:
    """Benjamini–Hochberg over all groups' p-values of each contrast (rows named ``"{group}|{contrast}"``).

    Only p-values whose per-group ``padj`` exists enter (DESeq2's independent filtering and the expression
    filter are respected); the rest stay NaN.
    """
    p = np.asarray(sig.layers["pvalue"], dtype=float)
    kept = np.isfinite(p) & np.isfinite(np.asarray(sig.layers["padj"], dtype=float))
    out = np.full(p.shape, np.nan)
    tested = pd.Series(sig.obs_names.str.split("|", n=1).str[-1], index=np.arange(sig.n_obs))
    for rows in tested.groupby(tested, sort=False).groups.values():
        rows = np.asarray(rows)
        block, mask = p[rows], kept[rows]
        if mask.any():
            adj = np.full(block.shape, np.nan)
            adj[mask] = bh(block[mask])
            out[rows] = adj
    return out


def _signatures(pdata: AnnData, rows: list, results: list[pd.DataFrame], groupby: str | None) -> AnnData:
    """One row per test and group: ``obs`` from ``rows``, the layers from the tables (NaN where not tested)."""
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
    return AnnData(X=x, obs=obs, var=pdata.var.copy(), layers=layers)


def _weights_text(spec) -> str:
    return ", ".join(f"{lv}: {w:+g}" for lv, w in spec.weights.items()) if spec.kind == "weights" else ""


def _record(plan: Plan, params: dict, fits: list[dict], replicates: dict) -> dict:
    """``uns["de"]``: every parameter as resolved, the tests, the fits, the skips, versions and the replicates."""
    specs = plan.specs
    resolved = {
        "method": plan.engine.name,
        "condition_key": plan.condition_key,
        "control": plan.control if plan.control is not None else "",
        "groupby": plan.groupby if plan.groupby is not None else "",
        "notes": list(plan.notes),
        "design": plan.display,
        "covariates": plan.covariates,
        "contrasts": [list(c) for c in dict.fromkeys((s.condition, s.reference) for s in specs if s.kind == "pair")],
        "coef": params["coef"],
        "reduced": tidy_formula(params["reduced"]) if params["reduced"] is not None else "",
        "block": params["block"] if params["block"] is not None else "",
        "tests": pd.DataFrame(
            [(s.label, s.kind, s.condition, s.reference, _weights_text(s), s.coef, s.reduced) for s in specs],
            columns=["label", "test", "condition", "reference", "weights", "coef", "reduced"],
        ),
        "match": plan.match,
        "layer": "X" if plan.layer is None else plan.layer,
        "min_replicates": int(params["min_replicates"]),
        "filter_genes": "filterByExpr (edgeR's rule)" if plan.filter_genes else "none",
        "scale": "counts" if plan.is_counts else "log values",
    }
    run = {k: params[k] for k in ("conditions_per_fit", "alpha", "robust", "n_cpus", "n_jobs", "client", "executor")}
    options = {k: params[k] for k in ("mod", "allow_single_cells", "allow_normalized")}
    return {
        **resolved,
        **run,
        "groups": list(plan.groups),
        **options,
        "fits": pd.DataFrame(fits, columns=FIT_COLUMNS),
        "skipped": pd.DataFrame(plan.skipped, columns=["group", "what", "reason"]),
        "versions": versions(),
        "replicates": replicates,
    }
