"""DESeq2's likelihood-ratio test on a fitted pydeseq2 ``DeseqDataSet``, with the reduced fit batched over genes.

pydeseq2 (0.5) has Wald tests only. :func:`nbinom_lrt` adds DESeq2's ``nbinomLRT`` and what ``results()`` does
to its p-values (Love, Huber & Anders 2014, *Genome Biology* 15:550, "Likelihood ratio test"; DESeq2 1.38):
the reduced GLM is fitted with the full model's dispersions and size factors, the statistic is twice the
difference of the negative-binomial log-likelihoods, referred to a chi-square distribution with as many
degrees of freedom as coefficients dropped. Cook's filtering, the refitted outliers and independent filtering
are pydeseq2's (``DeseqDataSet.cooks_outlier``; ``DeseqStats._independent_filtering``'s rule), as its Wald test
uses them. Compared with R in ``tests/tl/test_lrt.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydeseq2.utils import nb_nll
from scipy.stats import chi2

from .design import is_nested, largest_effect

__all__ = ["nbinom_lrt"]

# nbinomLRT's fit of the reduced model (DESeq2 1.38): fitNbinomGLMs(betaTol = 1e-8, maxit = 100, minmu = 0.5)
_MAXIT = 100
COLUMNS = ["log2fc", "lfcse", "stat", "pvalue", "padj", "base_mean", "df"]


def _reduced_matrix(dds, reduced) -> tuple[np.ndarray, list[str] | None]:
    """``reduced`` as profiles × q floats in ``dds``' profile order, and its column names when it has them."""
    if isinstance(reduced, pd.DataFrame):
        if len(reduced) == dds.n_obs and set(reduced.index.astype(str)) == set(dds.obs_names):
            reduced = reduced.set_axis(reduced.index.astype(str)).loc[dds.obs_names]
        elif not isinstance(reduced.index, pd.RangeIndex):
            raise ValueError("The rows of `reduced` must be the profiles of `dds` (its obs_names).")
        return reduced.to_numpy(dtype=np.float64), [str(c) for c in reduced.columns]
    xr = np.asarray(reduced, dtype=np.float64)
    if xr.ndim == 1:
        xr = xr[:, None]
    return xr, None


def _loglik(counts: np.ndarray, mu: np.ndarray, disp: np.ndarray) -> np.ndarray:
    """Negative-binomial log-likelihood of each gene (column), DESeq2's ``nbinomLogLike``."""
    if counts.shape[1] == 0:
        return np.zeros(0)
    if counts.shape[1] == 1:  # nb_nll sums everything for a single dispersion
        return -np.atleast_1d(nb_nll(counts[:, 0], mu[:, 0], float(disp[0])))
    return -np.asarray(nb_nll(counts, mu, disp), dtype=np.float64)


