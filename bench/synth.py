"""Synthetic single-cell screens of any size for the benchmarks (fast: no DE-quality realism needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

N_GENES = 2000
CELL_TYPES = ["CD4 T", "CD8 T", "NK", "B", "CD14 Mono", "Myeloma"]
DRUGS = ["DMSO", "thalidomide", "lenalidomide", "pomalidomide", "iberdomide", "mezigdomide"]


def obs_table(n_cells: int, n_donors: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    donor = rng.integers(0, n_donors, n_cells)
    drug = rng.integers(0, len(DRUGS), n_cells)
    ct = rng.integers(0, len(CELL_TYPES), n_cells)
    obs = pd.DataFrame(
        {
            "donor": pd.Categorical.from_codes(donor, [f"D{i + 1}" for i in range(n_donors)]),
            "drug": pd.Categorical.from_codes(drug, DRUGS),
            "cell_type": pd.Categorical.from_codes(ct, CELL_TYPES),
        }
    )
    obs["sample"] = (obs["donor"].astype(str) + "_" + obs["drug"].astype(str)).astype("category")
    obs.index = obs.index.astype(str)
    return obs


def counts(n_cells: int, n_genes: int = N_GENES, density: float = 0.05, seed: int = 0) -> sparse.csr_matrix:
    """Sparse integer counts with about ``density`` non-zeros (CSR, float32 as read from h5ad/zarr)."""
    rng = np.random.default_rng(seed)
    nnz_per_row = rng.binomial(n_genes, density, n_cells)
    indptr = np.concatenate([[0], np.cumsum(nnz_per_row)])
    weights = np.random.default_rng(12345).dirichlet(np.ones(n_genes) * 0.5)  # same genes in every chunk
    indices = rng.choice(n_genes, indptr[-1], p=weights).astype(np.int32)
    data = rng.geometric(0.5, indptr[-1]).astype(np.float32)
    x = sparse.csr_matrix((data, indices, indptr), shape=(n_cells, n_genes))
    x.sum_duplicates()  # repeated draws of a gene in a cell add up
    return x


def screen(n_cells: int, seed: int = 0) -> AnnData:
    x = counts(n_cells, seed=seed)
    return AnnData(X=x, obs=obs_table(n_cells, seed=seed), var=pd.DataFrame(index=[f"G{i}" for i in range(x.shape[1])]))
