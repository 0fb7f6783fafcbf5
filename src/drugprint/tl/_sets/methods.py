"""The gene-set tests of :func:`drugprint.tl.pathways` and :func:`drugprint.tl.panels`, registered once.

Each :class:`SetMethod` says what its null hypothesis is (competitive, self-contained, gene-level), what its
units are (the samples of each fit, or the genes of one signature), how few replicates it copes with, how the
report names it, and how it runs. Adding a set test is one entry in :data:`SET_METHODS` plus its implementation
(a function of the fit, the sets, the contrast and the activity test, returning statistics and p-values); gene
methods run through decoupler by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._stats import settests

#: What a gene-level method's p-values assume (recorded in ``uns[key]["null"]``).
GENE_LEVEL_NOTE = (
    "p-values treat genes as independent; genes of a programme co-vary between samples in real data, so "
    "these p-values are too small: use them to describe, not to call"
)


@dataclass(frozen=True)
class SetMethod:
    """One set test: its hypothesis, its units, its power at few replicates, its wording and how it runs."""

    name: str
    null: str  # "competitive", "self-contained" or "gene-level"
    units: str  # "replicates" (the samples of each fit) or "genes" (one signature's gene statistics)
    hypothesis: str  # the null in words, after "null: "
    power_at_low_df: bool  # keeps power with <= 3 residual df (see tl._sets.replicate.LOW_DF)
    summary: str
    reference: str
    test: Callable | None = None  # replicates: (fit, sets, contrast, activity, inter_gene_cor) -> (stat, pvalue)

    @property
    def replicates(self) -> bool:
        """Whether the samples of each fit are the replicates (else the genes of one signature)."""
        return self.units == "replicates"

    @property
    def described(self) -> str:
        """The null hypothesis as recorded in ``uns[key]["null"]``."""
        return f"{self.null}: {self.hypothesis}"


def _camera(fit, sets, contrast, activity, inter_gene_cor) -> tuple[np.ndarray, np.ndarray]:
    res = settests.camera(fit.expr, sets, fit.design, contrast, weights=fit.weights, inter_gene_cor=inter_gene_cor)
    return res["stat"], res["pvalue"]


def _fry(fit, sets, contrast, activity, inter_gene_cor) -> tuple[np.ndarray, np.ndarray]:
    res = settests.fry(fit.expr, sets, fit.design, contrast, weights=fit.weights)
    return res["stat"], res["pvalue"]


def _activity(fit, sets, contrast, activity, inter_gene_cor) -> tuple[np.ndarray, np.ndarray]:
    return activity.stat, activity.pvalue


_DECOUPLER = "Badia-i-Mompel et al. (2022) Bioinformatics Advances 2:vbac016 (decoupler)"


def _gene_method(name: str, summary: str) -> SetMethod:
    return SetMethod(name, "gene-level", "genes", GENE_LEVEL_NOTE, False, summary, _DECOUPLER)


#: The names of :data:`SET_METHODS`, for type hints (a test keeps the two equal).
SetMethodName = Literal["camera", "fry", "activity", "ulm", "mlm", "zscore", "gsea", "viper", "waggr"]

#: The set tests by ``method`` name: with the samples as replicates first, then decoupler's gene-level methods.
SET_METHODS = {
    m.name: m
    for m in (
        SetMethod(
            "camera",
            "competitive",
            "replicates",
            "the set's genes move more than the other tested genes (inter-gene correlation estimated from the "
            "residuals)",
            False,
            "limma's camera: the set's moderated t against the other genes', widened by its inter-gene correlation",
            "Wu & Smyth (2012) Nucleic Acids Research 40:e133",
            _camera,
        ),
        SetMethod(
            "fry",
            "self-contained",
            "replicates",
            "the set's genes move (mean standardised effect)",
            False,
            "limma's fry: a fast roast on the set's standardised effects",
            "Giner & Smyth (2016) F1000Research 5:2605",
            _fry,
        ),
        SetMethod(
            "activity",
            "self-contained",
            "replicates",
            "the set's mean log-expression moves",
            True,
            "each profile's mean centred log-expression of the set, fitted and tested with limma's moderated t",
            "Smyth (2004) SAGMB 3:3",
            _activity,
        ),
        _gene_method("ulm", "univariate linear model of the statistic on set membership"),
        _gene_method("mlm", "multivariate linear model of the statistic on every set at once"),
        _gene_method("zscore", "z-score of the set's mean statistic"),
        _gene_method("gsea", "gene-set enrichment analysis (running sum, permutations)"),
        _gene_method("viper", "VIPER's analytic rank-based enrichment"),
        _gene_method("waggr", "weighted aggregate of the statistic, against permutations"),
    )
}


def set_methods() -> pd.DataFrame:
    """The gene-set tests of :func:`drugprint.tl.pathways` and :func:`drugprint.tl.panels`: null, units, reference.

    Returns
    -------
    One row per ``method``: ``null`` (``"competitive"``: the set moves more than the other genes;
    ``"self-contained"``: the set moves; ``"gene-level"``: decoupler's methods on one signature's statistics),
    ``units`` (``"replicates"``: the samples of each fit; ``"genes"``: p-values treat genes as independent),
    ``power_at_low_df`` (calls at 3 residual degrees of freedom or fewer), ``summary`` and ``reference``.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.tl.set_methods().loc["camera", ["null", "units"]].tolist()
    ['competitive', 'replicates']
    """
    rows = [
        {
            "method": m.name,
            "null": m.null,
            "units": m.units,
            "power_at_low_df": m.power_at_low_df,
            "summary": m.summary,
            "reference": m.reference,
        }
        for m in SET_METHODS.values()
    ]
    return pd.DataFrame(rows).set_index("method")
