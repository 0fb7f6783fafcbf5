"""Preranked gene-set enrichment analysis (GSEA): the weighted running sum, its peak and leading edge, the null.

The method is Subramanian et al. (2005, PNAS 102:15545). A signature's ``N`` genes are ranked by a statistic,
largest first. Walking down the ranked list, the running sum of a set of ``k`` of those genes rises at each of the
set's genes by that gene's ``|statistic|`` over the sum of ``|statistic|`` over the set (the weight ``p = 1`` of the
paper), falls by ``1 / (N - k)`` at every other gene, and so starts and ends at 0. The enrichment score ES is its
largest deviation from 0; the positive maximum is taken only when it is strictly larger than the negative one (as
decoupler's ``gsea``, which the tests compare with). The leading edge is the set's genes at or before the peak for a
positive ES, at or after it for a negative ES.

Only the positions of a set's genes are needed: the running sum peaks right after one of them — after its
``j``-th gene at 0-based rank ``r_j`` it is ``W_j - (r_j + 1 - j) / (N - k)``, ``W_j`` the weight of its first
``j`` genes — and bottoms out right before one (``W_{j-1} - (r_j - j + 1) / (N - k)``; the misses after its last
gene only bring it back to 0). So ES costs ``O(k)`` per set instead of ``O(N)``, and sets of one size are computed
together as the rows of one array.

The null (the paper's gene-set permutation, as fgsea and decoupler): ES of random sets of the same size drawn from
the ranked genes. Every size shares the same ``n_perm`` random orderings of the ranks, a set of size ``k`` taking
their first ``k`` entries, so each size's null is a uniform sample of ``k``-subsets and all sizes cost one draw.
The p-value of a positive ES is ``(1 + #{null >= ES}) / (1 + #{null >= 0})`` among the null ES of its sign, of a
negative ES ``(1 + #{null <= ES}) / (1 + #{null < 0})`` (Phipson & Smyth 2010: never 0), and the normalised
score NES = ES / |mean of the null ES of its sign|.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Random orderings drawn at a time for the null (bounds the memory of the draw to ``BLOCK × N`` integers).
BLOCK = 256


def rank(values: np.ndarray) -> np.ndarray:
    """Indices of the finite ``values``, largest first; ties keep their order in ``values`` (a stable sort)."""
    values = np.asarray(values, dtype=float)
    finite = np.flatnonzero(np.isfinite(values))
    return finite[np.argsort(-values[finite], kind="stable")]


def running_sum(weights: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """The running sum after each position of a ranked list (``weights`` = ``|statistic|`` in rank order).

    ``hits`` marks the set's genes. All zeros when the set's genes all weigh 0 (no ES is defined then).
    """
    weights, hits = np.asarray(weights, dtype=float), np.asarray(hits, dtype=bool)
    total, k = weights[hits].sum(), int(hits.sum())
    if total == 0 or k == hits.size:
        return np.zeros(hits.size)
    return np.cumsum(np.where(hits, weights / total, -1.0 / (hits.size - k)))


def enrichment(weights: np.ndarray, positions: np.ndarray) -> dict[str, np.ndarray]:
    """ES, its peak and the size of the leading edge of sets of one size ``k``.

    ``positions`` is an ``m × k`` array: per row, the 0-based ranks of a set's genes in increasing order
    (``k < N = weights.size``). Returns per row ``es``; ``peak``, the rank at which the running sum reaches ES
    (the first such rank); and ``n_leading_edge``, the number of the set's genes at or before ``peak`` when
    ES > 0 (the row's first ones), at or after it when ES < 0 (its last ones). A set whose genes all weigh 0
    has ES 0 and no leading edge.
    """
    positions = np.asarray(positions)
    m, k = positions.shape
    w = weights[positions]
    total = w.sum(axis=1, keepdims=True)
    cum = np.cumsum(w, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cum, before = cum / total, (cum - w) / total
    j = np.arange(1, k + 1)
    dec = 1.0 / (weights.size - k)
    top = cum - (positions + 1 - j) * dec  # right after the j-th gene
    bottom = before - (positions - j + 1) * dec  # right before it
    j_top, j_bottom = np.argmax(top, axis=1), np.argmin(bottom, axis=1)  # first occurrences, as decoupler
    rows = np.arange(m)
    high, low = np.maximum(top[rows, j_top], 0.0), np.minimum(bottom[rows, j_bottom], 0.0)
    up = high > -low
    es = np.where(up, high, low)
    peak = np.where(up, positions[rows, j_top], positions[rows, j_bottom] - 1)
    n_le = np.where(up, j_top + 1, k - j_bottom)
    empty = (total[:, 0] == 0) | (es == 0)
    return {
        "es": np.where(empty, 0.0, es),
        "peak": np.where(empty, -1, peak).astype(np.int64),
        "n_leading_edge": np.where(empty, 0, n_le).astype(np.int64),
    }


def null_orders(n: int, k: int, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """The first ``k`` entries of ``n_perm`` random orderings of ``range(n)`` (``n_perm × k``)."""
    out = np.empty((n_perm, k), dtype=np.int64)
    base = np.arange(n, dtype=np.int32)
    for start in range(0, n_perm, BLOCK):
        size = min(BLOCK, n_perm - start)
        out[start : start + size] = rng.permuted(np.broadcast_to(base, (size, n)), axis=1)[:, :k]
    return out


def normalise(es: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NES and the permutation p-value of each ``es`` against one size's ``null`` ES (module docstring)."""
    pos, neg = np.sort(null[null >= 0]), np.sort(null[null < 0])
    up = es >= 0
    n_same = np.where(up, pos.size, neg.size)
    beyond = np.where(up, pos.size - np.searchsorted(pos, es, "left"), np.searchsorted(neg, es, "right"))
    mean = np.where(up, pos.mean() if pos.size else np.nan, -neg.mean() if neg.size else np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        nes = np.where(es == 0, 0.0, es / mean)
    pvalue = np.where(n_same > 0, (1.0 + beyond) / (1.0 + n_same), 1.0)
    return nes, pvalue


def gsea(weights: np.ndarray, member: sp.csr_matrix, *, n_perm: int, rng: np.random.Generator) -> dict:
    """Preranked GSEA of every set (row) of ``member`` on one ranked list.

    ``weights`` is ``|statistic|`` in rank order (length ``N``); ``member`` the sets × ``N`` 0/1 matrix whose
    columns are the ranked genes in rank order (each set smaller than ``N``). Returns per set ``n_set``, ``es``,
    ``nes``, ``pvalue``, ``peak`` and ``n_leading_edge`` (see :func:`enrichment`, :func:`normalise`); the sets
    are computed size by size against the null of :func:`null_orders`.
    """
    member = sp.csr_matrix(member)
    member.sort_indices()
    weights = np.asarray(weights, dtype=float)
    sizes = np.diff(member.indptr)
    out = {"n_set": sizes.astype(np.int64), "es": np.zeros(sizes.size), "nes": np.zeros(sizes.size)}
    out.update(pvalue=np.ones(sizes.size), peak=np.full(sizes.size, -1), n_leading_edge=np.zeros(sizes.size, int))
    if sizes.size == 0:
        return out
    orders = null_orders(weights.size, int(sizes.max()), n_perm, rng)
    for k in np.unique(sizes[sizes > 0]):
        rows = np.flatnonzero(sizes == k)
        res = enrichment(weights, member.indices[member.indptr[rows][:, None] + np.arange(k)])
        null = enrichment(weights, np.sort(orders[:, :k], axis=1))["es"]
        out["nes"][rows], out["pvalue"][rows] = normalise(res["es"], null)
        for name in ("es", "peak", "n_leading_edge"):
            out[name][rows] = res[name]
    return out
