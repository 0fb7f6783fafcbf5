"""edgeR's filterByExpr: which genes have enough counts to be tested."""

from __future__ import annotations

import numpy as np
import pandas as pd


def filter_by_expr(
    counts: pd.DataFrame,
    group: pd.Series | None = None,
    design: np.ndarray | None = None,
    *,
    min_count: float = 10,
    min_total_count: float = 15,
    large_n: int = 10,
    min_prop: float = 0.7,
) -> np.ndarray:
    """EdgeR's ``filterByExpr``: genes with a CPM of ``min_count`` (at the median library) in enough profiles.

    "Enough" is the smallest ``group`` (edgeR's rule for a one-way layout), or ``1 / max(hat values)`` of
    ``design`` for any other design, relaxed above ``large_n`` profiles by ``min_prop``; genes also need
    ``min_total_count`` reads. Chen, Lun & Smyth (2016) F1000Research 5:1438; edgeR 3.40, tested against it.
    ``counts`` are profiles × genes; returns a boolean mask over the genes.
    """
    y = counts.to_numpy(dtype=np.float64)
    if group is not None:
        min_size = float(pd.Series(np.asarray(group)).value_counts().min())
    elif design is not None:
        q, _ = np.linalg.qr(np.asarray(design, dtype=float))
        min_size = 1.0 / float((q**2).sum(axis=1).max())
    else:
        min_size = float(y.shape[0])
    if min_size > large_n:
        min_size = large_n + (min_size - large_n) * min_prop
    lib = y.sum(axis=1)
    cutoff = min_count / np.median(lib) * 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        cpm = y / lib[:, None] * 1e6
    tol = 1e-14
    return ((cpm >= cutoff).sum(axis=0) >= min_size - tol) & (y.sum(axis=0) >= min_total_count - tol)
