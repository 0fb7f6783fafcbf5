"""Compound screens end to end at 100, 300 and 1,000 compounds: seconds and peak memory of every stage.

python bench/bench_screen.py                     # ~60 min on 2 cores; writes bench/out/screen.json and the
                                                 # "Screens" section (and goal rows) of RESULTS.md
python bench/bench_screen.py --quick             # smoke test: 40 and 80 compounds, 1,000 genes (~2 min); writes
                                                 # bench/out/screen_quick.json only
python bench/bench_screen.py --rows [--quick]    # print the rows as JSON lines only (how run_all.py calls it)
python bench/bench_screen.py --render            # put bench/out/screen.json into RESULTS.md again
python bench/bench_screen.py --profile STAGE N   # cProfile of one stage (de, pathways, potency_rank, compare,
                                                 # query) at N compounds, top 40 by cumulative time

The screen is ``dp.datasets.screen(n)``: 3 cell lines × 3 replicates, 3,000 genes, 4 DMSO wells per plate of 96
compounds, a quarter of the compounds inactive. Each size runs in a fresh process (one at a time: the 2-core
machine is shared), which first runs the whole pipeline once on a tiny screen (imports, numba compilation and the
loky worker pool are not timed), then times each stage with ``time.perf_counter``:

- ``simulate``: ``dp.datasets.screen`` (not part of the goals);
- ``de``: ``dp.tl.de(pdata, condition_key="compound", groupby="cell_line", covariates=["replicate", "plate"],
  method="voom", n_jobs=2)`` — fitted in blocks of 10 compounds with their controls (``conditions_per_fit="auto"``)
  or, for the side-by-side ratio, as one whole design per line (``conditions_per_fit=None``);
- ``pathways``: ``dp.tl.pathways(sig)`` (camera, Hallmark);
- ``potency_rank``: ``dp.tl.potency_rank(sig, keys=["pathways"])``;
- ``compare``: ``dp.tl.compare(sig)`` (screen mode above 30 signatures per line);
- ``query``: ``dp.tl.query(sig, atlas, same_group=True, n_top=25)``: every signature against a fixed atlas of
  3,000 signatures (1,000 new members of the same 8 families, ``screen(new_members=125)``, in the same 3 lines),
  built once by this script (``bench/out/screen_atlas.h5ad``; its build time is reported, not counted);
- ``report``: ``dp.report.run(pdata, out, groupby="cell_line", condition_key="compound",
  covariates=["replicate", "plate"], method="voom", n_jobs=2)``, in a fresh process of its own after the
  pipeline's: it runs its own DE, pathways, ranks and comparison, so it is the whole screen from the profiles to
  the HTML, timed apart from the API pipeline (its own stage timings are kept).

Memory: the kernel's peak RSS of the process (VmHWM, reset before each stage, so a stage's peak includes the data
held at its start; the pipeline's peak is the largest) and, because ``n_jobs=2`` fits in worker processes, the
peak of the RSS summed over the process and its children, sampled every 0.1 s. Quality (not timed): the
correlation of each active compound's log2FC with its planted fingerprint, inactive compounds with any call, the
query's top hit in the compound's family, and between the blocked and the whole fit at the same size the
correlation of the moderated t statistics and the Jaccard index of the padj < 0.05 calls.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
OUT = HERE / "out"
PY = sys.executable
sys.path.insert(0, str(HERE))

COVARIATES = ["replicate", "plate"]  # the design of every fit (plates carry their own DMSO wells)
SIZES, QUICK_SIZES = (100, 300, 1000), (40, 80)
WHOLE_SIZES = (100, 300)  # the old way (one whole design per line), for the side-by-side ratio
WHOLE_TIMEOUT = 600  # seconds: a whole-design pipeline above the smallest size taking longer is skipped (noted)
N_GENES, QUICK_GENES = 3000, 1000
SCREEN = {"cell_lines": 3, "n_replicates": 3, "random_state": 0}
ATLAS_MEMBERS, QUICK_ATLAS_MEMBERS = 125, 5  # new members per family (8 families) of the query atlas
QUERY_TOP = 25
N_JOBS = 2

from _measure import TreePeak, quiet  # noqa: E402 (bench/ is on the path only from here)
from run_all import SCREEN_GOAL_STAGES as GOAL_STAGES  # noqa: E402


def settings(quick: bool) -> dict:
    return {
        "sizes": list(QUICK_SIZES if quick else SIZES),
        "n_genes": QUICK_GENES if quick else N_GENES,
        "atlas_members": QUICK_ATLAS_MEMBERS if quick else ATLAS_MEMBERS,
        "whole_sizes": [QUICK_SIZES[0]] if quick else list(WHOLE_SIZES),
    }


def atlas_path(quick: bool) -> Path:
    return OUT / ("screen_atlas_quick.h5ad" if quick else "screen_atlas.h5ad")


def simulate(n: int, n_genes: int, **kw):
    import drugprint as dp

    return dp.datasets.screen(n, n_genes=n_genes, **SCREEN, **kw)


def run_de(pdata, whole: bool = False, n_jobs: int = N_JOBS):
    import drugprint as dp

    with quiet():
        return dp.tl.de(
            pdata,
            condition_key="compound",
            groupby="cell_line",
            covariates=COVARIATES,
            method="voom",
            conditions_per_fit=None if whole else "auto",
            n_jobs=n_jobs,
            verbose=False,
        )


def stage_calls(atlas) -> dict:
    """The timed call of each stage after DE, given the signatures."""
    import drugprint as dp

    return {
        "pathways": lambda sig: dp.tl.pathways(sig),
        "potency_rank": lambda sig: dp.tl.potency_rank(sig, keys=["pathways"]),
        "compare": lambda sig: dp.tl.compare(sig),
        "query": lambda sig: dp.tl.query(sig, atlas, same_group=True, n_top=QUERY_TOP, verbose=False),
    }


def truth_recovery(sig, pdata) -> dict:
    """Median correlation of log2FC with the planted fingerprint (active compounds); inactive compounds called.

    The correlation is over every gene the signature tested; an inactive compound is called when any gene of any of
    its lines' signatures has padj < 0.05.
    """
    truth = pdata.uns["screen_truth"]
    fp_row = {r: i for i, r in enumerate(truth["fingerprint_rows"])}
    active = truth["compounds"]["active"]
    line = sig.obs["cell_line"].astype(str).to_numpy()
    cond = sig.obs["condition"].astype(str).to_numpy()
    lfc, padj = np.asarray(sig.layers["log2fc"]), np.asarray(sig.layers["padj"])
    cors, called = [], {}
    for i in range(sig.n_obs):
        if active[cond[i]]:
            fp = truth["fingerprints"][fp_row[f"{line[i]}|{cond[i]}"]]
            ok = np.isfinite(lfc[i])
            if np.std(fp[ok]) > 0:  # 0 where the line ignores the compound's family
                cors.append(np.corrcoef(lfc[i, ok], fp[ok])[0, 1])
        else:
            called[cond[i]] = called.get(cond[i], False) or bool(np.nanmin(padj[i]) < 0.05)
    return {
        "lfc_truth_cor_median": float(np.median(cors)),
        "n_active_signatures": len(cors),
        "inactive_called_share": float(np.mean(list(called.values()))) if called else float("nan"),
        "n_inactive": len(called),
    }


def query_recovery(sig) -> float:
    """Share of active compounds' signatures whose best-scoring atlas entry (same line) is of their family."""
    import drugprint as dp

    tab = dp.get.query_table(sig)
    top = tab.sort_values("score", ascending=False).drop_duplicates("query").set_index("query")["reference"]
    family = sig.obs["family"].astype(str)
    atlas_family = top.str.extract(r"\|NEW-(\w+)-\d+ vs")[0]
    active = family[~family.isin(["none", "vehicle"])]
    return float((atlas_family.reindex(active.index) == active).mean())


