"""Write a synthetic screen of N cells to a zarr store chunk by chunk (never all in memory)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anndata as ad
import pandas as pd
import zarr

sys.path.insert(0, str(Path(__file__).parent))
import synth


def write(path: str, n_cells: int, chunk: int = 500_000) -> None:
    store = zarr.open(path, mode="w")
    obs = synth.obs_table(n_cells)
    ad.io.write_elem(store, "obs", obs)
    ad.io.write_elem(store, "var", pd.DataFrame(index=[f"G{i}" for i in range(synth.N_GENES)]))
    first = synth.counts(min(chunk, n_cells), seed=0)
    ad.io.write_elem(store, "X", first)
    x = ad.io.sparse_dataset(store["X"])
    for i, start in enumerate(range(chunk, n_cells, chunk), start=1):
        x.append(synth.counts(min(chunk, n_cells - start), seed=i))
    store.attrs.update({"encoding-type": "anndata", "encoding-version": "0.1.0"})


if __name__ == "__main__":
    t0 = time.perf_counter()
    write(sys.argv[1], int(sys.argv[2]))
    print(f"wrote {sys.argv[2]} cells to {sys.argv[1]} in {time.perf_counter() - t0:.0f} s")
