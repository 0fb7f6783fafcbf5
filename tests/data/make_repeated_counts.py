"""Write the repeated-measures count fixture used by make_dupcor_reference.R (run from the repository root).

    python tests/data/make_repeated_counts.py && Rscript tests/data/make_dupcor_reference.R

Myeloma-cell pseudobulk profiles of the simulated screen (small preset, seed 3, 8 donors), arranged as
patients sampled before and after treatment in two arms: donors D1–D4 in arm A (lenalidomide), D5–D8 in
arm B (mezigdomide). Each patient contributes its DMSO profile as "pre" and its arm's drug profile as
"post", so the two profiles of a patient share its donor effect (16 profiles, 8 blocks of 2). Genes with a
total count of at least 10; a fixed random 3,000 of them, in their original order.
"""

from pathlib import Path

import numpy as np
import pandas as pd

import drugprint as dp

ARMS = {"A": "lenalidomide", "B": "mezigdomide"}


def main() -> None:
    """Simulate, pseudobulk and write the repeated-measures fixture next to this script."""
    here = Path(__file__).parent
    pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small", random_state=3, n_donors=8))
    obs = pdata.obs
    rows = []
    for i in range(1, 9):
        arm = "A" if i <= 4 else "B"
        for time, drug in (("pre", "DMSO"), ("post", ARMS[arm])):
            sel = (obs["cell_type"] == "Myeloma") & (obs["donor"] == f"D{i}") & (obs["drug"] == drug)
            assert sel.sum() == 1, f"no Myeloma profile for D{i} {drug}"
            rows.append((obs.index[sel.to_numpy()][0], f"P{i}_{time}", f"P{i}", arm, time))
    names, samples, patients, arms, times = zip(*rows, strict=True)
    counts = pdata[list(names)].to_df().astype(int)
    counts.index = list(samples)
    counts = counts.loc[:, counts.sum(axis=0) >= 10]
    if counts.shape[1] > 3000:
        keep = np.sort(np.random.default_rng(0).choice(counts.shape[1], 3000, replace=False))
        counts = counts.iloc[:, keep]
    counts.T.to_csv(here / "repeated_counts.csv.gz")  # genes × profiles
    meta = dict(sample=samples, patient=patients, arm=arms, time=times)
    pd.DataFrame(meta).to_csv(here / "repeated_samples.csv", index=False)


if __name__ == "__main__":  # pytest's doctest collection imports this file: write nothing then
    main()
