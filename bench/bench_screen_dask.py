"""A Tahoe-shaped plan on a 2-worker dask cluster: single cells on disk → pseudobulk out of core → DE → pathway sets.

python bench/bench_screen_dask.py                # ~15 min on 2 cores; writes bench/out/screen_dask.json and the
                                                 # section "A Tahoe-shaped plan on a dask cluster" of RESULTS.md
python bench/bench_screen_dask.py --quick        # smoke test: 2 lines × 12 compounds × 3 doses, 1,000 genes (~2 min)
python bench/bench_screen_dask.py --rows [--quick]  # print the rows as JSON lines only (how run_all.py calls it)
python bench/bench_screen_dask.py --render       # put bench/out/screen_dask.json into RESULTS.md again

Tahoe-100M is 379 drugs × 3 doses × 50 cancer cell lines, ~100M cells. The plan measured here at a scale that fits
the machine: ``dp.datasets.screen(34, n_doses=3, cell_lines=4)`` (102 treatments per line, 3 replicates, 12
compounds per plate with 4 DMSO wells per plate and replicate, 3,000 genes), each profile's counts split into
single cells (every UMI to a uniformly drawn cell of the well; twice the profile's simulated cell number, ~1,000
UMIs per cell), written chunk by chunk to a zarr store (``bench/out/tahoe_cells.zarr``, as ``make_zarr.py`` does; kept
between runs). Then, on ``distributed.LocalCluster(n_workers=2, threads_per_worker=1)``:

1. ``dp.pp.pseudobulk`` of the store read lazily (``anndata.experimental.read_elem_lazy``, row chunks of 50,000
   cells) — the reduction runs on the cluster; its sums must equal the simulated profiles exactly;
2. ``dp.tl.de(pdata, condition_key="treatment", groupby="cell_line", covariates=["replicate", "plate"],
   method="voom", client=client)`` — blocks of 10 treatments with the DMSO wells of their plates, one task each;
   the same call without a client (one process) must give identical arrays;
3. ``dp.tl.pathways(sig, client=client)`` (camera, Hallmark): each fit's set tests one task on the cluster.

Per-stage seconds, cells/s and non-zeros/s of the pseudobulk, DE blocks per second per worker, peak memory (the RSS
summed over the client and the cluster's processes, sampled every 0.1 s), and the memory of what the DE keeps per
block, then an extrapolation to 50 lines × 1,137 treatments (the assumptions are printed with it).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

FULL = {"n_compounds": 34, "cell_lines": 4, "n_genes": 3000, "cells_per_profile": 2, "umis_per_cell": 1000}
QUICK = {"n_compounds": 12, "cell_lines": 2, "n_genes": 1000, "cells_per_profile": 1, "umis_per_cell": 500}
SCREEN = {"n_doses": 3, "n_replicates": 3, "compounds_per_plate": 12, "n_controls": 4, "random_state": 0}
CHUNK = 50_000  # cells per dask chunk
WRITE_CHUNK = 100_000  # cells per zarr append
N_WORKERS = 2
COVARIATES = ["replicate", "plate"]
LAYERS = ("log2fc", "lfcse", "stat", "pvalue", "padj", "base_mean", "padj_global")
# Tahoe-100M, for the extrapolation: its size (lines, drugs, doses, cells, genes measured), and assumptions (marked)
TAHOE = {
    "lines": 50,
    "drugs": 379,
    "doses": 3,
    "cells": 100e6,
    "genes": 62_710,
    "genes_tested": 15_000,  # assumed: filterByExpr keeps ~15,000 of the genes per line
    "nnz_per_cell": 2_000,  # assumed: non-zeros per cell (the pseudobulk's cost is proportional to them)
    "workers": 64,
}


def store_path(quick: bool) -> Path:
    return OUT / ("tahoe_cells_quick.zarr" if quick else "tahoe_cells.zarr")


def simulate(quick: bool):
    import drugprint as dp

    cfg = QUICK if quick else FULL
    cells = cfg["cells_per_profile"] * 200  # the simulator draws ~200 cells per profile
    return dp.datasets.screen(
        cfg["n_compounds"],
        cell_lines=cfg["cell_lines"],
        n_genes=cfg["n_genes"],
        depth=float(cells * cfg["umis_per_cell"]),
        **SCREEN,
    )


def split_cells(counts: np.ndarray, n_cells: int, rng: np.random.Generator):
    """One profile's counts (genes) as ``n_cells`` cells (CSR): every UMI goes to a uniformly drawn cell."""
    from scipy import sparse

    n_genes = counts.size
    gene = np.repeat(np.arange(n_genes), counts)
    cell = rng.integers(0, n_cells, gene.size)
    dense = np.bincount(cell * n_genes + gene, minlength=n_cells * n_genes).reshape(n_cells, n_genes)
    return sparse.csr_matrix(dense.astype(np.float32))


