"""False calls and power at 2, 3 and 4 donors per arm: DESeq2 and voom genes, camera, fry and activity sets.

Null studies from the programme simulator of the calibration tests (``tests/tl/programme_sim.py``): donors ×
(DMSO, drug), paired (``~ donor + drug``: 1, 2 and 3 residual degrees of freedom), one cell type, ~5,400 genes,
no drug effect at all, donor effects, every Hallmark set's genes
shifting together between profiles (sd 0.2 log2) and independent log-normal profile noise (sd 0.3 log2) on
negative-binomial counts; a second null without the log-normal noise (negative binomial only) for the gene-level
engines. A family is one signature's tests (its genes, or its 50 Hallmark sets); a false call is padj < 0.05.

- ``families``: the share of families with at least one call (Benjamini–Hochberg controls this at 5 % under a
  complete null, when the p-values are calibrated);
- ``p_ratio_*``: the share of p-values below 0.05 and 0.001, divided by 0.05 and 0.001 (1 when calibrated);
- power: interferon-α shifted by 0.5 or 1 log2 under the drug (70 % of the set's genes respond): the share of
  studies in which the set is called.

Agreement with R: ``dp.tl.de(method="deseq2", filter_genes=False)`` on the small designs of the test references
(``tests/data/make_small_designs_reference.R``: simulated paired and unpaired studies with 1–6 residual df, and
Kang et al. 2018 with 2 donors when ../shared/data is present) against R DESeq2 1.38 with seed 2, and R's own
spread over seeds 1–20 where its prior variance is simulated (≤ 3 residual df).

Prints one JSON line per case. ``--quick``: fewer seeds.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests/tl/programme_sim

from tests.tl.programme_sim import IFN, simulate

import drugprint as dp

DONORS = (2, 3, 4)
DRUGS = ("drugA",)
SET_METHODS = ("camera", "fry", "activity")


def null_cases(seeds: range) -> list[dict]:
    rows = []
    for noise, profile_sd in (("log-normal", 0.3), ("negative binomial only", 0.0)):
        for k in DONORS:
            for engine in ("deseq2", "voom"):
                t0 = time.perf_counter()
                fam, p05, p001, sets = [], [], [], {m: [] for m in SET_METHODS}
                for seed in seeds:
                    study = simulate(0.2, 1000 + seed, n_donors=k, drugs=DRUGS, profile_sd=profile_sd)
                    sig = dp.tl.de(study, method=engine, verbose=False)
                    p = sig.layers["pvalue"][np.isfinite(sig.layers["pvalue"])]
                    fam += list((sig.layers["padj"] < 0.05).any(axis=1))
                    p05.append(np.mean(p < 0.05))
                    p001.append(np.mean(p < 0.001))
                    if engine == "voom" and profile_sd > 0:
                        for m in SET_METHODS:
                            with warnings.catch_warnings():
                                warnings.simplefilter("ignore")
                                dp.tl.pathways(sig, method=m)
                            sets[m] += list((sig.obsm["pathways_padj"].to_numpy() < 0.05).any(axis=1))
                rows.append(
                    {
                        "case": "small_null",
                        "noise": noise,
                        "donors": k,
                        "method": engine,
                        "tested": "genes",
                        "families": float(np.mean(fam)),
                        "n_families": len(fam),
                        "p_ratio_05": float(np.mean(p05) / 0.05),
                        "p_ratio_001": float(np.mean(p001) / 0.001),
                        "seconds": (time.perf_counter() - t0) / len(seeds),
                    }
                )
                for m, calls in sets.items():
                    if calls:
                        rows.append(
                            {
                                "case": "small_null",
                                "noise": noise,
                                "donors": k,
                                "method": m,
                                "tested": "Hallmark sets (voom fits)",
                                "families": float(np.mean(calls)),
                                "n_families": len(calls),
                            }
                        )
                print(json.dumps(rows[-1] if engine == "deseq2" else rows[-4]), file=sys.stderr, flush=True)
    return rows


def agreement_cases() -> list[dict]:
    from tests.tl.test_small_designs_vs_r import KANG, SIMULATED, _kang_case, _r, _reference, _row, _simulated

    _, params, seeds = _reference()
    rows = []

    def add(case, ours, fit, seconds):
        r = _r(case)
        calls = set(ours.index[ours["padj"] < 0.05])
        theirs = set(r.index[r["padj"] < 0.05])
        spread = seeds[seeds["case"] == case]
        others = spread.loc[spread["seed"] != 2, "jaccard_seed2"]
        rows.append(
            {
                "case": "small_agreement",
                "design": case,
                "residual_df": int(fit["residual_df"]),
                "calls": len(calls),
                "r_calls": len(theirs),
                "jaccard": len(calls & theirs) / max(1, len(calls | theirs)),
                "median_abs_dlfc": float((ours["log2fc"].reindex(r.index) - r["log2FoldChange"]).abs().median()),
                "prior_variance": float(fit["prior_variance"]),
                "r_prior_variance": float(params.loc[case, "dispPriorVar"]),
                "r_prior_range": [float(spread["dispPriorVar"].min()), float(spread["dispPriorVar"].max())]
                if len(spread)
                else None,
                "r_seeds_jaccard_median": float(others.median()) if len(others) else None,
                "seconds": seconds,
            }
        )

    for case in SIMULATED:
        adata, covariates = _simulated(case)
        t0 = time.perf_counter()
        sig = dp.tl.de(
            adata, condition_key="condition", control="ctrl", covariates=covariates, filter_genes=False, verbose=False
        )
        add(case, _row(sig, "all|drug vs ctrl"), sig.uns["de"]["fits"].iloc[0], time.perf_counter() - t0)
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "kang2018_ifnb_pbmc"
    if shared.exists():
        from tests.conftest import kang_cells

        cells = kang_cells()
        cells.obs["donor"] = cells.obs["sample_id"].str[-3:]
        pdata = dp.pp.pseudobulk(cells, sample_key="sample_id", groupby="cluster_id")
        t0 = time.perf_counter()
        sig = dp.tl.de(
            pdata, condition_key="group_id", control="ctrl", groupby="cluster_id", filter_genes=False, verbose=False
        )
        seconds = (time.perf_counter() - t0) / len(KANG)
        fits = sig.uns["de"]["fits"].set_index("group")
        for cell_type in KANG:
            add(_kang_case(cell_type), _row(sig, f"{cell_type}|stim vs ctrl"), fits.loc[cell_type], seconds)
    return rows


def power_cases(seeds: range) -> list[dict]:
    rows = []
    for size in (0.5, 1.0):
        for k in DONORS:
            called = {m: [] for m in SET_METHODS}
            for seed in seeds:
                study = simulate(0.2, 2000 + seed, n_donors=k, drugs=DRUGS, planted={"drugA": size})
                sig = dp.tl.de(study, method="voom", verbose=False)
                for m in SET_METHODS:
                    dp.tl.pathways(sig, method=m)
                    called[m] += list(sig.obsm["pathways_padj"][IFN].to_numpy() < 0.05)
            for m, calls in called.items():
                rows.append(
                    {
                        "case": "small_power",
                        "size": size,
                        "donors": k,
                        "method": m,
                        "power": float(np.mean(calls)),
                        "n_signatures": len(calls),
                    }
                )
    return rows


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    rows = agreement_cases() + null_cases(range(20 if quick else 100)) + power_cases(range(10 if quick else 40))
    for row in rows:
        print(json.dumps(row))
