"""DESeq2's parametric dispersion trend, as R fits it.

pydeseq2 fits the same curve, ``alpha(mean) = a0 + a1 / mean``, but from every nonzero gene (genes whose
gene-wise dispersion sits at the floor included) and without DESeq2's first trimming of genes far from the
starting curve. On designs with many coefficients that fit can fail and pydeseq2 then falls back to a constant
(the mean dispersion); R's succeeds. This module follows R's ``estimateDispersionsFit`` and
``parametricDispersionFit`` (Love, Huber & Anders 2014, Genome Biology 15:550) step by step, so the trend, the
prior variance and the final dispersions are R's.
"""

from __future__ import annotations

import numpy as np


def _gamma_identity_glm(y: np.ndarray, x: np.ndarray, start: np.ndarray, maxit: int = 25, tol: float = 1e-8):
    """``glm(y ~ x, family = Gamma(link = "identity"), start = start)`` by R's IRLS; (coefficients, converged)."""
    design = np.column_stack([np.ones_like(x), x])
    beta = np.asarray(start, dtype=float)

    def deviance(mu: np.ndarray) -> float:
        return float(2 * np.sum((y - mu) / mu - np.log(y / mu)))

    mu = design @ beta
    dev_old = deviance(mu)
    for _ in range(maxit):
        w = 1.0 / mu**2  # Gamma variance mu^2, identity link: working response y, weights 1 / mu^2
        new = np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (w * y))
        mu_new = design @ new
        halvings = 0
        while not np.all(mu_new > 0) and halvings < 30:  # R halves the step until the means are valid
            new = (new + beta) / 2
            mu_new = design @ new
            halvings += 1
        if not np.all(mu_new > 0):
            return new, False
        beta, mu = new, mu_new
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            return beta, True
        dev_old = dev
    return beta, False


def parametric_trend(base_mean: np.ndarray, genewise: np.ndarray, min_disp: float = 1e-8) -> np.ndarray | None:
    """DESeq2's parametric dispersion trend ``a0 + a1 / base_mean``: ``[a0, a1]``, or None where R's fit fails.

    Genes with a gene-wise dispersion above ``100 * min_disp`` are used; at each round, genes whose dispersion
    is outside 1e-4–15 times the current curve (starting from ``0.1 + 1 / mean``) are left out and a gamma GLM
    with identity link is refitted, until the coefficients change by less than 1e-6 (sum of squared log
    ratios). As R, the fit fails when a coefficient is not positive or after 11 rounds; R then uses a local
    regression, which is not available here (the caller falls back to the mean dispersion, and says so).

    Parameters
    ----------
    base_mean
        Mean of the normalised counts of each gene (DESeq2's ``baseMean``).
    genewise
        Gene-wise dispersion estimates (``dispGeneEst``), NaN for all-zero genes.
    min_disp
        DESeq2's ``minDisp``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mean = np.exp(rng.uniform(0, 8, 2000))
    >>> disp = (0.05 + 2.0 / mean) * rng.gamma(4.0, 0.25, 2000)
    >>> np.round(parametric_trend(mean, disp), 2)
    array([0.05, 2.04])
    """
    mean = np.asarray(base_mean, dtype=float)
    disp = np.asarray(genewise, dtype=float)
    use = np.isfinite(disp) & np.isfinite(mean) & (mean > 0) & (disp > 100 * min_disp)
    mean, disp = mean[use], disp[use]
    coefs = np.array([0.1, 1.0])
    for _ in range(11):
        ratio = disp / (coefs[0] + coefs[1] / mean)
        good = (ratio > 1e-4) & (ratio < 15)
        old = coefs
        coefs, converged = _gamma_identity_glm(disp[good], 1.0 / mean[good], coefs)
        if not np.all(coefs > 0):
            return None
        if np.sum(np.log(coefs / old) ** 2) < 1e-6 and converged:
            return coefs
    return None


