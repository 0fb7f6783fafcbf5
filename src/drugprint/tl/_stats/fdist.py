"""limma's variance prior: ``fitFDist``, ``squeezeVar`` and the robust ``fitFDistRobustly`` (``eBayes(robust=TRUE)``).

The gene variances follow a scaled F distribution (Smyth, G. K. (2004). Statistical Applications in Genetics and
Molecular Biology 3(1), Article 3). In the robust form its scale and degrees of freedom are fitted to Winsorized log
variances, and each variance then gets its own prior degrees of freedom, shrunk towards 0 the more likely it is an
outlier, so that a few genes (or cell types) with extreme variances neither inflate the prior nor are squeezed
towards it. Follows R's limma 3.54 without the ``covariate`` (trend) option and is tested against its output.
Robust method: Phipson, B., Lee, S., Majewski, I. J., Alexander, W. S. and Smyth, G. K. (2016). Robust
hyperparameter estimation protects against hypervariable genes and improves power to detect differential
expression. Annals of Applied Statistics 10(2), 946–963.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

#: Fractions of the smallest and largest log variances Winsorized (limma's ``winsor.tail.p``).
WINSOR_TAIL_P = (0.05, 0.1)

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(128)  # Gauss–Legendre on [0, 1] (statmod's "uniform")
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2


def trigamma_inverse(x: float) -> float:
    """Solve ``trigamma(y) = x`` by Newton's method (limma's ``trigammaInverse``)."""
    if x > 1e7:
        return 1 / np.sqrt(x)
    if x < 1e-6:
        return 1 / x
    y = 0.5 + 1.0 / x
    for _ in range(50):
        tri = special.polygamma(1, y)
        dif = tri * (1 - tri / x) / special.polygamma(2, y)
        y += dif
        if -dif / y < 1e-8:
            break
    return float(y)


def fit_f_dist(x: np.ndarray, df1: np.ndarray) -> tuple[float, float]:
    """Scale and degrees of freedom of a scaled F distribution fitted to variances ``x`` (``fitFDist``)."""
    ok = np.isfinite(x) & np.isfinite(df1) & (df1 > 1e-15) & (x > -1e-15)
    x, df1 = np.maximum(x[ok], 0.0), df1[ok]
    if x.size < 2:
        return (float(x[0]) if x.size else np.nan), 0.0
    m = np.median(x)
    if m == 0:
        m = 1.0
    x = np.maximum(x, 1e-5 * m)
    e = np.log(x) - special.digamma(df1 / 2) + np.log(df1 / 2)
    emean = e.mean()
    evar = ((e - emean) ** 2).sum() / (x.size - 1) - special.polygamma(1, df1 / 2).mean()
    if evar > 0:
        df2 = 2 * trigamma_inverse(evar)
        return float(np.exp(emean + special.digamma(df2 / 2) - np.log(df2 / 2))), df2
    return float(x.mean()), np.inf


def squeeze_var(var: np.ndarray, df: np.ndarray, robust: bool = False) -> tuple[np.ndarray, float, float | np.ndarray]:
    """Posterior variances, prior variance and prior df (``squeezeVar``; per variance with ``robust``)."""
    var = np.where(df == 0, 0.0, var)
    if robust:
        s0, _, d0 = fit_f_dist_robust(var, df)
    else:
        s0, d0 = fit_f_dist(var, df)
    with np.errstate(invalid="ignore"):
        post = np.where(np.isfinite(d0), (df * var + d0 * s0) / (df + d0), s0)
    return post, s0, d0


def _fdist(df1, df2: float):
    """The F(df1, df2) distribution; with ``df2 = Inf`` the limit χ²(df1) / df1, as R's ``pf``/``qf`` give it."""
    return stats.chi2(df1, scale=1 / np.asarray(df1, dtype=float)) if np.isinf(df2) else stats.f(df1, df2)


def _link_inverse(u: float) -> float:
    return np.inf if u >= 1 else u / (1 - u)


def _winsorized_moments(df1: float, df2: float, tail: np.ndarray) -> tuple[float, float]:
    """Mean and variance of the Winsorized log of an F(df1, df2) variable (by quadrature on the link scale)."""
    dist = _fdist(df1, df2)
    fq = dist.ppf(np.array([tail[0], 1 - tail[1]]))
    zq = np.log(fq)
    q = fq / (1 + fq)
    nodes = q[0] + (q[1] - q[0]) * _NODES
    fnodes = nodes / (1 - nodes)
    znodes = np.log(fnodes)
    dens = dist.pdf(fnodes) / (1 - nodes) ** 2
    width = q[1] - q[0]
    mean = width * np.sum(_WEIGHTS * dens * znodes) + np.sum(zq * tail)
    var = width * np.sum(_WEIGHTS * dens * (znodes - mean) ** 2) + np.sum((zq - mean) ** 2 * tail)
    return float(mean), float(var)


