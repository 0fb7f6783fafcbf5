"""The DESeq2 engine: one pydeseq2 fit per group, every test read from that fit."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd

from ._design import Design

COLUMNS = {
    "log2FoldChange": "log2fc",
    "lfcSE": "lfcse",
    "stat": "stat",
    "pvalue": "pvalue",
    "padj": "padj",
    "baseMean": "base_mean",
}


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
    from pydeseq2.ds import DeseqStats

    from ._filter import independent_filtering
    from ._nbinom import BatchedInference

    inference = BatchedInference(n_cpus=n_cpus)
    meta = pd.DataFrame({"profile": counts.index}, index=counts.index)
    # pydeseq2 prints progress and warns about its own trend fitting; keep the user's console clean
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", module="pydeseq2")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        dds = DeseqDataSet(counts=counts, metadata=meta, design=design.matrix, inference=inference, quiet=True)
        dds.deseq2()
        out = {}
        for key, test in tests.items():
            if isinstance(test, np.ndarray):  # its Wald test, Cook's filter, then the same filtering, faster
                stats = DeseqStats(
                    dds, contrast=test, alpha=alpha, inference=inference, independent_filter=False, quiet=True
                )
                stats.summary()
                res = stats.results_df.rename(columns=COLUMNS)[list(COLUMNS.values())]
                res["padj"] = independent_filtering(res["base_mean"], res["pvalue"], alpha)
            else:
                from ._lrt import nbinom_lrt

                res = nbinom_lrt(dds, test.reduced, inference=inference, alpha=alpha)[list(COLUMNS.values())]
            out[key] = res.astype(np.float64)
    return out, {}