def warm_up(n_genes: int) -> None:
    """The pipeline once on a tiny screen: imports, numba compilation and the loky pool are not timed."""
    import drugprint as dp

    pdata = simulate(40, min(n_genes, 500))
    sig = run_de(pdata)
    with quiet():
        dp.tl.pathways(sig)
        dp.tl.potency_rank(sig, keys=["pathways"])
        dp.tl.compare(sig)
        dp.tl.query(sig, sig, same_group=True, n_top=QUERY_TOP, verbose=False)


def pipeline_case(n: int, whole: bool, quick: bool) -> dict:
    """Every stage at ``n`` compounds in this process: seconds, peak RSS (process; process and workers)."""
    import anndata as ad
    from _measure import peak_gb, reset_peak

    cfg = settings(quick)
    warm_up(cfg["n_genes"])
    atlas = ad.read_h5ad(atlas_path(quick))
    stages: dict[str, dict] = {}

    def timed(name, fn):
        reset_peak()
        tree.reset()
        t0 = time.perf_counter()
        with quiet():
            out = fn()
        seconds = time.perf_counter() - t0
        stages[name] = {"seconds": seconds, "peak_rss_gb": peak_gb(), "tree_peak_rss_gb": max(tree.peak, tree.now())}
        print(f"{n} {'whole' if whole else 'blocks'} {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
        return out

    with TreePeak() as tree:
        pdata = timed("simulate", lambda: simulate(n, cfg["n_genes"]))
        sig = timed("de", lambda: run_de(pdata, whole))
        quality = truth_recovery(sig, pdata)
        fits = sig.uns["de"]["fits"]
        np.savez_compressed(
            OUT / f"screen_sig_{'quick_' if quick else ''}{n}_{'whole' if whole else 'blocks'}.npz",
            stat=np.asarray(sig.layers["stat"], dtype=np.float32),
            padj=np.asarray(sig.layers["padj"], dtype=np.float32),
            names=np.asarray(sig.obs_names, dtype=str),
        )
        for name, fn in stage_calls(atlas).items():
            timed(name, lambda fn=fn: fn(sig))
        quality["query_top_hit_family"] = query_recovery(sig)
    return {
        "case": "screen",
        "n_compounds": n,
        "fit": "whole" if whole else "blocks",
        "quick": quick,
        "n_genes": cfg["n_genes"],
        "n_profiles": int(pdata.n_obs),
        "n_signatures": int(sig.n_obs),
        "n_fits": len(fits),
        "de_executor": sig.uns["de"]["executor"],
        "stages": stages,
        "seconds": sum(s["seconds"] for k, s in stages.items() if k in GOAL_STAGES),
        "peak_rss_gb": max(s["peak_rss_gb"] for s in stages.values()),
        "tree_peak_rss_gb": max(s["tree_peak_rss_gb"] for s in stages.values()),
        **quality,
    }


def report_case(n: int, quick: bool) -> dict:
    """``dp.report.run`` on the screen of ``n`` compounds in this process: seconds, peak RSS, its own timings."""
    from _measure import peak_gb, reset_peak

    import drugprint as dp

    cfg = settings(quick)
    row = {"case": "screen_report", "n_compounds": n, "quick": quick}
    kw = {"groupby": "cell_line", "condition_key": "compound", "covariates": COVARIATES, "method": "voom"}
    kw["n_jobs"] = N_JOBS
    tmp = Path(tempfile.mkdtemp(prefix="drugprint_bench_screen_"))
    try:
        with quiet():
            dp.report.run(simulate(40, min(cfg["n_genes"], 500)), tmp / "warm", verbose=False, **kw)  # untimed
        pdata = simulate(n, cfg["n_genes"])
        with TreePeak() as tree:
            reset_peak()
            tree.reset()
            t0 = time.perf_counter()
            with quiet():
                res = dp.report.run(pdata, tmp / "report", verbose=False, **kw)
            row["seconds"] = time.perf_counter() - t0
            row.update(peak_rss_gb=peak_gb(), tree_peak_rss_gb=max(tree.peak, tree.now()))
        row.update(layout=res.get("layout"), timings={k: round(v, 2) for k, v in res.get("timings", {}).items()})
    except Exception as err:
        row["failed"] = f"{type(err).__name__}: {err}"[:300]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{n} report: {row.get('seconds', row.get('failed'))}", file=sys.stderr, flush=True)
    return row


def atlas_case(quick: bool) -> dict:
    """Build the query atlas once: the blocked voom signatures of a screen of new family members, stat layer only."""
    import anndata as ad

    cfg = settings(quick)
    warm_up(cfg["n_genes"])
    t0 = time.perf_counter()
    new = simulate(1, cfg["n_genes"], new_members=cfg["atlas_members"])  # n_compounds is ignored
    sig = run_de(new)
    seconds = time.perf_counter() - t0
    obs = sig.obs[["cell_line", "condition", "reference", "family"]].astype(str)
    atlas = ad.AnnData(obs=obs, var=sig.var[[]], layers={"stat": np.asarray(sig.layers["stat"], dtype=np.float32)})
    atlas.uns["de"] = {"groupby": "cell_line"}
    OUT.mkdir(exist_ok=True)
    atlas.write_h5ad(atlas_path(quick))
    return {
        "case": "screen_atlas",
        "quick": quick,
        "n_compounds": int(new.obs["compound"].nunique() - 1),
        "n_entries": int(atlas.n_obs),
        "seconds": seconds,
    }


def agreement(n: int, quick: bool) -> dict | None:
    """Blocked against whole design at ``n`` compounds: correlation of the moderated t, Jaccard of padj < 0.05."""
    stem = OUT / f"screen_sig_{'quick_' if quick else ''}{n}"
    files = [Path(f"{stem}_{fit}.npz") for fit in ("blocks", "whole")]
    if not all(f.exists() for f in files):
        return None
    a, b = (np.load(f) for f in files)
    assert (a["names"] == b["names"]).all()
    both = np.isfinite(a["stat"]) & np.isfinite(b["stat"])
    ca, cb = a["padj"] < 0.05, b["padj"] < 0.05
    union = (ca | cb).sum()
    return {
        "case": "screen_agreement",
        "n_compounds": n,
        "quick": quick,
        "stat_cor": float(np.corrcoef(a["stat"][both], b["stat"][both])[0, 1]),
        "jaccard": float((ca & cb).sum() / union) if union else 1.0,
        "n_calls_blocks": int(ca.sum()),
        "n_calls_whole": int(cb.sum()),
        "n_tests": int(both.sum()),
    }


def child(args: list[str], timeout: float | None = None) -> list[dict] | None:
    """Run this script's ``--case`` in a fresh process (its own session, so a timeout ends its workers too)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with subprocess.Popen(
        [PY, __file__, "--case", *args], stdout=subprocess.PIPE, text=True, env=env, start_new_session=True
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def environment(quick: bool) -> dict:
    from run_all import machine
    from threadpoolctl import threadpool_info

    from drugprint._env import versions

    blas = sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info() if i["user_api"] == "blas"})
    v = versions()
    return {
        "case": "screen_env",
        "quick": quick,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "versions": {**{k: v[k] for k in ("python", "drugprint", "anndata", "numpy", "scipy", "pandas")}, "BLAS": blas},
        "n_genes": settings(quick)["n_genes"],
        **SCREEN,
        "n_jobs": N_JOBS,
        "query_top": QUERY_TOP,
        "covariates": COVARIATES,
    }


def main(quick: bool) -> list[dict]:
    cfg = settings(quick)
    OUT.mkdir(exist_ok=True)
    env = environment(quick)
    load = [os.getloadavg()[0]]
    flag = ["--quick"] if quick else []
    rows = child(["atlas", *flag])
    for n in cfg["sizes"]:
        rows += child(["pipeline", str(n), *flag])
        rows += child(["report", str(n), *flag])
    for n in cfg["whole_sizes"]:
        got = child(
            ["pipeline", str(n), "--whole", *flag], timeout=None if n == min(cfg["whole_sizes"]) else WHOLE_TIMEOUT
        )
        if got is None:
            why = f"did not finish within {WHOLE_TIMEOUT} s"
            rows.append({"case": "screen", "n_compounds": n, "fit": "whole", "quick": quick, "skipped": why})
            print(f"{n} whole: {why}", file=sys.stderr, flush=True)
            break
        rows += got
        rows += [r for r in [agreement(n, quick)] if r]
    load.append(os.getloadavg()[0])
    env["load_average"] = [round(x, 2) for x in load]
    return [env, *rows]


def profile(stage: str, n: int, top: int = 40) -> None:
    """cProfile of one stage at ``n`` compounds (DE in one process, so the fits show), after the stages before it."""
    import cProfile
    import pstats

    import anndata as ad

    warm_up(N_GENES)
    pdata = simulate(n, N_GENES)
    atlas = ad.read_h5ad(atlas_path(False)) if stage == "query" else None
    calls = stage_calls(atlas)
    sig = None if stage == "de" else run_de(pdata)
    for before in list(calls)[: list(calls).index(stage)] if stage in calls else []:  # as in the pipeline
        with quiet():
            calls[before](sig)
    prof = cProfile.Profile()
    with quiet():
        prof.enable()
        run_de(pdata, n_jobs=1) if stage == "de" else calls[stage](sig)
        prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)


def record(rows: list[dict]) -> None:
    """Keep the rows (bench/out/screen.json), put them into results.json when there is one, splice RESULTS.md."""
    from run_all import SCREEN_CASES, splice_screen

    (OUT / "screen.json").write_text(json.dumps({"rows": rows}, indent=1))
    path = OUT / "results.json"
    if path.exists():
        result = json.loads(path.read_text())
        result["rows"] = [r for r in result["rows"] if r["case"] not in SCREEN_CASES] + rows
        path.write_text(json.dumps(result, indent=1))
    splice_screen(rows)


if __name__ == "__main__":
    argv = sys.argv[1:]
    quick = "--quick" in argv
    if argv and argv[0] == "--case":
        kind = argv[1]
        if kind == "atlas":
            res = atlas_case(quick)
        elif kind == "report":
            res = report_case(int(argv[2]), quick)
        else:
            res = pipeline_case(int(argv[2]), whole="--whole" in argv, quick=quick)
        print(json.dumps(res))
    elif "--profile" in argv:
        i = argv.index("--profile")
        profile(argv[i + 1], int(argv[i + 2]))
    elif "--render" in argv:
        record(json.loads((OUT / "screen.json").read_text())["rows"])
    else:
        rows = main(quick)
        if "--rows" in argv:
            for row in rows:
                print(json.dumps(row))
        elif quick:
            (OUT / "screen_quick.json").write_text(json.dumps({"rows": rows}, indent=1))
            for row in rows:
                print(json.dumps(row))
        else:
            record(rows)
