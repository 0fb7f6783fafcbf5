"""Which genes are tested: edgeR's filterByExpr before a fit, DESeq2's independent filtering after it."""

from __future__ import annotations

import numpy as np
import pandas as pd


def filter_by_expr(
    counts: pd.DataFrame,
    group: pd.Series | None = None,
    design: np.ndarray | None = None,
    *,
    min_count: float = 10,
    min_total_count: float = 15,
    large_n: int = 10,
    min_prop: float = 0.7,
) -> np.ndarray:
    """EdgeR's ``filterByExpr``: genes with a CPM of ``min_count`` (at the median library) in enough profiles.

    "Enough" is the smallest ``group`` (edgeR's rule for a one-way layout), or ``1 / max(hat values)`` of
    ``design`` for any other design, relaxed above ``large_n`` profiles by ``min_prop``; genes also need
    ``min_total_count`` reads. Chen, Lun & Smyth (2016) F1000Research 5:1438; edgeR 3.40, tested against it.
    ``counts`` are profiles × genes; returns a boolean mask over the genes.
    """
    y = counts.to_numpy(dtype=np.float64)
    if group is not None:
        min_size = float(pd.Series(np.asarray(group)).value_counts().min())
    elif design is not None:
        q, _ = np.linalg.qr(np.asarray(design, dtype=float))
        min_size = 1.0 / float((q**2).sum(axis=1).max())
    else:
        min_size = float(y.shape[0])
    if min_size > large_n:
        min_size = large_n + (min_size - large_n) * min_prop
    lib = y.sum(axis=1)
    cutoff = min_count / np.median(lib) * 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        cpm = y / lib[:, None] * 1e6
    tol = 1e-14
    return ((cpm >= cutoff).sum(axis=0) >= min_size - tol) & (y.sum(axis=0) >= min_total_count - tol)


def bh_rejections(pvalues: np.ndarray, base_mean: np.ndarray, cutoffs: np.ndarray, alpha: float) -> np.ndarray:
    """How many genes Benjamini–Hochberg rejects at ``alpha`` among those with ``base_mean >= cutoff``, per cutoff.

    Of ``m`` genes it rejects the ``J`` smallest p-values, ``J`` the largest rank ``i`` with ``min(p_(i) m / i, 1) <
    alpha``: exactly the number of adjusted p-values below ``alpha`` from scipy's ``false_discovery_control(method=
    "bh")``, whose arithmetic (``p * (m / i)``, clipped to 1) this repeats, over the p-values below ``alpha`` only and
    for every cutoff at once.

    Parameters
    ----------
    pvalues
        P-values, none NaN.
    base_mean
        The filter statistic of each gene.
    cutoffs
        Lower bounds on ``base_mean``.
    alpha
        Target false discovery rate.

    Returns
    -------
    The number of rejections at each cutoff.
    """
    order = np.argsort(pvalues)
    ps, bm = pvalues[order], base_mean[order]
    m = ps.size - np.searchsorted(np.sort(base_mean), cutoffs, side="left")  # genes kept at each cutoff
    below = np.searchsorted(ps, alpha, side="left")  # only p < alpha can have an adjusted p-value below alpha
    inside = bm[:below] >= cutoffs[:, None]
    rank = np.cumsum(inside, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hit = inside & (np.minimum(ps[:below] * (m[:, None] / rank), 1.0) < alpha)
    return np.where(hit, rank, 0).max(axis=1, initial=0)


def independent_filtering(base_mean: np.ndarray, pvalues: np.ndarray, alpha: float) -> np.ndarray:
    """DESeq2's independent filtering: Benjamini–Hochberg above the base-mean cutoff that rejects the most.

    The same rule as pydeseq2's ``DeseqStats._independent_filtering`` (50 cutoffs between the share of zero
    means and the 95th percentile, a lowess of the rejections, the first cutoff within one residual
    standard deviation of its maximum; Love, Huber & Anders 2014), on arrays instead of 50 pandas columns: the
    rejections at every cutoff are counted at once (:func:`bh_rejections`), the lowess is fitted only when it
    decides (some cutoff rejects more than 10 genes), and the p-values are adjusted at the chosen cutoff only.
    Returns the adjusted p-values, NaN for genes filtered out or without a p-value.
    """
    from pydeseq2.utils import lowess
    from scipy.stats import false_discovery_control

    base_mean = np.asarray(base_mean, dtype=float)
    p = np.asarray(pvalues, dtype=float)
    lower = float(np.mean(base_mean == 0))
    theta = np.linspace(lower, 0.95 if lower < 0.95 else 1.0, 50)
    cutoffs = np.quantile(base_mean, theta)
    has_p = ~np.isnan(p)
    rejections = bh_rejections(p[has_p], base_mean[has_p], cutoffs, alpha)
    j = 0
    if rejections.max() > 10:
        fitted = lowess(theta, rejections, frac=1 / 5)
        residual = rejections[rejections > 0] - fitted[rejections > 0]
        above = np.flatnonzero(rejections > fitted.max() - np.sqrt(np.mean(residual**2)))
        j = int(above[0]) if above.size else 0
    out = np.full(p.size, np.nan)
    use = has_p & (base_mean >= cutoffs[j])
    if use.any():
        out[use] = false_discovery_control(p[use], method="bh")
    return out
