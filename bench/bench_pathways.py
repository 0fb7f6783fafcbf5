"""Pathway calls on the simulated screen at three levels of programme noise: false calls and power.

For each level of ``programme_sd`` (each Hallmark set's genes shifting together per profile, as in real
samples) and each seed, the default-preset screen is simulated, pseudobulked and fitted (voom), and the
Hallmark sets are tested per signature with the gene-level ``ulm`` and with the replicate-level default,
``camera`` (and ``activity``). A call is ``padj < 0.05``.

- false-call rate: the share of the B-cell tests called (nothing is planted in B cells: 5 drugs × 50 sets);
- power: the share of the planted pathway effects called (Myeloma interferon-α, p53, apoptosis, G2M, E2F ×
  5 drugs), and whether each of those pathways ranks the five drugs in the planted potency order.
Prints one JSON line per method × level.
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np

import drugprint as dp
from drugprint.datasets import DRUGS

LEVELS = (0.1, 0.2, 0.25)
SEEDS = (0, 1)
METHODS = ("ulm", "camera", "activity")
PLANTED = (
    "HALLMARK_INTERFERON_ALPHA_RESPONSE",
    "HALLMARK_P53_PATHWAY",
    "HALLMARK_APOPTOSIS",
    "HALLMARK_G2M_CHECKPOINT",
    "HALLMARK_E2F_TARGETS",
)


def one(level: float, seed: int) -> dict[str, dict]:
    adata = dp.datasets.imid_screen("default", random_state=seed, programme_sd=level)
    pdata = dp.pp.pseudobulk(adata)
    sig = dp.tl.de(pdata, method="voom", groups=["Myeloma", "B"], verbose=False)
    out = {}
    for method in METHODS:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dp.tl.pathways(sig, method=method, key_added=method)
        seconds = time.perf_counter() - t0
        tab = dp.get.potency_table(dp.tl.potency(sig, method, copy=True))
        b = tab[tab["group"] == "B"]
        my = tab[(tab["group"] == "Myeloma") & tab["source"].isin(PLANTED)]
        ordered = [
            list(g.sort_values("rank", ascending=False)["condition"].astype(str)) == list(DRUGS)
            for _, g in my.groupby("source")
        ]
        out[method] = {
            "false": int((b["padj"] < 0.05).sum()),
            "n_null": len(b),
            "hits": int((my["padj"] < 0.05).sum()),
            "n_planted": len(my),
            "ordered": int(sum(ordered)),
            "n_ordered": len(ordered),
            "seconds": seconds,
        }
    return out


def main() -> None:
    for level in LEVELS:
        runs = [one(level, seed) for seed in SEEDS]
        for method in METHODS:
            r = [run[method] for run in runs]
            row = {
                "case": "pathways",
                "method": method,
                "programme_sd": level,
                "n_seeds": len(SEEDS),
                "false_call_rate": sum(x["false"] for x in r) / sum(x["n_null"] for x in r),
                "power": sum(x["hits"] for x in r) / sum(x["n_planted"] for x in r),
                "orders_exact": sum(x["ordered"] for x in r) / sum(x["n_ordered"] for x in r),
                "seconds": float(np.mean([x["seconds"] for x in r])),
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
