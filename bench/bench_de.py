"""DE stage, side by side in one run: dp.tl.de (deseq2, voom) against pydeseq2 and R's DESeq2, edgeR QL, limma-voom.

python bench/bench_de.py             # ~8 min on 2 cores; writes bench/out/de.json and the DE part of RESULTS.md
python bench/bench_de.py --rows      # print the rows as JSON lines only (how run_all.py calls it)
python bench/bench_de.py --render    # put bench/out/de.json into RESULTS.md again (see record)
python bench/bench_de.py --profile   # cProfile of one dp.tl.de deseq2 fit (Myeloma), top 40 by cumulative time

Three cell types × 36 profiles (6 donors × DMSO + 5 drugs) of the bundled screen, design ``~ donor + drug``, each
drug against DMSO. Every engine fits the same genes: edgeR's filterByExpr per cell type, as ``dp.tl.de`` applies
it; the filtered counts and sample tables go to a temporary directory, from which R reads them. One BLAS thread
everywhere. The engines run in turn, ``REPEATS`` rounds (pydeseq2 ``REPEATS_SLOW``), and each keeps its best time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _measure import quiet

import drugprint as dp

HERE = Path(__file__).parent
OUT = HERE / "out"
CELL_TYPES = ["Myeloma", "NK", "CD8 T"]
CONTROL = "DMSO"
REPEATS = 3
REPEATS_SLOW = 2  # pydeseq2: about a minute a round
R_ENGINES = {  # bench_de.R's engines: label, packages
    "deseq2": ("R DESeq2", ["DESeq2"]),
    "edger": ("R edgeR QL", ["edgeR", "limma"]),
    "voom": ("R limma-voom", ["limma", "edgeR"]),
}
R_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
EXPRESSED = 10  # DESeq2 baseMean above which a gene counts as expressed for the log2FC agreement


def screen():
    pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("default", random_state=0))
    drugs = [d for d in pdata.obs["drug"].cat.categories if d != CONTROL]
    return pdata, drugs


def export(pdata, tmp: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Each cell type's filterByExpr-filtered counts (profiles × genes) and samples, also written for R."""
    from drugprint.tl._stats.filter import filter_by_expr

    layer = "counts" if "counts" in pdata.layers else None
    inputs = {}
    for i, ct in enumerate(CELL_TYPES):
        sub = pdata[pdata.obs["cell_type"] == ct]
        counts = sub.to_df(layer).astype(np.int64)
        meta = sub.obs[["donor", "drug"]].astype(str)
        counts = counts.loc[:, filter_by_expr(counts, meta["drug"])]
        counts.T.to_csv(tmp / f"g{i}_counts.csv")
        meta.to_csv(tmp / f"g{i}_samples.csv")
        inputs[ct] = (counts, meta)
    return inputs


def run_dp(pdata, method: str):
    with quiet():
        return dp.tl.de(pdata, method=method, groups=CELL_TYPES, verbose=False)


def dp_tables(sig, drugs: list[str]) -> dict[tuple[str, str], pd.DataFrame]:
    out = {}
    for ct in CELL_TYPES:
        for drug in drugs:
            row = sig[f"{ct}|{drug} vs {CONTROL}"]
            tab = pd.DataFrame({k: row.layers[k][0] for k in ("log2fc", "padj", "base_mean")}, index=sig.var_names)
            out[ct, drug] = tab[np.isfinite(row.layers["stat"][0])]
    return out


def run_pydeseq2(inputs, drugs: list[str]) -> dict[tuple[str, str], pd.DataFrame]:
    """pydeseq2's own path: one DeseqDataSet + deseq2() per cell type, one DeseqStats per contrast."""
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from pydeseq2.ds import DeseqStats

    out = {}
    for ct, (counts, meta) in inputs.items():
        with quiet():
            inference = DefaultInference(n_cpus=1)
            dds = DeseqDataSet(counts=counts, metadata=meta, design="~donor + drug", quiet=True, inference=inference)
            dds.deseq2()
            for drug in drugs:
                st = DeseqStats(dds, contrast=["drug", drug, CONTROL], quiet=True, inference=inference)
                st.summary()
                res = st.results_df
                out[ct, drug] = pd.DataFrame(
                    {"log2fc": res["log2FoldChange"], "padj": res["padj"], "base_mean": res["baseMean"]}
                )
    return out


