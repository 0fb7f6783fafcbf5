"""Run one benchmark case in this process and print a JSON line: seconds and peak memory (RSS)."""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import threading
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def peak_gb() -> float:
    """Peak resident set size since the last ``reset_peak`` (VmHWM), in GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def reset_peak() -> None:
    """Reset the kernel's peak-RSS counter, so the peak measured is that of the timed call (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # pragma: no cover - not Linux, or not permitted: the peak then includes data generation
        pass


def pseudobulk_case(method: str, n_cells: int) -> dict:
    import decoupler as dc
    import scanpy as sc
    import synth

    import drugprint as dp

    funcs = {
        "drugprint": lambda a: dp.pp.pseudobulk(a, sample_key="sample", groupby="cell_type", min_cells=0),
        "scanpy": lambda a: sc.get.aggregate(a, by=["sample", "cell_type"], func="sum"),
        "decoupler": lambda a: dc.pp.pseudobulk(a, sample_col="sample", groups_col="cell_type", mode="sum"),
    }
    funcs[method](synth.screen(2_000, seed=1))  # warm-up: imports and JIT compilation are not timed
    adata = synth.screen(n_cells)
    before = rss_gb()
    reset_peak()
    t0 = time.perf_counter()
    out = funcs[method](adata)
    seconds = time.perf_counter() - t0
    return {
        "case": "pseudobulk",
        "method": method,
        "n_cells": n_cells,
        "seconds": seconds,
        "input_rss_gb": before,
        "peak_rss_gb": peak_gb(),
        "n_profiles": int(out.n_obs),
        "checksum": float(out.X.sum() if method != "scanpy" else out.layers["sum"].sum()),
    }


def outofcore_case(path: str, chunk: int) -> dict:
    import anndata as ad
    import synth
    import zarr

    import drugprint as dp

    warm = synth.screen(2_000, seed=1)
    dp.pp.pseudobulk(warm, sample_key="sample", groupby="cell_type", min_cells=0)  # JIT outside the timing
    g = zarr.open(path, mode="r")
    adata = ad.AnnData(
        X=ad.experimental.read_elem_lazy(g["X"], chunks=(chunk, -1)),
        obs=ad.io.read_elem(g["obs"]),
        var=ad.io.read_elem(g["var"]),
    )
    before = rss_gb()
    reset_peak()
    t0 = time.perf_counter()
    out = dp.pp.pseudobulk(adata, sample_key="sample", groupby="cell_type", min_cells=0)
    return {
        "case": "pseudobulk_out_of_core",
        "method": "drugprint+dask",
        "n_cells": int(adata.n_obs),
        "seconds": time.perf_counter() - t0,
        "input_rss_gb": before,
        "peak_rss_gb": peak_gb(),
        "n_profiles": int(out.n_obs),
        "checksum": float(out.X.sum()),
    }


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "pseudobulk":
        res = pseudobulk_case(sys.argv[2], int(sys.argv[3]))
    else:
        res = outofcore_case(sys.argv[2], int(sys.argv[3]))
    print(json.dumps(res))


@contextlib.contextmanager
def quiet():
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


class TreePeak:
    """Peak of the RSS summed over this process and its children (loky workers), sampled every ``interval`` s."""

    def __init__(self, interval: float = 0.1):
        import psutil

        self.proc, self.interval, self.peak = psutil.Process(), interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> float:
        import psutil

        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total / 1024**3

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            self._stop.wait(self.interval)

    def reset(self) -> None:
        self.peak = self.now()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