def _common_df1(x: np.ndarray, df1: np.ndarray, scale: float, df2: float) -> tuple[np.ndarray, float]:
    """Variances with fewer degrees of freedom mapped to the largest ``df1`` by matching tail probabilities."""
    top = float(df1.max())
    low = df1 < top - 1e-14
    if not low.any():
        return x, top
    f = x[low] / scale
    upper, lower = _fdist(df1[low], df2).logsf(f), _fdist(df1[low], df2).logcdf(f)
    up = upper < lower
    f[up] = _fdist(top, df2).isf(np.exp(upper[up]))
    f[~up] = _fdist(top, df2).ppf(np.exp(lower[~up]))
    x = x.copy()
    x[low] = f * scale
    return x, top


def fit_f_dist_robust(
    x: np.ndarray, df1: np.ndarray, winsor_tail_p: tuple[float, float] = WINSOR_TAIL_P
) -> tuple[float, float, np.ndarray]:
    """Scale, common ``df2`` and per-variance prior degrees of freedom (``df2.shrunk``) of ``fitFDistRobustly``.

    Variances with ``df1`` of 0 (or NaN) take the common ``df2``. With fewer than ``1 / winsor_tail_p`` variances
    nothing is Winsorized and the result is :func:`fit_f_dist`'s, as in limma.
    """
    x = np.asarray(x, dtype=float)
    df1 = np.broadcast_to(np.asarray(df1, dtype=float), x.shape)
    n = x.size
    if n < 2:
        return np.nan, np.nan, np.full(n, np.nan)
    if n == 2:
        scale, df2 = fit_f_dist(x, df1)
        return scale, df2, np.full(n, df2)
    ok = np.isfinite(x) & np.isfinite(df1) & (df1 > 1e-6)
    if ok.all():
        return _robust_fit(x, df1, np.asarray(winsor_tail_p, dtype=float))
    scale, df2, shrunk_ok = fit_f_dist_robust(x[ok], df1[ok], winsor_tail_p)
    shrunk = np.full(n, df2)
    shrunk[ok] = shrunk_ok
    return scale, df2, shrunk


def _robust_fit(x: np.ndarray, df1: np.ndarray, tail: np.ndarray) -> tuple[float, float, np.ndarray]:
    n = x.size
    m = np.median(x)
    if m <= 0:
        raise ValueError("Most variances are 0 or less; the robust variance prior cannot be fitted.")
    x = np.maximum(x, m * 1e-12)  # limma offsets very small variances away from zero
    scale_nr, df2_nr = fit_f_dist(x, df1)
    if (tail < 1 / n).all():
        return scale_nr, df2_nr, np.full(n, df2_nr)
    x, d1 = _common_df1(x, df1, scale_nr, df2_nr)
    z = np.log(x)
    ztrend = stats.trim_mean(z, tail[1])
    zresid = z - ztrend
    lo, hi = np.quantile(zresid, [tail[0], 1 - tail[1]])
    zwins = np.clip(zresid, lo, hi)
    zwmean = zwins.mean()
    zwvar = np.mean((zwins - zwmean) ** 2) * n / (n - 1)

    def gap(u: float) -> float:
        return float(np.log(zwvar / _winsorized_moments(d1, _link_inverse(u), tail)[1]))

    if gap(1.0) <= 0:  # the log variances vary no more than with df2 = Inf
        trend = ztrend + zwmean - _winsorized_moments(d1, np.inf, tail)[0]
        fstat = np.exp(z - trend)
        tail_p = _fdist(d1, np.inf).sf(fstat)
        not_outlier = np.minimum(tail_p / ((n - stats.rankdata(fstat) + 0.5) / n), 1)
        shrunk = np.full(n, np.inf)
        out = not_outlier < 1
        if out.any():
            shrunk[out] = not_outlier[out] * n * d1
            order = np.argsort(tail_p, kind="stable")
            shrunk[order] = np.maximum.accumulate(shrunk[order])
        return float(np.exp(trend)), np.inf, shrunk
    if np.isinf(df2_nr):
        return scale_nr, df2_nr, np.full(n, df2_nr)
    start = df2_nr / (1 + df2_nr)
    df2 = df2_nr if gap(start) >= 0 else _link_inverse(optimize.brentq(gap, start, 1.0, xtol=1e-8))
    trend = ztrend + zwmean - _winsorized_moments(d1, df2, tail)[0]
    fstat = np.exp(z - trend)
    log_tail_p = _fdist(d1, df2).logsf(fstat)
    log_not_outlier = np.minimum(log_tail_p - (np.log(n - stats.rankdata(fstat) + 0.5) - np.log(n)), 0)
    if not (log_not_outlier < 0).any():
        return float(np.exp(trend)), df2, np.full(n, df2)
    not_outlier, outlier = np.exp(log_not_outlier), -np.expm1(log_not_outlier)
    if np.isneginf(log_tail_p.min()):
        shrunk = not_outlier * df2
    else:
        df2_outlier = np.log(0.5) / log_tail_p.min() * df2
        df2_outlier = np.log(0.5) / _fdist(d1, df2_outlier).logsf(fstat.max()) * df2_outlier
        shrunk = not_outlier * df2 + outlier * df2_outlier
    order = np.argsort(log_tail_p, kind="stable")
    ordered = shrunk[order]
    running = np.cumsum(ordered) / np.arange(1, n + 1)
    first = int(np.argmin(running))
    ordered[: first + 1] = running[first]
    shrunk[order] = np.maximum.accumulate(ordered)
    return float(np.exp(trend)), df2, shrunk
