"""Welch's t-test per gene between two conditions, with Benjamini–Hochberg adjustment (a plain baseline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .multitest import bh


def fit_ttest(
    values: pd.DataFrame, condition: pd.Series, contrasts: list[tuple[str, str]]
) -> dict[tuple[str, str], pd.DataFrame]:
    """``values`` are profiles × genes on a log scale; covariates are ignored by this test."""
    cond = condition.astype(str).to_numpy()
    x = values.to_numpy(dtype=float)
    out = {}
    for a, b in contrasts:
        xa, xb = x[cond == a], x[cond == b]
        with np.errstate(invalid="ignore", divide="ignore"):
            res = stats.ttest_ind(xa, xb, axis=0, equal_var=False, nan_policy="omit")
        diff = np.nanmean(xa, axis=0) - np.nanmean(xb, axis=0)
        t = np.asarray(res.statistic, dtype=float)
        p = np.asarray(res.pvalue, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.abs(diff / t)
        out[a, b] = pd.DataFrame(
            {"log2fc": diff, "lfcse": se, "stat": t, "pvalue": p, "padj": bh(p), "base_mean": np.nanmean(x, axis=0)},
            index=values.columns,
        )
    return out