def r_missing(engine: str) -> str:
    """Why this R engine cannot run here ('' when it can)."""
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    pkgs = R_ENGINES[engine][1]
    check = f"quit(status = !all(sapply(c({', '.join(map(repr, pkgs))}), requireNamespace, quietly = TRUE)))"
    if subprocess.run(["Rscript", "-e", check], capture_output=True).returncode:
        return f"R package(s) {', '.join(pkgs)} not installed"
    return ""


def run_r(engine: str, tmp: Path) -> tuple[float, float, dict]:
    """One Rscript call: (R's system.time of the analysis, wall time of the call, its JSON line)."""
    groups = [f"g{i}" for i in range(len(CELL_TYPES))]
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["Rscript", str(HERE / "bench_de.R"), engine, str(tmp), *groups],
        capture_output=True,
        text=True,
        env={**os.environ, **R_ENV},
        check=True,
    )
    wall = time.perf_counter() - t0
    info = json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("{")))
    return info["elapsed"], wall, info


def r_tables(engine: str, tmp: Path) -> dict[tuple[str, str], pd.DataFrame]:
    out = {}
    for i, ct in enumerate(CELL_TYPES):
        tab = pd.read_csv(tmp / f"{engine}_g{i}.csv", index_col="gene")
        for drug, part in tab.groupby("contrast"):
            out[ct, drug] = part.drop(columns="contrast")
    return out


def agreement(ours: dict, ref: dict, expressed: dict[str, pd.Index]) -> dict:
    """Median |Δlog2FC| over expressed genes; Jaccard index of padj < 0.05 calls pooled over every test."""
    deltas, a, b = [], set(), set()
    for key, r in ref.items():
        o = ours[key].reindex(r.index)
        assert o["log2fc"].notna().all(), f"{key}: genes differ between engines"
        genes = r.index.intersection(expressed[key[0]])
        deltas.append((o.loc[genes, "log2fc"] - r.loc[genes, "log2fc"]).abs())
        a |= {(*key, g) for g in o.index[o["padj"] < 0.05]}
        b |= {(*key, g) for g in r.index[r["padj"] < 0.05]}
    d = pd.concat(deltas)
    return {
        "median_abs_dlfc": float(d.median()),
        "n_expressed": len(d),
        "jaccard": len(a & b) / len(a | b) if a | b else 1.0,
        "n_calls": len(a),
        "n_ref_calls": len(b),
    }


def environment(r_info: dict) -> dict:
    from threadpoolctl import threadpool_info

    from drugprint._env import versions

    sys.path.insert(0, str(HERE))
    from run_all import machine

    blas = sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info() if i["user_api"] == "blas"})
    v = versions()
    keep = ("python", "drugprint", "pydeseq2", "numpy", "scipy", "pandas")
    r = {k: x for info in r_info.values() for k, x in info.get("versions", {}).items()}
    if "BLAS" in r:
        r["BLAS"] = Path(r["BLAS"]).name
    return {
        "case": "de_env",
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "versions": {**{k: v[k] for k in keep}, "BLAS": " and ".join(blas)},
        "r_versions": r,
    }