def nbinom_lrt(dds, reduced: np.ndarray, *, inference=None, alpha: float = 0.05, n_zero: int = 0) -> pd.DataFrame:
    """DESeq2's likelihood-ratio test of the full design of ``dds`` against ``reduced``, for every gene.

    Follows DESeq2's ``nbinomLRT`` and ``results()`` (Love, Huber & Anders 2014, *Genome Biology* 15:550;
    DESeq2 1.38): the reduced model is fitted by IRLS with the full model's dispersions and size factors
    (``betaTol = 1e-8``, at most 100 iterations, ``minmu = 0.5``, genes that do not converge refitted by
    pydeseq2's optimiser; an intercept-only model in closed form, the mean of the normalised counts, as
    DESeq2 does); ``stat = 2 * (logLik_full - logLik_reduced)`` with the negative-binomial log-likelihood,
    ``pvalue`` its upper chi-square tail on ``df = p_full - p_reduced`` degrees of freedom. Then as
    ``results()``: p-values of Cook's outliers set to NaN; genes whose outlier counts were replaced are
    tested on the replaced counts (DESeq2 refits both models on them; pydeseq2's refitted dispersions and
    full fit are used); genes that became all zero by the replacement get ``stat = 0``, ``pvalue = 1`` and
    ``log2fc = 0``; genes with no counts at all get NaN; ``padj`` is Benjamini–Hochberg after independent
    filtering on the mean of normalised counts at ``alpha``.

    Parameters
    ----------
    dds
        A pydeseq2 ``DeseqDataSet`` on which ``deseq2()`` has run (dispersions, full fit, Cook's distances,
        outlier replacement and refitting). Its design matrix, ``obsm["design_matrix"]``, is the full model.
    reduced
        The reduced model matrix, profiles × q, of full rank, its columns combinations of the full design's
        (a ``ValueError`` otherwise). A DataFrame indexed by profile is aligned to ``dds.obs_names``.
    inference
        The pydeseq2 ``Inference`` whose ``irls`` fits the reduced model, e.g. :class:`BatchedInference`
        (default: ``dds.inference``).
    alpha
        Target FDR of the independent filtering (``results(alpha=)``; note that R's default is 0.1).
    n_zero
        Genes with no count at all left out of ``dds``; they enter independent filtering's quantiles, as in R.

    Returns
    -------
    DataFrame indexed by gene with ``log2fc``, ``lfcse`` (NaN: an LRT has no standard error), ``stat``,
    ``pvalue``, ``padj``, ``base_mean`` (mean of normalised counts, after replacement) and ``df``.
    ``log2fc`` is, per gene, the full-model MLE (log2) of the dropped coefficient with the largest absolute
    value, signed; when one coefficient is dropped, that coefficient. The dropped coefficients are the full
    design's columns absent from ``reduced``'s, when ``reduced`` is a DataFrame whose column names are a subset
    of those of ``dds.obsm["design_matrix"]``; otherwise ``log2fc`` is NaN (R reports the full model's last
    coefficient instead, whatever the test).
    """
    from .filter import independent_filtering

    if "LFC" not in dds.varm or "dispersions" not in dds.var:
        raise ValueError("Run dds.deseq2() first: the LRT needs the dispersions and the full model's fit.")
    inference = dds.inference if inference is None else inference
    full = dds.obsm["design_matrix"]
    X = np.asarray(full, dtype=np.float64)
    xr, reduced_names = _reduced_matrix(dds, reduced)
    if xr.shape[0] != X.shape[0]:
        raise ValueError(f"`reduced` has {xr.shape[0]} rows for {X.shape[0]} profiles.")
    if np.linalg.matrix_rank(xr) < xr.shape[1]:
        raise ValueError("The reduced model matrix is not of full column rank.")
    if not is_nested(X, xr):
        raise ValueError("The reduced model is not nested in the full design (its columns are not combinations of it).")
    df = X.shape[1] - xr.shape[1]
    if df < 1:
        raise ValueError(
            f"The reduced model has {xr.shape[1]} columns for {X.shape[1]} in the full design: nothing to test."
        )

    genes = dds.var_names
    sf = dds.obs["size_factors"].to_numpy(dtype=np.float64)
    nonzero = dds.var["non_zero"].to_numpy(dtype=bool)
    counts = np.asarray(dds.X, dtype=np.float64)[:, nonzero].copy()
    nz_genes = genes[nonzero]
    # genes whose outliers were replaced: DESeq2 tests them on the replaced counts; some became all zero
    new_zero = pd.Series(False, index=genes)
    if "replaced" in dds.var and "refitted" in dds.var:  # dds.refit() has run
        new_zero = dds.var["replaced"].astype(bool) & ~dds.var["refitted"].astype(bool)
        if dds.var["refitted"].any():
            replaced = dds.counts_to_refit  # the refitted genes' counts after replacement
            counts[:, nz_genes.get_indexer(replaced.var_names)] = np.asarray(replaced.X, dtype=np.float64)
    test = nonzero & ~new_zero.to_numpy()  # genes with counts to fit
    keep = test[nonzero]
    y, disp = counts[:, keep], dds.var["dispersions"].to_numpy(dtype=np.float64)[test]
    beta = dds.varm["LFC"].to_numpy(dtype=np.float64)[test]

    mu_full = sf[:, None] * np.exp(X @ beta.T)
    if xr.shape[1] == 1 and np.all(xr == xr[0, 0]):  # ~ 1: fitNbinomGLMs' closed form
        mu_red = sf[:, None] * (y / sf[:, None]).mean(axis=0)
    else:
        _, mu_red, _, _ = inference.irls(
            counts=y,
            size_factors=sf,
            design_matrix=xr,
            disp=disp,
            min_mu=dds.min_mu,
            beta_tol=dds.beta_tol,
            maxiter=_MAXIT,
        )
    stat = np.full(len(genes), np.nan)
    stat[test] = 2.0 * (_loglik(y, mu_full, disp) - _loglik(y, mu_red, disp))
    stat = pd.Series(stat, index=genes)
    pvalue = pd.Series(chi2.sf(stat, df), index=genes)
    pvalue[dds.cooks_outlier().reindex(genes).fillna(False).to_numpy(dtype=bool)] = np.nan
    stat[new_zero], pvalue[new_zero] = 0.0, 1.0

    lfc = dds.varm["LFC"]
    log2fc = pd.Series(np.nan, index=genes)
    if reduced_names is not None and set(reduced_names) <= {str(c) for c in full.columns}:
        dropped = [c for c in full.columns if str(c) not in set(reduced_names)]
        log2fc[:] = largest_effect(lfc[dropped].to_numpy(dtype=np.float64) / np.log(2))
        log2fc[new_zero] = 0.0

    base_mean = dds.var["_normed_means"].astype(np.float64)
    out = pd.DataFrame(
        {
            "log2fc": log2fc,
            "lfcse": np.nan,
            "stat": stat,
            "pvalue": pvalue,
            "padj": independent_filtering(base_mean.to_numpy(), pvalue.to_numpy(), alpha, n_zero),
            "base_mean": base_mean,
            "df": float(df),
        },
        index=genes,
    )
    return out[COLUMNS]
