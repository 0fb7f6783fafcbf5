"""Write ``composition_counts.csv``: cells per sample × cell type for the propeller reference (R limma).

Six donors × three conditions (DMSO, lenalidomide, mezigdomide); multinomial counts around donor-specific
proportions, with planted shifts: Myeloma falls (×0.6 lenalidomide, ×0.3 mezigdomide), NK rises (×1.4, ×2.0),
CD8 T rises with mezigdomide (×1.5), B falls with mezigdomide (×0.7). Run from the repository root:
``python tests/data/make_composition_counts.py``; then ``Rscript tests/data/make_composition_reference.R``.

``composition_counts_many.csv``: 24 clusters (C01–C24) × 8 donors × DMSO and mezigdomide, for limma's robust
``eBayes`` (Winsorization needs 10 or more cell types): C01 falls with the drug (×0.4), C02 rises (×1.8), and C03
is hypervariable (its share varies eightfold between samples, whatever the drug).
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
TYPES = ["CD4 T", "CD8 T", "NK", "B", "CD14 Mono", "Myeloma"]
BASE = np.array([0.30, 0.12, 0.08, 0.10, 0.15, 0.25])
SHIFT = {
    "DMSO": {},
    "lenalidomide": {"Myeloma": 0.6, "NK": 1.4},
    "mezigdomide": {"Myeloma": 0.3, "NK": 2.0, "CD8 T": 1.5, "B": 0.7},
}


def main() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for d in range(6):
        donor = rng.dirichlet(BASE * 80)  # donors differ in their baseline composition
        for drug, shift in SHIFT.items():
            p = donor * np.array([shift.get(t, 1.0) for t in TYPES])
            n = rng.multinomial(int(rng.integers(400, 900)), p / p.sum())
            rows.append(
                {"sample": f"D{d + 1}_{drug}", "donor": f"D{d + 1}", "drug": drug, **dict(zip(TYPES, n, strict=True))}
            )
    pd.DataFrame(rows).to_csv(HERE / "composition_counts.csv", index=False)
    many()


def many() -> None:
    rng = np.random.default_rng(8)
    names = [f"C{i + 1:02d}" for i in range(24)]
    base = rng.dirichlet(np.full(24, 5.0))
    rows = []
    for d in range(8):
        donor = rng.dirichlet(base * 150)
        for drug in ("DMSO", "mezigdomide"):
            p = donor * rng.lognormal(0.0, 0.1, 24)
            p[2] *= np.exp(rng.uniform(-1.0, 1.0))  # C03: hypervariable
            if drug == "mezigdomide":
                p[0], p[1] = p[0] * 0.4, p[1] * 1.8
            n = rng.multinomial(int(rng.integers(1500, 3000)), p / p.sum())
            rows.append(
                {"sample": f"D{d + 1}_{drug}", "donor": f"D{d + 1}", "drug": drug, **dict(zip(names, n, strict=True))}
            )
    pd.DataFrame(rows).to_csv(HERE / "composition_counts_many.csv", index=False)


if __name__ == "__main__":
    main()
