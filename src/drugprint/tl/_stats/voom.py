"""voom for counts: log-CPM with precision weights from the mean–variance trend, then the limma core.

Law, C. W., Chen, Y., Shi, W. & Smyth, G. K. (2014). voom: precision weights unlock linear model analysis
tools for RNA-seq read counts. Genome Biology 15, R29. TMM normalisation: Robinson, M. D. & Oshlack, A.
(2010). A scaling normalization method for differential expression analysis of RNA-seq data. Genome
Biology 11, R25. Both follow limma 3.54 / edgeR 3.40 and are tested against them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .design import Design
from .dupcor import duplicate_correlation, gls_fit
from .linear import lm_fit, moderated_tests


def log_cpm(counts, lib_size=None):
    """log2 counts per million, ``log2((counts + 0.5) / (lib_size + 1) * 1e6)``, as voom computes them.

    Parameters
    ----------
    counts
        Genes × samples (array or DataFrame).
    lib_size
        Library size of each sample; default: the column sums of ``counts``.

    Returns
    -------
    log-CPM values of the same shape and type as ``counts``.
    """
    lib = counts.sum(axis=0) if lib_size is None else lib_size
    return np.log2((counts + 0.5) / (lib + 1) * 1e6)


def _average_ranks(a: np.ndarray) -> np.ndarray:
    """1-based ranks with ties averaged (R's ``rank``; ``scipy.stats.rankdata`` without its per-call overhead)."""
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    new = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], s.size]
    ranks = np.empty(a.size)
    ranks[order] = ((starts + ends + 1) / 2)[np.cumsum(new) - 1]
    return ranks


def _tmm_factor(obs, ref, n_obs, n_ref, logratio_trim=0.3, sum_trim=0.05) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log2((obs / n_obs) / (ref / n_ref))
        abs_e = (np.log2(obs / n_obs) + np.log2(ref / n_ref)) / 2
        v = (n_obs - obs) / n_obs / obs + (n_ref - ref) / n_ref / ref
    fin = np.isfinite(log_r) & np.isfinite(abs_e)
    log_r, abs_e, v = log_r[fin], abs_e[fin], v[fin]
    if np.max(np.abs(log_r)) < 1e-6:
        return 1.0
    n = log_r.size
    lo_l = np.floor(n * logratio_trim) + 1
    hi_l = n + 1 - lo_l
    lo_s = np.floor(n * sum_trim) + 1
    hi_s = n + 1 - lo_s
    rl, ra = _average_ranks(log_r), _average_ranks(abs_e)
    keep = (rl >= lo_l) & (rl <= hi_l) & (ra >= lo_s) & (ra <= hi_s)
    f = np.nansum(log_r[keep] / v[keep]) / np.nansum(1 / v[keep])
    return float(2 ** (0.0 if np.isnan(f) else f))


def tmm_factors(counts: np.ndarray, lib_size: np.ndarray | None = None) -> np.ndarray:
    """TMM normalisation factors of ``counts`` (genes × samples), scaled to a geometric mean of 1."""
    x = np.asarray(counts, dtype=float)
    lib = x.sum(axis=0) if lib_size is None else np.asarray(lib_size, dtype=float)
    x = x[(x > 0).any(axis=1)]
    if x.shape[0] == 0 or x.shape[1] == 1:
        return np.ones(x.shape[1])
    f75 = np.quantile(x, 0.75, axis=0) / lib
    ref = int(np.argmax(np.sqrt(x).sum(axis=0))) if np.median(f75) < 1e-20 else int(np.argmin(np.abs(f75 - f75.mean())))
    f = np.array([_tmm_factor(x[:, i], x[:, ref], lib[i], lib[ref]) for i in range(x.shape[1])])
    return f / np.exp(np.mean(np.log(f)))


