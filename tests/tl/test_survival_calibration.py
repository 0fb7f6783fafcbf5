"""The survival tests hold their error rate on null cohorts and recover a planted hazard ratio inside its interval.

The cohorts (dp.datasets.survival_cohort) have co-varying gene modules, prognostic age and stage, censoring and
tied times; the score is measured by dp.tl.signature_score from the planted genes, as a user would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import drugprint as dp

SEEDS = range(50)


def _fits(hazard_ratio: float, n_patients: int = 200, covariates=("age", "stage"), **kw) -> pd.DataFrame:
    rows = []
    for seed in SEEDS:
        cohort = dp.datasets.survival_cohort(n_patients=n_patients, hazard_ratio=hazard_ratio, random_state=seed)
        truth = cohort.uns["survival_truth"]
        dp.tl.signature_score(cohort, {"drug": {"up": truth["up"], "down": truth["down"]}})
        dp.tl.survival(
            cohort,
            time_key=["efs_time", "os_time"],
            event_key=["efs_event", "os_event"],
            endpoints=["EFS", "OS"],
            covariates=list(covariates),
            verbose=False,
            **kw,
        )
        rows.append(dp.get.survival_table(cohort).assign(seed=seed))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def null_fits() -> pd.DataFrame:
    return _fits(1.0)


@pytest.mark.parametrize("column", ["pvalue", "lr_pvalue", "logrank_pvalue"])
@pytest.mark.parametrize("endpoint", ["EFS", "OS"])
def test_null_rejects_at_the_nominal_rate(null_fits, column, endpoint):
    p = null_fits.loc[null_fits["endpoint"] == endpoint, column].to_numpy()
    assert p.size == 50
    # binomial(50, 0.05): P(X >= 8) = 0.003
    assert (p < 0.05).sum() <= 7
    # and the p-values are not piled at 1 (a test that never rejects would pass the line above)
    assert 0.35 < np.mean(p) < 0.65


def test_null_interval_covers_one(null_fits):
    covered = (null_fits["hr_lo"] < 1) & (null_fits["hr_hi"] > 1)
    assert covered.mean() >= 0.88  # 95 % nominal; 100 intervals


def test_planted_hazard_ratio_is_recovered_inside_its_interval():
    fits = _fits(1.5)
    covered = (fits["hr_lo"] < 1.5) & (fits["hr_hi"] > 1.5)
    assert covered.mean() >= 0.88  # 95 % nominal over 100 intervals (50 seeds × EFS, OS)
    assert abs(np.exp(np.log(fits["hr"]).mean()) - 1.5) < 0.06  # unbiased on the log scale
    assert (fits["padj"] < 0.05).mean() > 0.9  # 200 patients, 65-130 events: power 0.92-1


def test_small_cohort_null_holds_its_rate():
    """40 patients: about 26 EFS and 13 OS events (one score, no covariates; 5 events per term allowed)."""
    fits = _fits(1.0, n_patients=40, covariates=(), min_events_per_term=5)
    assert fits.loc[fits["endpoint"] == "OS", "n_events"].mean() < 16
    for column in ("pvalue", "lr_pvalue", "logrank_pvalue"):
        assert (fits[column] < 0.05).sum() <= 10  # 100 tests; binomial(100, 0.05): P(X >= 11) = 0.011
    covered = (fits["hr_lo"] < 1) & (fits["hr_hi"] > 1)
    assert covered.mean() >= 0.9
