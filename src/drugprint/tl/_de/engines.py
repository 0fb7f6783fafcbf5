"""The DE engines of :func:`drugprint.tl.de`, registered once: what each needs and offers, its wording, its fit.

Adding an engine is one :class:`Engine` entry in :data:`ENGINES` plus its implementation (a function of a
:class:`FitJob` and the call's :class:`FitOptions` returning one table per test); the choices of ``de``, the CLI,
the report's wording and the documentation's table all read this registry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .._stats.design import Design

#: The kinds of test an engine can offer: pairs and weightings of levels, coefficients, omnibus hypotheses.
TEST_KINDS = ("pair", "weights", "coef", "omnibus")


@dataclass
class FitJob:
    """One group's fit: the profiles, the design, and the tests (key → contrast vector or Omnibus)."""

    group: str
    meta: pd.DataFrame  # the group's profiles' obs, as used
    data: pd.DataFrame  # profiles × tested genes
    tested: np.ndarray  # boolean mask over all genes
    design: Design
    tests: dict
    pairs: dict  # key → (level, reference) for pair tests
    block: np.ndarray | None = None
    specs: dict = field(default_factory=dict)  # key → the TestSpec it answers
    n_zero: int = 0  # genes with no count in the group, left out of data (DESeq2's independent filtering counts them)
    part: str = ""  # "k/n" for block k of a group fitted in n blocks of conditions, "" for a whole group


@dataclass(frozen=True)
class FitOptions:
    """What every fit of a call shares: whether the values are counts, DESeq2's alpha, limma's robust, processes."""

    is_counts: bool
    alpha: float = 0.05
    robust: bool = False
    n_cpus: int = 1


@dataclass(frozen=True)
class Engine:
    """One DE engine: its input, the tests it offers, what it models, how it is named, and its fit."""

    name: str
    needs: str  # "counts" or "log values"
    tests: tuple[str, ...]  # among TEST_KINDS
    omnibus: str  # the omnibus test, "" when none
    block: bool  # models a blocking factor (block=)
    robust: bool  # offers limma's robust empirical Bayes (robust=True)
    designs: bool  # fits a design (covariates, formulas); False: compares two conditions, covariates ignored
    label: str  # how the report names it
    summary: str
    reference: str
    fit: Callable[[FitJob, FitOptions], tuple[dict[str, pd.DataFrame], dict]]
    caution: str = ""  # what the report says of its calls ({alpha} is the report's level)
    few_replicates: str = ""  # what the report adds when fits have <= 3 residual df (measured on null studies)

    @property
    def counts(self) -> bool:
        """Whether the engine needs raw counts."""
        return self.needs == "counts"


def _fit_deseq2(job: FitJob, options: FitOptions):
    from .._stats.deseq2 import fit_deseq2

    counts = job.data.astype(np.int64)
    return fit_deseq2(counts, job.design, job.tests, alpha=options.alpha, n_cpus=options.n_cpus, n_zero=job.n_zero)


def _fit_voom(job: FitJob, options: FitOptions):
    from .._stats.voom import fit_voom

    return fit_voom(job.data, job.design, job.tests, block=job.block, robust=options.robust)


def _fit_limma(job: FitJob, options: FitOptions):
    from .._stats.limma import fit_limma

    return fit_limma(job.data, job.design, job.tests, block=job.block, robust=options.robust)


def _fit_ttest(job: FitJob, options: FitOptions):
    from .._stats.ttest import fit_ttest
    from .._stats.voom import log_cpm

    values = log_cpm(job.data.T).T if options.is_counts else job.data
    res = fit_ttest(values, job.meta[job.design.factor], list(job.pairs.values()))
    return {key: res[pair] for key, pair in job.pairs.items()}, {}


# What null simulations at 1–3 residual df measured for the count engines (bench/bench_small_designs.py)
_FEW_REPLICATES = (
    "and gene-level calls include a false one more often than the nominal 5 % (on simulated null studies with 1–3 "
    "residual df, up to a third had a gene called by DESeq2, as by R's, and up to a quarter by voom; see the "
    "statistics page)"
)

