"""Run every benchmark once, in fresh processes, and write bench/RESULTS.md.

python bench/run_all.py            # ~75 min on 2 cores; needs ~3 GB of free disk for the 10M-cell store
python bench/run_all.py --quick    # 100k cells, the pathway calls, tiny screens; no 10M store, no DE (~10 minutes)
python bench/run_all.py --render   # rewrite RESULTS.md from the last run's bench/out/results.json

`python bench/bench_de.py` reruns only the DE comparison: it replaces the DE rows of bench/out/results.json and
renders RESULTS.md again (or, without results.json, replaces only the DE parts of RESULTS.md: splice_de).
`python bench/bench_screen.py` and `python bench/bench_screen_dask.py` rerun only the screens and the dask plan: they
replace their rows of bench/out/results.json (when there is one) and only their goal rows and sections of RESULTS.md
(splice_sections).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "out"
PY = sys.executable


def run(args: list[str]) -> list[dict]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([PY, *args], capture_output=True, text=True, env=env, check=True)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def machine() -> str:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    return f"{os.cpu_count()} cores ({cpu}), {mem / 1024**2:.0f} GB RAM, Python {platform.python_version()}"


def main(quick: bool) -> None:
    OUT.mkdir(exist_ok=True)
    rows = []
    for n in [100_000] if quick else [100_000, 1_000_000]:
        for method in ("drugprint", "scanpy", "decoupler"):
            rows += run([str(HERE / "_measure.py"), "pseudobulk", method, str(n)])
            print(rows[-1], flush=True)
    pw = run([str(HERE / "bench_pathways.py")])
    rows += pw
    print(pw, flush=True)
    small = run([str(HERE / "bench_small_designs.py"), *(["--quick"] if quick else [])])
    rows += small
    print(small, flush=True)
    if not quick:
        store = OUT / "screen_10M.zarr"
        if not store.exists():
            t0 = time.perf_counter()
            subprocess.run([PY, str(HERE / "make_zarr.py"), str(store), "10000000"], check=True)
            print(f"10M store written in {time.perf_counter() - t0:.0f} s", flush=True)
        rows += run([str(HERE / "_measure.py"), "outofcore", str(store), "250000"])
        print(rows[-1], flush=True)
        de = run([str(HERE / "bench_de.py"), "--rows"])
        rows += de
        print(de, flush=True)
        t0 = time.perf_counter()
        subprocess.run([PY, "-m", "drugprint", "demo", "--out", str(OUT / "demo")], check=True, capture_output=True)
        rows.append({"case": "demo", "method": "drugprint demo (default preset)", "seconds": time.perf_counter() - t0})
    screen = run([str(HERE / "bench_screen.py"), "--rows", *(["--quick"] if quick else [])])
    rows += screen
    print(screen, flush=True)
    plan = run([str(HERE / "bench_screen_dask.py"), "--rows", *(["--quick"] if quick else [])])
    rows += plan
    print(plan, flush=True)
    result = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "rows": rows}
    (OUT / "results.json").write_text(json.dumps(result, indent=1))
    write_markdown(result)


def goals(rows: list[dict]) -> list[str]:
    """The scale issue's goals, each with the figure this run reached."""

    def get(case, method=None, n=None):
        return next(
            (
                r
                for r in rows
                if r["case"] == case
                and (method is None or r["method"].startswith(method))
                and (n is None or r.get("n_cells") == n)
            ),
            None,
        )

    def yes(ok: bool) -> str:
        return "yes" if ok else "**no**"

    out = ["## Goals", "", "| goal | reached | met |", "|---|---|---|"]
    pb = [r for r in rows if r["case"] == "pseudobulk" and r["method"] == "drugprint"]
    if pb:
        ratios = [r["seconds"] / get("pseudobulk", "scanpy", r["n_cells"])["seconds"] for r in pb]
        reached = ", ".join(f"{x:.2f} at {r['n_cells']:,} cells" for x, r in zip(ratios, pb, strict=True))
        out.append(f"| pseudobulk time ratio to `sc.get.aggregate` ≤ 1.0 | {reached} | {yes(max(ratios) <= 1.0)} |")
    ooc = get("pseudobulk_out_of_core")
    if ooc:
        out.append(
            f"| 10M cells out of core < 3 GB peak RSS | {ooc['peak_rss_gb']:.2f} GB | {yes(ooc['peak_rss_gb'] < 3)} |"
        )
    out += de_goals(rows)
    out += screen_goals(rows)
    out.append("")
    return out


