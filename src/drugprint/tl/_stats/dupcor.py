"""Repeated measures in limma: the intra-block correlation and blocked (GLS) linear models.

Samples from the same patient (or batch, or array) are correlated. limma estimates one consensus
intra-block correlation over all genes (``duplicateCorrelation``) and then fits every gene by generalised
least squares with it (``lmFit(block=, correlation=)``); with counts, voom and the correlation are estimated
twice (limma's user's guide). Follows R's limma 3.54 and statmod 1.5 (``mixedModel2Fit``, ``glmgam.fit``)
and is tested against them. Method: Smyth, G. K., Michaud, J. & Scott, H. S. (2005). Use of within-array
replicate spots for assessing differential expression in microarray experiments. Bioinformatics 21,
2067–2075. voom with a blocking factor: Law, C. W., Chen, Y., Shi, W. & Smyth, G. K. (2014). Genome
Biology 15, R29.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg

from .linear import LinearFit


@dataclass
class DupCor:
    """Consensus intra-block correlation and the per-gene Fisher-transformed estimates it averages."""

    consensus: float
    atanh_per_gene: np.ndarray  # genes; NaN where a gene could not be estimated


def _block_codes(block, n: int) -> np.ndarray:
    block = np.asarray(block)
    if block.ndim != 1 or block.size != n:
        raise ValueError(f"block has {block.size} labels but there are {n} samples")
    missing = int(pd.isna(block).sum())
    if missing:
        raise ValueError(f"block has {missing} missing label(s); every sample needs one")
    codes, levels = pd.factorize(block)
    if len(levels) < 2:
        raise ValueError(f"block has a single level ({levels[0]!r}); it needs at least two")
    return codes


def _inputs(y, design, block, weights):
    y = np.array(y, dtype=float, ndmin=2)
    x = np.asarray(design, dtype=float)
    if x.ndim != 2 or x.shape[0] != y.shape[1]:
        raise ValueError(f"design has {x.shape[0]} rows but there are {y.shape[1]} samples")
    w = None if weights is None else np.broadcast_to(np.asarray(weights, dtype=float), y.shape).copy()
    return y, x, _block_codes(block, y.shape[1]), w


def _patterns(obs: np.ndarray):
    """Genes grouped by which samples they observe: ``(observed samples, gene indices)`` per pattern."""
    if obs.all():
        yield np.ones(obs.shape[1], dtype=bool), np.arange(obs.shape[0])
        return
    uniq, inv = np.unique(obs, axis=0, return_inverse=True)
    for k, o in enumerate(uniq):
        yield o, np.flatnonzero(inv.ravel() == k)


def _gamma_deviance(y, mu, mask):
    """Gamma deviance as statmod computes it; pairs with ``y`` and ``mu`` both below 1e-15 are left out."""
    with np.errstate(divide="ignore", invalid="ignore"):
        term = (y - mu) / mu - np.log(y / mu)
    keep = mask & ~((y < 1e-15) & (mu < 1e-15))
    dev = 2 * np.where(keep, term, 0.0).sum(axis=-1)
    return np.where((mask & (mu < 0)).any(axis=-1), np.inf, dev)


def _masked_max(a, mask):
    return np.where(mask, a, -np.inf).max(axis=-1)


def _glmgam(x, y, mask, beta, tol=1e-6, maxit=20):
    """The gamma GLM of statmod's ``glmgam.fit`` (identity link, Levenberg damping) for many genes at once.

    ``x`` genes × m × 2, ``y`` and ``mask`` genes × m (padding rows: ``x`` = 0, ``mask`` False), ``beta``
    genes × 2 starting values. Same damping, convergence rule (``dl'dbeta < tol``) and iteration cap as R.
    Returns the coefficients; NaN where R would stop with an error (a NaN deviance).
    """
    mu = np.einsum("gmi,gi->gm", x, beta)
    dev = _gamma_deviance(y, mu, mask)
    beta, lam = beta.copy(), np.zeros(len(y))
    failed = np.isnan(dev)
    active = ~failed
    for it in range(1, maxit + 2):  # R: repeat {iter <- iter + 1; ...; if (iter > maxit) break}
        a = np.flatnonzero(active)
        if not a.size:
            break
        xa, ya, ma = x[a], y[a], mask[a]
        v = mu[a] ** 2
        v = np.maximum(v, _masked_max(v, ma)[:, None] / 1e3)
        xvx = np.einsum("gmi,gm,gmj->gij", xa, 1 / v, xa)
        diag = np.einsum("gii->gi", xvx)
        maxinfo = diag.max(axis=1)
        if it == 1:
            lam[a] = np.abs(diag.mean(axis=1)) / 2
        dl = np.einsum("gmi,gm->gi", xa, (ya - mu[a]) / v)
        betaold, devold = beta[a], dev[a]
        lev, dbeta = np.zeros(a.size, dtype=int), np.zeros_like(dl)
        pending = np.ones(a.size, dtype=bool)
        while pending.any():  # increase the damping until the deviance does not grow
            p = np.flatnonzero(pending)
            lev[p] += 1
            dbeta[p] = np.linalg.solve(xvx[p] + lam[a[p], None, None] * np.eye(2), dl[p, :, None])[..., 0]
            b = betaold[p] + dbeta[p]
            m_ = np.einsum("gmi,gi->gm", xa[p], b)
            d_ = _gamma_deviance(ya[p], m_, ma[p])
            beta[a[p]], mu[a[p]], dev[a[p]] = b, m_, d_
            with np.errstate(divide="ignore", invalid="ignore"):
                ok = (d_ <= devold[p]) | (d_ / _masked_max(m_, ma[p]) < 1e-15)
            bad = np.isnan(d_) | np.isnan(devold[p])  # R: "missing value where TRUE/FALSE needed"
            damped = ~ok & ~bad & (lam[a[p]] / maxinfo[p] > 1e15)  # "too much damping": keep the old beta
            beta[a[p[damped]]] = betaold[p[damped]]
            lam[a[p[~ok & ~bad & ~damped]]] *= 2
            failed[a[p[bad]]] = True
            pending[p[ok | bad | damped]] = False
        stop = failed[a] | (lam[a] / maxinfo > 1e15)
        lam[a[~stop & (lev == 1)]] /= 10
        step = np.einsum("gi,gi->g", dl, dbeta)
        with np.errstate(divide="ignore", invalid="ignore"):
            conv = (step < tol) | (dev[a] / _masked_max(mu[a], ma) < 1e-15)
        failed[a[~stop & np.isnan(step)]] = True
        active[a[stop | conv | failed[a]]] = False
    beta[failed] = np.nan
    return beta


def _varcomp(d, dy, mask):
    """Variance components as statmod's ``mixedModel2Fit(only.varcomp=TRUE)``: ``dy ~ [1, d]``, gamma GLM.

    ``d`` and ``dy`` are genes × m (padded; ``mask`` marks the real rows). Returns genes × 2 variance
    components (residual, block).
    """
    m = mask.sum(axis=1)
    d, dy = np.where(mask, d, 0.0), np.where(mask, dy, 0.0)
    x = np.stack([mask.astype(float), d], axis=-1)
    sd, sdd, sy, sdy = d.sum(1), (d**2).sum(1), dy.sum(1), (d * dy).sum(1)
    dvar = (np.where(mask, d - (sd / m)[:, None], 0.0) ** 2).sum(1) / np.maximum(m - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        b2 = (m * sdy - sd * sy) / (m * sdd - sd**2)  # least squares, as lm.fit
        ls = np.stack([(sy - b2 * sd) / m, b2], axis=1)
    glm = (m > 2) & (((np.abs(d) > 1e-15) & mask).sum(axis=1) > 1) & (dvar > 1e-15)
    out = np.full((len(d), 2), np.nan)
    for g in np.flatnonzero(~glm & (m > 0)):  # rare: R keeps the least-squares fit; NA if [1, d] has rank 1
        xg = x[g, mask[g]]
        if np.linalg.matrix_rank(xg, tol=1e-7 * np.abs(xg).max()) == 2:
            out[g] = ls[g]
    out[glm] = 0.0  # glmgam.fit: all y zero gives zero coefficients
    glm &= dy.max(axis=1) > 0
    if glm.any():
        fitted_ok = (np.where(mask, np.einsum("gmi,gi->gm", x, ls), 0.0) >= 0).all(axis=1)
        start = np.where(fitted_ok[:, None], ls, np.stack([sy / m, np.zeros_like(sy)], axis=1))
        out[glm] = _glmgam(x[glm], dy[glm], mask[glm], start[glm])
    return out


def _estimable(x: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Columns of ``x`` that R's pivoted QR (``lm.fit``) estimates: each not (nearly) in the span of those before."""
    keep: list[int] = []
    for j in range(x.shape[1]):
        col = x[:, j]
        res = col - x[:, keep] @ np.linalg.lstsq(x[:, keep], col, rcond=None)[0] if keep else col
        if np.linalg.norm(col) > 0 and np.linalg.norm(res) >= tol * np.linalg.norm(col):
            keep.append(j)
    return np.array(keep, dtype=int)


def _transformed(y, x, z, sw):
    """The REML problem of one observation pattern as independent observations (statmod's transformation).

    ``y`` genes × n, ``x`` n × p, ``z`` n × blocks, ``sw`` genes × n square-root weights or None. statmod
    projects ``sw * y`` and the (unweighted) block indicators ``z`` on the residual space of ``sw * x``
    (``m = n - rank`` dimensions) and rotates by the singular vectors of the projected ``z``; the squared
    rotated values ``dy`` are independent with expectations ``residual + block * d`` (``d``: squared singular
    values). The same from ``z' P z`` (blocks × blocks) without an ``n × n`` basis: the rows of ``d = 0``,
    whose split depends on the basis and not the fit, share their sum. Returns ``d`` and ``dy``, genes × m.
    """
    x = x[:, _estimable(x)]  # full column rank, as lm.fit's pivoting leaves it
    if sw is not None:
        y, x = sw * y, sw[:, :, None] * x
    n, rank = x.shape[-2:]
    inv = np.linalg.inv(np.swapaxes(x, -1, -2) @ x)
    resid = y - (x @ (inv @ (y[:, None, :] @ x).swapaxes(-1, -2)))[..., 0]
    zx = z.T @ x
    evals, evecs = np.linalg.eigh(z.T @ z - zx @ inv @ np.swapaxes(zx, -1, -2))  # z'Pz = (Q2'z)'(Q2'z)
    k = min(n - rank, z.shape[1])
    evals, evecs = evals[..., -k:], np.ascontiguousarray(evecs[..., -k:])  # the k largest, ascending
    evals = np.where(evals > 1e-10 * evals[..., -1:], evals, 0.0)  # R's are ~1e-32 there: the same rows
    proj = ((resid @ z)[:, None, :] @ evecs)[:, 0, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        dk = np.where(evals > 0, proj**2 / evals, 0.0)
    d = np.zeros((len(y), n - rank))
    d[:, :k] = evals
    zero = d == 0
    rss = (resid**2).sum(axis=1)
    rest = np.maximum(rss - dk.sum(axis=1), 0.0) / np.maximum(zero.sum(axis=1), 1)
    dy = np.where(zero, rest[:, None], np.pad(dk, ((0, 0), (0, n - rank - k))))
    # residuals at rounding level (e.g. a constant gene) are zero: NaN correlation, not noise
    return d, np.where((rss <= 1e-24 * (y**2).sum(axis=1))[:, None], 0.0, dy)


def duplicate_correlation(y, design, block, weights=None, trim: float = 0.15) -> DupCor:
    """Consensus correlation between samples of the same block (limma's ``duplicateCorrelation(block=)``).

    Each gene's two variance components (between blocks, residual) are estimated by REML as in statmod's
    ``mixedModel2Fit``: the data are projected on the residual space of the design and rotated so the
    squared values are independent with expectations linear in the components, which a gamma GLM
    (``glmgam.fit``, 20 iterations at most) then fits. The correlation is clipped to
    ``[1/(1 - largest block) + 0.01, 0.99]``, Fisher-transformed and averaged with a ``trim`` trimmed mean.

    Parameters
    ----------
    y
        Log-scale values, genes × samples; NaN is missing.
    design
        Design matrix, samples × coefficients.
    block
        Block label of each sample (e.g. the patient), at least two levels, none missing.
    weights
        Precision weights (genes × samples, or one per sample), e.g. voom's; zero or missing leaves the
        observation out.
    trim
        Fraction trimmed from each end before averaging the per-gene ``atanh`` correlations.

    Returns
    -------
    :class:`DupCor` with the consensus correlation and the per-gene ``atanh`` correlations (NaN where a gene
    has at most ``p + 2`` observations, a single block or almost one block per observation).
    """
    y, x, codes, w = _inputs(y, design, block, weights)
    ngenes, p = y.shape[0], x.shape[1]
    max_size = np.bincount(codes).max()
    if max_size == 1:
        warnings.warn("Blocks all of size 1: setting intrablock correlation to zero.", UserWarning, stacklevel=2)
        return DupCor(0.0, np.zeros(ngenes))
    blocks = np.eye(codes.max() + 1)[codes][:, 1:]
    q2 = np.linalg.svd(x, full_matrices=True)[0][:, _estimable(x).size :]
    if np.abs(q2.T @ blocks).max() < 1e-8:
        warnings.warn(
            "Block factor already encoded in the design matrix: setting intrablock correlation to zero.",
            UserWarning,
            stacklevel=2,
        )
        return DupCor(0.0, np.zeros(ngenes))
    if w is not None:
        w[~(w > 0)] = np.nan
        y[~np.isfinite(w)] = np.nan
    parts = []
    for o, genes in _patterns(np.isfinite(y)):
        lev, local = np.unique(codes[o], return_inverse=True)
        nobs = int(o.sum())
        if not (nobs > p + 2 and 1 < lev.size < nobs - 1):
            continue
        sw = None if w is None else np.sqrt(w[np.ix_(genes, o)])
        d, dy = _transformed(y[np.ix_(genes, o)], x[o], np.eye(lev.size)[local], sw)
        parts.append((genes, d, dy))
    rho = np.full(ngenes, np.nan)
    if parts:
        m = max(d.shape[1] for _, d, _ in parts)
        pad = lambda a: np.pad(a, ((0, 0), (0, m - a.shape[1])))  # noqa: E731
        genes = np.concatenate([g for g, _, _ in parts])
        d = np.concatenate([pad(np.asarray(d)) for _, d, _ in parts])
        dy = np.concatenate([pad(dy) for _, _, dy in parts])
        mask = np.concatenate([pad(np.ones_like(dy, dtype=bool)) for _, _, dy in parts])
        vc = _varcomp(d, dy, mask)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho[genes] = vc[:, 1] / vc.sum(axis=1)
    with np.errstate(invalid="ignore"):
        rho = np.clip(rho, 1 / (1 - max_size) + 0.01, 0.99)
        arho = np.arctanh(rho)
    return DupCor(float(np.tanh(_trimmed_mean(arho, trim))), arho)


def _trimmed_mean(x: np.ndarray, trim: float) -> float:
    """R's ``mean(x, trim = trim, na.rm = TRUE)``."""
    x = np.sort(x[~np.isnan(x)])
    n = x.size
    if n == 0:
        return np.nan
    if trim >= 0.5:
        return float(np.median(x))
    lo = int(np.floor(n * trim))
    return float(x[lo : n - lo].mean())


def gls_fit(y, design, block, correlation: float, weights=None) -> LinearFit:
    """Per-gene generalised least squares with an intra-block correlation (limma's ``gls.series``).

    Samples of one block correlate by ``correlation``; precision ``weights`` scale the variances
    (``V = W^{-1/2} C W^{-1/2}``) as in limma. Missing values, and observations of zero weight, are left out
    gene by gene. ``cov_coefficients`` is ``(X' C^{-1} X)^{-1}`` of the unweighted design, as limma keeps it,
    so :func:`~drugprint.tl._stats.linear.contrast_fit` and the moderated tests give ``contrasts.fit``/``eBayes``.

    Parameters
    ----------
    y
        Log-scale values, genes × samples.
    design
        Design matrix, samples × coefficients.
    block
        Block label of each sample.
    correlation
        Intra-block correlation, e.g. :func:`duplicate_correlation`'s consensus; strictly between -1 and 1.
    weights
        Precision weights, genes × samples or one per sample.

    Returns
    -------
    :class:`~drugprint.tl._stats.linear.LinearFit`. Where a gene's observed samples do not estimate every
    coefficient, those R's pivoted QR drops are NaN and the others are fitted (as ``gls.series``).
    """
    y, x, codes, w = _inputs(y, design, block, weights)
    if not abs(correlation) < 1:
        raise ValueError(f"correlation is {correlation}; it must lie strictly between -1 and 1")
    ngenes, p = y.shape[0], x.shape[1]
    amean = _nanmean(y)
    cor = np.where(codes[:, None] == codes[None, :], correlation, 0.0)
    np.fill_diagonal(cor, 1.0)
    cov = np.linalg.inv(x.T @ linalg.cho_solve(linalg.cho_factor(cor, lower=True), x))
    if w is not None:
        w[np.isnan(w)] = 0.0
        y[w < 1e-15] = np.nan
    coef, stdev = np.full((ngenes, p), np.nan), np.full((ngenes, p), np.nan)
    sigma, df = np.full(ngenes, np.nan), np.zeros(ngenes)
    for o, genes in _patterns(np.isfinite(y)):
        no = int(o.sum())
        if no == 0:
            continue
        est = _estimable(x[o])  # NAs may leave some coefficients inestimable: NaN, as R
        xo = x[np.ix_(o, est)]
        linv = linalg.solve_triangular(np.linalg.cholesky(cor[np.ix_(o, o)]), np.eye(no), lower=True)
        yo = y[np.ix_(genes, o)]
        if w is None:  # one whitening for all genes of the pattern
            xs = np.broadcast_to(linv @ xo, (genes.size, no, est.size))
            ys = yo @ linv.T
        else:
            sw = np.sqrt(w[np.ix_(genes, o)])
            xs = np.einsum("ij,gj,jp->gip", linv, sw, xo)
            ys = (sw * yo) @ linv.T
        inv = np.linalg.inv(np.einsum("gip,giq->gpq", xs, xs))
        b = np.einsum("gpq,giq,gi->gp", inv, xs, ys)
        rss = ((ys - np.einsum("gip,gp->gi", xs, b)) ** 2).sum(axis=1)
        coef[np.ix_(genes, est)], stdev[np.ix_(genes, est)] = b, np.sqrt(np.einsum("gpp->gp", inv))
        df[genes] = no - est.size
        if no > est.size:
            sigma[genes] = np.sqrt(rss / (no - est.size))
    return LinearFit(coef, stdev, sigma, df, amean, cov)


def _nanmean(y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(y, axis=1)
