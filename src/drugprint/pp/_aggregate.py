"""Sum rows of a matrix into groups: one pass over the non-zeros, in memory or chunk by chunk with Dask."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from .._counts import is_dask, is_integer_valued
from .._env import optional_import


def _indicator(codes: np.ndarray, n_groups: int) -> sparse.csr_matrix:
    rows = np.flatnonzero(codes >= 0)
    return sparse.csr_matrix((np.ones(rows.size), (codes[rows], rows)), shape=(n_groups, codes.size))


def _csr_kernel():
    import numba

    @numba.njit(cache=True, nogil=True)
    def csr_group_sum(indptr, indices, data, codes, out):  # pragma: no cover - compiled
        for i in range(codes.size):
            g = codes[i]
            if g < 0:
                continue
            for k in range(indptr[i], indptr[i + 1]):
                out[g, indices[k]] += data[k]

    return csr_group_sum


_KERNEL = None


def _block_sum(block: Any, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Group sums of one block: a numba pass over the CSR non-zeros, or an indicator product otherwise."""
    global _KERNEL
    if sparse.issparse(block) and block.format == "csr":
        if _KERNEL is None:
            _KERNEL = _csr_kernel()
        out = np.zeros((n_groups, block.shape[1]), dtype=np.float64)
        _KERNEL(block.indptr, block.indices, block.data, codes.astype(np.int64, copy=False), out)
        return out
    out = _indicator(codes, n_groups) @ block
    return out.toarray() if sparse.issparse(out) else np.asarray(out, dtype=np.float64)


def _row_totals(block: Any) -> np.ndarray:
    return np.asarray(block.sum(axis=1), dtype=np.float64).ravel()


def aggregate_sum(x: Any, codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, bool, np.ndarray]:
    """``out[g] = Σ x[i] over rows i with codes[i] == g`` (rows with code −1 are skipped), as float64.

    Returns the sums, whether the values of ``x`` look like counts (:func:`~drugprint._counts.is_integer_valued`
    on up to a million values of each block), and each row's total (its library size), all in the same pass.

    CSR input: one numba pass over the non-zeros; other NumPy and SciPy input: a sparse indicator-matrix product.
    Dask input
    (dense or sparse chunks): each row chunk is reduced on its own and the partial sums are added pairwise in
    a tree, so memory stays at a few chunks plus a few ``n_groups × columns`` partials; it runs on the active
    Dask scheduler (threads by default, or a ``dask.distributed`` client).
    """
    if not is_dask(x):
        return _block_sum(x, codes, n_groups), is_integer_valued(x, sample=1_000_000), _row_totals(x)
    dask = optional_import("dask", "dask", "dp.pp.pseudobulk on a Dask array")

    blocks = x.to_delayed()
    offsets = np.cumsum((0, *x.chunks[0]))
    columns = []
    block_sum = dask.delayed(_block_sum, pure=True)
    add = dask.delayed(np.add, pure=True)
    check = dask.delayed(is_integer_valued, pure=True)
    checks = [check(b, sample=1_000_000) for b in blocks.ravel()]  # reuse the chunks loaded for the sums
    row_totals = dask.delayed(_row_totals, pure=True)
    totals = [sum(row_totals(blocks[i, j]) for j in range(blocks.shape[1])) for i in range(blocks.shape[0])]
    for j in range(blocks.shape[1]):
        parts = [block_sum(blocks[i, j], codes[offsets[i] : offsets[i + 1]], n_groups) for i in range(blocks.shape[0])]
        while len(parts) > 1:
            parts = [add(parts[k], parts[k + 1]) if k + 1 < len(parts) else parts[k] for k in range(0, len(parts), 2)]
        columns.append(parts[0])
    out = dask.compute(*columns, *checks, *totals)
    n, k = len(columns), len(checks)
    return np.hstack(out[:n]), all(out[n : n + k]), np.concatenate(out[n + k :])
