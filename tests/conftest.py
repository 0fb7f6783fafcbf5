"""Shared fixtures: the small simulated screen and its signatures, computed once per session."""

from __future__ import annotations

import socket
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import drugprint as dp

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def screen():
    """The small preset (4 donors × 6 conditions, ~3,600 cells)."""
    return dp.datasets.imid_screen("small", random_state=0)


@pytest.fixture(scope="session")
def compound_screen():
    """A simulated compound screen: 40 compounds (8 families, a quarter inactive) × 2 lines × 3 replicates."""
    return dp.datasets.screen(40, n_genes=1000, cell_lines=2, random_state=3)


@pytest.fixture(scope="session")
def compound_sig(compound_screen):
    """Its signatures, fitted in blocks of 10 compounds (voom), with Hallmark pathways (read-only)."""
    sig = dp.tl.de(compound_screen, condition_key="compound", covariates=["replicate"], method="voom", verbose=False)
    dp.tl.pathways(sig)
    return sig


@pytest.fixture(scope="session")
def pdata(screen):
    return dp.pp.pseudobulk(screen, sample_key="sample", groupby="cell_type")


@pytest.fixture(scope="session")
def sig_all(pdata):
    """Signatures of every cell type with Hallmark pathways and panels scored (read-only: copy to modify)."""
    sig = dp.tl.de(
        pdata, condition_key="drug", control="DMSO", groupby="cell_type", covariates=("donor",), verbose=False
    )
    dp.tl.pathways(sig, "hallmark")
    dp.tl.panels(sig)
    return sig


@pytest.fixture(scope="session")
def rna_prot():
    """A small RNA + protein screen (3 donors, 80 cells per sample; read-only: copy to modify)."""
    return dp.datasets.imid_screen("small", 0, ("rna", "prot"), n_donors=3, cells_per_sample=80)


@pytest.fixture
def sig(sig_all):
    return sig_all.copy()


@pytest.fixture
def no_network(monkeypatch):
    """Every socket connection is refused, as on a machine without network."""

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test when the folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared/data is only present in the development checkout)")
    return path


def kang_cells(*, scanpy_processed: bool = False):
    """Kang et al. 2018 IFN-β PBMCs (counts, obs cluster_id/sample_id/group_id, var SYMBOL); skip when absent.

    ``scanpy_processed``: as a scanpy user keeps them, counts only in ``.raw`` and ``X`` normalised and log1p.
    """
    import scipy.io
    from anndata import AnnData

    d = shared_path("kang2018_ifnb_pbmc")
    x = scipy.io.mmread(d / "counts_genes_x_cells.mtx.gz").T.tocsr().astype(np.float32)
    adata = AnnData(x, obs=pd.read_csv(d / "cells.csv", index_col=0), var=pd.read_csv(d / "genes.csv", index_col=0))
    if scanpy_processed:
        import scanpy as sc

        adata.raw = adata.copy()  # a copy: .raw = adata would share X, which normalize_total changes in place
        sc.pp.normalize_total(adata)
        sc.pp.log1p(adata)
    return adata