def write_markdown(result: dict) -> None:
    """Write RESULTS.md from one run: ``{"machine": ..., "date": ..., "rows": [...]}``."""
    rows = result["rows"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured in one run of `python bench/run_all.py` on {result['machine']}, "
        f"{result['date']}. Every case runs in a fresh process; peak memory is the process's "
        "maximum resident set size (input data included).",
        "",
        *goals(rows),
    ]
    pb = [r for r in rows if r["case"] == "pseudobulk"]
    if pb:
        lines += [
            "## Pseudobulk (synthetic screen, 2,000 genes, ~5 % non-zeros, 216 profiles)",
            "",
            "| cells | method | seconds | peak RSS (GB) | input RSS (GB) | time ratio to sc.get.aggregate |",
            "|---|---|---|---|---|---|",
        ]
        for n in sorted({r["n_cells"] for r in pb}):
            ref = next(r["seconds"] for r in pb if r["n_cells"] == n and r["method"] == "scanpy")
            for r in [r for r in pb if r["n_cells"] == n]:
                lines.append(
                    f"| {n:,} | {r['method']} | {r['seconds']:.2f} | {r['peak_rss_gb']:.2f} | "
                    f"{r['input_rss_gb']:.2f} | {r['seconds'] / ref:.2f} |"
                )
        lines.append("")
    ooc = [r for r in rows if r["case"] == "pseudobulk_out_of_core"]
    if ooc:
        r = ooc[0]
        lines += [
            "## Out-of-core pseudobulk (zarr on disk, Dask, default threaded scheduler)",
            "",
            "| cells | seconds | peak RSS (GB) |",
            "|---|---|---|",
            f"| {r['n_cells']:,} | {r['seconds']:.1f} | {r['peak_rss_gb']:.2f} |",
            "",
        ]
    lines += de_section(rows)
    pw = [r for r in rows if r["case"] == "pathways"]
    if pw:
        lines += [
            "## Pathway calls when gene programmes co-vary between samples",
            "",
            f"`bench/bench_pathways.py`: the default-preset screen (6 donors) simulated at three levels of programme "
            f"noise (each Hallmark set's genes shift together per profile by N(0, sd) log2), {pw[0]['n_seeds']} "
            "seeds each, voom signatures. False-call rate: share of the 250 B-cell tests (nothing planted) at "
            "padj < 0.05. Power: share of the 25 planted Myeloma pathway effects (interferon-α, p53, apoptosis, "
            "G2M, E2F × 5 drugs) called. Orders: share of those 5 pathways whose five drugs rank in the planted "
            "potency order. `ulm` treats genes as independent; `camera` (the default) and `activity` treat the "
            "samples as replicates.",
            "",
            "| programme sd | method | false-call rate | power | orders exact | seconds per run |",
            "|---|---|---|---|---|---|",
        ]
        for r in pw:
            lines.append(
                f"| {r['programme_sd']:g} | {r['method']} | {r['false_call_rate']:.3f} | {r['power']:.2f} | "
                f"{r['orders_exact']:.2f} | {r['seconds']:.1f} |"
            )
        lines.append("")
    lines += small_designs_section(rows)
    lines += screen_section(rows)
    lines += dask_section(rows)
    demo = [r for r in rows if r["case"] == "demo"]
    if demo:
        lines += ["## Whole demo", "", f"`drugprint demo` (default preset, DESeq2): {demo[0]['seconds']:.0f} s.", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))


