"""Cox proportional hazards, Kaplan–Meier and the log-rank test, through lifelines.

Nothing is estimated here by hand: lifelines' ``CoxPHFitter`` (Efron's method for tied event times, as R's
``coxph``), ``KaplanMeierFitter`` (Greenwood variance, log(−log) intervals, as R's ``survfit`` with
``conf.type = "log-log"``), ``multivariate_logrank_test`` (R's ``survdiff``) and ``proportional_hazard_test``
(the Grambsch–Therneau test on scaled Schoenfeld residuals). This module only shapes their results.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

#: Newton–Raphson stopping rules of the Cox fits. lifelines stops on a small Newton decrement (about half the
#: squared step) without taking that last step; its default (1e-7) leaves coefficients ~1e-6 from the optimum.
#: These take the steps down to ~1e-13 (stopping when the log-likelihood no longer changes), as R's coxph does.
FIT_OPTIONS = {"precision": 1e-16, "r_precision": 1e-15, "max_steps": 200}
#: The time transform of the proportional-hazards test (R's ``cox.zph`` default).
PH_TRANSFORM = "km"
PH_METHOD = (
    "Grambsch–Therneau score test of the scaled Schoenfeld residuals against Kaplan–Meier-transformed time "
    "(lifelines proportional_hazard_test, time_transform='km'; R's cox.zph uses the exact score test since survival "
    "3.0 and may differ slightly)"
)


def cox_fit(frame: pd.DataFrame, terms: list[str]):
    """A fitted ``CoxPHFitter`` of ``time``/``event`` on ``terms`` of ``frame``; ``None`` if the fit fails."""
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            return CoxPHFitter().fit(frame[["time", "event", *terms]], "time", "event", fit_options=FIT_OPTIONS)
        except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError):
            return None


def null_lr(fit) -> tuple[float, float]:
    """The likelihood-ratio test of every term of ``fit`` against the model without terms (β = 0)."""
    res = fit.log_likelihood_ratio_test()
    return float(res.test_statistic), float(res.p_value)


def detectable_hr(n_events: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The hazard ratio per SD a two-sided Wald test detects with ``power`` at ``alpha`` given ``n_events``.

    Schoenfeld's (1983) approximation for a standardised covariate: ``exp((z_{1-alpha/2} + z_power) / sqrt(D))``.
    Covariates correlated with the score raise it (by ``1 / sqrt(1 - R²)`` on the log scale).
    """
    return float(np.exp((norm.ppf(1 - alpha / 2) + norm.ppf(power)) / np.sqrt(n_events)))


def coefficients(fit) -> pd.DataFrame:
    """Per term: ``coef``, ``se``, ``hr``, ``hr_lo``, ``hr_hi`` (95 % Wald), ``z``, ``pvalue`` (Wald)."""
    s = fit.summary
    q = norm.ppf(0.975)
    coef, se = s["coef"].to_numpy(float), s["se(coef)"].to_numpy(float)
    return pd.DataFrame(
        {
            "term": s.index.astype(str),
            "coef": coef,
            "se": se,
            "hr": np.exp(coef),
            "hr_lo": np.exp(coef - q * se),
            "hr_hi": np.exp(coef + q * se),
            "z": coef / se,
            "pvalue": 2 * norm.sf(np.abs(coef / se)),
        }
    )


def lr_test(full_ll: float, reduced_ll: float, df: int = 1) -> tuple[float, float]:
    """Likelihood-ratio statistic and p-value of nested Cox models."""
    stat = max(2.0 * (full_ll - reduced_ll), 0.0)
    return stat, float(chi2.sf(stat, df))


def ph_test(fit, frame: pd.DataFrame, term: str) -> tuple[float, float]:
    """The proportional-hazards test of ``term`` (statistic, p-value); NaN when it cannot be computed."""
    from lifelines.statistics import proportional_hazard_test

    try:
        res = proportional_hazard_test(fit, frame, time_transform=PH_TRANSFORM).summary
        return float(res.loc[term, "test_statistic"]), float(res.loc[term, "p"])
    except (ValueError, np.linalg.LinAlgError, KeyError):
        return float("nan"), float("nan")


def logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> tuple[float, int, float]:
    """The log-rank test across the groups (chi-square, df, p-value), as R's ``survdiff``."""
    from lifelines.statistics import multivariate_logrank_test

    res = multivariate_logrank_test(time, group, event)
    return float(res.test_statistic), int(res.degrees_of_freedom), float(res.p_value)


def km_curve(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """A Kaplan–Meier curve with its 95 % log(−log) interval and, per distinct time, the numbers at risk."""
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(time, event)
    table = km.event_table
    ci = km.confidence_interval_survival_function_
    return pd.DataFrame(
        {
            "time": table.index.to_numpy(float),
            "at_risk": table["at_risk"].to_numpy(int),
            "events": table["observed"].to_numpy(int),
            "censored": table["censored"].to_numpy(int),
            "survival": km.survival_function_.iloc[:, 0].reindex(table.index).to_numpy(float),
            "ci_lo": ci.iloc[:, 0].reindex(table.index).to_numpy(float),
            "ci_hi": ci.iloc[:, 1].reindex(table.index).to_numpy(float),
        }
    )
