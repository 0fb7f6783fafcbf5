"""False calls of the gene-level set tests (ORA of the DEG lists, preranked GSEA) on null studies that have what
real data has: gene programmes co-varying between samples and donor effects (tests/tl/programme_sim.py), at 2, 3,
4 and 6 donors per arm, beside camera on the same fits.

Usage: python bench/bench_enrich_null.py [--seeds N]. Prints, per design, the share of signatures with at least
one Hallmark set called at padj < 0.05 (a family-wise false call rate: every true effect is zero) and the share of
all set tests called.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.tl.programme_sim import simulate

import drugprint as dp


def calls(sig, key: str) -> tuple[float, float]:
    if key == "camera":
        padj = sig.obsm["pathways_padj"].to_numpy()
        return float((padj < 0.05).any(axis=1).mean()), float(np.nanmean(padj < 0.05))
    tab = dp.get.enrich_table(sig) if key == "ora" else dp.get.gsea_table(sig)
    by = ["signature", "direction"] if key == "ora" else ["signature"]
    fam = tab.groupby(by)["padj"].min() < 0.05
    fam = fam.groupby(level=0).any() if key == "ora" else fam
    return float(fam.mean()), float((tab["padj"] < 0.05).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print("donors  programme_sd  method  families_with_a_call  tests_called")
    for n_donors in (2, 3, 4, 6):
        for sd in (0.1, 0.25):
            out = {m: [] for m in ("camera", "ora", "gsea")}
            for seed in range(args.seeds):
                sig = dp.tl.de(simulate(sd, seed, n_donors=n_donors), method="voom", verbose=False)
                dp.tl.pathways(sig, method="camera")
                dp.tl.enrich(sig, "hallmark", min_size=5)
                dp.tl.gsea(sig, "hallmark", n_perm=500, random_state=seed)
                for m in out:
                    out[m].append(calls(sig, m))
            for m, v in out.items():
                fam, tests = np.mean(v, axis=0)
                print(f"{n_donors:>6}  {sd:>12}  {m:>6}  {fam:>20.2f}  {tests:>12.3f}", flush=True)


if __name__ == "__main__":
    main()