def small_designs_section(rows: list[dict]) -> list[str]:
    """Agreement with R, false calls and power at 2–4 samples per arm, from ``bench_small_designs.py``'s rows."""
    agree = [r for r in rows if r["case"] == "small_agreement"]
    null = [r for r in rows if r["case"] == "small_null"]
    power = [r for r in rows if r["case"] == "small_power"]
    lines = []
    if agree:
        lines += [
            "## Small designs: DESeq2 against R",
            "",
            '`bench/bench_small_designs.py`: `dp.tl.de(method="deseq2", filter_genes=False)` against R DESeq2 1.38 '
            "(`DESeq()` defaults, `results(alpha = 0.05)`) on the designs of "
            "`tests/data/make_small_designs_reference.R`: "
            "a simulated bulk study taken paired (`~ donor + condition`, 2, 3, 4, 6 donors) and unpaired "
            "(`~ condition`, 2, 3, 4 per arm), and Kang et al. 2018's IFN-β PBMCs, 2 donors, one pseudobulk per cell "
            "type. With 3 residual df or fewer, R's prior variance comes from a simulation under `set.seed(2)`: the "
            "last columns give R's range over seeds 1–20 and how close R's other seeds come to its seed-2 calls "
            "(median Jaccard).",
            "",
            "| design | residual df | calls here / R | Jaccard | median abs Δlog2FC | prior variance here / R "
            "| R's prior variance, seeds 1–20 | R's other seeds: Jaccard with seed 2 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in agree:
            rng = "–" if r["r_prior_range"] is None else f"{r['r_prior_range'][0]:.3f}–{r['r_prior_range'][1]:.3f}"
            seeds = "–" if r["r_seeds_jaccard_median"] is None else f"{r['r_seeds_jaccard_median']:.3f}"
            lines.append(
                f"| {r['design']} | {r['residual_df']} | {r['calls']} / {r['r_calls']} | {r['jaccard']:.3f} | "
                f"{r['median_abs_dlfc']:.1e} | {r['prior_variance']:.3f} / {r['r_prior_variance']:.3f} | {rng} "
                f"| {seeds} |"
            )
        lines.append("")
    if null:
        lines += [
            "## Small designs: false calls and power at 2–4 donors per arm",
            "",
            "`bench/bench_small_designs.py`: paired two-arm null studies (`~ donor + drug`: 1, 2, 3 residual df) "
            "from the calibration tests' programme simulator (Hallmark programmes co-varying, sd 0.2 log2; donor "
            "effects; log-normal profile noise, sd 0.3 log2, on negative-binomial counts; or negative-binomial noise "
            "only). Families with a call: the share of null studies in which any gene (or any of the 50 Hallmark "
            "sets) reached padj < 0.05 (5 % when calibrated); p ratios: the share of p-values below 0.05 and 0.001, "
            "over 0.05 and 0.001 (1 when calibrated).",
            "",
            "| noise | donors per arm | residual df | method | tests | families with a call | p ratio 0.05 "
            "| p ratio 0.001 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in null:
            ratios = f"{r['p_ratio_05']:.2f} | {r['p_ratio_001']:.2f}" if "p_ratio_05" in r else "– | –"
            lines.append(
                f"| {r['noise']} | {r['donors']} | {r['donors'] - 1} | {r['method']} | {r['tested']} | "
                f"{r['families']:.2f} ({r['n_families']}) | {ratios} |"
            )
        lines.append("")
    if power:
        lines += [
            "Power: interferon-α shifted by 0.5 or 1 log2 under the drug (70 % of its genes), voom fits; the share "
            "of studies in which the set is called.",
            "",
            "| shift (log2) | donors per arm | camera | fry | activity |",
            "|---|---|---|---|---|",
        ]
        for size in sorted({r["size"] for r in power}):
            for k in sorted({r["donors"] for r in power}):
                got = {r["method"]: r for r in power if r["size"] == size and r["donors"] == k}
                lines.append(
                    f"| {size:g} | {k} | "
                    + " | ".join(f"{got[m]['power']:.2f}" for m in ("camera", "fry", "activity") if m in got)
                    + f" ({next(iter(got.values()))['n_signatures']} studies) |"
                )
        lines.append("")
    return lines


DE_TARGETS = (  # (engine, slower engine, target speed-up)
    ("dp_deseq2", "pydeseq2", 8),
    ("dp_deseq2", "r_deseq2", 4),
    ("dp_voom", "r_voom", 2),
)


def de_goals(rows: list[dict]) -> list[str]:
    """Goal-table rows of the DE targets, from ``bench_de.py``'s rows (each starts with ``| DE``)."""
    de = {r["engine"]: r for r in rows if r["case"] == "de" and "engine" in r}
    out = []
    for fast, slow, target in DE_TARGETS:
        if fast not in de or slow not in de:
            continue
        f, s = de[fast], de[slow]
        ratio = s["seconds"] / f["seconds"]
        reached = f"{ratio:.1f}×"
        if slow.startswith("r_"):
            reached += f" ({s['wall_seconds'] / f['seconds']:.1f}× against the whole Rscript call)"
        out.append(
            f"| DE: {f['method']} ≥ {target}× faster than {s['method']} (3 cell types × 36 profiles, one thread) "
            f"| {reached} | {'yes' if ratio >= target else '**no**'} |"
        )
    return out


def r_versions(v: dict) -> str:
    rest = ", ".join(f"{k} {x}" for k, x in v.items() if k != "R")
    return f"; R {v['R']} with {rest}" if v else ""


def de_section(rows: list[dict]) -> list[str]:
    """The DE section of RESULTS.md, from ``bench_de.py``'s rows."""
    env = next((r for r in rows if r["case"] == "de_env"), None)
    de = [r for r in rows if r["case"] == "de" and "engine" in r]  # older runs' rows (no engine) are not shown
    if env is None or not de:
        return []
    genes = ", ".join(f"{ct} {n:,}" for ct, n in env["genes"].items())
    fits = ", ".join(f"{ct} {s:.2f} s" for ct, s in env["dp_deseq2_fit_seconds"].items())
    cts = ", ".join(env["cell_types"])
    lines = [
        f"## DE stage, side by side ({cts} × {env['n_profiles']} profiles of the default-preset screen, "
        f"`~ donor + drug`, {env['contrasts']} drugs vs DMSO each)",
        "",
        f"Measured in one run of `python bench/bench_de.py` on {env['machine']}, {env['date']} (load average "
        f"{env['load_average'][0]:g} at the start, {env['load_average'][1]:g} at the end); "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
        + r_versions(env["r_versions"])
        + ". Every engine fits the same genes — edgeR's filterByExpr per cell type, as `dp.tl.de` applies it "
        f"({genes}) — with one BLAS thread (threadpoolctl in Python; `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1` "
        "for Rscript); R reads the filtered counts and sample tables from CSV files the script writes. "
        f"The engines run in turn, {env['repeats']} rounds (pydeseq2 {env['repeats_slow']}); each figure is the "
        "best of its rounds, as the 2-core machine is shared with other work (every round's time is listed). "
        "R's seconds are `system.time` around the analysis only (building the object, the fit, the tests); "
        "the Rscript call column is the wall time of the whole call (start-up, loading the packages, reading "
        "and writing CSV). `dp.tl.de`'s seconds are the whole call from the pseudobulk AnnData (filter, design, "
        "fits, assembling the signatures) for the 3 cell types; pydeseq2's: "
        '`DeseqDataSet(design="~donor + drug")`, `deseq2()` and one `DeseqStats(...).summary()` per contrast, '
        f"with `DefaultInference(n_cpus=1)`. `dp.tl.de` deseq2's own fit times "
        f"(`uns['de']['fits']`): {fits}.",
        "",
        "Agreement, against the engine named: median |Δlog2FC| over expressed genes (DESeq2 baseMean > 10) and "
        "the Jaccard index of the padj < 0.05 calls pooled over all tests (number of calls here / there). edgeR QL "
        "against R DESeq2 is a different method: its row shows how far two sound methods differ.",
        "",
        "| engine | seconds | Rscript call (s) | each round (s) | compared with | median abs Δlog2FC "
        "| Jaccard padj<0.05 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in de:
        runs = ", ".join(f"{t:.2f}" for t in r["runs"])
        agree = "– | – | –"
        if "compared_with" in r:
            agree = (
                f"{r['compared_with']} | {r['median_abs_dlfc']:.2g} | "
                f"{r['jaccard']:.3f} ({r['n_calls']:,} / {r['n_ref_calls']:,})"
            )
        wall = f"{r['wall_seconds']:.2f}" if "wall_seconds" in r else "–"
        lines.append(f"| {r['method']} | {r['seconds']:.2f} | {wall} | {runs} | {agree} |")
    for engine, why in env.get("skipped", {}).items():
        lines.append(f"| {engine} | skipped: {why} | | | | | |")
    return [*lines, ""]


def splice_de(rows: list[dict], path: Path = HERE / "RESULTS.md") -> None:
    """Replace the DE goal rows and the DE section of RESULTS.md by those of ``rows``; keep everything else."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()

    def section(title: str) -> tuple[int, int] | None:
        start = next((i for i, ln in enumerate(lines) if ln.startswith(title)), None)
        if start is None:
            return None
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        return start, end

    goals_at = section("## Goals")
    if goals_at:
        start, end = goals_at
        # the older goal text: a per-contrast pydeseq2 loop, its row and the paragraph explaining it
        body = [ln for ln in lines[start:end] if not ln.startswith(("| DE", "The per-contrast loop fits"))]
        last = max(i for i, ln in enumerate(body) if ln.startswith("|"))
        body[last + 1 : last + 1] = de_goals(rows)
        while len(body) > 2 and body[-1] == body[-2] == "":
            body.pop()
        lines[start:end] = body
    de_at = section("## DE stage")
    if de_at:
        lines[de_at[0] : de_at[1]] = de_section(rows)
    else:
        at = section("## Pathway") or (len(lines), len(lines))
        lines[at[0] : at[0]] = de_section(rows)
    path.write_text("\n".join(lines) + ("\n" if text.endswith("\n") else ""))


SCREEN_CASES = ("screen_env", "screen_atlas", "screen", "screen_report", "screen_agreement")
SCREEN_STAGES = ("simulate", "de", "pathways", "potency_rank", "compare", "query")
SCREEN_GOAL_STAGES = SCREEN_STAGES[1:]  # the simulation is not part of the goals


def per_doubling(t1: float, t2: float, n1: int, n2: int) -> float:
    """Time ratio per doubling of compounds between sizes ``n1`` and ``n2``: (t2/t1)^(log 2 / log(n2/n1))."""
    return (t2 / t1) ** (math.log(2) / math.log(n2 / n1))


def screen_rows(rows: list[dict], fit: str = "blocks") -> list[dict]:
    """The pipeline rows of one fit (``blocks`` or ``whole``) that ran, by size."""
    return sorted(
        (r for r in rows if r["case"] == "screen" and r["fit"] == fit and "skipped" not in r),
        key=lambda r: r["n_compounds"],
    )


def screen_reports(rows: list[dict]) -> dict[int, dict]:
    """``dp.report.run`` rows that ran, by size."""
    return {r["n_compounds"]: r for r in rows if r["case"] == "screen_report" and "seconds" in r}


def screen_doublings(rows: list[dict]) -> dict[str, list[tuple[int, int, float]]]:
    """Per stage, ``total`` and ``report``: ``(n1, n2, time ratio per doubling)`` between consecutive sizes."""
    runs, reports = screen_rows(rows), screen_reports(rows)
    out: dict[str, list] = {}
    for a, b in itertools.pairwise(runs):
        n1, n2 = a["n_compounds"], b["n_compounds"]
        times = {k: (a["stages"][k]["seconds"], b["stages"][k]["seconds"]) for k in a["stages"] if k in b["stages"]}
        times["total"] = (a["seconds"], b["seconds"])
        if n1 in reports and n2 in reports:
            times["report"] = (reports[n1]["seconds"], reports[n2]["seconds"])
        for k, (t1, t2) in times.items():
            out.setdefault(k, []).append((n1, n2, per_doubling(t1, t2, n1, n2)))
    return out


def screen_goals(rows: list[dict]) -> list[str]:
    """Goal-table rows of the screens (each starts with ``| Screen``), from ``bench_screen.py``'s rows."""
    runs = screen_rows(rows)
    if not runs:
        return []
    env = next(r for r in rows if r["case"] == "screen_env")
    big = runs[-1]
    report = screen_reports(rows).get(big["n_compounds"])
    shape = f"{env['cell_lines']} lines × {env['n_replicates']} replicates, {env['n_genes']:,} genes, 2 cores"
    reached = f"`de` → `query`: {big['seconds']:.0f} s ({big['seconds'] / 60:.1f} min)"
    reached += f"; `dp.report.run`: {report['seconds']:.0f} s" if report else "; `dp.report.run`: –"
    ok = big["seconds"] <= 600 and (report is None or report["seconds"] <= 600)
    out = [
        f"| Screen: the whole {big['n_compounds']:,}-compound screen ≤ 10 minutes ({shape}) | {reached} | "
        f"{'yes' if ok else '**no**'} |"
    ]
    peaks = [big["peak_rss_gb"], big["tree_peak_rss_gb"], *([report["tree_peak_rss_gb"]] if report else [])]
    reached = f"{big['peak_rss_gb']:.2f} GB ({big['tree_peak_rss_gb']:.2f} GB with the DE workers)"
    reached += f"; `dp.report.run`: {report['tree_peak_rss_gb']:.2f} GB" if report else ""
    out.append(
        f"| Screen: the whole {big['n_compounds']:,}-compound screen ≤ 8 GB peak RSS | {reached} "
        f"| {'yes' if max(peaks) <= 8 else '**no**'} |"
    )
    dbl = screen_doublings(rows)
    if dbl:
        sizes = " → ".join(f"{r['n_compounds']:,}" for r in runs)
        total = ", ".join(f"{x:.2f}× ({a:,}→{b:,})" for a, b, x in dbl["total"])
        stages = [k for k in (*SCREEN_GOAL_STAGES, "report") if k in dbl]
        worst, (a, b, x) = max(((k, v) for k in stages for v in dbl[k]), key=lambda kv: kv[1][2])
        met = all(y <= 2.2 for k in (*stages, "total") for _, _, y in dbl[k])
        out.append(
            f"| Screen: each doubling of compounds ≤ 2.2× the time, every stage ({sizes}) | `de` → `query` {total}; "
            f"fastest-growing: `{worst}` {x:.2f}× ({a:,}→{b:,}) | {'yes' if met else '**no**'} |"
        )
    return out


def screen_section(rows: list[dict]) -> list[str]:
    """The "Screens" section of RESULTS.md, from ``bench_screen.py``'s rows."""
    env = next((r for r in rows if r["case"] == "screen_env"), None)
    runs = [r for r in rows if r["case"] == "screen"]
    if env is None or not runs:
        return []
    atlas = next((r for r in rows if r["case"] == "screen_atlas"), None)
    blocks, reports = screen_rows(rows), screen_reports(rows)
    failed = next((r["failed"] for r in rows if r["case"] == "screen_report" and "failed" in r), "")
    stages = [k for k in SCREEN_STAGES if any(k in r.get("stages", {}) for r in runs)]
    sizes = ", ".join(f"{r['n_compounds']:,}" for r in blocks)
    covariates = json.dumps(env.get("covariates", ["replicate", "plate"]))  # older results did not record them
    versions = ", ".join(f"{k} {' and '.join(v) if isinstance(v, list) else v}" for k, v in env["versions"].items())
    if reports:
        report_text = (
            '`dp.report.run(pdata, out, groupby="cell_line", condition_key="compound", '
            f'covariates={covariates}, method="voom", n_jobs=2)` in a process of its own: '
            "the whole screen again from the profiles to the HTML (its own DE, pathways, ranks, comparison; layout "
            "chosen automatically"
            + (f": {next(iter(reports.values())).get('layout')}" if next(iter(reports.values())).get("layout") else "")
            + ")"
            + (f"; at some size it failed: {failed}" if failed else "")
        )
    else:
        report_text = f"not timed ({failed or 'not run'}): –"
    lines = [
        f"## Screens (`dp.datasets.screen`: {sizes} compounds × {env['cell_lines']} cell lines × "
        f"{env['n_replicates']} replicates, {env['n_genes']:,} genes, voom)",
        "",
        f"Measured in one run of `python bench/bench_screen.py` on {env['machine']}, {env['date']} (load average "
        f"{env['load_average'][0]:g} at the start, {env['load_average'][1]:g} at the end: the machine was shared); "
        f"{versions}. Each size runs in a fresh process, one at a time, after the pipeline has run once on a tiny "
        "screen (imports, numba compilation and the loky pool are not timed). Stages: `dp.datasets.screen(n)` "
        "(4 DMSO wells per plate of 96 compounds and replicate, a quarter of the compounds inactive); "
        '`dp.tl.de(pdata, condition_key="compound", groupby="cell_line", '
        f'covariates={covariates}, method="voom", n_jobs={env["n_jobs"]})` in blocks of 10 '
        'compounds with their controls (`conditions_per_fit="auto"`) or as one whole design per line '
        "(`conditions_per_fit=None`, the old way); "
        '`dp.tl.pathways(sig)` (camera, Hallmark); `dp.tl.potency_rank(sig, keys=["pathways"])`; `dp.tl.compare(sig)`; '
        f"`dp.tl.query(sig, atlas, same_group=True, n_top={env['query_top']})`, every signature against "
        + (
            f"a fixed atlas of {atlas['n_entries']:,} signatures ({atlas['n_compounds']:,} new members of the same "
            f"families, `screen(new_members=…)`, in the same lines; built once in {atlas['seconds']:.0f} s, not "
            "counted)"
            if atlas
            else "a fixed atlas"
        )
        + f". Report: {report_text}. Total: `de` to `query`. Peak RSS: the process's VmHWM (reset before each "
        "stage, the largest kept; input data included); with workers: the RSS summed over the process and its "
        "children (loky workers), sampled every 0.1 s.",
        "",
        "| compounds | fit | profiles | signatures | fits | "
        + " | ".join(f"{k} (s)" for k in stages)
        + " | total (s) | peak RSS (GB) | with workers (GB) | `dp.report.run` (s) | its peak with workers (GB) |",
        "|---|---|---|---|---|" + "---|" * len(stages) + "---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (r["fit"] != "blocks", r["n_compounds"])):
        if "skipped" in r:
            lines.append(
                f"| {r['n_compounds']:,} | whole design | skipped: {r['skipped']} |" + " |" * (len(stages) + 7)
            )
            continue
        rep = reports.get(r["n_compounds"]) if r["fit"] == "blocks" else None
        cells = [f"{r['stages'][k]['seconds']:.1f}" if k in r["stages"] else "–" for k in stages]
        lines.append(
            f"| {r['n_compounds']:,} | {'blocks' if r['fit'] == 'blocks' else 'whole design'} | {r['n_profiles']:,} | "
            f"{r['n_signatures']:,} | {r['n_fits']} | "
            + " | ".join(cells)
            + f" | {r['seconds']:.1f} | {r['peak_rss_gb']:.2f} | {r['tree_peak_rss_gb']:.2f} | "
            + (f"{rep['seconds']:.1f} | {rep['tree_peak_rss_gb']:.2f} |" if rep else "– | – |")
        )
    lines.append("")
    dbl = screen_doublings(rows)
    if dbl:
        pairs = [(a, b) for a, b, _ in dbl["total"]]
        lines += [
            "Time ratio per doubling of compounds, (t2/t1)^(log 2 / log(n2/n1)) (goal ≤ 2.2; 2 is linear), and the "
            "peak RSS (process, GB) of each stage, blocked fits:",
            "",
            "| stage | "
            + " | ".join(f"{a:,} → {b:,}" for a, b in pairs)
            + " | "
            + " | ".join(f"peak RSS at {r['n_compounds']:,}" for r in blocks)
            + " |",
            "|---|" + "---|" * (len(pairs) + len(blocks)),
        ]
        for k in [*[s for s in stages if s in dbl], "total", *(["report"] if "report" in dbl else [])]:
            ratios = [f"{x:.2f}" if x <= 2.2 or k == "simulate" else f"**{x:.2f}**" for _, _, x in dbl[k]]
            if k == "report":
                peaks = [f"{reports[r['n_compounds']]['peak_rss_gb']:.2f}" for r in blocks]
            else:
                peaks = [
                    f"{r['stages'][k]['peak_rss_gb']:.2f}" if k in r["stages"] else f"{r['peak_rss_gb']:.2f}"
                    for r in blocks
                ]
            lines.append(f"| {k} | " + " | ".join(ratios) + " | " + " | ".join(peaks) + " |")
        lines.append("")
    if reports:
        keys = list(dict.fromkeys(k for r in reports.values() for k, v in r["timings"].items() if v >= 0.5))
        lines += [
            "`dp.report.run`'s own stage timings (s; stages under 0.5 s left out):",
            "",
            "| compounds | " + " | ".join(keys) + " |",
            "|---|" + "---|" * len(keys),
        ]
        for n, r in sorted(reports.items()):
            lines.append(f"| {n:,} | " + " | ".join(f"{r['timings'].get(k, 0):.1f}" for k in keys) + " |")
        lines.append("")
    whole = screen_rows(rows, "whole")
    if whole:
        cols = [k for k in stages if k != "simulate"]
        lines += [
            "The old way (one whole design per line) against the blocks, time ratio whole / blocks:",
            "",
            "| compounds | " + " | ".join(cols) + " | total |",
            "|---|" + "---|" * (len(cols) + 1),
        ]
        for w in whole:
            b = next(r for r in blocks if r["n_compounds"] == w["n_compounds"])
            cells = [
                f"{w['stages'][k]['seconds'] / b['stages'][k]['seconds']:.2f}×" if k in w["stages"] else "–"
                for k in cols
            ]
            lines.append(f"| {w['n_compounds']:,} | " + " | ".join(cells) + f" | {w['seconds'] / b['seconds']:.2f}× |")
        lines.append("")
    agree = {r["n_compounds"]: r for r in rows if r["case"] == "screen_agreement"}
    lines += [
        "Quality on the planted truth (not timed): median correlation of an active compound's log2FC with its planted "
        "fingerprint over the genes tested (per signature); share of the inactive compounds with any gene at "
        "padj < 0.05 in any line (each compound's plate shifts it by N(0, 0.07²) log2 per gene in every replicate; "
        "the design holds the plate when the covariates above name it); share of active signatures whose best query "
        "hit in the atlas is a member of their family. Blocks against the whole design at the same size: Pearson "
        "correlation of the moderated t over every test, Jaccard index of the padj < 0.05 calls (calls in blocks / "
        "whole).",
        "",
        "| compounds | fit | r(log2FC, planted), median | inactive compounds with a call | query top hit in family "
        "| t: r with whole design | Jaccard padj<0.05 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (r["n_compounds"], r["fit"] != "blocks")):
        if "skipped" in r:
            continue
        a = agree.get(r["n_compounds"]) if r["fit"] == "blocks" else None
        cmp = (
            f"{a['stat_cor']:.4f} | {a['jaccard']:.3f} ({a['n_calls_blocks']:,} / {a['n_calls_whole']:,})"
            if a
            else "– | –"
        )
        lines.append(
            f"| {r['n_compounds']:,} | {'blocks' if r['fit'] == 'blocks' else 'whole design'} | "
            f"{r['lfc_truth_cor_median']:.3f} | {r['inactive_called_share']:.2f} of {r['n_inactive']} | "
            f"{r['query_top_hit_family']:.2f} | {cmp} |"
        )
    return [*lines, ""]


def splice_sections(goal_prefix: str, goal_rows: list[str], sections: list[list[str]], path: Path | None = None):
    """Replace the goal rows starting with ``goal_prefix`` and the sections of the same titles; keep everything else.

    A section (a list of lines, its title first) not yet in the file goes before "## Whole demo", else at the end.
    """
    path = path or HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()

    def find(title: str) -> tuple[int, int] | None:
        start = next((i for i, ln in enumerate(lines) if ln.startswith(title)), None)
        if start is None:
            return None
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        return start, end

    goals_at = find("## Goals")
    if goals_at and goal_rows:
        start, end = goals_at
        body = [ln for ln in lines[start:end] if not ln.startswith(goal_prefix)]
        last = max(i for i, ln in enumerate(body) if ln.startswith("|"))
        body[last + 1 : last + 1] = goal_rows
        lines[start:end] = body
    for section in sections:
        if not section:
            continue
        title = section[0].split("(")[0].rstrip()
        at = find(title)
        if at:
            lines[at[0] : at[1]] = section
        else:
            demo = find("## Whole demo")
            where = demo[0] if demo else len(lines)
            if where == len(lines) and lines and lines[-1] != "":
                section = ["", *section]
            lines[where:where] = section
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def splice_screen(rows: list[dict]) -> None:
    """Put ``bench_screen.py``'s goal rows and "Screens" section into RESULTS.md, nothing else changed."""
    splice_sections("| Screen:", screen_goals(rows), [screen_section(rows)])


DASK_CASES = ("dask_env", "dask_plan")


def dask_section(rows: list[dict]) -> list[str]:
    """The section "A Tahoe-shaped plan on a dask cluster" of RESULTS.md, from ``bench_screen_dask.py``'s rows."""
    env = next((r for r in rows if r["case"] == "dask_env"), None)
    r = next((r for r in rows if r["case"] == "dask_plan"), None)
    if env is None or r is None:
        return []
    sc, st, w, t = env["screen"], r["stages"], r["n_workers"], env["tahoe"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    pb, de, ser, pw = st["pseudobulk"], st["de"], st["de_serial"], st["pathways"]
    lines = [
        "## A Tahoe-shaped plan on a dask cluster",
        "",
        f"Measured in one run of `python bench/bench_screen_dask.py` on {env['machine']}, {env['date']} (load average "
        f"{env['load_average'][0]:g} at the start, {env['load_average'][1]:g} at the end); {versions}. "
        "Tahoe-100M is 379 drugs × 3 doses × 50 cancer cell lines, ~100M cells. The same plan at a scale that fits: "
        f"`dp.datasets.screen({sc['n_compounds']}, n_doses=3, cell_lines={sc['cell_lines']})` "
        f"({r['treatments']} treatments per line, {sc['n_replicates']} replicates, {sc['compounds_per_plate']} "
        f"compounds per plate with {sc['n_controls']} DMSO wells per plate and replicate, {r['n_genes']:,} genes), "
        f"each profile's counts split into single cells (every UMI to a uniformly drawn cell of its well), "
        f"{r['n_cells']:,} cells with {r['nnz'] / r['n_cells']:.0f} non-zeros each on average, written chunk by chunk "
        f"to zarr ({r['store_gb']:.2f} GB; {r['write_seconds']:.0f} s, once, not counted). On "
        f"`distributed.LocalCluster(n_workers={w}, threads_per_worker=1)`: `dp.pp.pseudobulk` of the store read "
        f"lazily (`read_elem_lazy`, chunks of {r['chunk']:,} cells; the reduction runs on the cluster as the "
        "active scheduler), checked equal to the simulated profiles; "
        '`dp.tl.de(pdata, condition_key="treatment", groupby="cell_line", covariates='
        f'{env["covariates"]}, method="voom", client=client)` ({r["executor"]}), then the same call without a '
        "client in one process, every layer asserted identical (`np.array_equal`, NaNs equal); "
        "`dp.tl.pathways(sig, client=client)` (camera, Hallmark; each fit's set tests one task). Peak memory: RSS "
        "summed over the client, the nannies and the workers, sampled every 0.1 s. Warm-up (imports, numba, the "
        "workers' imports) untimed.",
        "",
        "| stage | seconds | throughput | peak RSS, client + cluster (GB) |",
        "|---|---|---|---|",
        f"| pseudobulk, out of core on the cluster | {pb['seconds']:.1f} | {r['n_cells'] / pb['seconds']:,.0f} cells/s "
        f"({r['n_cells'] / pb['seconds'] / w:,.0f} per worker; {r['nnz'] / pb['seconds'] / w / 1e6:.1f}M non-zeros/s "
        f"per worker) | {pb['tree_peak_rss_gb']:.2f} |",
        f"| de, `client=` ({w} workers) | {de['seconds']:.1f} | {r['n_fits']} blocks ({r['n_signatures']:,} "
        f"signatures): {r['n_fits'] / de['seconds'] / w:.2f} blocks/s per worker; {r['fit_seconds_mean']:.2f} s "
        f"of fit per block ({r['block_profiles_mean']:.0f} profiles, {r['genes_tested_mean']:,.0f} genes) "
        f"| {de['tree_peak_rss_gb']:.2f} |",
        f"| de, no client (one process) | {ser['seconds']:.1f} | {r['n_fits'] / ser['seconds']:.2f} blocks/s; "
        f"arrays identical to the client's (asserted) | {ser['tree_peak_rss_gb']:.2f} |",
        f"| pathways (camera) | {pw['seconds']:.1f} | {r['n_signatures'] / pw['seconds']:.1f} signatures/s "
        f"| {pw['tree_peak_rss_gb']:.2f} |",
        "",
        f"Extrapolated to Tahoe-100M ({t['lines']} lines × {t['drugs'] * t['doses']:,} treatments) from the "
        f"per-worker throughput above, on {t['workers']} workers. Assumptions: cost proportional to the non-zeros "
        f"(pseudobulk) and to the genes tested (DE, camera); {t['nnz_per_cell']:,} non-zeros per cell and "
        f"{t['genes_tested']:,} genes tested per line (of {t['genes']:,}) are assumptions, not measured; Tahoe has "
        "one well per drug, dose and plate, so replicate wells like these (or another source of replicates) are "
        "assumed; perfect scaling over the workers; disk, network and scheduler limits not modelled.",
        "",
        f"| stage | work | measured rate | worker-hours | wall on {t['workers']} workers | note |",
        "|---|---|---|---|---|---|",
    ]
    for e in r["extrapolation"]:
        hours = "–" if e["worker_hours"] != e["worker_hours"] else f"{e['worker_hours']:,.1f}"
        wall = "–" if e["wall_hours"] != e["wall_hours"] else f"{e['wall_hours'] * 60:,.0f} min"
        lines.append(f"| {e['stage']} | {e['work']} | {e['rate']} | {hours} | {wall} | {e['note']} |")
    return [*lines, ""]


def splice_dask(rows: list[dict]) -> None:
    """Put ``bench_screen_dask.py``'s section into RESULTS.md, nothing else changed."""
    splice_sections("| Tahoe plan:", [], [dask_section(rows)])


if __name__ == "__main__":
    if "--render" in sys.argv:
        write_markdown(json.loads((OUT / "results.json").read_text()))
    else:
        main(quick="--quick" in sys.argv)
