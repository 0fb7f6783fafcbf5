"""Profile-level counts whose gene programmes co-vary between samples: the null and power checks of set tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

import drugprint as dp

IFN = "HALLMARK_INTERFERON_ALPHA_RESPONSE"


def simulate(
    programme_sd: float,
    seed: int,
    *,
    n_donors: int = 6,
    drugs: tuple[str, ...] = ("drugA", "drugB", "drugC"),
    planted: dict[str, float] | None = None,
    planted_set: str = IFN,
    n_filler: int = 1000,
    profile_sd: float = 0.3,
) -> AnnData:
    """Pseudobulk counts, donors × (DMSO + drugs), one cell type.

    Every Hallmark set's genes shift together by N(0, programme_sd) log2 units in each profile (genes in
    several sets add up), on top of donor effects (N(0, 0.3) per gene and donor) and independent profile
    noise (N(0, ``profile_sd``), log-normal); counts are negative binomial (dispersion 0.05) around 1.2–3.2
    million reads per profile (sequencing depth varies between libraries, as it does in real data).
    ``planted`` gives a drug → mean log2 fold change on 70 % of ``planted_set``'s genes (gamma-distributed
    per gene); every other effect is exactly zero.
    """
    rng = np.random.default_rng(seed)
    net = dp.resources.genesets("hallmark")
    genes = pd.Index(sorted(set(net["target"]))).append(pd.Index([f"FILLER{i}" for i in range(n_filler)]))
    g = len(genes)
    sources = list(dict.fromkeys(net["source"]))
    member = np.zeros((len(sources), g))
    member[pd.Index(sources).get_indexer(net["source"]), genes.get_indexer(net["target"])] = 1.0
    base = np.log2(rng.gamma(0.6, 1.0, g) + 0.02)
    base += np.log2(2e6) - np.log2(np.exp2(base).sum())
    effect = {d: np.zeros(g) for d in ("DMSO", *drugs)}
    in_set = np.flatnonzero(member[sources.index(planted_set)])
    responders = in_set[rng.random(in_set.size) < 0.7]
    mult = rng.gamma(3.0, 1 / 3.0, responders.size)
    for d, size in (planted or {}).items():
        effect[d][responders] = size * mult * in_set.size / responders.size  # set mean = size
    donor = {k: rng.normal(0, 0.3, g) for k in range(n_donors)}
    rows, counts = [], []
    for k in range(n_donors):
        for d in ("DMSO", *drugs):
            shift = member.T @ rng.normal(0.0, programme_sd, len(sources))
            depth = rng.uniform(0.6, 1.6)
            mu = depth * np.exp2(base + donor[k] + effect[d] + shift + rng.normal(0, profile_sd, g))
            counts.append(rng.negative_binomial(1 / 0.05, 1 / (1 + 0.05 * mu)))
            rows.append((f"D{k}", d, "cells"))
    obs = pd.DataFrame(rows, columns=["donor", "drug", "cell_type"])
    obs.index = [f"{a}_{b}" for a, b, _ in rows]
    return AnnData(np.vstack(counts).astype(np.float64), obs=obs, var=pd.DataFrame(index=genes))
