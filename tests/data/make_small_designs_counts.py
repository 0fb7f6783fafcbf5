"""Counts for the small-study DESeq2 references (tests/data/make_small_designs_reference.R).

Writes, from the repository root (``python tests/data/make_small_designs_counts.py``):

- ``small_designs_counts.csv.gz``, ``small_designs_samples.csv``: a simulated bulk RNA-seq study, 3,000 genes × 8
  donors (D1–D8) × control and drug. Negative-binomial counts: gene means log-uniform over 0.5–20,000 reads at a
  size factor of 1, size factors 0.6–1.6, dispersions ``(0.04 + 0.8 / mean) * lognormal(0, 1)``, a donor effect
  per gene and donor (normal, sd 0.35 on the natural-log scale) and 10 % of genes changed by the drug (log2 fold
  change ±N(1.2, 0.5)). The designs of the reference are subsets of it (see the R script).
- with ``--kang DIR``: the pseudobulk counts of Kang et al. 2018's IFN-β PBMCs (../shared/data, not in the
  repository) per cell type, ``kang_<cell type>_counts.csv`` and ``kang_<cell type>_samples.csv``, for the R
  script to read from DIR. Kang's counts are never written to tests/data; only R's results on them are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data" / "kang2018_ifnb_pbmc"


def simulate(seed: int = 26, n_genes: int = 3000, n_donors: int = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    mean = np.exp(rng.uniform(np.log(0.5), np.log(20_000), n_genes))
    disp = (0.04 + 0.8 / mean) * rng.lognormal(0.0, 1.0, n_genes)
    donor_effect = rng.normal(0.0, 0.35, (n_genes, n_donors))
    lfc = np.zeros(n_genes)
    changed = rng.random(n_genes) < 0.10
    lfc[changed] = rng.choice([-1, 1], changed.sum()) * rng.normal(1.2, 0.5, changed.sum())
    samples = pd.DataFrame(
        [(f"D{d + 1}_{c}", f"D{d + 1}", c) for c in ("ctrl", "drug") for d in range(n_donors)],
        columns=["sample", "donor", "condition"],
    )
    size = rng.uniform(0.6, 1.6, len(samples))
    donor = samples["donor"].str[1:].astype(int).to_numpy() - 1
    treated = (samples["condition"] == "drug").to_numpy()
    log_mu = np.log(mean)[:, None] + donor_effect[:, donor] + np.log(2) * lfc[:, None] * treated + np.log(size)
    mu = np.exp(log_mu)
    counts = rng.negative_binomial(1.0 / disp[:, None], 1.0 / (1.0 + disp[:, None] * mu))
    genes = [f"G{i + 1:04d}" for i in range(n_genes)]
    return pd.DataFrame(counts, index=genes, columns=samples["sample"]), samples


def kang(out: Path) -> None:
    """Kang's cells summed per sample and cell type, as dp.pp.pseudobulk sums them."""
    import scipy.io
    from anndata import AnnData

    import drugprint as dp

    x = scipy.io.mmread(SHARED / "counts_genes_x_cells.mtx.gz").T.tocsr()
    cells = pd.read_csv(SHARED / "cells.csv", index_col=0)
    cells["donor"] = cells["sample_id"].str[-3:]
    adata = AnnData(x.astype(np.float32), obs=cells, var=pd.read_csv(SHARED / "genes.csv", index_col=0))
    pdata = dp.pp.pseudobulk(adata, sample_key="sample_id", groupby="cluster_id")
    out.mkdir(parents=True, exist_ok=True)
    for cell_type in sorted(pdata.obs["cluster_id"].unique()):
        sub = pdata[pdata.obs["cluster_id"] == cell_type]
        name = cell_type.replace("+", "").replace(" ", "_")
        counts = pd.DataFrame(np.asarray(sub.X).T, index=sub.var_names, columns=sub.obs["sample_id"]).astype(int)
        counts.to_csv(out / f"kang_{name}_counts.csv")
        sub.obs[["sample_id", "donor", "group_id"]].rename(columns={"sample_id": "sample"}).to_csv(
            out / f"kang_{name}_samples.csv", index=False
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kang", type=Path, help="also write Kang's pseudobulk counts to this folder (not tests/data)")
    args = parser.parse_args()
    counts, samples = simulate()
    counts.to_csv(HERE / "small_designs_counts.csv.gz")
    samples.to_csv(HERE / "small_designs_samples.csv", index=False)
    if args.kang:
        kang(args.kang)
