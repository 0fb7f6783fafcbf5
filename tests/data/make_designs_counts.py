"""Write the dose × time count fixture of tests/data/make_designs_reference.R (run from the repository root).

    python tests/data/make_designs_counts.py && Rscript tests/data/make_designs_reference.R

Myeloma-cell pseudobulk profiles of the simulated screen (``dp.datasets.imid_screen("small", random_state=0,
doses=[0.1, 1, 10], timepoints=[6, 24])``: 4 donors), DMSO, lenalidomide and mezigdomide only (profiles of
fewer than 10 cells are dropped by ``dp.pp.pseudobulk``). Genes: those with a total count of at least 10 over
these profiles, of which 2,500 drawn at random (seed 0) when more pass, kept in the simulator's order.

``designs_counts.csv.gz`` is genes × profiles; ``designs_samples.csv`` has ``sample``, ``donor``, ``drug``,
``dose`` (µM; 0 for DMSO), ``time`` (h) and ``log2_dose`` (log2 of the dose in µM; empty for DMSO).
"""

from pathlib import Path

import numpy as np

import drugprint as dp

DRUGS = ("DMSO", "lenalidomide", "mezigdomide")
MAX_GENES = 2500


def main() -> None:
    """Simulate, pseudobulk and write the dose × time Myeloma count fixture next to this script."""
    here = Path(__file__).parent
    cells = dp.datasets.imid_screen("small", random_state=0, doses=[0.1, 1, 10], timepoints=[6, 24])
    pdata = dp.pp.pseudobulk(cells)
    sub = pdata[(pdata.obs["cell_type"] == "Myeloma") & pdata.obs["drug"].astype(str).isin(DRUGS)]
    counts = sub.to_df().astype(np.int64)
    counts.index = sub.obs["sample"].astype(str).to_numpy()
    keep = np.flatnonzero(counts.sum(axis=0).to_numpy() >= 10)
    if len(keep) > MAX_GENES:
        keep = np.sort(np.random.default_rng(0).choice(keep, MAX_GENES, replace=False))
    counts.iloc[:, keep].T.to_csv(here / "designs_counts.csv.gz", compression={"method": "gzip", "mtime": 0})
    samples = sub.obs[["sample", "donor", "drug"]].astype(str).reset_index(drop=True)
    samples["dose"] = sub.obs["dose"].astype(float).to_numpy()
    samples["time"] = sub.obs["time"].astype(float).astype(int).to_numpy()
    dose = samples["dose"].where(samples["drug"] != "DMSO")
    samples["log2_dose"] = np.log2(dose)
    samples.to_csv(here / "designs_samples.csv", index=False)


if __name__ == "__main__":  # pytest's doctest collection imports this file: write nothing then
    main()
