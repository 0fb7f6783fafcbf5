"""Gene-set tests with the samples as replicates: limma's camera and fry, and set activities tested like genes.

- camera: Wu, D. & Smyth, G. K. (2012). Camera: a competitive gene set test accounting for inter-gene
  correlation. Nucleic Acids Research 40, e133.
- fry: Giner, G. & Smyth, G. K. (2016). fry: a fast approximation to ROAST gene set tests with mean
  aggregated set statistics. F1000Research 5, 2605 (roast: Wu, D. et al. (2010). Bioinformatics 26, 2176).
- activity: each profile's mean (weighted by the net) of the set's centred log-expression, fitted with the
  group's design and tested with limma's moderated t across sets (Smyth 2004), as a gene would be.

camera and fry follow limma 3.54 (``camera.default``, ``fry.default`` with ``standardize="posterior.sd"``)
and are tested against its output, including the per-gene QR decompositions of precision-weighted (voom)
fits, which are done here as R's LINPACK ``qr()`` does them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .fdist import fit_f_dist, squeeze_var
from .linear import contrast_fit, lm_fit


@dataclass
class SetIndex:
    """A gene set as positions in the tested genes, with the net's weights (1 for plain membership)."""

    idx: np.ndarray
    weight: np.ndarray


def _qr(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Householder QR of ``a`` (..., n, k), n > k, batched over leading axes.

    LAPACK's reflectors (numpy's ``mode="raw"``) send each column to ``-sign(a_jj) |a_j| e_j``, as LINPACK's
    ``dqrdc2`` (R's ``qr()``) does, so Q is R's; where the column is already reduced LAPACK leaves it and
    LINPACK flips its sign, which is restored here. Returns ``h`` (..., k, n), ``tau`` (..., k) and R's diagonal.
    """
    h, tau = np.linalg.qr(np.asarray(a, dtype=float), mode="raw")
    diag = np.diagonal(h, axis1=-2, axis2=-1)
    flipped = (tau == 0) & (diag != 0)
    return h, np.where(flipped, 2.0, tau), np.where(flipped, -diag, diag)


def _qty(h: np.ndarray, tau: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``Q' y`` for the reflectors of :func:`_qr`; ``y`` is (..., n, m)."""
    y = np.array(y, dtype=float, copy=True)
    for j in range(tau.shape[-1]):
        v = h[..., j, j:].copy()
        v[..., 0] = 1.0
        t = np.einsum("...i,...im->...m", v, y[..., j:, :]) * tau[..., j, None]
        y[..., j:, :] -= v[..., :, None] * t[..., None, :]
    return y


def _contrast_last(design: np.ndarray, contrast: np.ndarray, *, scale: bool) -> np.ndarray:
    """Reparametrise ``design`` so that its last coefficient is ``contrast``.

    ``scale=True`` is limma's ``contrastAsCoef(first = FALSE)`` (fry, roast); ``scale=False`` is camera's
    rotation (sign of R's first diagonal element, no scaling).
    """
    h, tau, rdiag = _qr(np.asarray(contrast, dtype=float).reshape(-1, 1))
    rot = _qty(h, tau, design.T).T
    if scale:
        rot[:, 0] /= rdiag[0]
    elif rdiag[0] < 0:
        rot[:, 0] = -rot[:, 0]
    return rot[:, [*range(1, rot.shape[1]), 0]]


@functools.cache
def _weighted_effects_kernel():
    import numba

    @numba.njit(cache=True, nogil=True)
    def weighted_effects(y, design, weights):  # pragma: no cover - compiled
        """Per gene, ``Q'(w^½ y)`` with ``Q`` from the Householder QR of the weighted design ``w^½ X``."""
        n_genes, n = y.shape
        p = design.shape[1]
        out = np.empty((n_genes, n))
        a = np.empty((p + 1, n))  # by column: the gene's weighted design, then its weighted values
        for g in range(n_genes):
            for i in range(n):
                sw = np.sqrt(weights[g, i])
                for k in range(p):
                    a[k, i] = design[i, k] * sw
                a[p, i] = y[g, i] * sw
            r_last = 0.0  # R's last diagonal element
            for j in range(p):  # reflect column j onto -sign(a_jj) |a[j, j:]| e_j, as LINPACK's dqrdc2
                norm = 0.0
                for i in range(j, n):
                    norm += a[j, i] * a[j, i]
                if norm == 0.0:
                    r_last = 0.0
                    continue
                alpha = a[j, j]
                r_last = -np.sqrt(norm) if alpha >= 0.0 else np.sqrt(norm)
                tau = (r_last - alpha) / r_last
                scale = 1.0 / (alpha - r_last)
                for i in range(j + 1, n):  # the reflector's vector v (v_j = 1)
                    a[j, i] *= scale
                for k in range(j + 1, p + 1):  # a_k -= tau (v'a_k) v
                    t = a[k, j]
                    for i in range(j + 1, n):
                        t += a[j, i] * a[k, i]
                    t *= tau
                    a[k, j] -= t
                    for i in range(j + 1, n):
                        a[k, i] -= a[j, i] * t
            for i in range(n):
                out[g, i] = a[p, i]
            if r_last < 0.0:  # the contrast's effect with the sign of R's last diagonal element, as limma
                out[g, p - 1] = -out[g, p - 1]
        return out

    return weighted_effects


def _effects(y: np.ndarray, design: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Orthogonal effects ``Q'y`` (genes × samples) of a design whose last column is the contrast.

    Column ``p - 1`` is the contrast's effect (sign as R's), columns ``p:`` the residual effects. With
    precision weights (genes × samples) each gene has its own QR of the weighted design, as in limma; these
    many small factorisations, each applied to its gene's values at once, run in one compiled loop over the
    genes rather than as a batched ``np.linalg.qr`` whose reflectors are applied afterwards.
    """
    if weights is not None:
        y, design, weights = (np.ascontiguousarray(a, dtype=float) for a in (y, design, weights))
        return _weighted_effects_kernel()(y, design, weights)
    p = design.shape[1]
    h, tau, rdiag = _qr(design)
    eff = _qty(h, tau, y.T).T
    eff[:, p - 1] *= -1.0 if rdiag[p - 1] < 0 else 1.0
    return eff


def _zscore_t(x: np.ndarray, df: float) -> np.ndarray:
    """z-scores equivalent to t-statistics (Hill's approximation, limma's ``zscoreT(approx = TRUE)``)."""
    df = min(df, 1e100)
    a = df - 0.5
    b = 48 * a * a
    z = a * np.log1p(x / df * x)
    z = (((((-0.4 * z - 3.3) * z - 24) * z - 85.5) / (0.8 * z * z + 100 + b) + z + 3) / b + 1) * np.sqrt(z)
    return z * np.sign(x)


def _check(y: np.ndarray, design: np.ndarray) -> int:
    n, p = design.shape
    if y.shape[1] != n:
        raise ValueError(f"y has {y.shape[1]} samples but the design has {n} rows.")
    if n <= p:
        raise ValueError(f"{n} samples for {p} coefficients leave no residual degrees of freedom for a set test.")
    if not np.isfinite(y).all():
        raise ValueError("Set tests need finite log-expression values; drop genes with missing values first.")
    return n - p


def camera(
    y: np.ndarray,
    sets: dict[str, SetIndex],
    design: np.ndarray,
    contrast: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    inter_gene_cor: float | None = None,
) -> dict[str, np.ndarray]:
    """Camera (limma; parametric version): a competitive test with the set's inter-gene correlation.

    ``y`` is genes × samples (log-expression), ``weights`` optional precision weights of the same shape,
    ``contrast`` a vector over the design's columns. ``inter_gene_cor=None`` estimates the correlation of
    each set from the residuals (limma's ``inter.gene.cor = NA``); a number fixes it. Signed net weights
    flip the sign of genes with negative weight. Returns arrays over ``sets``: ``n_genes``, ``correlation``,
    ``stat`` (camera's two-sample t, positive when the set is up), ``pvalue`` (two-sided), ``df``.
    """
    y = np.asarray(y, dtype=float)
    design = _contrast_last(np.asarray(design, dtype=float), contrast, scale=False)
    df_res = _check(y, design)
    n_genes, p = y.shape[0], design.shape[1]
    eff = _effects(y, design, weights)
    unscaled = eff[:, p - 1]
    resid = eff[:, p:]
    sigma2 = (resid**2).mean(axis=1)
    u = resid / np.sqrt(np.maximum(sigma2, 1e-8))[:, None]
    var_post, _, d0 = squeeze_var(sigma2, np.full(n_genes, float(df_res)))
    modt = unscaled / np.sqrt(var_post)
    stat = _zscore_t(modt, min(df_res + d0, n_genes * df_res))
    mean_stat, var_stat = stat.mean(), stat.var(ddof=1)
    fixed = inter_gene_cor is not None
    df_camera = n_genes - 2 if fixed else min(df_res, n_genes - 2)
    out = {k: np.full(len(sets), np.nan) for k in ("n_genes", "correlation", "stat", "pvalue")}
    for i, s in enumerate(sets.values()):
        sign = np.sign(s.weight)
        m, m2 = s.idx.size, n_genes - s.idx.size
        if fixed:
            cor = float(inter_gene_cor)
            vif = 1 + (m - 1) * cor
        elif m > 1:
            vif = m * np.mean((u[s.idx] * sign[:, None]).mean(axis=0) ** 2)
            cor = (vif - 1) / (m - 1)
        else:
            vif, cor = 1.0, np.nan
        vif = max(1.0, vif)
        delta = n_genes / m2 * (np.mean(stat[s.idx] * sign) - mean_stat)
        pooled = ((n_genes - 1) * var_stat - delta**2 * m * m2 / n_genes) / (n_genes - 2)
        t = delta / np.sqrt(pooled * (vif / m + 1 / m2))
        out["n_genes"][i], out["correlation"][i], out["stat"][i] = m, cor, t
    out["pvalue"] = 2 * stats.t.sf(np.abs(out["stat"]), df_camera)
    out["df"] = np.full(len(sets), float(df_camera))
    return out


def _gauss_uniform(n: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights for the uniform distribution on [0, 1] (statmod's ``gauss.quad.prob``)."""
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1) / 2, w / 2


def fry(
    y: np.ndarray,
    sets: dict[str, SetIndex],
    design: np.ndarray,
    contrast: np.ndarray,
    *,
    weights: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Fry (limma): self-contained set tests (does the set move at all?), a fast approximation of roast.

    Effects are standardised by robust posterior standard deviations (limma's ``standardize =
    "posterior.sd"``). Returns arrays over ``sets``: ``n_genes``, ``stat`` (the directional t),
    ``pvalue`` (directional, two-sided), ``pvalue_mixed`` (genes moving in either direction), ``df``.
    """
    y = np.asarray(y, dtype=float)
    design = _contrast_last(np.asarray(design, dtype=float), contrast, scale=True)
    df_res = _check(y, design)
    p = design.shape[1]
    eff = _effects(y, design, weights)[:, p - 1 :]
    nodes, gw = _gauss_uniform(128)
    eu2max = np.sum((df_res + 1) * nodes**df_res * stats.chi2.ppf(nodes, df=1) * gw)
    sq = eff**2
    s2_robust = (sq.sum(axis=1) - sq.max(axis=1)) / (df_res + 1 - eu2max)
    s0, d0 = fit_f_dist(sq[:, 1:].mean(axis=1), np.full(eff.shape[0], float(df_res)))
    df_r = 0.92 * df_res
    s2_robust = (df_r * s2_robust + d0 * s0) / (df_r + d0) if np.isfinite(d0) else np.full_like(s2_robust, s0)
    eff = eff / np.sqrt(s2_robust)[:, None]
    out = {k: np.full(len(sets), np.nan) for k in ("n_genes", "stat")}
    beta = np.full((len(sets), 3), np.nan)  # f_obs and the two shapes of its beta distribution
    for i, s in enumerate(sets.values()):
        e = eff[s.idx] * s.weight[:, None]
        mean = e.mean(axis=0)
        out["n_genes"][i], out["stat"][i] = s.idx.size, mean[0] / np.sqrt(np.mean(mean[1:] ** 2))
        if s.idx.size == 1:
            continue
        a = np.linalg.svd(e, compute_uv=False) ** 2
        d1 = a.size
        d = d1 - 1
        beta_mean, beta_var = 1 / d1, d / d1 / d1 / (d1 / 2 + 1)
        span = a[0] - a[-1]
        f_obs = (np.sum(e[:, 0] ** 2) - a[-1]) / span
        f_mean = (a.sum() * beta_mean - a[-1]) / span
        cov = np.full((d1, d1), -beta_var / d)
        np.fill_diagonal(cov, beta_var)
        f_var = a @ cov @ a / span**2
        ab = f_mean * (1 - f_mean) / f_var - 1
        beta[i] = f_obs, ab * f_mean, ab - ab * f_mean
    out["pvalue"] = 2 * stats.t.sf(np.abs(out["stat"]), df_res)
    single = out["n_genes"] == 1
    out["pvalue_mixed"] = np.where(single, out["pvalue"], stats.beta.sf(*beta.T))
    out["df"] = np.full(len(sets), float(df_res))
    return out


def set_activities(y: np.ndarray, sets: dict[str, SetIndex]) -> np.ndarray:
    """Per-sample activity of each set: net-weighted mean of the genes' centred values (samples × sets)."""
    centred = y - y.mean(axis=1, keepdims=True)
    out = np.empty((y.shape[1], len(sets)))
    for i, s in enumerate(sets.values()):
        out[:, i] = s.weight @ centred[s.idx] / np.abs(s.weight).sum()
    return out


@dataclass
class ActivityFit:
    """Moderated linear-model fit of set activities (sets × one contrast) and what resampling needs."""

    estimate: np.ndarray  # sets: the contrast of the set's mean log-expression (a mean log2FC)
    se: np.ndarray  # sets: moderated standard error
    stat: np.ndarray
    pvalue: np.ndarray
    df: float  # degrees of freedom of the moderated t


def activity_test(activities: np.ndarray, design: np.ndarray, contrasts: np.ndarray) -> list[ActivityFit]:
    """Fit activities (samples × sets) on ``design`` and test each row of ``contrasts`` with the moderated t.

    The variance prior is shared across sets (limma's ``eBayes``); tested against R's limma.
    """
    fit = lm_fit(activities.T, design)
    s2_post, _, d0 = squeeze_var(fit.sigma**2, fit.df_residual)
    df_total = float(min(fit.df_residual[0] + d0, np.nansum(fit.df_residual)))
    out = []
    for c in np.atleast_2d(contrasts):
        est, sd = contrast_fit(fit, c)
        se = sd * np.sqrt(s2_post)
        t = est / se
        out.append(ActivityFit(est, se, t, 2 * stats.t.sf(np.abs(t), df_total), df_total))
    return out


def residuals(values: np.ndarray, design: np.ndarray) -> np.ndarray:
    """Least-squares residuals of ``values`` (samples × k) on ``design``."""
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coef
