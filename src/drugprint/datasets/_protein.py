"""CITE-seq-like antibody counts for the simulated screen: lineage markers and the degraded neosubstrates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ._baselines import CELL_TYPES

#: antibody (``ADT_`` + target, so that names never collide with genes) → (gene, mean specific counts per cell
#: type in CELL_TYPES order)
PANEL: dict[str, tuple[str, tuple[float, ...]]] = {
    "ADT_Ikaros": ("IKZF1", (60, 60, 55, 60, 35, 70)),
    "ADT_Aiolos": ("IKZF3", (50, 55, 50, 60, 4, 65)),
    "ADT_CD3": ("CD3E", (120, 120, 2, 1, 1, 1)),
    "ADT_CD4": ("CD4", (80, 2, 2, 1, 25, 1)),
    "ADT_CD8": ("CD8A", (2, 110, 10, 1, 1, 1)),
    "ADT_CD56": ("NCAM1", (1, 4, 90, 1, 1, 8)),
    "ADT_CD19": ("CD19", (1, 1, 1, 90, 1, 2)),
    "ADT_CD14": ("CD14", (1, 1, 1, 1, 150, 1)),
    "ADT_CD38": ("CD38", (10, 12, 40, 15, 20, 160)),
    "ADT_CD138": ("SDC1", (1, 1, 1, 1, 1, 120)),
    "ADT_BCMA": ("TNFRSF17", (1, 1, 1, 3, 1, 90)),
    "ADT_IgG1-isotype": ("", (0, 0, 0, 0, 0, 0)),
}
NEOSUBSTRATE_PROTEINS = ("ADT_Ikaros", "ADT_Aiolos")
#: fraction of IKZF1/IKZF3 protein degraded at activity 1.25 (the most potent drug at 1 µM)
DMAX = 0.95
TAU_H = 2.0  # degradation is fast: most of it within hours


def remaining(activity: float | np.ndarray, time_h: float) -> np.ndarray:
    """Fraction of Ikaros/Aiolos protein left at a drug activity and exposure time."""
    a = np.clip(np.asarray(activity, dtype=float), 0, 1.25)
    kinetics = (1 - np.exp(-time_h / TAU_H)) / (1 - np.exp(-24.0 / TAU_H))
    return 1 - DMAX * a / 1.25 * min(kinetics, 1.0)


def simulate_protein(obs: pd.DataFrame, activity_of, rng: np.random.Generator) -> tuple[AnnData, pd.DataFrame]:
    """ADT counts (cells × antibodies) for the cells in ``obs``, and the planted protein truth."""
    n = len(obs)
    ct_idx = obs["cell_type"].map({c: i for i, c in enumerate(CELL_TYPES)}).to_numpy()
    size = np.exp(rng.normal(0.0, 0.3, n))
    background = np.exp(rng.normal(np.log(6.0), 0.4, len(PANEL)))
    act = np.array([activity_of(d, dose) for d, dose in zip(obs["drug"].astype(str), obs["dose"], strict=True)])
    left = (
        remaining(act, float(obs["time"].iloc[0]))
        if obs["time"].nunique() == 1
        else np.array([remaining(a, t) for a, t in zip(act, obs["time"], strict=True)])
    )
    counts = np.empty((n, len(PANEL)), dtype=np.int32)
    for j, (ab, (_, levels)) in enumerate(PANEL.items()):
        signal = np.asarray(levels, dtype=float)[ct_idx]
        if ab in NEOSUBSTRATE_PROTEINS:
            signal = signal * left
        mu = size * (background[j] + signal)
        counts[:, j] = rng.poisson(rng.gamma(10.0, mu / 10.0))
    var = pd.DataFrame(
        {"gene": [g for g, _ in PANEL.values()], "isotype": [ab.endswith("isotype") for ab in PANEL]}, index=list(PANEL)
    )
    prot = AnnData(X=sparse.csr_matrix(counts.astype(np.float32)), obs=obs.copy(), var=var)
    prot.layers["counts"] = sparse.csr_matrix(counts)
    rows = []
    for (drug, dose, time_h), _ in obs.groupby(["drug", "dose", "time"], observed=True):
        r = float(remaining(activity_of(str(drug), float(dose)), float(time_h)))
        for ab in NEOSUBSTRATE_PROTEINS:
            rows.append((str(drug), float(dose), float(time_h), ab, PANEL[ab][0], r, float(np.log2(r))))
    truth = pd.DataFrame(rows, columns=["drug", "dose", "time", "protein", "gene", "remaining", "log2fc"])
    return prot, truth
