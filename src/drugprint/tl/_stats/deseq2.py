"""The DESeq2 engine: one pydeseq2 fit per group, every test read from that fit.

The fit is DESeq2's (Love, Huber & Anders 2014, *Genome Biology* 15:550; R's DESeq2 1.38) on pydeseq2's data
set (Muzellec et al. 2023, *Bioinformatics* 39:btad547) with gene-batched inference
(:class:`~drugprint.tl._stats.nbinom.BatchedInference`). Where pydeseq2 (0.5) departs from R, the steps are R's:
the dispersions (:mod:`.dispersion`: gene-wise, trend, prior variance, MAP, outlier refit), the Wald tests of
all contrasts of the fit at once with R's standard errors (:func:`wald_results`), independent filtering over
every gene given to the fit (:func:`~drugprint.tl._stats.filter.independent_filtering`).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .design import Design

if TYPE_CHECKING:
    from pydeseq2.dds import DeseqDataSet

COLUMNS = ["log2fc", "lfcse", "stat", "pvalue", "padj", "base_mean"]


def wald_results(dds: DeseqDataSet, contrasts: list[np.ndarray]) -> list[pd.DataFrame]:
    """``DeseqStats(dds, contrast=c).summary()`` for each contrast vector ``c`` of ``contrasts``, all at once.

    As R's DESeq2 (``nbinomWaldTest``, ``betaPrior = FALSE``): Wald tests on the fitted coefficients
    (:func:`drugprint.tl._stats.nbinom.wald_tests`) with R's covariance, whose weights take the fitted means at least
    ``minmu = 0.5`` and whose ridge is ``1e-6`` on the log2 scale (pydeseq2 0.5 uses the means as they are, which
    gives genes absent from a condition standard errors many times R's); genes that became all zero by Cook's
    replacement at ``stat = 0``,
    ``pvalue = 1`` and ``lfcSE = 0``, p-values of Cook's outliers set to NaN (``DeseqDataSet.cooks_outlier``).
    The coefficients' covariance is computed once for all contrasts.

    Parameters
    ----------
    dds
        A ``DeseqDataSet`` on which ``deseq2()`` (or its steps) has run.
    contrasts
        Contrast vectors over the design's coefficients.

    Returns
    -------
    One table per contrast, indexed by gene, with ``log2fc``, ``lfcse``, ``stat``, ``pvalue`` and ``base_mean``.
    """
    from .nbinom import wald_tests

    X = dds.obsm["design_matrix"].to_numpy(dtype=np.float64)
    lfc = dds.varm["LFC"].to_numpy(dtype=np.float64)
    mu = np.maximum(np.exp(X @ lfc.T) * dds.obs["size_factors"].to_numpy()[:, None], dds.min_mu)  # R: minmu
    ridge = np.diag(np.repeat(1e-6 / np.log(2) ** 2, X.shape[1]))  # fitNbinomGLMs' lambda, natural-log scale
    pvals, stats, se = wald_tests(X, dds.var["dispersions"].to_numpy(), lfc, mu, ridge, np.column_stack(contrasts))
    if dds.refit_cooks and dds.var["replaced"].sum() > 0:
        zero = dds.var_names.isin(dds.new_all_zeroes_genes)
        se[zero], stats[zero], pvals[zero] = 0.0, 0.0, 1.0
    pvals[dds.cooks_outlier().to_numpy(dtype=bool)] = np.nan
    base_mean = dds.var["_normed_means"].to_numpy(dtype=np.float64)
    return [
        pd.DataFrame(
            {
                "log2fc": lfc @ c / np.log(2),
                "lfcse": se[:, k] / np.log(2),
                "stat": stats[:, k],
                "pvalue": pvals[:, k],
                "base_mean": base_mean,
            },
            index=dds.var_names,
        )
        for k, c in enumerate(contrasts)
    ]


def fit_deseq2(
    counts: pd.DataFrame, design: Design, tests: dict, *, alpha: float = 0.05, n_cpus: int = 1, n_zero: int = 0
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Fit ``counts`` (profiles × genes, integers) as R's DESeq2 does and run each test on that fit.

    The steps of ``DESeq()``: size factors (pydeseq2), gene-wise dispersions, trend, prior variance and MAP
    dispersions as R estimates them (:mod:`.dispersion`), the coefficients by IRLS (pydeseq2, batched), Cook's
    distances, outlier replacement and refit (as R's ``refitWithoutOutliers``). A contrast vector gets DESeq2's
    Wald test; an :class:`~drugprint.tl._stats.design.Omnibus` its likelihood-ratio test against the reduced design
    (:func:`~drugprint.tl._stats.lrt.nbinom_lrt`). ``n_zero`` genes with no count at all were left out of ``counts``
    before the fit; they still count in independent filtering's quantiles of the mean, as R's ``results()`` counts
    every gene it was given. Returns one DataFrame per test, indexed by gene, with columns ``log2fc``, ``lfcse``,
    ``stat``, ``pvalue``, ``padj`` (DESeq2's independent filtering and Cook's outlier handling included) and
    ``base_mean``, and the fit's facts (``dispersion_trend``: ``"parametric"`` or ``"local"``; ``prior_variance``).
    """
    from pydeseq2.dds import DeseqDataSet

    from .dispersion import fit_genewise, fit_map, fit_prior, fit_trend, refit_outliers
    from .filter import independent_filtering
    from .lrt import nbinom_lrt
    from .nbinom import BatchedInference

    inference = BatchedInference(n_cpus=n_cpus)
    meta = pd.DataFrame({"profile": counts.index}, index=counts.index)
    # pydeseq2 prints progress; keep the user's console clean
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", module="pydeseq2")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        dds = DeseqDataSet(counts=counts, metadata=meta, design=design.matrix, inference=inference, quiet=True)
        dds.fit_size_factors()
        fit_genewise(dds)
        trend = fit_trend(dds)
        fit_prior(dds)
        fit_map(dds)
        dds.fit_LFC()
        dds.calculate_cooks()
        refit_outliers(dds, trend)
        dds.cooks_outlier()
        wald = {key: test for key, test in tests.items() if isinstance(test, np.ndarray)}
        out = dict(zip(wald, wald_results(dds, list(wald.values())), strict=True)) if wald else {}
        for res in out.values():
            res["padj"] = independent_filtering(res["base_mean"].to_numpy(), res["pvalue"].to_numpy(), alpha, n_zero)
        for key, test in tests.items():
            if key not in wald:
                out[key] = nbinom_lrt(dds, test.reduced, inference=inference, alpha=alpha, n_zero=n_zero)
    info = {"dispersion_trend": str(dds.uns["disp_function_type"]), "prior_variance": float(dds.uns["prior_disp_var"])}
    return {key: out[key][COLUMNS].astype(np.float64) for key in tests}, info
