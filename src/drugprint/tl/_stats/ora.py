"""Over-representation of a gene list in gene sets: one-sided hypergeometric tests, as limma's ``goana``/``kegga``.

Young et al. (2010, Genome Biology 11:R14) discuss the test and its assumptions; limma's ``goana`` (Smyth et al.)
is the reference implementation checked in ``tests/tl/test_enrich.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats


def membership(sources: np.ndarray, targets: np.ndarray, genes) -> tuple[np.ndarray, sp.csr_matrix]:
    """Sets × genes 0/1 matrix of a net's (source, target) pairs over ``genes`` (pairs off ``genes`` dropped).

    Returns the set names (in order of first appearance) and the matrix.
    """
    pos = pd.Index(genes).get_indexer(targets)
    keep = pos >= 0
    codes, names = pd.factorize(sources)
    m = sp.csr_matrix(
        (np.ones(int(keep.sum())), (codes[keep], pos[keep])), shape=(len(names), len(genes)), dtype=np.float64
    )
    m.data[:] = 1.0  # the constructor summed duplicated pairs: each counts once
    return np.asarray(names), m


def hypergeometric(member: sp.csr_matrix, universe: np.ndarray, hits: np.ndarray) -> dict[str, np.ndarray]:
    """One list's over-representation in every set.

    ``universe`` and ``hits`` are boolean masks over ``member``'s columns (the list is restricted to the
    universe). Per set: ``n_set`` (its genes in the universe), ``overlap`` (in the list), ``expected``, the odds
    ratio (with 0.5 added to each cell of the 2 × 2 table when one is empty) and the one-sided p-value
    ``P(X >= overlap)`` of the hypergeometric distribution, as ``phyper(overlap - 1, n_set, N - n_set, k,
    lower.tail = FALSE)`` in goana.
    """
    hits = hits & universe
    n_universe, k = int(universe.sum()), int(hits.sum())
    n_set = np.asarray(member @ universe.astype(np.float64)).ravel()
    overlap = np.asarray(member @ hits.astype(np.float64)).ravel()
    pvalue = stats.hypergeom.sf(overlap - 1, n_universe, n_set, k)
    a, b, c = overlap, k - overlap, n_set - overlap
    d = n_universe - n_set - b
    empty = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    half = np.where(empty, 0.5, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = ((a + half) * (d + half)) / ((b + half) * (c + half))
    expected = n_set * k / n_universe if n_universe else np.full(n_set.shape, np.nan)
    return {
        "n_set": n_set.astype(np.int64),
        "overlap": overlap.astype(np.int64),
        "expected": expected,
        "odds_ratio": odds,
        "pvalue": np.clip(pvalue, 0.0, 1.0),
        "n_list": np.full(n_set.shape, k, dtype=np.int64),
        "n_universe": np.full(n_set.shape, n_universe, dtype=np.int64),
    }
