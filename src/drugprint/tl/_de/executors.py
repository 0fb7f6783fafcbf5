"""Where the fits of a ``de`` call run: serially, in ``n_jobs`` processes, or on a dask cluster (same results)."""

from __future__ import annotations

from ..._env import optional_import, progress
from .engines import FitJob, FitOptions, run_engine


def check_client(client) -> None:
    """Raise unless ``client`` is ``None`` or a synchronous ``distributed.Client`` (imported only when given)."""
    if client is None:
        return
    Client = optional_import("distributed", "dask", "client= (the fits on a dask.distributed cluster)").Client
    if not isinstance(client, Client):
        raise TypeError(
            f"client must be a distributed.Client (or None), not {type(client).__module__}.{type(client).__qualname__}."
        )
    if getattr(client, "asynchronous", False):
        raise TypeError("client must be a synchronous distributed.Client; this one is asynchronous.")


def run_jobs(
    jobs: list[FitJob], method: str, options: FitOptions, *, n_jobs: int, verbose: bool, client=None
) -> tuple[list, str]:
    """Every group's fit, serially, in ``n_jobs`` processes or on a dask cluster (same results), with a progress bar.

    Returns the fits in the order of ``jobs`` and the executor that ran them: ``"serial"``, ``"loky (n_jobs=…)"``
    or ``"dask (<scheduler address>)"``.
    """
    desc = f"DE ({method})"
    if client is not None:
        check_client(client)
        return _run_on_cluster(client, jobs, method, options, desc, verbose), f"dask ({client.scheduler.address})"
    if n_jobs == 1 or len(jobs) < 2:
        fits = [run_engine(method, j, options) for j in progress(jobs, total=len(jobs), desc=desc, verbose=verbose)]
        return fits, "serial"
    from joblib import Parallel, delayed

    run = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
        delayed(run_engine)(method, j, options) for j in jobs
    )
    return list(progress(run, total=len(jobs), desc=desc, verbose=verbose)), f"loky (n_jobs={n_jobs})"


def _run_on_cluster(client, jobs: list[FitJob], method: str, options: FitOptions, desc: str, verbose: bool) -> list:
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

    data = client.scatter(jobs, hash=False)
    futures = [client.submit(run_engine, method, d, options, pure=False) for d in data]
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
