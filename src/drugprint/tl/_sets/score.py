"""Score a gene-set net on signatures: set tests over each fit's replicates, or decoupler's gene-level methods."""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._checks import check_choice
from ..._results import caller_stacklevel
from ...resources import provenance
from .._parallel import run_tasks
from .._stats.replicates import fits
from .coverage import coverage_table
from .genes import decoupler_scores, effect_sizes
from .methods import SET_METHODS, SetMethod
from .net import minimum, prepare_net
from .replicate import LOW_DF_NOTE, low_df_table, replicate_scores


def score_sets(
    sig: AnnData,
    net: pd.DataFrame,
    *,
    method: str,
    layer: str | None,
    tmin: int,
    key_added: str,
    min_fraction: float,
    min_tested_fraction: float = 0.0,
    id_column: str | None = None,
    level: float = 0.95,
    inter_gene_cor: float | None = None,
    coverage: str | None = None,
    species: str | None = None,
    extra: dict | None = None,
    n_jobs: int = 1,
    client=None,
    verbose: bool = False,
    **kwargs,
) -> None:
    """Score ``net`` on ``sig``; write ``obsm[key_added]``, ``_padj``, ``_log2fc``, ``_log2fc_lo/_hi``, ``uns``.

    Replicate methods need ``sig.uns["de"]["replicates"]``; signatures without it are scored with ``ulm``
    and a warning. Effect intervals come from the replicates whenever they are kept, whatever the method.
    A set is scored in a signature when at least ``tmin`` of its genes and ``min_tested_fraction`` of them were
    tested there (else NaN); ``min_fraction`` only warns of sets the data mostly lack. ``coverage``: the name of
    the set column of ``uns[key_added]["coverage"]``, the genes tested per signature and set (``None``: not kept).
    Each fit's set tests are a task of :func:`drugprint.tl._parallel.run_tasks` (``n_jobs``, ``client``); the
    executor is recorded in ``params["executor"]``.
    """
    check_choice(method, list(SET_METHODS), name="method")
    spec = SET_METHODS[method]
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}.")
    original, matched, matched_by, overlap = prepare_net(sig, net, layer, id_column, min_fraction, species)
    net = matched[["source", "target", "weight"]]
    need = minimum(overlap, tmin, min_tested_fraction)
    sources = pd.Index(list(dict.fromkeys(net["source"])))
    # signatures × sources: scores, adjusted p-values, interval bounds and (with log2FC) the effect sizes
    tables = {k: np.full((sig.n_obs, len(sources)), np.nan) for k in ("score", "padj", "lo", "hi")}
    if "log2fc" in sig.layers:
        tables["log2fc"] = effect_sizes(sig, net, sources, need)
    omnibus = _omnibus(sig, tables)
    kept_fits = fits(sig)
    parallel = {"n_jobs": n_jobs, "client": client, "verbose": verbose}
    resampling, executor = _replicate_tests(
        sig, kept_fits, net, spec, need, level, inter_gene_cor, tables, sources, parallel
    )
    basis, gene_rows, gene_method = _basis(sig, spec, {s for f in kept_fits for s in f.signatures}, omnibus)
    if gene_rows:
        sub = sig[gene_rows]
        values = np.asarray(sub.layers[layer] if layer is not None else sub.X, dtype=float)
        gs = pd.DataFrame(np.nan, index=sub.obs_names, columns=sources)
        gq = gs.copy()
        decoupler_scores(sub, net, values, gene_method, tmin, need, gs, gq, **kwargs)
        rows = sig.obs_names.get_indexer(gene_rows)
        tables["score"][rows], tables["padj"][rows] = gs.to_numpy(), gq.to_numpy()
    _write(sig, tables, sources, key_added, bool(resampling), (tmin, min_tested_fraction), overlap)
    if coverage is not None:
        extra = {"coverage": coverage_table(sig, matched, overlap, layer, coverage), **(extra or {})}
    sig.uns[key_added] = {
        "params": {
            "method": method,
            "layer": layer if layer is not None else "X",
            "tmin": int(tmin),
            "level": float(level),
            "inter_gene_cor": "estimated per set" if inter_gene_cor is None else float(inter_gene_cor),
            "min_fraction": float(min_fraction),
            "min_tested_fraction": float(min_tested_fraction),
            "id_column": id_column or "",
            "species": species or "detected",
            "executor": executor,
        },
        "null": spec.described,
        "net": provenance(original),
        "matched_by": matched_by,
        "overlap": overlap.reset_index(),
        "basis": basis.reset_index().set_axis(["signature", "basis"], axis=1),
        "low_df": low_df_table(sig, method, tables, sources, resampling, kept_fits),
        "low_df_note": LOW_DF_NOTE,
        "replicates": resampling,
        **(extra or {}),
    }


