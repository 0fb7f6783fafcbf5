"""A rank-based single-sample score of a gene signature (singscore; Foroutan et al. 2018).

Each sample's genes are ranked from lowest (1) to highest (``N``) expression, ties averaged. For a set of ``n``
genes the mean rank is rescaled by its smallest and largest possible values, ``(n + 1) / 2`` and
``(2N - n + 1) / 2``, to 0 … 1 and centred (minus 0.5), so a set with no tendency scores about 0. Down genes are
scored on the descending ranks (``N + 1 - rank``), and a signature with both directions scores ``up + down``
(−1 … 1). Ranks within a sample do not change under any monotone transformation of that sample (library size,
TPM, log, a normalisation), so neither does the score.

Foroutan M. et al. (2018). Single sample scoring of molecular phenotypes. *BMC Bioinformatics* 19, 404.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata


def set_score(ranks: np.ndarray, idx: np.ndarray, descending: bool = False) -> np.ndarray:
    """The centred singscore of the genes ``idx`` in each row of ``ranks`` (samples × genes, ranks 1 … N)."""
    n_genes, n = ranks.shape[1], idx.size
    mean = ranks[:, idx].mean(axis=1)
    if descending:
        mean = n_genes + 1 - mean
    low, high = (n + 1) / 2, (2 * n_genes - n + 1) / 2
    return (mean - low) / (high - low) - 0.5


def singscore(x: np.ndarray, sets: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Scores (samples × signatures) of ``sets``, each ``(up, down)`` column positions of ``x`` (either may be empty).

    ``x`` is samples × genes and must be finite; every gene of ``x`` takes part in the ranking.
    """
    ranks = rankdata(x, method="average", axis=1)
    out = np.zeros((x.shape[0], len(sets)))
    for j, (up, down) in enumerate(sets):
        if up.size:
            out[:, j] += set_score(ranks, up)
        if down.size:
            out[:, j] += set_score(ranks, down, descending=True)
    return out
