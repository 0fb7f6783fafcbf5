"""The DE engines behind :func:`drugprint.tl.de`: what each needs, which tests it offers, and how it is run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._stats.design import Design

TEST_KINDS = ("pair", "weights", "coef", "omnibus")


@dataclass(frozen=True)
class Engine:
    """One DE engine: its input scale, the tests it offers and whether it models a blocking factor."""

    name: str
    needs: str  # "counts" or "log values"
    tests: tuple[str, ...]  # among TEST_KINDS
    omnibus: str  # the omnibus test, "" when none
    block: bool
    summary: str
    reference: str


ENGINES = {
    e.name: e
    for e in (
        Engine(
            "deseq2",
            "counts",
            TEST_KINDS,
            "likelihood-ratio test (chi-square)",
            False,
            "negative-binomial GLM, Wald tests, LRT (pydeseq2 with gene-batched IRLS)",
            "Love, Huber & Anders (2014) Genome Biology 15:550",
        ),
        Engine(
            "voom",
            "counts",
            TEST_KINDS,
            "moderated F",
            True,
            "TMM, log-CPM with precision weights, limma's moderated t and F",
            "Law et al. (2014) Genome Biology 15:R29; Smyth (2004) SAGMB 3:3",
        ),
        Engine(
            "limma",
            "log values",
            TEST_KINDS,
            "moderated F",
            True,
            "linear model per gene, empirical-Bayes moderated t and F",
            "Smyth (2004) SAGMB 3:3; Smyth, Michaud & Scott (2005) Bioinformatics 21:2067",
        ),
        Engine(
            "ttest",
            "log values (log-CPM for counts)",
            ("pair",),
            "",
            False,
            "Welch's t-test between two conditions, covariates ignored; a plain baseline",
            "Welch (1947) Biometrika 34:28",
        ),
    )
}


def de_methods() -> pd.DataFrame:
    """The engines of :func:`drugprint.tl.de`: input, tests offered, omnibus test, blocking, reference.

    Returns
    -------
    One row per ``method``.

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
            "summary": e.summary,
            "reference": e.reference,
        }
        for e in ENGINES.values()
    ]
    return pd.DataFrame(rows).set_index("method")


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


def run_engine(method: str, job: FitJob, *, is_counts: bool, alpha: float, n_cpus: int, robust: bool = False):
    """Fit one group with BLAS on one thread; returns ``(tables by test key, extra fit facts, seconds)``.

    Parallel workers must not oversubscribe the cores, and serial fits gain too: the fits are many small
    per-gene solves, where BLAS threads only add overhead (deseq2 on one group: 15 s instead of 52 s).
    """
    t0 = time.perf_counter()
    try:
        tables, info = _fit(method, job, is_counts=is_counts, alpha=alpha, n_cpus=n_cpus, robust=robust)
    except ValueError as err:  # a group the engine cannot fit (e.g. no extra-Poisson variation): say which
        raise ValueError(f"Group {job.group!r}: {err}") from err
    return tables, info, time.perf_counter() - t0


def _fit(method: str, job: FitJob, *, is_counts: bool, alpha: float, n_cpus: int, robust: bool):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        if method == "deseq2":
            from ._stats.deseq2 import fit_deseq2

            tables, info = fit_deseq2(
                job.data.astype(np.int64), job.design, job.tests, alpha=alpha, n_cpus=n_cpus, n_zero=job.n_zero
            )
        elif method == "voom":
            from ._stats.voom import fit_voom

            tables, info = fit_voom(job.data, job.design, job.tests, block=job.block, robust=robust)
        elif method == "limma":
            from ._stats.limma import fit_limma

            tables, info = fit_limma(job.data, job.design, job.tests, block=job.block, robust=robust)
        else:
            from ._stats.ttest import fit_ttest
            from ._stats.voom import log_cpm

            values = log_cpm(job.data.T).T if is_counts else job.data
            res = fit_ttest(values, job.meta[job.design.factor], list(job.pairs.values()))
            tables, info = {key: res[pair] for key, pair in job.pairs.items()}, {}
    return tables, info


def check_client(client) -> None:
    """Raise unless ``client`` is ``None`` or a synchronous ``distributed.Client`` (imported only when given)."""
    if client is None:
        return
    from .._utils import optional_import

    Client = optional_import("distributed", "dask", "client= (the fits on a dask.distributed cluster)").Client
    if not isinstance(client, Client):
        raise TypeError(
            f"client must be a distributed.Client (or None), not {type(client).__module__}.{type(client).__qualname__}."
        )
    if getattr(client, "asynchronous", False):
        raise TypeError("client must be a synchronous distributed.Client; this one is asynchronous.")


def run_jobs(
    jobs: list[FitJob],
    method: str,
    *,
    is_counts: bool,
    alpha: float,
    n_cpus: int,
    n_jobs: int,
    verbose: bool,
    client=None,
    robust: bool = False,
) -> tuple[list, str]:
    """Every group's fit, serially, in ``n_jobs`` processes or on a dask cluster (same results), with a progress bar.

    Returns the fits in the order of ``jobs`` and the executor that ran them: ``"serial"``, ``"loky (n_jobs=…)"``
    or ``"dask (<scheduler address>)"``.
    """
    from .._utils import progress

    desc = f"DE ({method})"
    kwargs = {"is_counts": is_counts, "alpha": alpha, "n_cpus": n_cpus, "robust": robust}
    if client is not None:
        check_client(client)
        return _run_on_cluster(client, jobs, method, kwargs, desc, verbose), f"dask ({client.scheduler.address})"
    if n_jobs == 1 or len(jobs) < 2:
        fits = [run_engine(method, j, **kwargs) for j in progress(jobs, total=len(jobs), desc=desc, verbose=verbose)]
        return fits, "serial"
    from joblib import Parallel, delayed

    run = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
        delayed(run_engine)(method, j, **kwargs) for j in jobs
    )
    return list(progress(run, total=len(jobs), desc=desc, verbose=verbose)), f"loky (n_jobs={n_jobs})"


def _run_on_cluster(client, jobs: list[FitJob], method: str, kwargs: dict, desc: str, verbose: bool) -> list:
    """Each job a task on ``client``'s cluster: scattered to the workers, fitted by :func:`run_engine`.

    The bar advances as fits complete (in any order); the results come back in the order of ``jobs``. Scattering
    sends each group's data to a worker directly instead of inside the task graph; ``pure=False`` keeps
    distributed from hashing the jobs for task keys. On an error the remaining tasks are cancelled.

    Each fit limits BLAS to one thread for its duration (:func:`run_engine`). Worker processes start with BLAS at
    one thread already (dask's ``distributed.nanny.pre-spawn-environ``), so fits sharing a worker process do not
    lift each other's limit; workers that are threads of the client's own process (``processes=False``) share that
    process's limit, which one fit ending restores while another still runs.
    """
    from distributed import as_completed

    from .._utils import progress

    data = client.scatter(jobs, hash=False)
    futures = [client.submit(run_engine, method, d, pure=False, **kwargs) for d in data]
    position = {f.key: i for i, f in enumerate(futures)}
    fits = [None] * len(jobs)
    try:
        for future in progress(as_completed(futures), total=len(futures), desc=desc, verbose=verbose):
            fits[position[future.key]] = future.result()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.cancel(data)
    return fits
