"""Write the count fixture used by the R reference script (run from the repository root).

    python tests/data/make_counts.py && Rscript tests/data/make_reference.R

Myeloma-cell pseudobulk profiles of the simulated screen (small preset, seed 0): 4 donors × 6 conditions.
"""

from pathlib import Path

import drugprint as dp


def main() -> None:
    """Simulate, pseudobulk and write the Myeloma count fixture next to this script."""
    here = Path(__file__).parent
    pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small", random_state=0))
    sub = pdata[pdata.obs["cell_type"] == "Myeloma"]
    counts = sub.to_df().astype(int)
    counts.index = sub.obs["sample"].astype(str).to_numpy()
    counts.T.to_csv(here / "screen_myeloma_counts.csv.gz")  # genes × profiles
    sub.obs[["sample", "donor", "drug"]].astype(str).to_csv(here / "screen_myeloma_samples.csv", index=False)


if __name__ == "__main__":  # pytest's doctest collection imports this file: write nothing then
    main()