class LocalTrend:
    """DESeq2's local dispersion trend: ``locfit(log(disp) ~ log(mean), weights = mean)`` and its ``predict``.

    R's ``localDispersionFit`` (DESeq2 1.38) with locfit's defaults (Loader 1999, *Local Regression and
    Likelihood*; locfit 1.5-9): local quadratic least squares with tricube weights over the nearest 70 % of the
    genes, computed at the vertices of locfit's adaptive tree (cells halved until shorter than 0.8 bandwidths) and
    interpolated between them by cubic Hermite polynomials in value and slope; as locfit, the global weighted
    quadratic (its "parametric component") is subtracted before the interpolation and added back after, and
    outside the genes' range the end slope extrapolates. Genes with a dispersion below ``10 * min_disp`` are left
    out of the fit.

    Parameters
    ----------
    means
        Mean of normalised counts of each gene used (R: gene-wise dispersion above ``100 * min_disp``).
    disps
        Their gene-wise dispersions.
    min_disp
        DESeq2's ``minDisp``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mean = np.exp(rng.uniform(0, 8, 2000))
    >>> disp = (0.05 + 2.0 / mean) * rng.gamma(4.0, 0.25, 2000)
    >>> trend = LocalTrend(mean, disp)
    >>> m = np.array([10.0, 100.0, 1000.0])
    >>> np.round(trend(m) / (0.05 + 2.0 / m), 1)  # a fit of log dispersions: the curve times exp(E log gamma) = 0.88
    array([0.9, 0.9, 0.9])
    """

    NN, CUT = 0.7, 0.8  # locfit's alpha (nearest-neighbour fraction) and rbox's cut

    def __init__(self, means: np.ndarray, disps: np.ndarray, min_disp: float = 1e-8):
        use = np.asarray(disps) >= 10 * min_disp
        self.x = np.log(np.asarray(means, dtype=float)[use])
        self.y = np.log(np.asarray(disps, dtype=float)[use])
        self.w = np.asarray(means, dtype=float)[use]
        if self.x.size < 3:
            raise ValueError(f"A local dispersion trend needs at least 3 genes above 10 * min_disp; {self.x.size} are.")
        self.k = int(self.x.size * self.NN + 1e-12)
        self.center = float(np.sum(self.w * self.x) / np.sum(self.w))
        self.global_fit = self._quadratic(self.center, np.ones_like(self.x))  # value, slope, curvature at center
        vertices = {float(v): self._at(float(v)) for v in (self.x.min(), self.x.max())}
        self._grow(self.x.min(), self.x.max(), vertices)
        self.vertices = np.array(sorted(vertices))
        self.values = np.array([vertices[v] for v in self.vertices])  # value, slope, bandwidth (minus the global)

    def _quadratic(self, at: float, kernel: np.ndarray) -> np.ndarray:
        d = self.x - at
        basis = np.column_stack([np.ones_like(d), d, d**2])
        ww = kernel * self.w
        return np.linalg.solve(basis.T @ (basis * ww[:, None]), basis.T @ (ww * self.y))

    def _global(self, at):
        c = self.global_fit
        d = np.asarray(at, dtype=float) - self.center
        return c[0] + c[1] * d + c[2] * d**2, c[1] + 2 * c[2] * d

    def _at(self, v: float) -> np.ndarray:
        dist = np.abs(self.x - v)
        h = np.partition(dist, self.k - 1)[self.k - 1]
        u = np.minimum(dist / h, 1.0)
        coef = self._quadratic(v, (1 - u**3) ** 3)
        value, slope = self._global(v)
        return np.array([coef[0] - value, coef[1] - slope, h])

    def _grow(self, lo: float, hi: float, vertices: dict) -> None:
        if (hi - lo) / min(vertices[lo][2], vertices[hi][2]) <= self.CUT:
            return
        mid = (lo + hi) / 2
        vertices[mid] = self._at(mid)
        self._grow(lo, mid, vertices)
        self._grow(mid, hi, vertices)

    def __call__(self, means: np.ndarray) -> np.ndarray:
        """The trend at ``means``: ``exp`` of the interpolated local fit of the log dispersions."""
        x = np.log(np.asarray(means, dtype=float))
        v = self.vertices
        j = np.clip(np.searchsorted(v, x, side="right") - 1, 0, v.size - 2)
        lo, hi = v[j], v[j + 1]
        z = hi - lo
        t = (x - lo) / z
        inside = (t >= 0) & (t <= 1)
        phi1 = np.where(inside, t * t * (3 - 2 * t), np.where(t > 1, 1.0, 0.0))
        phi2 = np.where(inside, t * (1 - t) ** 2, np.where(t < 0, t, 0.0)) * z
        phi3 = np.where(inside, t * t * (t - 1), np.where(t > 1, t - 1, 0.0)) * z
        f0, d0, f1, d1 = self.values[j, 0], self.values[j, 1], self.values[j + 1, 0], self.values[j + 1, 1]
        return np.exp((1 - phi1) * f0 + phi1 * f1 + phi2 * d0 + phi3 * d1 + self._global(x)[0])
