"""DESeq2's dispersion steps as R's DESeq2 (1.38) takes them, on a pydeseq2 ``DeseqDataSet``.

pydeseq2 (0.5) estimates dispersions by its own route: L-BFGS-B from the moments estimate, the prior variance from
``trigamma`` at every sample size, a mean trend where the parametric fit fails. With three residual degrees of
freedom or fewer these departed from R (on Kang et al.'s IFN-β PBMCs, 2 donors, calls agreed with R at Jaccard
0.26–0.92). The steps here follow R's ``estimateDispersionsGeneEst``, ``estimateDispersionsFit``,
``estimateDispersionsPriorVar``, ``estimateDispersionsMAP`` and ``refitWithoutOutliers`` (Love, Huber & Anders
2014, *Genome Biology* 15:550), and write the fields pydeseq2's own steps write, so that its LFC fit, Cook's
distances and outlier replacement run on them unchanged:

- gene-wise: R's line search (:func:`~drugprint.tl._stats.nbinom.line_search`) from ``min(rough, moments)`` on means
  from the linear model (one row per design cell) or a GLM fit, at least ``minmu = 0.5``; a start the search could not
  improve is kept, and genes whose search stopped at once or did not converge are grid-searched;
- the trend: R's parametric fit, else R's local fit (:mod:`.trend`);
- the prior variance: ``mad^2`` of the log residuals minus ``trigamma((m - p) / 2)``, at least 0.25; with ``m - p
  <= 3``, where that expectation is poor, R matches the residuals' histogram to that of ``log(chi^2_{m-p} / (m - p))``
  plus a normal of the prior variance, drawing 10,000 values per candidate under ``set.seed(2)``. Here the model
  histogram is computed exactly (:func:`prior_variance`), so the answer is the one R's draws scatter around;
- MAP: the line search with the log-normal prior from the gene-wise estimate (the trend where that is below a
  tenth of it), grid-searched where it does not converge; genes more than two ``mad`` above the trend keep their
  gene-wise estimate.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.signal import fftconvolve
from scipy.special import gammainc, ndtr, polygamma

from .nbinom import DISP_MAXIT, grid_search, line_search, linear_model_mu
from .trend import LocalTrend, parametric_trend

MIN_MU = 0.5  # estimateDispersionsGeneEst's minmu


def genewise_dispersions(
    counts: np.ndarray, X: np.ndarray, mu: np.ndarray, alpha_init: np.ndarray, *, min_disp: float, max_disp: float
) -> tuple[np.ndarray, np.ndarray]:
    """R's gene-wise dispersions (``estimateDispersionsGeneEst``, ``niter = 1``) from starts ``alpha_init``.

    Parameters
    ----------
    counts
        Samples × genes, none all zero.
    X
        The design matrix.
    mu
        Samples × genes fitted means (at least ``minmu``).
    alpha_init
        The starting dispersions, ``min(rough, moments)`` clipped to ``[min_disp, max_disp]``.
    min_disp, max_disp
        DESeq2's bounds (``1e-8``; ``max(10, samples)``).

    Returns
    -------
    The dispersion of each gene, and the steps its line search took (R's ``dispGeneIter``).
    """
    start = np.log(alpha_init)
    a, steps, lp0, lp = line_search(counts, X, mu, start, start, use_prior=False, min_log_alpha=np.log(min_disp / 10))
    disp = np.minimum(np.exp(a), max_disp)
    with np.errstate(invalid="ignore"):
        no_increase = lp < lp0 + np.abs(lp0) / 1e6
    disp[no_increase] = alpha_init[no_increase]
    refit = ((steps >= DISP_MAXIT) | (steps == 1)) & (disp > min_disp * 10)
    if refit.any():
        disp[refit] = np.exp(grid_search(counts[:, refit], X, mu[:, refit], np.zeros(refit.sum()), use_prior=False))
    return np.clip(disp, min_disp, max_disp), steps


def fit_genewise(dds) -> None:
    """Gene-wise dispersions of a ``DeseqDataSet`` with size factors, as R; writes pydeseq2's fields."""
    inference = dds.inference
    nonzero = ~(dds.X == 0).all(axis=0)
    dds.var["non_zero"] = nonzero
    dds.non_zero_idx = np.flatnonzero(nonzero)
    dds.non_zero_genes = dds.var_names[nonzero]
    X = dds.obsm["design_matrix"].to_numpy(dtype=np.float64)
    sf = dds.obs["size_factors"].to_numpy(dtype=np.float64)
    counts = np.asarray(dds.X, dtype=np.float64)[:, nonzero]
    normed = counts / sf[:, None]
    rough = inference.fit_rough_dispersions(normed, dds.obsm["design_matrix"])
    moments = inference.fit_moments_dispersions(normed, sf)
    alpha_init = np.clip(np.minimum(rough, moments), dds.min_disp, dds.max_disp)
    if len(np.unique(X, axis=0)) == X.shape[1]:  # one row per design cell: R's linearModelMu
        mu = sf[:, None] * linear_model_mu(normed, X)
    else:
        _, mu, _, _ = inference.irls(counts, sf, X, alpha_init, min_mu=dds.min_mu, beta_tol=dds.beta_tol)
    mu = np.maximum(mu, MIN_MU)
    disp, steps = genewise_dispersions(counts, X, mu, alpha_init, min_disp=dds.min_disp, max_disp=dds.max_disp)
    dds.var["_MoM_dispersions"] = _on_nonzero(dds, alpha_init)
    dds.layers["_mu_hat"] = np.full(dds.shape, np.nan)
    dds.layers["_mu_hat"][:, nonzero] = mu
    dds.var["genewise_dispersions"] = _on_nonzero(dds, disp)
    dds.var["genewise_iterations"] = _on_nonzero(dds, steps)  # R's dispGeneIter
    dds.var["_genewise_converged"] = pd.array(nonzero, dtype="boolean")


def _on_nonzero(dds, values: np.ndarray) -> np.ndarray:
    out = np.full(dds.n_vars, np.nan)
    out[dds.var["non_zero"].to_numpy(dtype=bool)] = values
    return out


def fit_trend(dds) -> Callable[[np.ndarray], np.ndarray]:
    """R's dispersion trend (``estimateDispersionsFit``, ``fitType = "parametric"``) of a ``DeseqDataSet``.

    The parametric curve ``a0 + a1 / mean`` where R's fit succeeds, else R's local fit (a message in R; here
    ``uns["disp_function_type"] = "local"``). Writes ``var["fitted_dispersions"]`` (and ``uns["trend_coeffs"]``
    for the parametric curve) and returns the trend as a function of the mean of normalised counts.
    """
    nonzero = dds.var["non_zero"].to_numpy(dtype=bool)
    means = dds.var["_normed_means"].to_numpy(dtype=np.float64)[nonzero]
    genewise = dds.var["genewise_dispersions"].to_numpy(dtype=np.float64)[nonzero]
    use = genewise > 100 * dds.min_disp
    if not use.any():
        raise ValueError(
            "Every gene-wise dispersion is within two orders of magnitude of the minimum (1e-8): the counts show no "
            "extra-Poisson variation, so no dispersion trend can be fitted (R's DESeq2 stops here too). Check that "
            "the counts are raw counts of independent samples."
        )
    coeffs = parametric_trend(means[use], genewise[use], min_disp=dds.min_disp)
    if coeffs is not None:
        dds.uns["trend_coeffs"] = pd.Series(coeffs, index=["a0", "a1"])
        dds.uns["disp_function_type"] = "parametric"

        def trend(m):
            return coeffs[0] + coeffs[1] / np.asarray(m, dtype=np.float64)

    else:
        trend = LocalTrend(means[use], genewise[use], min_disp=dds.min_disp)
        dds.uns["disp_function_type"] = "local"
    dds.var["fitted_dispersions"] = _on_nonzero(dds, trend(means))
    return trend


def prior_variance(residuals: np.ndarray, m: int, p: int, var_log_disp: float) -> float:
    """R's ``estimateDispersionsPriorVar``: the variance of the log-normal prior on the dispersions.

    With ``m`` samples and ``p`` coefficients, ``max(var_log_disp - trigamma((m - p) / 2), 0.25)`` above three
    residual degrees of freedom, ``var_log_disp`` without any. With ``m - p <= 3``, where that expectation is
    poor, R compares the histogram of the log residuals (bins of 0.5 on (-10, 10]) with that of 10,000 draws of
    ``log(chi^2_{m-p} / (m - p)) + N(0, s2)`` for 200 candidates ``s2`` in [0, 8] (Kullback–Leibler divergence,
    with the smallest density either histogram shows added against empty bins), smooths the 200 divergences by
    ``loess`` (span 0.2) and takes the minimum on a grid of 1,000, at least 0.25. R draws under ``set.seed(2)``,
    and its answer moves with the seed (on 2-donor data, 0.25 under most seeds and up to 0.9 under others).
    Here the divergence is R's in expectation: each candidate's histogram is drawn as R's would fall (the
    multinomial counts of 10,000 draws over the bins, from the exact bin probabilities of
    :class:`_LogChisqNormal`), averaged over :data:`PRIOR_RUNS` runs (seeded, so the answer is reproducible),
    then smoothed and minimised as R does. The result is R's typical answer rather than one draw of it.

    Parameters
    ----------
    residuals
        ``log(gene-wise) - log(trend)`` of the genes with a gene-wise dispersion of at least ``100 * min_disp``.
    m, p
        Samples and coefficients of the design.
    var_log_disp
        ``mad(residuals)^2``.

    Returns
    -------
    The prior variance.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import chi2
    >>> rng = np.random.default_rng(0)
    >>> r = np.log(chi2.rvs(2, size=5000, random_state=rng) / 2) + rng.normal(0, np.sqrt(0.6), 5000)
    >>> abs(prior_variance(r, 8, 6, 0.0) - 0.6) < 0.1  # 2 residual df: the planted prior variance
    True
    """
    df = m - p
    if df <= 0:
        return float(var_log_disp)
    if df > 3:
        return float(max(var_log_disp - polygamma(1, df / 2), 0.25))
    breaks = np.arange(-20, 21) / 2.0
    obs = residuals[(residuals > breaks[0]) & (residuals < breaks[-1])]
    counts = np.bincount(np.ceil((obs - breaks[0]) * 2).astype(int) - 1, minlength=breaks.size - 1)  # R's hist()
    observed = counts / (obs.size * 0.5)
    seen = observed > 0
    model = _LogChisqNormal(df, breaks)
    probs = np.vstack([model.probabilities(v) for v in PRIOR_GRID])  # candidates × (bins + outside)
    draws = np.random.default_rng(2).multinomial(10_000, probs, size=(PRIOR_RUNS, PRIOR_GRID.size))
    inside = draws[..., :-1]
    density = inside / (inside.sum(axis=-1, keepdims=True) * 0.5)
    small = np.minimum(observed[seen].min(), np.where(density > 0, density, np.inf).min(axis=-1))[..., None]
    divergence = np.sum(observed[seen] * (np.log(observed[seen] + small) - np.log(density[..., seen] + small)), axis=-1)
    smoothed = _loess_matrix(PRIOR_GRID, PRIOR_FINE) @ divergence.mean(axis=0)
    return float(max(PRIOR_FINE[np.argmin(smoothed)], 0.25))


PRIOR_GRID = np.linspace(0, 8, 200)  # R's candidates and the grid its loess predicts on
PRIOR_FINE = np.linspace(0, 8, 1000)
PRIOR_RUNS = 200


@functools.cache
def _loess_matrix_cached(x: tuple, out: tuple, span: float, cell: float) -> np.ndarray:
    x, out = np.sort(np.asarray(x)), np.asarray(out)
    n = x.size
    nf = min(n, int(np.floor(n * span + 1e-5)))  # points in each local fit
    fc = int(np.floor(n * span * cell))  # most points in a cell of the k-d tree
    margin = 0.005 * (x[-1] - x[0])
    vertices = {x[0] - margin, x[-1] + margin}

    def split(lo: int, hi: int, left: float, right: float) -> None:  # points lo..hi (0-based) in (left, right)
        if hi - lo + 1 <= fc:
            return
        m = (lo + hi + 2) // 2 - 1  # loess: m = int((l + u) / 2), 1-based
        cut = x[m]
        if cut in (left, right):
            return
        vertices.add(cut)
        split(lo, m, left, cut)
        split(m + 1, hi, cut, right)

    split(0, n - 1, x[0] - margin, x[-1] + margin)
    v = np.array(sorted(vertices))
    rows = np.empty((v.size, 2, n))  # each vertex's value and slope as weights on y
    for i, at in enumerate(v):
        d = x - at
        rho = np.sort(np.abs(d))[nf - 1]
        w = np.clip(1 - (np.abs(d) / rho) ** 3, 0, None) ** 3
        basis = np.column_stack([np.ones(n), d, d**2])
        rows[i] = np.linalg.solve(basis.T @ (basis * w[:, None]), (basis * w[:, None]).T)[:2]
    j = np.clip(np.searchsorted(v, out, side="right") - 1, 0, v.size - 2)
    width = v[j + 1] - v[j]
    h = (out - v[j]) / width
    phi0, phi1 = (1 - h) ** 2 * (1 + 2 * h), h**2 * (3 - 2 * h)
    psi0, psi1 = h * (1 - h) ** 2 * width, h**2 * (h - 1) * width
    return (
        phi0[:, None] * rows[j, 0]
        + phi1[:, None] * rows[j + 1, 0]
        + psi0[:, None] * rows[j, 1]
        + psi1[:, None] * rows[j + 1, 1]
    )


def _loess_matrix(x: np.ndarray, out: np.ndarray, span: float = 0.2, cell: float = 0.2) -> np.ndarray:
    """R's ``loess(y ~ x, span, degree = 2)`` as a matrix to multiply ``y`` by, predicting at ``out``.

    R's default surface (Cleveland & Grosse 1991, *Statistics and Computing* 1:47; R's ``loessf.f``): local
    quadratic fits with tricube weights over the nearest ``span * n`` points, made only at the vertices of a
    k-d tree (cells halved at their median point until they hold at most ``span * cell * n`` points, in a box 0.5 %
    wider than the data), and cubic Hermite interpolation in value and slope between vertices.
    """
    return _loess_matrix_cached(tuple(x), tuple(out), span, cell)


class _LogChisqNormal:
    """Bin probabilities of ``log(chi^2_k / k) + N(0, s2)`` over ``breaks``, and of falling outside them.

    ``log(chi^2_k / k)`` is put on a lattice of 0.01 (its exact probability in each cell, from the regularised
    gamma function) and convolved with the normal's probability in each cell.
    """

    STEP = 0.01

    def __init__(self, k: int, breaks: np.ndarray):
        edges = np.arange(-45.0, 20.0 + self.STEP / 2, self.STEP)
        cdf = gammainc(k / 2.0, k * np.exp(edges) / 2.0)
        self.below = cdf[0]
        self.cells = np.diff(cdf)
        self.index = np.rint((breaks - edges[0]) / self.STEP).astype(int)  # the breaks fall on edges
        self.exact = gammainc(k / 2.0, k * np.exp(breaks) / 2.0)

    def probabilities(self, var: float) -> np.ndarray:
        if var == 0:
            cdf = self.exact
        else:
            sd = np.sqrt(var)
            half = int(np.ceil(8 * sd / self.STEP))
            edges = (np.arange(-half, half + 2) - 0.5) * self.STEP
            kernel = np.diff(ndtr(edges / sd))
            mass = fftconvolve(self.cells, kernel / kernel.sum(), mode="same")
            cdf = self.below + np.concatenate([[0.0], np.cumsum(mass)])[self.index]
        inside = np.clip(np.diff(cdf), 0, None)
        return np.append(inside, max(1.0 - inside.sum(), 0.0))


def fit_prior(dds) -> None:
    """``var_log_disp`` (``uns["_squared_logres"]``) and the prior variance (``uns["prior_disp_var"]``), as R."""
    nonzero = dds.var["non_zero"].to_numpy(dtype=bool)
    genewise = dds.var["genewise_dispersions"].to_numpy(dtype=np.float64)[nonzero]
    fitted = dds.var["fitted_dispersions"].to_numpy(dtype=np.float64)[nonzero]
    above = genewise >= 100 * dds.min_disp
    residuals = np.log(genewise[above]) - np.log(fitted[above])
    var_log_disp = float((1.4826 * np.median(np.abs(residuals - np.median(residuals)))) ** 2)  # R's mad()^2
    m, p = dds.obsm["design_matrix"].shape
    dds.uns["_squared_logres"] = var_log_disp
    dds.uns["prior_disp_var"] = np.asarray(prior_variance(residuals, m, p, var_log_disp))


def map_dispersions(
    counts, X, mu, genewise, fitted, *, prior_var: float, var_log_disp: float, min_disp: float, max_disp: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """R's ``estimateDispersionsMAP``: (final, MAP, outlier, converged) dispersions of each gene."""
    start = np.where(genewise > 0.1 * fitted, genewise, fitted)
    start = np.where(np.isnan(start), fitted, start)
    prior_mean = np.log(fitted)
    a, steps, _, _ = line_search(
        counts, X, mu, np.log(start), prior_mean, prior_var, use_prior=True, min_log_alpha=np.log(min_disp / 10)
    )
    converged = steps < DISP_MAXIT
    if not converged.all():
        rest = ~converged
        a[rest] = grid_search(counts[:, rest], X, mu[:, rest], prior_mean[rest], prior_var, use_prior=True)
    dmap = np.clip(np.exp(a), min_disp, max_disp)
    with np.errstate(invalid="ignore"):
        outlier = np.log(genewise) > np.log(fitted) + 2 * np.sqrt(var_log_disp)
    return np.where(outlier, genewise, dmap), dmap, outlier, converged


def fit_map(dds) -> None:
    """MAP dispersions of a ``DeseqDataSet`` after :func:`fit_genewise`, :func:`fit_trend` and :func:`fit_prior`."""
    nonzero = dds.var["non_zero"].to_numpy(dtype=bool)
    final, dmap, outlier, converged = map_dispersions(
        np.asarray(dds.X, dtype=np.float64)[:, nonzero],
        dds.obsm["design_matrix"].to_numpy(dtype=np.float64),
        dds.layers["_mu_hat"][:, nonzero],
        dds.var["genewise_dispersions"].to_numpy(dtype=np.float64)[nonzero],
        dds.var["fitted_dispersions"].to_numpy(dtype=np.float64)[nonzero],
        prior_var=float(dds.uns["prior_disp_var"]),
        var_log_disp=float(dds.uns["_squared_logres"]),
        min_disp=dds.min_disp,
        max_disp=dds.max_disp,
    )
    dds.var["MAP_dispersions"] = _on_nonzero(dds, dmap)
    dds.var["dispersions"] = _on_nonzero(dds, final)
    dds.var["_outlier_genes"] = np.where(nonzero, _on_nonzero(dds, outlier) == 1, False)
    dds.var["_MAP_converged"] = pd.array(np.where(nonzero, _on_nonzero(dds, converged) == 1, False), dtype="boolean")


def refit_outliers(dds, trend: Callable[[np.ndarray], np.ndarray]) -> None:
    """R's ``refitWithoutOutliers``: genes whose outlier counts were replaced, refitted on the replaced counts.

    pydeseq2 replaces the counts (``DeseqDataSet._replace_outliers``: samples in design cells of at least
    ``min_replicates``, counts with a Cook's distance above the 99 % F quantile, by the trimmed mean times the size
    factor). Here, as R: gene-wise dispersions of the replaced genes afresh, the trend at their new mean, MAP with
    the study's prior variance and outlier threshold, and the coefficients refitted. Writes the fields pydeseq2's
    ``refit`` writes (``var["replaced"]``, ``var["refitted"]``, ``new_all_zeroes_genes``, ``counts_to_refit``,
    ``layers["replace_cooks"]``).
    """
    from pydeseq2.dds import DeseqDataSet

    dds._replace_outliers()
    dds.var["refitted"] = dds.var["replaced"].copy()
    dds.new_all_zeroes_genes = pd.Index([])
    if not dds.var["replaced"].any():
        return
    zero = (dds.counts_to_refit.X == 0).all(axis=0)
    dds.new_all_zeroes_genes = dds.counts_to_refit.var_names[zero]
    dds.var.loc[dds.var["refitted"], "refitted"] = ~zero
    if zero.any():
        dds.var.loc[dds.new_all_zeroes_genes, "_normed_means"] = 0
        dds.varm["LFC"].loc[dds.new_all_zeroes_genes, :] = 0
    if not dds.var["refitted"].any():
        return
    dds.counts_to_refit = dds.counts_to_refit[:, ~zero].copy()
    sub = DeseqDataSet(
        counts=pd.DataFrame(dds.counts_to_refit.X, index=dds.obs_names, columns=dds.counts_to_refit.var_names),
        metadata=dds.obs,
        design=dds.obsm["design_matrix"],
        min_mu=dds.min_mu,
        min_disp=dds.min_disp,
        max_disp=dds.max_disp,
        refit_cooks=False,
        beta_tol=dds.beta_tol,
        inference=dds.inference,
        quiet=True,
    )
    sub.obs["size_factors"] = dds.obs["size_factors"].to_numpy()
    sub.layers["normed_counts"] = sub.X / sub.obs["size_factors"].to_numpy()[:, None]
    sub.var["_normed_means"] = sub.layers["normed_counts"].mean(axis=0)
    fit_genewise(sub)
    sub.var["fitted_dispersions"] = trend(sub.var["_normed_means"].to_numpy(dtype=np.float64))
    sub.uns["prior_disp_var"] = dds.uns["prior_disp_var"]
    sub.uns["_squared_logres"] = dds.uns["_squared_logres"]
    fit_map(sub)
    sub.fit_LFC()
    refitted = dds.var["refitted"].to_numpy(dtype=bool)
    for col in ("_normed_means", "genewise_dispersions", "fitted_dispersions", "dispersions"):
        dds.var.loc[refitted, col] = sub.var[col].to_numpy()
    dds.varm["LFC"][refitted] = sub.varm["LFC"].to_numpy()
    dds.layers["replace_cooks"] = dds.layers["cooks"].copy()
    dds.layers["replace_cooks"][np.ix_(dds.obs["replaceable"].to_numpy(dtype=bool), np.flatnonzero(refitted))] = 0.0