def write_cells(pdata, path: Path, quick: bool) -> dict:
    """Write the profiles of ``pdata`` as single cells to a zarr store, ``WRITE_CHUNK`` cells at a time."""
    import anndata as ad
    import pandas as pd
    import zarr
    from scipy import sparse

    cfg = QUICK if quick else FULL
    warnings.filterwarnings("ignore", message="zarr v3 autosharding")
    rng = np.random.default_rng(1)
    n_cells = pdata.obs["n_cells"].to_numpy() * cfg["cells_per_profile"]
    keep = ["sample", "cell_line", "compound", "dose", "treatment", "replicate", "plate", "family"]
    obs = pdata.obs[keep].iloc[np.repeat(np.arange(pdata.n_obs), n_cells)].reset_index(drop=True)
    obs.index = pd.Index([f"c{i}" for i in range(len(obs))])
    t0 = time.perf_counter()
    if path.exists():
        shutil.rmtree(path)
    store = zarr.open(str(path), mode="w")
    ad.io.write_elem(store, "obs", obs)
    ad.io.write_elem(store, "var", pd.DataFrame(index=pdata.var_names))
    counts = np.asarray(pdata.layers["counts"])
    x, parts, held = None, [], 0
    for p in range(pdata.n_obs):
        parts.append(split_cells(counts[p], int(n_cells[p]), rng))
        held += int(n_cells[p])
        if held >= WRITE_CHUNK or p == pdata.n_obs - 1:
            block = sparse.vstack(parts, format="csr")
            if x is None:
                ad.io.write_elem(store, "X", block)
                x = ad.io.sparse_dataset(store["X"])
            else:
                x.append(block)
            parts, held = [], 0
    store.attrs.update({"encoding-type": "anndata", "encoding-version": "0.1.0"})
    return {"n_cells": int(n_cells.sum()), "nnz": int(x.group["indptr"][-1]), "write_seconds": time.perf_counter() - t0}


def read_lazy(path: Path):
    import anndata as ad
    import zarr

    g = zarr.open(str(path), mode="r")
    return ad.AnnData(
        X=ad.experimental.read_elem_lazy(g["X"], chunks=(CHUNK, -1)),
        obs=ad.io.read_elem(g["obs"]),
        var=ad.io.read_elem(g["var"]),
    )


def run_de(pdata, client=None):
    from _measure import quiet

    import drugprint as dp

    with quiet():
        return dp.tl.de(
            pdata,
            condition_key="treatment",
            groupby="cell_line",
            covariates=COVARIATES,
            method="voom",
            client=client,
            verbose=False,
        )


