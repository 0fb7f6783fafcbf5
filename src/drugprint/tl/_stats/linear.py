"""limma's core: linear models per gene (``lmFit``, ``contrasts.fit``) and the empirical-Bayes moderated t and F.

Follows R's limma 3.54 (``eBayes`` without ``trend``; the variance prior, robust or not, in
:mod:`drugprint.tl._stats.fdist`) and is tested against its output. Method: Smyth, G. K. (2004).
Linear models and empirical Bayes methods for assessing differential expression in microarray experiments.
Statistical Applications in Genetics and Molecular Biology 3(1), Article 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .design import largest_effect
from .fdist import squeeze_var
from .multitest import bh


@dataclass
class LinearFit:
    """Per-gene least-squares fits (genes in rows)."""

    coefficients: np.ndarray  # genes × p
    stdev_unscaled: np.ndarray  # genes × p
    sigma: np.ndarray  # genes
    df_residual: np.ndarray  # genes
    amean: np.ndarray  # genes: mean of the (log-scale) values
    cov_coefficients: np.ndarray  # p × p of the unweighted design, as limma keeps it


def lm_fit(y: np.ndarray, design: np.ndarray, weights: np.ndarray | None = None) -> LinearFit:
    """Fit ``y`` (genes × samples) on ``design`` (samples × p), optionally with per-observation weights.

    Missing values (NaN) are left out gene by gene, as limma does.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(design, dtype=float)
    n, p = x.shape
    xtx_inv = np.linalg.inv(x.T @ x)
    amean = np.nanmean(y, axis=1)
    if weights is None and np.isfinite(y).all():
        coef = y @ x @ xtx_inv  # genes × p
        resid = y - coef @ x.T
        df = np.full(y.shape[0], n - p, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma = np.sqrt((resid**2).sum(axis=1) / df)
        stdev = np.broadcast_to(np.sqrt(np.diag(xtx_inv)), coef.shape).copy()
        return LinearFit(coef, stdev, sigma, df, amean, xtx_inv)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float).copy()
    w[~np.isfinite(y) | ~(w > 0)] = 0.0
    yy = np.where(w > 0, y, 0.0)
    xtwx = np.einsum("gs,sp,sq->gpq", w, x, x)
    xtwy = np.einsum("gs,sp,gs->gp", w, x, yy)
    df = (w > 0).sum(axis=1).astype(float) - p
    ok = np.ones(y.shape[0], dtype=bool)  # every weight positive: X'WX has the rank of X (full)
    partial = np.flatnonzero((w <= 0).any(axis=1))
    if partial.size:
        ok[partial] = np.linalg.matrix_rank(xtwx[partial]) == p
    coef = np.full((y.shape[0], p), np.nan)
    stdev = np.full((y.shape[0], p), np.nan)
    inv = np.linalg.inv(xtwx[ok])
    coef[ok] = np.einsum("gpq,gq->gp", inv, xtwy[ok])
    stdev[ok] = np.sqrt(np.einsum("gpp->gp", inv))
    resid = yy - coef @ x.T
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.sqrt((w * resid**2).sum(axis=1) / df)
    sigma[(df <= 0) | ~ok] = np.nan
    df[~ok] = 0.0
    return LinearFit(coef, stdev, sigma, np.maximum(df, 0.0), amean, xtx_inv)


def contrast_fit(fit: LinearFit, contrast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Estimate and unscaled standard deviation of ``contrast`` per gene (limma's ``contrasts.fit``).

    As in limma, the correlation of the coefficients is that of the unweighted design, so weighted fits
    (voom) give limma's numbers exactly.
    """
    c = np.asarray(contrast, dtype=float)
    est = fit.coefficients @ c
    sd = np.sqrt(np.diag(fit.cov_coefficients))
    cor = fit.cov_coefficients / np.outer(sd, sd)
    m = fit.stdev_unscaled * c
    return est, np.sqrt(np.einsum("gp,pq,gq->g", m, cor, m))


def moderated_tests(fit: LinearFit, tests: dict, genes: pd.Index, robust: bool = False) -> dict[str, pd.DataFrame]:
    """Limma's ``eBayes`` for each test, sharing one variance prior; one table (indexed by ``genes``) per test.

    A contrast vector gives the moderated t (``contrasts.fit``); an :class:`~drugprint.tl._stats.design.Omnibus`
    gives the moderated F of its hypothesis (``topTable`` with several coefficients: ``classifyTestsF``, F on
    ``rank`` and the moderated degrees of freedom). For F rows ``stat`` is F, ``lfcse`` is NaN and ``log2fc`` the
    dropped coefficient with the largest absolute estimate (NaN when the reduced design is not a subset of the
    full one's columns). ``df`` is the moderated degrees of freedom of each gene (limma's ``df.total``).
    ``robust``: ``eBayes(robust=TRUE)``, a prior df per gene from
    :func:`~drugprint.tl._stats.fdist.fit_f_dist_robust`.
    """
    s2_post, _, d0 = squeeze_var(fit.sigma**2, fit.df_residual, robust=robust)
    df_total = np.minimum(fit.df_residual + d0, np.nansum(fit.df_residual))
    out = {}
    for key, test in tests.items():
        if isinstance(test, np.ndarray):
            est, sd = contrast_fit(fit, test)
            se = sd * np.sqrt(s2_post)
            t = est / se
            p = 2 * stats.t.sf(np.abs(t), df_total)
            table = {"log2fc": est, "lfcse": se, "stat": t, "pvalue": p}
        else:
            f, rank, est = moderated_f(fit, test.basis, s2_post)
            p = stats.f.sf(f, rank, df_total)
            lfc = largest_effect(est) if test.dropped else np.full_like(f, np.nan)
            table = {"log2fc": lfc, "lfcse": np.full_like(f, np.nan), "stat": f, "pvalue": p}
        table.update(padj=bh(table["pvalue"]), base_mean=fit.amean, df=df_total)
        out[key] = pd.DataFrame(table, index=genes)
    return out


def moderated_f(fit: LinearFit, basis: np.ndarray, s2_post: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Moderated F of ``basis.T @ beta = 0`` per gene (limma's ``classifyTestsF``), its rank, and the estimates.

    The moderated t of each column of ``basis`` are combined through the inverse square root of their correlation
    (from the unweighted design's coefficient covariance, as limma keeps it), over its numerical rank.
    """
    basis = np.asarray(basis, dtype=float)
    columns = [contrast_fit(fit, basis[:, j]) for j in range(basis.shape[1])]
    est = np.stack([c[0] for c in columns], axis=1)
    t = est / np.stack([c[1] for c in columns], axis=1) / np.sqrt(s2_post)[:, None]
    cov = basis.T @ fit.cov_coefficients @ basis
    sd = np.sqrt(np.diag(cov))
    values, vectors = np.linalg.eigh(cov / np.outer(sd, sd))
    values, vectors = values[::-1], vectors[:, ::-1]
    rank = int((values / values[0] > 1e-8).sum())
    q = vectors[:, :rank] / np.sqrt(values[:rank])
    return ((t @ q) ** 2).sum(axis=1) / rank, rank, est
