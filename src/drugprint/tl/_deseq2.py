"""The DESeq2 engine: one pydeseq2 fit per group, every test read from that fit.

The fit is pydeseq2's ``DeseqDataSet.deseq2`` step by step (Muzellec et al. 2023, *Bioinformatics* 39:btad547;
Love, Huber & Anders 2014, *Genome Biology* 15:550), with gene-batched inference
(:class:`~drugprint.tl._nbinom.BatchedInference`). Two steps are our own: the parametric dispersion trend
(:func:`fit_parametric_trend`), fitted as R's DESeq2 fits it where pydeseq2 differs, and the Wald tests of all
contrasts of the fit at once (:func:`wald_results`, the arithmetic of ``DeseqStats.summary``).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._design import Design

if TYPE_CHECKING:
    from pydeseq2.dds import DeseqDataSet

COLUMNS = ["log2fc", "lfcse", "stat", "pvalue", "padj", "base_mean"]


def fit_parametric_trend(dds: DeseqDataSet) -> None:
    """DESeq2's parametric dispersion trend ``a0 + a1 / mean``, fitted as R fits it (:mod:`._trend`).

    pydeseq2's own fit starts from every nonzero gene, floor-level dispersions included, and can fail where R's
    succeeds (then it falls back to a constant); this follows R's ``estimateDispersionsFit``. When R's fit
    fails too, the mean trend is used with pydeseq2's warning (R would use a local regression). Sets
    ``uns["trend_coeffs"]``, ``uns["disp_function_type"]`` and ``var["fitted_dispersions"]`` as pydeseq2 does.
    """
    from ._trend import parametric_trend

    coeffs = parametric_trend(
        dds.var["_normed_means"].to_numpy(), dds.var["genewise_dispersions"].to_numpy(), min_disp=dds.min_disp
    )
    if coeffs is None:
        warnings.warn(
            "The dispersion trend curve fitting did not converge. Switching to a mean-based dispersion trend.",
            UserWarning,
            stacklevel=2,
        )
        dds._fit_mean_dispersion_trend()
        return
    dds.uns["trend_coeffs"] = pd.Series(coeffs, index=["a0", "a1"])
    dds.uns["disp_function_type"] = "parametric"
    dds.var["fitted_dispersions"] = np.full(dds.n_vars, np.nan)
    nonzero = dds.var["non_zero"]
    dds.var.loc[nonzero, "fitted_dispersions"] = dds.disp_function(dds.var.loc[nonzero, "_normed_means"])


def wald_results(dds: DeseqDataSet, contrasts: list[np.ndarray]) -> list[pd.DataFrame]:
    """``DeseqStats(dds, contrast=c).summary()`` for each contrast vector ``c`` of ``contrasts``, all at once.

    As pydeseq2 (0.5) without LFC shrinkage: Wald tests on the fitted coefficients (ridge ``1e-6``; see
    :func:`drugprint.tl._nbinom.wald_tests`), genes that became all zero by Cook's replacement at ``stat = 0``,
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
    from ._nbinom import wald_tests

    X = dds.obsm["design_matrix"].to_numpy(dtype=np.float64)
    lfc = dds.varm["LFC"].to_numpy(dtype=np.float64)
    mu = np.exp(X @ lfc.T) * dds.obs["size_factors"].to_numpy()[:, None]
    ridge = np.diag(np.repeat(1e-6, X.shape[1]))
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
    counts: pd.DataFrame, design: Design, tests: dict, *, alpha: float = 0.05, n_cpus: int = 1
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Fit ``counts`` (profiles × genes, integers) with pydeseq2 and run each test on that fit.

    A contrast vector gets DESeq2's Wald test; an :class:`~drugprint.tl._design.Omnibus` its likelihood-ratio
    test against the reduced design (:func:`~drugprint.tl._lrt.nbinom_lrt`). Returns one DataFrame per test,
    indexed by gene, with columns ``log2fc``, ``lfcse``, ``stat``, ``pvalue``, ``padj`` (DESeq2's independent
    filtering and Cook's outlier handling included) and ``base_mean``.
    """
    from pydeseq2.dds import DeseqDataSet

    from ._filter import independent_filtering
    from ._lrt import nbinom_lrt
    from ._nbinom import BatchedInference

    inference = BatchedInference(n_cpus=n_cpus)
    meta = pd.DataFrame({"profile": counts.index}, index=counts.index)
    # pydeseq2 prints progress and warns about its own trend fitting; keep the user's console clean
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", module="pydeseq2")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="The dispersion trend curve fitting did not converge")  # recorded
        dds = DeseqDataSet(counts=counts, metadata=meta, design=design.matrix, inference=inference, quiet=True)
        # the steps of DeseqDataSet.deseq2 (parametric trend, Cook's refit), the trend on arrays
        dds.fit_size_factors()
        dds.fit_genewise_dispersions()
        fit_parametric_trend(dds)
        dds.fit_dispersion_prior()
        dds.fit_MAP_dispersions()
        dds.fit_LFC()
        dds.calculate_cooks()
        dds.refit()
        dds.cooks_outlier()
        wald = {key: test for key, test in tests.items() if isinstance(test, np.ndarray)}
        out = dict(zip(wald, wald_results(dds, list(wald.values())), strict=True)) if wald else {}
        for res in out.values():
            res["padj"] = independent_filtering(res["base_mean"].to_numpy(), res["pvalue"].to_numpy(), alpha)
        for key, test in tests.items():
            if key not in wald:
                out[key] = nbinom_lrt(dds, test.reduced, inference=inference, alpha=alpha)
    trend = str(dds.uns["disp_function_type"])  # "mean" where the parametric fit failed: de() warns per group
    return {key: out[key][COLUMNS].astype(np.float64) for key in tests}, {"dispersion_trend": trend}
