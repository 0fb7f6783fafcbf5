"""DE stage: dp.tl.de (one fit per cell type) against a per-contrast pydeseq2 loop, as pertpy users write it."""

from __future__ import annotations

import contextlib
import io
import json
import time
import warnings

import numpy as np
import pandas as pd

import drugprint as dp


def per_contrast_loop(pdata) -> dict:
    """For every cell type × drug: subset drug + DMSO profiles, filter, fit ~donor + drug, test — one fit each."""
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from pydeseq2.ds import DeseqStats

    from drugprint.tl._filter import filter_by_expr as _filter_genes

    out = {}
    for ct in pdata.obs["cell_type"].cat.categories:
        for drug in [d for d in pdata.obs["drug"].cat.categories if d != "DMSO"]:
            sub = pdata[(pdata.obs["cell_type"] == ct) & pdata.obs["drug"].isin(["DMSO", drug])]
            counts = sub.to_df().astype(int)
            keep = _filter_genes(counts, sub.obs["drug"])
            meta = sub.obs[["donor", "drug"]].astype(str)
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                dds = DeseqDataSet(
                    counts=counts.loc[:, keep],
                    metadata=meta,
                    design="~donor + drug",
                    quiet=True,
                    inference=DefaultInference(n_cpus=1),
                )
                dds.deseq2()
                st = DeseqStats(dds, contrast=["drug", drug, "DMSO"], quiet=True, inference=DefaultInference(n_cpus=1))
                st.summary()
            out[f"{ct}|{drug} vs DMSO"] = st.results_df
    return out


def agreement(sig, loop: dict) -> dict:
    r, same = [], []
    for name, res in loop.items():
        row = sig[name]
        ours = pd.DataFrame({"lfc": row.layers["log2fc"][0], "padj": row.layers["padj"][0]}, index=sig.var_names)
        common = res.index.intersection(ours.dropna(subset=["lfc"]).index)
        r.append(np.corrcoef(ours.loc[common, "lfc"], res.loc[common, "log2FoldChange"])[0, 1])
        same.append(((ours.loc[common, "padj"] < 0.05) == (res.loc[common, "padj"] < 0.05)).mean())
    return {
        "median_log2fc_r": float(np.median(r)),
        "min_log2fc_r": float(np.min(r)),
        "calls_agree": float(np.mean(same)),
    }


def main() -> list[dict]:
    pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("default", seed=0))
    rows = []
    t0 = time.perf_counter()
    loop = per_contrast_loop(pdata)
    base = time.perf_counter() - t0
    rows.append({"case": "de", "method": "pydeseq2 per-contrast loop (30 fits)", "seconds": base})
    for label, kw in (
        ("dp.tl.de deseq2, n_jobs=1 (6 fits)", {"method": "deseq2"}),
        ("dp.tl.de deseq2, n_jobs=2", {"method": "deseq2", "n_jobs": 2}),
        ("dp.tl.de voom", {"method": "voom"}),
    ):
        t0 = time.perf_counter()
        sig = dp.tl.de(pdata, verbose=False, **kw)
        rows.append({"case": "de", "method": label, "seconds": time.perf_counter() - t0, **agreement(sig, loop)})
    return rows


if __name__ == "__main__":
    for row in main():
        print(json.dumps(row))
