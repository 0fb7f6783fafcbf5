"""Tidy tables of the cohort tools: :func:`drugprint.tl.signature_score` and :func:`drugprint.tl.survival`."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from anndata import AnnData

from .._results import stored, table_copy


def signature_score_table(cohort: AnnData, key: str = "signature_score", *, genes: bool = False) -> pd.DataFrame:
    """Per signature scored by :func:`drugprint.tl.signature_score`: its ``obs`` column and the genes it used.

    Parameters
    ----------
    cohort
        The cohort after :func:`drugprint.tl.signature_score`.
    key
        Its ``key_added``.
    genes
        Return every listed gene instead (``signature``, ``direction``, ``gene``, ``rank``, the cohort gene it
        ``matched`` — ``""`` when absent — and whether it was ``used``).

    Returns
    -------
    One row per signature: ``signature``, ``n_up``, ``n_up_missing``, ``n_down``, ``n_down_missing`` (genes
    used and listed but absent from the cohort), ``n_used``, ``scored``, ``note`` and ``column``.

    Examples
    --------
    >>> import drugprint as dp
    >>> cohort = dp.datasets.survival_cohort(n_patients=50)
    >>> truth = cohort.uns["survival_truth"]
    >>> dp.tl.signature_score(cohort, {"planted": {"up": truth["up"], "down": truth["down"]}})
    >>> tab = dp.get.signature_score_table(cohort)
    >>> tab.loc[0, "signature"], int(tab.loc[0, "n_up"]), int(tab.loc[0, "n_down"]), tab.loc[0, "column"]
    ('planted', 50, 50, 'signature_score')
    """
    return table_copy(stored(cohort, key, tool="signature_score", entry="genes" if genes else "table", what="cohort"))


def survival_table(
    cohort: AnnData,
    key: str = "survival",
    *,
    scores: Sequence[str] | None = None,
    endpoints: Sequence[str] | None = None,
    coefficients: bool = False,
) -> pd.DataFrame:
    """One Cox row per score × endpoint of :func:`drugprint.tl.survival`, with the log-rank test beside it.

    Parameters
    ----------
    cohort
        The cohort after :func:`drugprint.tl.survival`.
    key
        Its ``key_added``.
    scores, endpoints
        Keep these scores and endpoints (default all).
    coefficients
        Return every term of every model instead (``score``, ``endpoint``, ``term``, ``coef``, ``se``, ``hr``,
        ``hr_lo``, ``hr_hi``, ``z``, ``pvalue``): the covariates' hazard ratios too.

    Returns
    -------
    Columns ``score``, ``endpoint``, ``n``, ``n_events``, ``n_dropped``, ``covariates``, ``hr`` (per SD of the
    score), ``hr_lo``, ``hr_hi`` (95 % Wald), ``coef``, ``se``, ``z``, ``pvalue`` (Wald), ``padj`` (BH over the
    call), ``lr_stat``, ``lr_pvalue`` (likelihood ratio), ``concordance``, ``hr_detectable`` (the HR per SD detected
    with 80 % power given the events), ``ph_stat``, ``ph_pvalue``
    (proportional hazards), ``split``, ``logrank_stat``, ``logrank_df``, ``logrank_pvalue``, ``logrank_padj``,
    ``note``.

    Examples
    --------
    >>> import drugprint as dp
    >>> cohort = dp.datasets.survival_cohort(n_patients=200, hazard_ratio=2.0)
    >>> dp.tl.survival(
    ...     cohort, "planted_score", time_key=["efs_time", "os_time"], event_key=["efs_event", "os_event"],
    ...     endpoints=["EFS", "OS"], covariates=["age", "stage"], verbose=False,
    ... )
    >>> tab = dp.get.survival_table(cohort)
    >>> tab["endpoint"].tolist(), bool((tab["padj"] < 0.05).all())
    (['EFS', 'OS'], True)
    """
    entry = "coefficients" if coefficients else "table"
    table = table_copy(stored(cohort, key, tool="survival", entry=entry, what="cohort"))
    return _subset(table, scores, endpoints)


def survival_curves(
    cohort: AnnData,
    key: str = "survival",
    *,
    scores: Sequence[str] | None = None,
    endpoints: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The Kaplan–Meier curves of the score groups of :func:`drugprint.tl.survival`.

    Parameters
    ----------
    cohort
        The cohort after :func:`drugprint.tl.survival`.
    key
        Its ``key_added``.
    scores, endpoints
        Keep these scores and endpoints (default all).

    Returns
    -------
    One row per score × endpoint × group × distinct time (from 0): ``score``, ``endpoint``, ``group`` (``low``,
    ``high``; or ``low``, ``mid``, ``high``), ``n`` (patients in the group), ``time``, ``at_risk`` (patients
    still followed just before ``time``), ``events``, ``censored``, ``survival`` and its 95 % log(−log)
    interval ``ci_lo``, ``ci_hi``.

    Examples
    --------
    >>> import drugprint as dp
    >>> cohort = dp.datasets.survival_cohort(n_patients=100)
    >>> dp.tl.survival(cohort, "planted_score", time_key="os_time", event_key="os_event", verbose=False)
    >>> km = dp.get.survival_curves(cohort)
    >>> km.groupby("group", observed=True)["n"].first().to_dict()
    {'low': 50, 'high': 50}
    """
    curves = stored(cohort, key, tool="survival", entry="curves", what="cohort")
    table = table_copy(curves, {"group": list(curves["group"].cat.categories)} if "group" in curves else None)
    return _subset(table, scores, endpoints)


def _subset(table: pd.DataFrame, scores, endpoints) -> pd.DataFrame:
    for col, keep in (("score", scores), ("endpoint", endpoints)):
        if keep is None:
            continue
        unknown = sorted(set(keep) - set(table[col]))
        if unknown:
            raise KeyError(f"{col}s {unknown} are not in the results; present: {sorted(set(table[col]))}.")
        table = table[table[col].isin(list(keep))]
    return table.reset_index(drop=True)
