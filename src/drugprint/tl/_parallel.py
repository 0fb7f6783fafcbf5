"""Where independent pieces of work run: serially, in ``n_jobs`` processes, or on a dask cluster (same results).

The pieces are a screen's groups and blocks of conditions: each DE fit (:func:`drugprint.tl.de`) and each fit's set
tests (:func:`drugprint.tl.pathways`). Every piece runs with BLAS on one thread, in every mode, so that the
results do not depend on where it ran.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

from .._env import optional_import, progress
from .._results import caller_stacklevel


def check_client(client) -> None:
    """Raise unless ``client`` is ``None`` or a synchronous ``distributed.Client`` (imported only when given)."""
    if client is None:
        return
    Client = optional_import("distributed", "dask", "client= (work on a dask.distributed cluster)").Client
    if not isinstance(client, Client):
        raise TypeError(
            f"client must be a distributed.Client (or None), not {type(client).__module__}.{type(client).__qualname__}."
        )
    if getattr(client, "asynchronous", False):
        raise TypeError("client must be a synchronous distributed.Client; this one is asynchronous.")


def check_parallel(n_jobs: int, client) -> None:
    """Check ``client`` before any work, and warn that ``n_jobs`` is ignored when a client is given."""
    check_client(client)
    if client is not None and n_jobs != 1:
        warnings.warn(
            f"n_jobs={n_jobs} is ignored: the work runs on the client's cluster.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )


def one_thread(fn: Callable, item):
    """``fn(item)`` with BLAS limited to one thread (many small solves: threads only add overhead)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return fn(item)


def run_tasks(
    fn: Callable, items: Sequence, *, n_jobs: int = 1, client=None, desc: str, verbose: bool
) -> tuple[list, str]:
    """``[fn(item) for item in items]`` serially, in ``n_jobs`` processes or on ``client``'s cluster, with a bar.

    ``fn`` must be picklable (a module-level function or a :func:`functools.partial` of one). Returns the results
    in the order of ``items`` and the executor: ``"serial"``, ``"loky (n_jobs=…)"`` or ``"dask (<address>)"``.
    """
    if client is not None:
        check_client(client)
        return _on_cluster(client, fn, items, desc, verbose), f"dask ({client.scheduler.address})"
    if n_jobs == 1 or len(items) < 2:
        return [one_thread(fn, i) for i in progress(items, total=len(items), desc=desc, verbose=verbose)], "serial"
    from joblib import Parallel, delayed

    run = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(delayed(one_thread)(fn, i) for i in items)
    return list(progress(run, total=len(items), desc=desc, verbose=verbose)), f"loky (n_jobs={n_jobs})"


def _on_cluster(client, fn: Callable, items: Sequence, desc: str, verbose: bool) -> list:
    """Each item a task on ``client``'s cluster: scattered to the workers, run there; results in ``items`` order.

    Scattering sends each item to a worker directly instead of inside the task graph; ``pure=False`` keeps
    distributed from hashing the items for task keys. On an error the remaining tasks are cancelled. Worker
    processes start with BLAS at one thread (dask's ``distributed.nanny.pre-spawn-environ``); workers that are
    threads of the client's own process (``processes=False``) share that process's limit, which one task
    finishing can lift while another runs: set it for the whole process (``threadpool_limits(1)``) there.
    """
    from distributed import as_completed

    data = client.scatter(list(items), hash=False)
    futures = [client.submit(one_thread, fn, d, pure=False) for d in data]
    position = {f.key: i for i, f in enumerate(futures)}
    out = [None] * len(items)
    try:
        for future in progress(as_completed(futures), total=len(futures), desc=desc, verbose=verbose):
            out[position[future.key]] = future.result()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.cancel(data)
    return out
