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


def independent_filtering(base_mean: np.ndarray, pvalues: np.ndarray, alpha: float, n_zero: int = 0) -> np.ndarray:
    """DESeq2's independent filtering: Benjamini–Hochberg above the base-mean cutoff that rejects the most.

    R's ``results()`` rule (50 cutoffs between the share of zero means and the 95th percentile, R's ``lowess`` of
    the rejections, the first cutoff within one residual standard deviation of its maximum; Love, Huber & Anders
    2014), on arrays instead of 50 adjusted columns: the
    rejections at every cutoff are counted at once (:func:`bh_rejections`), the lowess is fitted only when it
    decides (some cutoff rejects more than 10 genes), and the p-values are adjusted at the chosen cutoff only.
    ``n_zero`` more genes with a mean of 0 (no count at all, left out of the fit) enter the quantiles, as in R,
    where every gene given to ``DESeq()`` does. Returns the adjusted p-values, NaN for genes filtered out or
    without a p-value.
    """
    from scipy.stats import false_discovery_control

    base_mean = np.asarray(base_mean, dtype=float)
    p = np.asarray(pvalues, dtype=float)
    every = np.concatenate([np.zeros(n_zero), base_mean])
    lower = float(np.mean(every == 0))
    theta = np.linspace(lower, 0.95 if lower < 0.95 else 1.0, 50)
    cutoffs = np.quantile(every, theta)
    has_p = ~np.isnan(p)
    rejections = bh_rejections(p[has_p], base_mean[has_p], cutoffs, alpha)
    j = 0
    if rejections.max() > 10:
        fitted = lowess(theta, rejections.astype(float), f=1 / 5)
        residual = rejections[rejections > 0] - fitted[rejections > 0]
        above = np.flatnonzero(rejections > fitted.max() - np.sqrt(np.mean(residual**2)))
        j = int(above[0]) if above.size else 0
    out = np.full(p.size, np.nan)
    use = has_p & (base_mean >= cutoffs[j])
    if use.any():
        out[use] = false_discovery_control(p[use], method="bh")
    return out


def lowess(x: np.ndarray, y: np.ndarray, f: float = 2 / 3, iterations: int = 3) -> np.ndarray:
    """R's ``lowess(x, y, f, iter)`` (Cleveland 1979, *JASA* 74:829; R's ``clowess``), for ``x`` sorted ascending.

    Locally weighted linear fits with tricube weights over the nearest ``f * n`` points, points within
    ``delta = 0.01 * range(x)`` of the last fitted one interpolated, then ``iterations`` robustness passes with
    bisquare weights of the residuals (6 median absolute residuals). R's rules for ties, spread and near-zero
    weights are kept, so that the fit equals R's (pydeseq2's port differs in the last digits, which moves
    DESeq2's independent-filtering cutoff where the rejections are close to its threshold).

    Parameters
    ----------
    x
        Sorted abscissae.
    y
        Ordinates.
    f
        The smoother span: the fraction of the points in each local fit.
    iterations
        Robustness iterations.

    Returns
    -------
    The fitted values at ``x``.

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> lowess(x, x**2, f=0.5).round(2).tolist()  # R: round(lowess(0:9, (0:9)^2, f = 0.5)$y, 2)
    [-0.6, 1.88, 4.56, 9.57, 16.57, 25.57, 36.57, 49.56, 64.88, 80.4]
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.size
    if n < 2:
        return y.copy()
    ns = max(2, min(n, int(f * n + 1e-7)))
    delta = 0.01 * (x[-1] - x[0])
    fitted, robust = np.empty(n), np.ones(n)
    for step in range(iterations + 1):
        nleft, nright, last, i = 0, ns - 1, -1, 0
        while True:
            if nright < n - 1 and x[i] - x[nleft] > x[nright + 1] - x[i]:
                nleft, nright = nleft + 1, nright + 1
                continue
            value = _local_line(x, y, i, nleft, nright, robust if step else None)
            fitted[i] = y[i] if value is None else value
            if last < i - 1:  # skipped points: interpolate
                alpha = (x[last + 1 : i] - x[last]) / (x[i] - x[last])
                fitted[last + 1 : i] = alpha * fitted[i] + (1 - alpha) * fitted[last]
            last = i
            i = last + 1
            while i < n and x[i] <= x[last] + delta:
                if x[i] == x[last]:
                    fitted[i] = fitted[last]
                    last = i
                i += 1
            i = max(last + 1, i - 1)
            if last >= n - 1:
                break
        residuals = y - fitted
        if step == iterations:
            break
        cmad = 6 * np.median(np.abs(residuals))
        if cmad < 1e-7 * np.mean(np.abs(residuals)):
            break
        r = np.abs(residuals)
        robust = np.where(r <= 0.001 * cmad, 1.0, np.where(r <= 0.999 * cmad, (1 - (r / cmad) ** 2) ** 2, 0.0))
    return fitted


def _local_line(x, y, i, nleft, nright, robust) -> float | None:
    """R's ``lowest``: the weighted local linear fit at ``x[i]`` from points ``nleft``–``nright`` (and ties)."""
    n, xs = x.size, x[i]
    h = max(xs - x[nleft], x[nright] - xs)
    j = nleft
    while j < n and (abs(x[j] - xs) <= 0.999 * h or x[j] <= xs):
        j += 1
    idx = np.arange(nleft, j)
    r = np.abs(x[idx] - xs)
    w = np.where(r <= 0.999 * h, np.where(r <= 0.001 * h, 1.0, (1 - (r / h) ** 3) ** 3), 0.0)
    if robust is not None:
        w = w * robust[idx]
    total = w.sum()
    if total <= 0:
        return None
    w = w / total
    if h > 0:
        center = np.sum(w * x[idx])
        spread = np.sum(w * (x[idx] - center) ** 2)
        if np.sqrt(spread) > 0.001 * (x[-1] - x[0]):
            w = w * ((xs - center) / spread * (x[idx] - center) + 1)
    return float(np.sum(w * y[idx]))