def nbytes(obj) -> int:
    """Bytes of the arrays and tables in a (nested) dict or list."""
    import pandas as pd

    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, pd.DataFrame | pd.Series):
        return int(obj.memory_usage(deep=True).sum()) if isinstance(obj, pd.DataFrame) else obj.nbytes
    if isinstance(obj, dict):
        return sum(nbytes(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(nbytes(v) for v in obj)
    return 0


def plan(quick: bool) -> list[dict]:
    import dask
    import distributed
    import pandas as pd
    from _measure import TreePeak, quiet

    import drugprint as dp

    rows = []
    pdata = simulate(quick)
    path = store_path(quick)
    meta = path.with_suffix(".json")
    if not (path.exists() and meta.exists() and json.loads(meta.read_text()).get("shape") == list(pdata.shape)):
        info = write_cells(pdata, path, quick)
        meta.write_text(json.dumps({"shape": list(pdata.shape), **info}))
        print(f"wrote {info['n_cells']:,} cells in {info['write_seconds']:.0f} s", file=sys.stderr, flush=True)
    info = json.loads(meta.read_text())
    stages = {}
    with (
        TreePeak() as tree,
        distributed.LocalCluster(
            n_workers=N_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        dask.config.set(scheduler=client),
    ):
        warm = dp.datasets.screen(40, cell_lines=1, n_genes=500)  # imports, numba and the workers' imports untimed
        run_de(warm, client)
        run_de(warm)

        def timed(name, fn):
            tree.reset()
            t0 = time.perf_counter()
            with quiet():
                out = fn()
            stages[name] = {"seconds": time.perf_counter() - t0, "tree_peak_rss_gb": max(tree.peak, tree.now())}
            print(f"{name}: {stages[name]['seconds']:.1f} s", file=sys.stderr, flush=True)
            return out

        cells = read_lazy(path)
        pb = timed("pseudobulk", lambda: dp.pp.pseudobulk(cells, sample_key="sample", groupby="cell_line", min_cells=0))
        names = pb.obs["cell_line"].astype(str) + "|" + pb.obs["sample"].astype(str)  # pdata's names
        order = pd.Index(names).get_indexer(pdata.obs_names)
        same = (order >= 0).all() and np.array_equal(np.asarray(pb.X)[order], np.asarray(pdata.layers["counts"]))
        assert same, "the pseudobulk of the cells differs from the simulated profiles"
        sig = timed("de", lambda: run_de(pb, client))
        de_dask_fits = sig.uns["de"]["fits"]
        executor = sig.uns["de"]["executor"]
        sig_serial = timed("de_serial", lambda: run_de(pb))
        for k in LAYERS:
            a, b = np.asarray(sig.layers[k]), np.asarray(sig_serial.layers[k])
            assert np.array_equal(a, b, equal_nan=True), f"layer {k} differs with and without the client"
        assert (sig.obs_names == sig_serial.obs_names).all()
        timed("pathways", lambda: dp.tl.pathways(sig, client=client))
        n_workers = len(client.scheduler_info()["workers"])
    fits = de_dask_fits
    per_block = nbytes(sig.uns["de"].get("replicates", {})) / len(fits)
    n_profiles_block = float(fits["n_profiles"].mean())
    rows.append(
        {
            "case": "dask_plan",
            "quick": quick,
            "machine_cores": os.cpu_count(),
            "n_workers": n_workers,
            "executor": executor,
            "lines": int(pdata.obs["cell_line"].nunique()),
            "treatments": int(pdata.obs["treatment"].nunique() - 1),
            "n_genes": int(pdata.n_vars),
            "n_cells": info["n_cells"],
            "nnz": info["nnz"],
            "write_seconds": info["write_seconds"],
            "store_gb": sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024**3,
            "chunk": CHUNK,
            "n_profiles": int(pb.n_obs),
            "n_signatures": int(sig.n_obs),
            "n_fits": len(fits),
            "fit_seconds_mean": float(fits["seconds"].mean()),
            "block_profiles_mean": n_profiles_block,
            "genes_tested_mean": float(fits["n_genes_tested"].mean()),
            "replicates_bytes_per_block": per_block,
            "sig_layers_bytes": int(sum(np.asarray(v).nbytes for v in [sig.X, *sig.layers.values()])),
            "stages": stages,
        }
    )
    rows[-1]["extrapolation"] = extrapolate(rows[-1])
    return rows


def extrapolate(r: dict) -> list[dict]:
    """Worker-hours of each stage for Tahoe-100M from this run's per-worker throughput, with the assumptions."""
    t = TAHOE
    treatments = t["drugs"] * t["doses"]
    blocks = t["lines"] * -(-treatments // 10)
    signatures = t["lines"] * treatments
    genes = t["genes_tested"] / r["genes_tested_mean"]
    st, w = r["stages"], r["n_workers"]
    nnz_rate = r["nnz"] / st["pseudobulk"]["seconds"] / w  # non-zeros per second per worker
    pb = t["cells"] * t["nnz_per_cell"] / nnz_rate / 3600
    block_s = st["de"]["seconds"] * w / r["n_fits"]  # worker-seconds per block, scheduling and transfers included
    de = blocks * block_s * genes / 3600
    sig_s = st["pathways"]["seconds"] * w / r["n_signatures"]  # worker-seconds per signature, on the cluster
    pw = signatures * sig_s * genes / 3600
    layers = r["sig_layers_bytes"] / (r["n_signatures"] * r["n_genes"])  # bytes per signature × gene
    return [
        {
            "stage": "pseudobulk",
            "work": f"{t['cells'] / 1e6:.0f}M cells × {t['nnz_per_cell']:,} non-zeros (assumed)",
            "rate": f"{nnz_rate / 1e6:.1f}M non-zeros/s per worker ({r['nnz'] / r['n_cells']:.0f} per cell here)",
            "worker_hours": pb,
            "wall_hours": pb / t["workers"],
            "note": "reads and sums chunks in parallel on the cluster; disk and network bandwidth not modelled",
        },
        {
            "stage": "de",
            "work": f"{blocks:,} blocks ({t['lines']} lines × {-(-treatments // 10)} blocks of 10 of {treatments:,} "
            f"treatments), {t['genes_tested']:,} genes tested (assumed)",
            "rate": f"{block_s:.2f} worker-s per block of {r['genes_tested_mean']:,.0f} genes "
            f"({r['block_profiles_mean']:.0f} profiles); × {genes:.1f} for the genes",
            "worker_hours": de,
            "wall_hours": de / t["workers"],
            "note": "one task per block, as here; assumes blocks of the same shape (10 treatments × 3 replicates "
            "and the DMSO wells of their plates) and cost linear in genes",
        },
        {
            "stage": "pathways",
            "work": f"{signatures:,} signatures",
            "rate": f"{sig_s * 1e3:.0f} worker-ms per signature; × {genes:.1f} for the genes",
            "worker_hours": pw,
            "wall_hours": pw / t["workers"],
            "note": "each fit's set tests one task on the cluster (dp.tl.pathways(client=)), as here",
        },
        {
            "stage": "memory",
            "work": f"signatures AnnData: {signatures:,} × {t['genes']:,} genes",
            "rate": f"{layers:.0f} bytes per signature × gene (its layers and X, float64); "
            f"{r['replicates_bytes_per_block'] / 1e6:.1f} MB kept per block for the set tests",
            "worker_hours": float("nan"),
            "wall_hours": float("nan"),
            "note": f"{signatures * t['genes'] * layers / 1e9:,.0f} GB in one object, "
            f"{treatments * t['genes'] * layers / 1e9:.1f} GB per line; the blocks' replicates "
            f"{blocks * r['replicates_bytes_per_block'] * genes / 1e9:,.0f} GB: run dp.tl.de per line (groups=)",
        },
    ]


def environment(quick: bool) -> dict:
    import dask
    import distributed
    from run_all import machine

    from drugprint._env import versions

    v = versions()
    return {
        "case": "dask_env",
        "quick": quick,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "versions": {
            **{k: v[k] for k in ("python", "drugprint", "anndata", "numpy")},
            "dask": dask.__version__,
            "distributed": distributed.__version__,
        },
        "load_average": round(os.getloadavg()[0], 2),
        "screen": {**(QUICK if quick else FULL), **SCREEN},
        "covariates": COVARIATES,
        "tahoe": TAHOE,
    }


def main(quick: bool) -> list[dict]:
    OUT.mkdir(exist_ok=True)
    env = environment(quick)
    rows = plan(quick)
    env["load_average"] = [env["load_average"], round(os.getloadavg()[0], 2)]
    return [env, *rows]


def record(rows: list[dict]) -> None:
    """Keep the rows (bench/out/screen_dask.json), put them into results.json when there is one, splice RESULTS.md."""
    from run_all import DASK_CASES, splice_dask

    (OUT / "screen_dask.json").write_text(json.dumps({"rows": rows}, indent=1))
    path = OUT / "results.json"
    if path.exists():
        result = json.loads(path.read_text())
        result["rows"] = [r for r in result["rows"] if r["case"] not in DASK_CASES] + rows
        path.write_text(json.dumps(result, indent=1))
    splice_dask(rows)


if __name__ == "__main__":
    argv = sys.argv[1:]
    quick = "--quick" in argv
    if "--render" in argv:
        record(json.loads((OUT / "screen_dask.json").read_text())["rows"])
    else:
        rows = main(quick)
        if "--rows" in argv or quick:
            for row in rows:
                print(json.dumps(row))
        if quick and "--rows" not in argv:
            (OUT / "screen_dask_quick.json").write_text(json.dumps({"rows": rows}, indent=1))
        elif "--rows" not in argv:
            record(rows)