#: The names of :data:`ENGINES`, for type hints (a test keeps the two equal).
EngineName = Literal["deseq2", "voom", "limma", "ttest"]

#: The engines by ``method`` name.
ENGINES = {
    e.name: e
    for e in (
        Engine(
            name="deseq2",
            needs="counts",
            tests=TEST_KINDS,
            omnibus="likelihood-ratio test (chi-square)",
            block=False,
            robust=False,
            designs=True,
            label="DESeq2 (pydeseq2; Wald test)",
            summary="negative-binomial GLM, Wald tests, LRT (pydeseq2 with gene-batched IRLS)",
            reference="Love, Huber & Anders (2014) Genome Biology 15:550",
            fit=_fit_deseq2,
            caution="DESeq2's Wald tests run somewhat liberal in studies of a few donors (as R's do): read single "
            "calls near padj {alpha:g} with care.",
            few_replicates=_FEW_REPLICATES,
        ),
        Engine(
            name="voom",
            needs="counts",
            tests=TEST_KINDS,
            omnibus="moderated F",
            block=True,
            robust=True,
            designs=True,
            label="limma-voom (TMM, precision weights, moderated t)",
            summary="TMM, log-CPM with precision weights, limma's moderated t and F",
            reference="Law et al. (2014) Genome Biology 15:R29; Smyth (2004) SAGMB 3:3",
            fit=_fit_voom,
            few_replicates=_FEW_REPLICATES,
        ),
        Engine(
            name="limma",
            needs="log values",
            tests=TEST_KINDS,
            omnibus="moderated F",
            block=True,
            robust=True,
            designs=True,
            label="limma (moderated t)",
            summary="linear model per gene, empirical-Bayes moderated t and F",
            reference="Smyth (2004) SAGMB 3:3; Smyth, Michaud & Scott (2005) Bioinformatics 21:2067",
            fit=_fit_limma,
        ),
        Engine(
            name="ttest",
            needs="log values (log-CPM for counts)",
            tests=("pair",),
            omnibus="",
            block=False,
            robust=False,
            designs=False,
            label="Welch's t-test",
            summary="Welch's t-test between two conditions, covariates ignored; a plain baseline",
            reference="Welch (1947) Biometrika 34:28",
            fit=_fit_ttest,
        ),
    )
}


def offering(capability: str | Callable[[Engine], bool]) -> str:
    """The engines with ``capability`` (a true :class:`Engine` field, or a test of one), as ``"'voom' or 'limma'"``."""
    test = capability if callable(capability) else (lambda e: getattr(e, capability))
    names = [repr(e.name) for e in ENGINES.values() if test(e)]
    return ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]


def de_methods() -> pd.DataFrame:
    """The engines of :func:`drugprint.tl.de`: input, tests offered, omnibus test, blocking, reference.

    Returns
    -------
    One row per ``method``: ``needs``, ``tests``, ``omnibus``, ``block``, ``robust``, ``summary``, ``reference``.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.tl.de_methods().loc["voom", "omnibus"]
    'moderated F'
    """
    rows = [
        {
            "method": e.name,
            "needs": e.needs,
            "tests": ", ".join(e.tests),
            "omnibus": e.omnibus,
            "block": e.block,
            "robust": e.robust,
            "summary": e.summary,
            "reference": e.reference,
        }
        for e in ENGINES.values()
    ]
    return pd.DataFrame(rows).set_index("method")


def run_engine(method: str, job: FitJob, options: FitOptions):
    """Fit one group (or block); returns ``(tables by test key, extra fit facts, seconds)``.

    The executors run it with BLAS on one thread (:func:`~drugprint.tl._parallel.one_thread`): parallel workers
    must not oversubscribe the cores, and serial fits gain too, as the fits are many small per-gene solves where
    BLAS threads only add overhead (deseq2 on one group: 15 s instead of 52 s).
    """
    t0 = time.perf_counter()
    try:
        tables, info = ENGINES[method].fit(job, options)
    except ValueError as err:  # a group the engine cannot fit (e.g. no extra-Poisson variation): say which
        raise ValueError(f"Group {job.group!r}: {err}") from err
    return tables, info, time.perf_counter() - t0
