"""Where the fits of a ``de`` call run: serially, in ``n_jobs`` processes, or on a dask cluster (same results)."""

from __future__ import annotations

from functools import partial

from .._parallel import run_tasks
from .engines import FitJob, FitOptions, run_engine

__all__ = ["run_jobs"]


def run_jobs(
    jobs: list[FitJob], method: str, options: FitOptions, *, n_jobs: int, verbose: bool, client=None
) -> tuple[list, str]:
    """Every group's (or block's) fit by :func:`~drugprint.tl._parallel.run_tasks`, in the order of ``jobs``."""
    fit = partial(run_engine, method, options=options)
    return run_tasks(fit, jobs, n_jobs=n_jobs, client=client, desc=f"DE ({method})", verbose=verbose)
