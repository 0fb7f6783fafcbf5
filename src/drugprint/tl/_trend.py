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
