"""Set tests with the samples as replicates, on the per-profile data each DE fit kept; the record of few replicates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from .._stats import settests
from .._stats.multitest import bh
from .._stats.replicates import Fit
from .methods import SET_METHODS


def fit_sets(fit: Fit, net: pd.DataFrame, need: int | pd.Series) -> dict[str, settests.SetIndex]:
    """The sets of ``net`` with the fit's genes they ``need``, as positions in ``fit.genes`` (net order).

    ``need``: per set, the tested genes it needs to be scored (:func:`~drugprint.tl._sets.net.minimum`), or one
    number for every set.
    """
    pos = fit.genes.get_indexer(net["target"])
    found = pos >= 0
    pos, weight = pos[found], net["weight"].to_numpy(dtype=float)[found]
    codes, sources = pd.factorize(net["source"].to_numpy()[found])  # in order of appearance
    order = np.argsort(codes, kind="stable")  # rows of each set together, in the net's order
    bounds = np.searchsorted(codes[order], np.arange(len(sources) + 1))
    out = {}
    for source, start, end in zip(sources, bounds[:-1], bounds[1:], strict=True):
        if end - start >= (need if isinstance(need, int) else need[source]):
            rows = order[start:end]
            out[source] = settests.SetIndex(pos[rows], weight[rows])
    return out


def replicate_scores(
    fit: Fit,
    net: pd.DataFrame,
    method: str | None,
    need: pd.Series,
    level: float,
    inter_gene_cor: float | None,
    centres: np.ndarray | None,
    sources: pd.Index,
) -> tuple[dict[str, np.ndarray], dict] | None:
    """Set tests, effect intervals and activity residuals of one fit's signatures (a task of :func:`run_tasks`).

    Returns ``(values, record)``: ``values["score"|"padj"|"lo"|"hi"]`` are ``fit.signatures`` × ``sources``
    (NaN for sets not scored), the intervals centred on ``centres`` (the signatures' effect sizes, same shape)
    when given; ``record`` is what potency draws need. Sets with fewer of the fit's genes than they ``need`` are
    not scored. ``method=None`` runs no set test (a gene-level method scores the signatures); the intervals still
    come from the replicates. ``None`` when no set can be scored.
    """
    sets = fit_sets(fit, net, need)
    if not sets:
        return None
    names = list(sets)
    cols = sources.get_indexer(names)
    act = settests.set_activities(fit.expr, sets)
    tests = settests.activity_test(act, fit.design, fit.contrasts)
    q = stats.t.ppf((1 + level) / 2, tests[0].df)
    values = {k: np.full((len(fit.signatures), len(sources)), np.nan) for k in ("score", "padj", "lo", "hi")}
    for row, (contrast, at) in enumerate(zip(fit.contrasts, tests, strict=True)):
        if method is not None:
            stat, pvalue = SET_METHODS[method].test(fit, sets, contrast, at, inter_gene_cor)
            values["score"][row, cols], values["padj"][row, cols] = stat, bh(pvalue)
        centre = centres[row, cols] if centres is not None else at.estimate
        values["lo"][row, cols] = centre - q * at.se
        values["hi"][row, cols] = centre + q * at.se
    xtx_inv = np.linalg.inv(fit.design.T @ fit.design)
    return values, {
        "group": fit.group,
        "signatures": np.asarray(fit.signatures, dtype=str),
        "sources": np.asarray(names, dtype=str),
        "residuals": settests.residuals(act, fit.design),
        "k": fit.contrasts @ xtx_inv @ fit.contrasts.T,
        "df_residual": int(fit.df_residual),
        "activity_padj": np.vstack([bh(at.pvalue) for at in tests]),  # signatures × sources, for few replicates
    }


#: Residual degrees of freedom at or below which camera and fry have almost no power (see LOW_DF_NOTE)
LOW_DF = 3
#: What the null and power simulations of ``bench/bench_small_designs.py`` measured (bench/RESULTS.md)
LOW_DF_NOTE = (
    "With 3 residual degrees of freedom or fewer (2–4 samples per arm of a two-arm study), camera and fry can "
    "hardly call a pathway: on simulated paired studies of 2, 3 and 4 donors per arm they called a 1 log2 shift of "
    "interferon-α in 0–7 % of 40 studies each. The self-contained activity test keeps its error rate there "
    "(null studies with a false call: 3–8 %, 5 % expected) and called that shift in 45 % of the studies at 1 "
    "residual df and 97–100 % at 2–3: its calls are listed in 'activity_calls' (dp.tl.pathways(..., "
    "method='activity') to use it). No call here means the study could not tell, not that nothing moved."
)


def low_df_table(
    sig: AnnData, method: str, tables: dict, sources: pd.Index, resampling: dict, kept_fits
) -> pd.DataFrame:
    """One row per signature of a fit with at most ``LOW_DF`` residual df: the calls made, and activity's."""
    rows = []
    for fit in kept_fits:
        rec = resampling.get(fit.key)
        if rec is None or fit.df_residual > LOW_DF:
            continue
        names = pd.Index(rec["sources"])
        for i, signature in enumerate(rec["signatures"]):
            row = sig.obs_names.get_loc(signature)
            cols = sources.get_indexer(names)
            lfc = tables["log2fc"][row, cols] if "log2fc" in tables else np.full(len(names), np.nan)
            hits = np.flatnonzero(rec["activity_padj"][i] < 0.05)
            hits = hits[np.argsort(rec["activity_padj"][i][hits])]
            rows.append(
                {
                    "group": fit.group,
                    "signature": str(signature),
                    "residual_df": int(fit.df_residual),
                    "method": method,
                    "called": int(np.sum(tables["padj"][row, cols] < 0.05)),
                    "called_by_activity": int(hits.size),
                    "activity_calls": "; ".join(f"{names[j]} {'up' if lfc[j] > 0 else 'down'}" for j in hits[:10]),
                }
            )
    columns = ["group", "signature", "residual_df", "method", "called", "called_by_activity", "activity_calls"]
    return pd.DataFrame(rows, columns=columns)
