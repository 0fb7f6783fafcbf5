"""Run every benchmark once, in fresh processes, and write bench/RESULTS.md.

python bench/run_all.py            # ~30 min on 2 cores; needs ~3 GB of free disk for the 10M-cell store
python bench/run_all.py --quick    # 100k cells and the pathway calls only, no 10M store, no DE (~5 minutes)
python bench/run_all.py --render   # rewrite RESULTS.md from the last run's bench/out/results.json

`python bench/bench_de.py` reruns only the DE comparison: it replaces the DE rows of bench/out/results.json and
renders RESULTS.md again (or, without results.json, replaces only the DE parts of RESULTS.md: splice_de).
"""

from __future__ import annotations

import json
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


if __name__ == "__main__":
    if "--render" in sys.argv:
        write_markdown(json.loads((OUT / "results.json").read_text()))
    else:
        main(quick="--quick" in sys.argv)