def _lowess(x: np.ndarray, y: np.ndarray, span: float) -> tuple[np.ndarray, np.ndarray]:
    """R's ``lowess(x, y, f=span)`` (iter=3, delta=1% of the range), via statsmodels."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    fitted = lowess(y, x, frac=span, it=3, delta=0.01 * (x.max() - x.min()), return_sorted=True)
    return fitted[:, 0], fitted[:, 1]


def voom(counts: np.ndarray, design: np.ndarray, lib_size: np.ndarray, span: float = 0.5):
    """log-CPM values and precision weights (both genes × samples) for ``counts`` (genes × samples)."""
    counts = np.asarray(counts, dtype=float)
    y = log_cpm(counts, lib_size)
    return y, voom_weights(counts, lm_fit(y, design), design, lib_size, span)


def voom_weights(counts: np.ndarray, fit, design: np.ndarray, lib_size: np.ndarray, span: float = 0.5) -> np.ndarray:
    """Precision weights of voom from a fit of the log-CPM.

    The lowess trend of sqrt(sigma) on the mean log-count, read at each fitted value; ``fit`` may be blocked,
    as in ``voom(block=, correlation=)``.
    """
    sx = fit.amean + np.mean(np.log2(lib_size + 1)) - np.log2(1e6)
    sy = np.sqrt(fit.sigma)
    nonzero = counts.sum(axis=1) > 0
    lx, ly = _lowess(sx[nonzero], sy[nonzero], span)
    ux, inv = np.unique(lx, return_inverse=True)  # ties: mean, as approxfun(ties = mean)
    uy = np.bincount(inv, weights=ly) / np.bincount(inv)
    fitted_logcount = np.log2(1e-6 * 2 ** (fit.coefficients @ design.T) * (lib_size + 1))
    return 1 / np.interp(fitted_logcount, ux, uy) ** 4


def voom_blocked(counts, design, lib_size, block, span: float = 0.5):
    """Voom with a blocking factor as limma's user's guide recommends: correlation, voom and correlation again.

    ``voom``; ``duplicateCorrelation`` with its weights; ``voom(block=, correlation=)`` (the mean–variance
    trend from the blocked GLS fit); ``duplicateCorrelation`` again. Fit the result with
    ``gls_fit(E, design, block, final_correlation, weights)``.

    Parameters
    ----------
    counts
        Counts, genes × samples.
    design
        Design matrix, samples × coefficients.
    lib_size
        Library size of each sample, already scaled by the normalisation factors (TMM).
    block
        Block label of each sample.
    span
        lowess span of the mean–variance trend.

    Returns
    -------
    log-CPM ``E`` and weights (both genes × samples), the first-round and the final consensus correlation.
    """
    counts = np.asarray(counts, dtype=float)
    design = np.asarray(design, dtype=float)
    lib_size = np.asarray(lib_size, dtype=float)
    e, w = voom(counts, design, lib_size, span=span)
    first = duplicate_correlation(e, design, block, weights=w).consensus
    w = voom_weights(counts, gls_fit(e, design, block, first), design, lib_size, span)
    final = duplicate_correlation(e, design, block, weights=w).consensus
    return e, w, first, final


def fit_voom(
    counts: pd.DataFrame, design: Design, tests: dict, block=None, robust: bool = False
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Engine for counts: TMM, voom weights, weighted limma fit and a moderated t or F per test.

    ``counts`` are profiles × genes, already filtered; library sizes are those of the filtered genes
    (edgeR's ``keep.lib.sizes=FALSE``). ``log2fc`` is on the log-CPM scale; ``base_mean`` is the mean log-CPM.
    With ``block``, limma's workflow for repeated measures: voom, duplicateCorrelation, voom again with the
    correlation, duplicateCorrelation again, then a generalised least-squares fit. ``robust``: limma's
    ``eBayes(robust=TRUE)``.
    """
    x = counts.to_numpy(dtype=float).T
    lib = x.sum(axis=0)
    lib = lib * tmm_factors(x, lib)
    mat = design.matrix.to_numpy()
    if block is None:
        e, w = voom(x, mat, lib)  # also what the replicate-level set tests keep (profile_data): handed back
        return moderated_tests(lm_fit(e, mat, w), tests, counts.columns, robust=robust), {"voom": (e, w)}
    e, w, _, rho = voom_blocked(x, mat, lib, block)
    fit = gls_fit(e, mat, block, rho, w)
    return moderated_tests(fit, tests, counts.columns, robust=robust), {"block_correlation": rho}