def _replicate_tests(sig, kept_fits, net, spec, need, level, igc, tables: dict, sources, parallel) -> tuple:
    """Each fit's set tests and intervals (one task per fit) into ``tables``; the records by fit, the executor."""
    method = spec.name if spec.replicates else None  # gene-level: only the intervals from the replicates
    rows = [sig.obs_names.get_indexer(f.signatures) for f in kept_fits]
    items = [(f, tables["log2fc"][r] if "log2fc" in tables else None) for f, r in zip(kept_fits, rows, strict=True)]
    task = partial(_fit_task, net=net, method=method, need=need, level=level, inter_gene_cor=igc, sources=sources)
    done, executor = run_tasks(task, items, desc=f"sets ({spec.name})", **parallel)
    resampling = {}
    for fit, r, out in zip(kept_fits, rows, done, strict=True):
        if out is not None:
            values, resampling[fit.key] = out
            for k, v in values.items():
                tables[k][r] = v
    return resampling, executor


def _fit_task(item: tuple, **kwargs):
    """One fit's set tests (``item``: the fit and its signatures' log2FC, the centres of the intervals)."""
    fit, centres = item
    return replicate_scores(fit, centres=centres, **kwargs)


def _omnibus(sig: AnnData, tables: dict) -> set[str]:
    """The omnibus signatures, left unscored (with a warning): an F or LRT statistic has no direction."""
    omnibus = set(sig.obs_names[sig.obs["test"].astype(str) == "omnibus"]) if "test" in sig.obs else set()
    if omnibus:
        warnings.warn(
            f"{len(omnibus)} omnibus signature(s) (e.g. {sorted(omnibus)[0]!r}) are left unscored: their F or "
            "likelihood-ratio statistics say that genes moved, not in which direction. Test sets on the "
            "contrasts or coefficients instead.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
        if "log2fc" in tables:
            tables["log2fc"][sig.obs_names.get_indexer(sorted(omnibus))] = np.nan
    return omnibus


def _basis(sig: AnnData, spec: SetMethod, with_replicates: set[str], omnibus: set[str]):
    """What each signature's p-values rest on; the signatures scored gene by gene, and with which method.

    A replicate method scores the signatures without per-profile data with ``ulm`` (a warning says so).
    """
    basis = pd.Series(f"genes ({spec.name}): p-values assume independent genes", index=sig.obs_names)
    basis[sorted(omnibus)] = "not scored: omnibus test"
    if not spec.replicates:
        return basis, [s for s in sig.obs_names if s not in omnibus], spec.name
    without = [s for s in sig.obs_names if s not in with_replicates and s not in omnibus]
    basis[list(with_replicates)] = f"replicates ({spec.name})"
    if without:
        basis[without] = "genes (ulm): p-values assume independent genes"
        warnings.warn(
            f"{len(without)} of {sig.n_obs} signatures (e.g. {without[0]!r}) carry no per-profile data "
            f"(a published table, or signatures not made by dp.tl.de), so method={spec.name!r} cannot treat "
            "samples as replicates; they were scored with decoupler's ulm, whose p-values assume "
            "independent genes.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    return basis, without, "ulm"


def _write(sig: AnnData, tables: dict, sources: pd.Index, key_added: str, intervals: bool, least, overlap) -> None:
    """The sets scored in some signature into ``obsm``: scores, padj, effect sizes and their intervals.

    ``least``: ``(tmin, min_tested_fraction)``, named with the overlap per set when no set was scored.
    """
    kept = ~np.isnan(tables["score"]).all(axis=0)
    if not kept.any():
        tmin, fraction = least
        share = f" and {fraction:.0%} of its genes" if fraction > 0 else ""
        raise ValueError(
            f"No gene set has at least tmin={tmin} tested genes{share} in any signature; lower tmin or check that "
            f"the net's genes match sig.var_names (overlap per set: {overlap['n_matched'].to_dict()})."
        )
    outputs = {"score": key_added, "padj": f"{key_added}_padj", "log2fc": f"{key_added}_log2fc"}
    if intervals:
        outputs.update(lo=f"{key_added}_log2fc_lo", hi=f"{key_added}_log2fc_hi")
    for k, obsm_key in outputs.items():
        if k in tables:
            sig.obsm[obsm_key] = pd.DataFrame(tables[k][:, kept], index=sig.obs_names, columns=sources[kept])
