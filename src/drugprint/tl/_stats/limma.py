"""The ``limma`` engine: log-scale values fitted gene by gene, moderated t and F, optionally with a blocking factor.

Smyth, G. K. (2004). Statistical Applications in Genetics and Molecular Biology 3(1), Article 3; blocks: Smyth,
Michaud & Scott (2005), Bioinformatics 21, 2067.
"""

from __future__ import annotations

import pandas as pd

from .design import Design
from .dupcor import duplicate_correlation, gls_fit
from .linear import lm_fit, moderated_tests


def fit_limma(
    values: pd.DataFrame, design: Design, tests: dict, block=None, robust: bool = False
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Engine for log-scale data: profiles × genes in, one moderated t or F table per test out.

    With ``block`` (one label per profile), the intra-block correlation is estimated by
    :func:`~drugprint.tl._stats.dupcor.duplicate_correlation` and the genes are fitted by generalised least squares.
    ``robust``: limma's ``eBayes(robust=TRUE)``.
    """
    y, mat = values.to_numpy(dtype=float).T, design.matrix.to_numpy()
    if block is None:
        return moderated_tests(lm_fit(y, mat), tests, values.columns, robust=robust), {}
    rho = duplicate_correlation(y, mat, block).consensus
    fit = gls_fit(y, mat, block, rho)
    return moderated_tests(fit, tests, values.columns, robust=robust), {"block_correlation": rho}
