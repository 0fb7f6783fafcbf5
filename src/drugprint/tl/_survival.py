"""``survival``: do per-sample scores predict time to event? Cox models, Kaplan–Meier curves, log-rank tests."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._anndata import as_anndata
from .._checks import check_choice, check_obs_keys
from .._docs import doc_params, key_added
from .._env import progress
from .._results import caller_stacklevel, store
from ._stats import survival as surv
from ._stats.multitest import bh

#: How samples are grouped for Kaplan–Meier curves and the log-rank test.
SPLITS = ("median", "tertiles")
CAUSAL_NOTE = (
    "An association of a score with survival in a cohort is not a causal effect of the drug: the score measures "
    "how much a patient's tumour already resembles the drug's signature, which can stand for proliferation, "
    "subtype or stage."
)


def _endpoints(time_key, event_key, endpoints) -> list[tuple[str, str, str]]:
    """``(name, time_key, event_key)`` of each endpoint."""
    times = [time_key] if isinstance(time_key, str) else list(time_key)
    events = [event_key] if isinstance(event_key, str) else list(event_key)
    if len(times) != len(events) or not times:
        raise ValueError(
            f"time_key and event_key must name the same number of columns (one per endpoint); got {times} and {events}."
        )
    names = times if endpoints is None else [str(e) for e in endpoints]
    if len(names) != len(times) or len(set(names)) != len(names):
        raise ValueError(f"endpoints must be {len(times)} distinct names, one per time_key; got {names}.")
    return list(zip(names, times, events, strict=True))


def _check_endpoint(obs: pd.DataFrame, name: str, time_key: str, event_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated times (finite, ≥ 0) and events (0/1) of one endpoint; a ValueError says what to fix."""
    time = pd.to_numeric(obs[time_key], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(time) | (time < 0)
    if bad.any():
        raise ValueError(
            f"Endpoint {name!r}: obs[{time_key!r}] has {int(bad.sum())} missing, non-numeric or negative times "
            f"(samples {obs.index[bad][:5].tolist()}); times must be >= 0. Drop those samples (e.g. "
            f"cohort[cohort.obs[{time_key!r}].notna()]) or correct them."
        )
    raw = obs[event_key]
    values = raw.astype(str).str.strip() if raw.dtype == object or isinstance(raw.dtype, pd.CategoricalDtype) else raw
    event = pd.to_numeric(values, errors="coerce").to_numpy(float) if raw.dtype != bool else raw.to_numpy(float)
    bad = ~np.isin(event, (0.0, 1.0))
    if bad.any():
        found = sorted(map(str, pd.unique(raw[bad])))[:5]
        raise ValueError(
            f"Endpoint {name!r}: obs[{event_key!r}] must be 0 (censored) or 1 (event) for every sample; "
            f"{int(bad.sum())} samples have {found}. Recode it (e.g. 1 for death or progression) and drop samples "
            "without follow-up."
        )
    if event.sum() == 0:
        raise ValueError(f"Endpoint {name!r}: obs[{event_key!r}] has no events; nothing can be estimated.")
    return time, event


def _design(obs: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Covariate columns as R codes them: numbers as they are, factors as indicators against their first level."""
    cols = {}
    for cov in covariates:
        values = obs[cov]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            cols[cov] = values.astype(float)
            continue
        cat = values.astype("category") if not isinstance(values.dtype, pd.CategoricalDtype) else values
        cat = cat.cat.remove_unused_categories()
        if len(cat.cat.categories) < 2:
            raise ValueError(f"Covariate {cov!r} has fewer than two levels ({list(cat.cat.categories)}); drop it.")
        for level in cat.cat.categories[1:]:
            cols[f"{cov}{level}"] = (cat == level).astype(float).where(cat.notna())
    return pd.DataFrame(cols, index=obs.index)


def _groups(score: np.ndarray, split: str) -> np.ndarray:
    """Score groups: ``high`` above the median, else ``low``; or tertiles ``low``/``mid``/``high`` (R's type 7)."""
    if split == "median":
        return np.where(score > np.median(score), "high", "low")
    q1, q2 = np.quantile(score, [1 / 3, 2 / 3])
    return np.where(score <= q1, "low", np.where(score <= q2, "mid", "high"))


@doc_params(
    key_added=key_added(
        "survival_table",
        ", the ``coefficients`` of every term of every model, the Kaplan–Meier ``curves`` (read them with "
        ":func:`drugprint.get.survival_curves`)",
    )
)
def survival(
    cohort: AnnData,
    score_keys: str | Sequence[str] | None = None,
    *,
    time_key: str | Sequence[str],
    event_key: str | Sequence[str],
    endpoints: Sequence[str] | None = None,
    covariates: Sequence[str] | None = None,
    split: Literal["median", "tertiles"] = "median",
    min_events_per_term: float = 10,
    scores_from: str = "signature_score",
    verbose: bool = True,
    key_added: str = "survival",
    copy: bool = False,
) -> AnnData | None:
    """Does each score predict time to event? Cox models per SD of the score, Kaplan–Meier curves, log-rank tests.

    For every score (an ``obs`` column, e.g. from :func:`drugprint.tl.signature_score`) and every endpoint
    (EFS, OS …: a time and an event column each):

    - **Cox proportional hazards** of the endpoint on the score standardised over the samples in the model (so
      ``hr`` is the hazard ratio per standard deviation), with ``covariates`` (numbers as they are; text or
      categorical columns as indicators against their first level, as R codes factors). Ties by Efron's method.
      ``hr_lo``–``hr_hi`` is the 95 % Wald interval, ``pvalue`` the Wald test and ``lr_pvalue`` the
      likelihood-ratio test of the score (against the model with the covariates alone). Estimates, intervals
      and both p-values equal R's ``coxph`` to 1e-6 (the test suite checks it).
    - **Proportional hazards**: ``ph_pvalue`` is the Grambsch–Therneau test of the score's scaled Schoenfeld
      residuals against Kaplan–Meier-transformed time (``params["ph_method"]``); a small value says the hazard
      ratio changes over follow-up, and a single ``hr`` then averages it.
    - **Kaplan–Meier curves and the log-rank test** of score groups: above versus at-or-below the median
      (``split="median"``), or tertiles. The cut-points are fixed in advance; a cut-point chosen to give the
      smallest p-value is not offered, because its p-value would not hold its error rate.

    **Power.** ``hr_detectable`` is the hazard ratio per SD that the Wald test would detect with 80 % power at
    the 5 % level given the model's events (Schoenfeld 1983: ``exp(2.80 / sqrt(events))``; 1.49 at 50 events,
    1.32 at 100): a score that is not significant in a cohort with few events has not been shown to be
    unrelated to outcome, only not to move the hazard by more than that.

    Benjamini–Hochberg adjusts the Cox p-values (``padj``) and the log-rank p-values (``logrank_padj``) across
    all scores × endpoints of the call. Samples missing a score or a covariate are left out of that score's
    models (counted in ``n_dropped``, with a warning); missing or negative times and events other than 0/1 are
    errors. A model needs ``min_events_per_term`` events per term (score plus covariate columns; 10 is the usual
    rule, Peduzzi et al. 1996), or it raises a ValueError saying how many are needed.

    **What it means.** An association of a score with survival in a cohort is not a causal effect of the drug:
    the score measures how far a patient's tumour already resembles the drug's signature, which can stand for
    proliferation, subtype or stage. Adjust for the known prognostic factors before reading more into it.

    Parameters
    ----------
    cohort
        Samples with scores, follow-up and covariates in ``obs``.
    score_keys
        ``obs`` columns of scores; default the columns written by :func:`drugprint.tl.signature_score` under
        ``scores_from``.
    time_key, event_key
        ``obs`` columns of time to event and of the event indicator (1 event, 0 censored); lists of equal length
        for several endpoints.
    endpoints
        Names of the endpoints (default the ``time_key`` columns).
    covariates
        ``obs`` columns to adjust for.
    split
        Groups of the Kaplan–Meier curves and log-rank test: ``"median"`` or ``"tertiles"``.
    min_events_per_term
        Events needed per model term.
    scores_from
        The ``key_added`` of :func:`drugprint.tl.signature_score` whose columns are the default ``score_keys``.
    verbose
        Show a progress bar over the models (in a terminal).
    {key_added}
    {copy}

    Returns
    -------
    {returns_copy}

    References
    ----------
    Cox D. R. (1972). Regression models and life-tables. *J R Stat Soc B* 34, 187–220.
    Grambsch P. M., Therneau T. M. (1994). Proportional hazards tests and diagnostics based on weighted residuals.
    *Biometrika* 81, 515–526.
    Schoenfeld D. A. (1983). Sample-size formula for the proportional-hazards regression model. *Biometrics* 39,
    499–503.
    Peduzzi P. et al. (1996). A simulation study of the number of events per variable in logistic regression
    analysis. *J Clin Epidemiol* 49, 1373–1379.
    Davidson-Pilon C. (2019). lifelines: survival analysis in Python. *J Open Source Softw* 4, 1317.

    Examples
    --------
    >>> import drugprint as dp
    >>> cohort = dp.datasets.survival_cohort(n_patients=300, hazard_ratio=1.8, random_state=0)
    >>> dp.tl.survival(cohort, "planted_score", time_key="os_time", event_key="os_event", verbose=False)
    >>> row = dp.get.survival_table(cohort).iloc[0]
    >>> bool(row["hr_lo"] < 1.8 < row["hr_hi"]), bool(row["pvalue"] < 1e-6)
    (True, True)
    """
    cohort = as_anndata(cohort, what="cohort")
    keys = _score_keys(cohort, score_keys, scores_from)
    ends = _endpoints(time_key, event_key, endpoints)
    covariates = list(covariates or [])
    check_obs_keys(
        cohort,
        {
            "score_keys": keys,
            "time_key": [e[1] for e in ends],
            "event_key": [e[2] for e in ends],
            "covariates": covariates,
        },
        what="cohort",
    )
    check_choice(split, SPLITS, name="split")
    if min_events_per_term < 0:
        raise ValueError(f"min_events_per_term must be >= 0; got {min_events_per_term}.")
    design = _design(cohort.obs, covariates)
    clash = sorted(set(design.columns) & {"time", "event", "score"})
    if clash:
        raise ValueError(f"Covariate columns may not be named {clash} (the model's own terms); rename them in obs.")
    checked = {name: _check_endpoint(cohort.obs, name, t, e) for name, t, e in ends}
    scores = {key: _score_values(cohort.obs, key) for key in keys}
    rows, coefs, curves, reduced = [], [], [], {}
    jobs = [(k, name) for k in keys for name, _, _ in ends]
    for key, name in progress(jobs, desc="survival", verbose=verbose):
        row, coef, curve = _fit_one(scores[key], *checked[name], design, split, min_events_per_term, name, reduced)
        rows.append({"score": key, "endpoint": name, **row})
        coefs.append(coef.assign(score=key, endpoint=name))
        curves.append(curve.assign(score=key, endpoint=name))
    table = _assemble(rows, covariates, split)
    dropped = table.loc[table["n_dropped"] > 0, ["score", "endpoint", "n_dropped"]]
    if len(dropped):
        warnings.warn(
            f"Samples missing a score or covariate were left out of the models: {dropped.values.tolist()[:6]} "
            "(score, endpoint, samples).",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    front = ["score", "endpoint"]
    entries = {
        "table": table,
        "coefficients": _front(pd.concat(coefs, ignore_index=True), front),
        "curves": _front(pd.concat(curves, ignore_index=True), front),
    }
    params = _params(keys, ends, covariates, split, min_events_per_term)
    return store(cohort, key_added, entries, params, copy=copy, tool="survival", getter="survival_table")


def _front(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return frame[cols + [c for c in frame.columns if c not in cols]]


def _score_keys(cohort: AnnData, score_keys, scores_from: str) -> list[str]:
    """The score columns: as given, else those :func:`signature_score` wrote under ``scores_from``."""
    if score_keys is not None:
        keys = [score_keys] if isinstance(score_keys, str) else list(score_keys)
        if not keys:
            raise ValueError("score_keys is empty; name at least one obs column of scores.")
        return keys
    rec = cohort.uns.get(scores_from)
    if not isinstance(rec, dict) or "columns" not in rec.get("params", {}):
        raise KeyError(
            f"No score_keys given and cohort.uns[{scores_from!r}] holds no scores of dp.tl.signature_score; run it "
            "first or pass score_keys= the obs columns to test."
        )
    return list(rec["params"]["columns"])


def _score_values(obs: pd.DataFrame, key: str) -> np.ndarray:
    """A score column as floats (NaN where missing); a TypeError when it is not numeric, ValueError when constant."""
    if not pd.api.types.is_numeric_dtype(obs[key]) or pd.api.types.is_bool_dtype(obs[key]):
        raise TypeError(f"Score obs[{key!r}] must be numeric; it is {obs[key].dtype}.")
    values = obs[key].to_numpy(float)
    finite = values[np.isfinite(values)]
    if finite.size < 3 or np.ptp(finite) == 0:
        raise ValueError(f"Score obs[{key!r}] is constant or has fewer than 3 values; it cannot predict anything.")
    return values


def _fit_one(
    score, time, event, design, split, min_epv, endpoint, reduced: dict
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Cox model (and covariates-only model), PH test, groups, log-rank and KM curves of one score × endpoint.

    ``reduced`` keeps the covariates-only model's log-likelihood per endpoint and set of patients, which scores
    without missing values share.
    """
    keep = np.isfinite(score) & design.notna().all(axis=1).to_numpy()
    terms = ["score", *design.columns]
    z = (score[keep] - score[keep].mean()) / score[keep].std(ddof=1)
    frame = pd.DataFrame({"time": time[keep], "event": event[keep], "score": z})
    frame[list(design.columns)] = design.to_numpy(float)[keep]
    n_events = int(frame["event"].sum())
    needed = int(np.ceil(min_epv * len(terms)))
    if n_events < needed:
        raise ValueError(
            f"Endpoint {endpoint!r}: {n_events} events for {len(terms)} model terms (score + {len(terms) - 1} "
            f"covariate columns); at least {needed} are needed ({min_epv:g} per term). Use fewer covariates, a "
            "longer follow-up or a larger cohort, or lower min_events_per_term knowingly."
        )
    row = {"n": int(keep.sum()), "n_events": n_events, "n_dropped": int((~keep).sum())}
    row["hr_detectable"] = surv.detectable_hr(n_events)
    fit = surv.cox_fit(frame, terms)
    coef = _cox_row(fit, frame, design, row, reduced, (endpoint, keep.tobytes()))
    finite = np.isfinite(score)
    groups = _groups(score[finite], split)
    stat, df, p = surv.logrank(time[finite], event[finite], groups)
    row.update(logrank_stat=stat, logrank_df=df, logrank_pvalue=p)
    order = ["low", "mid", "high"] if split == "tertiles" else ["low", "high"]
    curves = [
        surv.km_curve(time[finite][groups == g], event[finite][groups == g]).assign(group=g, n=int((groups == g).sum()))
        for g in order
    ]
    curve = _front(pd.concat(curves, ignore_index=True), ["group", "n"])
    curve["group"] = pd.Categorical(curve["group"], categories=order, ordered=True)
    return row, coef, curve


def _cox_row(fit, frame: pd.DataFrame, design: pd.DataFrame, row: dict, reduced: dict, case) -> pd.DataFrame:
    """Fill ``row`` with the score's Cox results (NaN and a note when the fit failed); every term's coefficients."""
    if fit is None:
        row.update(note="Cox fit did not converge (perfect separation or too few events)")
        return pd.DataFrame(columns=["term", "coef", "se", "hr", "hr_lo", "hr_hi", "z", "pvalue"])
    coef = surv.coefficients(fit)
    score = coef.set_index("term").loc["score"]
    if design.shape[1]:
        if case not in reduced:
            base = surv.cox_fit(frame, list(design.columns))
            reduced[case] = base.log_likelihood_ if base is not None else np.nan
        lr = surv.lr_test(fit.log_likelihood_, reduced[case]) if np.isfinite(reduced[case]) else (np.nan, np.nan)
    else:
        lr = surv.null_lr(fit)
    ph = surv.ph_test(fit, frame, "score")
    row.update(
        {k: float(score[k]) for k in ("hr", "hr_lo", "hr_hi", "coef", "se", "z", "pvalue")},
        lr_stat=lr[0],
        lr_pvalue=lr[1],
        concordance=float(fit.concordance_index_),
        ph_stat=ph[0],
        ph_pvalue=ph[1],
        note="",
    )
    return coef


def _assemble(rows: list[dict], covariates: list[str], split: str) -> pd.DataFrame:
    """The Cox table in its column order, with BH over the call's Cox and log-rank p-values."""
    table = pd.DataFrame(rows)
    cox_cols = ["hr", "hr_lo", "hr_hi", "coef", "se", "z", "pvalue", "lr_stat", "lr_pvalue", "concordance"]
    for col in [*cox_cols, "ph_stat", "ph_pvalue"]:
        if col not in table:
            table[col] = np.nan
    table["padj"] = bh(table["pvalue"].to_numpy(float))
    table["logrank_padj"] = bh(table["logrank_pvalue"].to_numpy(float))
    table["covariates"] = ", ".join(covariates)
    table["split"] = split
    table["note"] = table["note"].fillna("") if "note" in table else ""
    order = ["score", "endpoint", "n", "n_events", "n_dropped", "covariates", *cox_cols[:7], "padj", *cox_cols[7:]]
    order += [
        "hr_detectable",
        "ph_stat",
        "ph_pvalue",
        "split",
        "logrank_stat",
        "logrank_df",
        "logrank_pvalue",
        "logrank_padj",
        "note",
    ]
    return table[order]


def _params(keys, ends, covariates, split, min_epv) -> dict:
    return {
        "score_keys": list(keys),
        "endpoints": [e[0] for e in ends],
        "time_keys": [e[1] for e in ends],
        "event_keys": [e[2] for e in ends],
        "covariates": list(covariates),
        "split": split,
        "min_events_per_term": float(min_epv),
        "ties": "efron",
        "hr_scale": "per standard deviation of the score over the samples in the model",
        "ph_method": surv.PH_METHOD,
        "km_interval": "95 % log(-log) (exponential Greenwood) interval",
        "note": CAUSAL_NOTE,
    }