def main() -> list[dict]:
    import pydeseq2.ds  # noqa: F401  (imports are not timed)
    from threadpoolctl import threadpool_limits

    pdata, drugs = screen()
    tmp = Path(tempfile.mkdtemp(prefix="drugprint_bench_de_"))
    try:
        inputs = export(pdata, tmp)
        genes = {ct: len(c.columns) for ct, (c, _) in inputs.items()}
        skipped = {e: r_missing(e) for e in R_ENGINES}
        py = {
            "dp_deseq2": ("dp.tl.de deseq2", lambda: run_dp(pdata, "deseq2")),
            "pydeseq2": ("pydeseq2", lambda: run_pydeseq2(inputs, drugs)),
            "dp_voom": ("dp.tl.de voom", lambda: run_dp(pdata, "voom")),
        }
        times = {k: [] for k in [*py, *(f"r_{e}" for e in R_ENGINES)]}
        walls, last, r_info = {k: [] for k in times}, {}, {}
        load_before = os.getloadavg()[0]
        for rnd in range(REPEATS):
            for key, (_, fn) in py.items():
                if key == "pydeseq2" and rnd >= REPEATS_SLOW:
                    continue
                with threadpool_limits(limits=1):
                    t0 = time.perf_counter()
                    last[key] = fn()
                    times[key].append(time.perf_counter() - t0)
            for engine in R_ENGINES:
                if skipped[engine]:
                    continue
                elapsed, wall, r_info[engine] = run_r(engine, tmp)
                times[f"r_{engine}"].append(elapsed)
                walls[f"r_{engine}"].append(wall)
            print(f"round {rnd + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in times.items() if v), file=sys.stderr)
        tables = {"dp_deseq2": dp_tables(last["dp_deseq2"], drugs), "pydeseq2": last["pydeseq2"]}
        tables["dp_voom"] = dp_tables(last["dp_voom"], drugs)
        for engine in R_ENGINES:
            if not skipped[engine]:
                tables[f"r_{engine}"] = r_tables(engine, tmp)
        for ct, (counts, _) in inputs.items():  # dp.tl.de tested exactly the exported genes
            assert set(tables["dp_deseq2"][ct, drugs[0]].index) == set(counts.columns), ct
        fits = last["dp_deseq2"].uns["de"]["fits"].set_index("group")["seconds"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    deseq_ref = "r_deseq2" if "r_deseq2" in tables else "pydeseq2"
    base = tables[deseq_ref]
    expressed = {
        ct: pd.Index(sorted({g for (c, _), t in base.items() if c == ct for g in t.index[t["base_mean"] > EXPRESSED]}))
        for ct in CELL_TYPES
    }
    compare = {"dp_deseq2": deseq_ref, "pydeseq2": deseq_ref, "r_edger": deseq_ref, "dp_voom": "r_voom"}
    labels = {**{k: v[0] for k, v in py.items()}, **{f"r_{e}": v[0] for e, v in R_ENGINES.items()}}
    env = environment(r_info)
    env.update(
        cell_types=CELL_TYPES,
        genes=genes,
        n_profiles=int((pdata.obs["cell_type"] == CELL_TYPES[0]).sum()),
        contrasts=len(drugs),
        repeats=REPEATS,
        repeats_slow=REPEATS_SLOW,
        load_average=[round(load_before, 2), round(os.getloadavg()[0], 2)],
        dp_deseq2_fit_seconds={ct: float(fits[ct]) for ct in CELL_TYPES},
        skipped={labels[f"r_{e}"]: why for e, why in skipped.items() if why},
    )
    rows = [env]
    for key, label in labels.items():
        if not times[key]:
            continue
        row = {
            "case": "de",
            "engine": key,
            "method": label,
            "seconds": min(times[key]),
            "runs": [round(t, 3) for t in times[key]],
        }
        if walls[key]:
            row["wall_seconds"] = min(walls[key])
        ref = compare.get(key)
        if ref in tables and ref != key:
            row.update(compared_with=labels[ref], **agreement(tables[key], tables[ref], expressed))
        rows.append(row)
    return rows


def profile(top: int = 40) -> None:
    import cProfile
    import pstats

    from threadpoolctl import threadpool_limits

    pdata, _ = screen()
    with threadpool_limits(limits=1), quiet():
        dp.tl.de(pdata, method="deseq2", groups=["Myeloma"], verbose=False)  # warm-up
        prof = cProfile.Profile()
        prof.enable()
        dp.tl.de(pdata, method="deseq2", groups=["Myeloma"], verbose=False)
        prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)


def record(rows: list[dict]) -> None:
    """Keep the rows (bench/out/de.json) and put them into RESULTS.md.

    With a bench/out/results.json from run_all.py, its DE rows are replaced by these and RESULTS.md is rendered
    from it (so that ``run_all.py --render`` gives the same file); without one, only the DE parts of RESULTS.md
    are replaced.
    """
    from run_all import splice_de, write_markdown

    OUT.mkdir(exist_ok=True)
    (OUT / "de.json").write_text(json.dumps({"rows": rows}, indent=1))
    path = OUT / "results.json"
    if not path.exists():
        splice_de(rows)
        return
    result = json.loads(path.read_text())
    old = [i for i, r in enumerate(result["rows"]) if r["case"] in ("de", "de_env")]
    at = old[0] if old else len(result["rows"])
    kept = [r for r in result["rows"] if r["case"] not in ("de", "de_env")]
    result["rows"] = kept[:at] + rows + kept[at:]
    path.write_text(json.dumps(result, indent=1))
    write_markdown(result)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    if "--profile" in sys.argv:
        profile()
    elif "--render" in sys.argv:
        record(json.loads((OUT / "de.json").read_text())["rows"])
    else:
        rows = main()
        for row in rows:
            print(json.dumps(row))
        if "--rows" not in sys.argv:
            record(rows)
