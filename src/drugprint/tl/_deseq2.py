"""The DESeq2 engine: one pydeseq2 fit per group, every contrast read from that fit."""

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
    counts: pd.DataFrame,
    design: Design,
    contrasts: list[tuple[str, str]],
    *,
    alpha: float = 0.05,
    n_cpus: int = 1,
) -> dict[tuple[str, str], pd.DataFrame]:
    """Fit ``counts`` (profiles × genes, integers) with pydeseq2 and run a Wald test per contrast.

    Returns one DataFrame per contrast, indexed by gene, with columns ``log2fc``, ``lfcse``, ``stat``,
    ``pvalue``, ``padj`` (DESeq2's independent filtering and Cook's outlier handling included) and
    ``base_mean``.
    """
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.ds import DeseqStats

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
        for level, versus in contrasts:
            stats = DeseqStats(
                dds, contrast=design.contrast(level, versus), alpha=alpha, inference=inference, quiet=True
            )
            stats.summary()
            res = stats.results_df.rename(columns=COLUMNS)[list(COLUMNS.values())]
            out[level, versus] = res.astype(np.float64)
    return out
