"""The stages of a run with a patient cohort: read it, score the signatures in each patient, test survival, draw.

Given ``cohort=`` (patients × genes with follow-up in ``obs``), the signatures of ``cohort_groups`` are scored in
every patient (:func:`~drugprint.tl.signature_score`) and each score is tested for every endpoint
(:func:`~drugprint.tl.survival`). The cohort is read first, so that a wrong column fails before the long fits;
the scores, the tests and their figures run once the signatures exist.
"""

from __future__ import annotations

from os import PathLike

import pandas as pd

from .. import get, io, pl, tl
from .._anndata import as_anndata
from .._checks import check_obs_keys
from ._figures import _drawer

#: The forest plot shows the score × endpoint rows of at most this many scores (the smallest padj first).
MAX_FOREST = 20


def read(r) -> dict:
    """The cohort (read from its file, or a copy of the object given), its follow-up columns and groups checked."""
    c = r.config
    if isinstance(c.cohort, str | PathLike):
        cohort = io.read(c.cohort)
    else:
        cohort = as_anndata(c.cohort, what="cohort").copy()  # the caller's object is not touched
    keys = {"time_key": c.time_key, "event_key": c.event_key, "cohort_covariates": c.cohort_covariates or []}
    check_obs_keys(cohort, keys, what="cohort")
    if c.cohort_groups is not None:
        if r.samples:
            raise ValueError(
                "cohort_groups=... names groups, but the input is samples (one group of signatures): leave it out."
            )
        if c.groupby in r.adata.obs:
            present = set(r.adata.obs[c.groupby].astype(str))
            unknown = [g for g in c.cohort_groups if g not in present]
            if unknown:
                raise ValueError(
                    f"cohort_groups=... names {unknown}, which are not values of obs[{c.groupby!r}]; present: "
                    f"{sorted(present)[:20]}."
                )
    return {"cohort": cohort}


def signatures(sig, groupby: str, groups) -> list[str]:
    """The signatures (``obs_names``) of ``groups`` (all when ``None``)."""
    if groups is None:
        return [str(n) for n in sig.obs_names]
    names = sig.obs_names[sig.obs[groupby].astype(str).isin(list(groups)).to_numpy()]
    if not len(names):
        raise ValueError(f"No signature of cohort_groups=... {list(groups)} was fitted (see the DE section).")
    return [str(n) for n in names]


def _name_scores(cohort, scored: pd.DataFrame) -> list[str]:
    """Each score also under its signature's name (the survival table and figures then name the signature).

    A name that is already an ``obs`` column keeps the column :func:`~drugprint.tl.signature_score` wrote.
    """
    keys = []
    for name, column in zip(scored["signature"], scored["column"], strict=True):
        key = name if name not in cohort.obs.columns else column
        cohort.obs[key] = cohort.obs[column]
        keys.append(key)
    return keys


def survival(r) -> dict:
    """The chosen signatures scored in every patient, and each score tested for every endpoint."""
    c, sig, cohort = r.config, r["sig"], r["cohort"]
    asked = signatures(sig, c.groupby, c.cohort_groups)
    tl.signature_score(cohort, sig, signatures=asked, alpha=c.alpha)
    table = get.signature_score_table(cohort)
    keys = _name_scores(cohort, table[table["scored"]])
    tl.survival(
        cohort,
        keys,
        time_key=c.time_key,
        event_key=c.event_key,
        endpoints=c.endpoints,
        covariates=c.cohort_covariates,
        split=c.split,
        verbose=c.verbose,
    )
    listed = set(table["signature"])
    missing = [
        {"signature": n, "scored": False, "note": f"no gene at padj < {c.alpha:g}"} for n in asked if n not in listed
    ]
    result = get.survival_table(cohort)
    record = {
        "n_patients": int(cohort.n_obs),
        "n_genes": int(cohort.n_vars),
        "events": {str(k): int(v) for k, v in result.groupby("endpoint", sort=False)["n_events"].max().items()},
        "signature_score": cohort.uns["signature_score"]["params"],
        "survival": cohort.uns["survival"]["params"],
    }
    return {
        "cohort_survival": result,
        "cohort_signatures": pd.concat([table, pd.DataFrame(missing)], ignore_index=True) if missing else table,
        "cohort_record": record,
    }


def ordered(table: pd.DataFrame) -> pd.DataFrame:
    """The survival table by Cox padj, then p-value, then log-rank p (rows without a model last)."""
    return table.sort_values(["padj", "pvalue", "logrank_pvalue"], na_position="last", kind="stable")


def shown_scores(table: pd.DataFrame, n: int = MAX_FOREST) -> list[str]:
    """The ``n`` scores with the smallest padj over their endpoints."""
    best = table.groupby("score", sort=False)["padj"].min().sort_values(na_position="last", kind="stable")
    return [str(s) for s in best.index[:n]]


def figures(r) -> dict:
    """The forest plot of the strongest scores and the Kaplan–Meier curves of the strongest score × endpoint."""
    cohort, table = r["cohort"], r["cohort_survival"]
    draw = _drawer(r.out / "figures")
    best = ordered(table).iloc[0]
    scores = shown_scores(table)
    made = {
        "forest": draw("cohort_hazard_ratios", pl.hazard_ratios, cohort, scores=scores),
        "km": draw("cohort_kaplan_meier", pl.kaplan_meier, cohort, str(best["score"]), str(best["endpoint"])),
        "scores": scores,
        "best": (str(best["score"]), str(best["endpoint"])),
    }
    return {"cohort_figures": made}
