"""Cell-type baseline expression for the simulated screen.

Profiles are fractions of a cell's library per gene. The five PBMC types are seeded from scanpy's bundled
``pbmc68k_reduced`` (10x Genomics PBMCs; raw counts rebuilt as ``expm1(raw.X) * n_counts / 1e4``);
genes it lacks get a log-normal baseline with cell-type deviations, and lineage markers, the panel genes
and the plasma-cell programme of myeloma cells are set from a hand-written table (levels below), so that
each cell type expresses what it should.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd

#: The cell types of the simulated screen (``obs["cell_type"]`` of :func:`imid_screen`).
CELL_TYPES: tuple[str, ...] = ("CD4 T", "CD8 T", "NK", "B", "CD14 Mono", "Myeloma")

_PBMC68K_LABELS = {
    "CD4 T": ["CD4+/CD25 T Reg", "CD4+/CD45RO+ Memory", "CD4+/CD45RA+/CD25- Naive T"],
    "CD8 T": ["CD8+ Cytotoxic T", "CD8+/CD45RA+ Naive Cytotoxic"],
    "NK": ["CD56+ NK"],
    "B": ["CD19+ B"],
    "CD14 Mono": ["CD14+ Monocyte"],
}

# fraction of a cell's library
_V = {"top": 1e-2, "vhi": 3e-3, "hi": 1e-3, "mid": 2.5e-4, "lo": 5e-5, "vlo": 1.5e-5, "off": 3e-6}

# gene: levels in CELL_TYPES order (CD4 T, CD8 T, NK, B, CD14 Mono, Myeloma)
_MARKERS: dict[str, tuple[str, ...]] = {
    # cytotoxicity and co-stimulation panels
    "NKG7": ("lo", "vhi", "vhi", "off", "lo", "off"),
    "GNLY": ("off", "hi", "vhi", "off", "off", "off"),
    "GZMB": ("off", "mid", "vhi", "off", "off", "off"),
    "GZMA": ("lo", "hi", "hi", "off", "off", "off"),
    "GZMH": ("off", "hi", "mid", "off", "off", "off"),
    "GZMK": ("lo", "mid", "lo", "off", "off", "off"),
    "PRF1": ("lo", "mid", "hi", "off", "off", "off"),
    "IFNG": ("vlo", "lo", "lo", "off", "off", "off"),
    "TNF": ("lo", "lo", "lo", "vlo", "mid", "off"),
    "IL2": ("lo", "vlo", "off", "off", "off", "off"),
    "IL2RA": ("mid", "lo", "lo", "vlo", "off", "vlo"),
    "CD69": ("mid", "mid", "mid", "mid", "lo", "lo"),
    "TNFRSF9": ("vlo", "lo", "lo", "off", "vlo", "vlo"),
    "CD40LG": ("mid", "vlo", "off", "off", "off", "off"),
    # the IMiD axis and neosubstrates (mRNA)
    "IKZF1": ("mid", "mid", "mid", "mid", "lo", "mid"),
    "IKZF3": ("mid", "mid", "mid", "mid", "vlo", "mid"),
    "IRF4": ("lo", "lo", "vlo", "lo", "vlo", "hi"),
    "MYC": ("lo", "lo", "lo", "lo", "lo", "hi"),
    "CSNK1A1": ("mid", "mid", "mid", "mid", "mid", "mid"),
    "ZFP91": ("lo", "lo", "lo", "lo", "lo", "mid"),
    "GSPT1": ("mid", "mid", "mid", "mid", "mid", "mid"),
    "SALL4": ("off", "off", "off", "off", "off", "vlo"),
    # lineage markers
    "CD3E": ("hi", "hi", "off", "off", "off", "off"),
    "CD3D": ("hi", "hi", "lo", "off", "off", "off"),
    "CD4": ("mid", "off", "off", "off", "lo", "off"),
    "CD8A": ("off", "hi", "lo", "off", "off", "off"),
    "CD8B": ("off", "hi", "off", "off", "off", "off"),
    "IL7R": ("hi", "mid", "lo", "off", "lo", "off"),
    "CCR7": ("mid", "mid", "off", "mid", "off", "off"),
    "NCAM1": ("off", "vlo", "mid", "off", "off", "lo"),
    "KLRD1": ("vlo", "mid", "hi", "off", "off", "off"),
    "KLRF1": ("off", "vlo", "hi", "off", "off", "off"),
    "MS4A1": ("off", "off", "off", "vhi", "off", "off"),
    "CD19": ("off", "off", "off", "mid", "off", "off"),
    "CD79A": ("off", "off", "off", "vhi", "off", "lo"),
    "CD79B": ("off", "off", "off", "hi", "off", "vlo"),
    "PAX5": ("off", "off", "off", "mid", "off", "off"),
    "CD14": ("off", "off", "off", "off", "hi", "off"),
    "LYZ": ("lo", "lo", "lo", "lo", "top", "vlo"),
    "S100A8": ("lo", "lo", "lo", "lo", "top", "off"),
    "S100A9": ("lo", "lo", "lo", "lo", "top", "off"),
    "FCN1": ("off", "off", "off", "off", "vhi", "off"),
    "CST3": ("vlo", "vlo", "vlo", "lo", "vhi", "vlo"),
    "FCGR3A": ("off", "vlo", "vhi", "off", "mid", "off"),
    # plasma cell / myeloma programme
    "SDC1": ("off", "off", "off", "off", "off", "hi"),
    "TNFRSF17": ("off", "off", "off", "vlo", "off", "hi"),
    "XBP1": ("lo", "lo", "lo", "mid", "lo", "vhi"),
    "PRDM1": ("lo", "mid", "mid", "vlo", "vlo", "hi"),
    "MZB1": ("off", "off", "off", "lo", "off", "vhi"),
    "JCHAIN": ("off", "off", "off", "lo", "off", "vhi"),
    "IGKC": ("off", "off", "off", "vhi", "off", "top"),
    "CD38": ("lo", "lo", "mid", "lo", "lo", "hi"),
    "SLAMF7": ("off", "lo", "mid", "lo", "lo", "hi"),
    "CCND2": ("lo", "lo", "lo", "lo", "lo", "hi"),
    # housekeeping
    "ACTB": ("vhi", "vhi", "vhi", "vhi", "vhi", "vhi"),
    "GAPDH": ("hi", "hi", "hi", "hi", "vhi", "vhi"),
    "B2M": ("top", "top", "top", "top", "top", "top"),
    "MALAT1": ("top", "top", "top", "top", "top", "top"),
}


@lru_cache(maxsize=1)
def pbmc68k_profiles() -> pd.DataFrame:
    """Mean fraction of the library per gene for five PBMC types in ``pbmc68k_reduced`` (genes × types)."""
    ref = _read_pbmc68k_reduced()
    raw = ref.raw.to_adata()
    x = raw.X.toarray() if hasattr(raw.X, "toarray") else np.asarray(raw.X)
    frac = np.expm1(x) / 1e4  # = counts / n_counts
    labels = ref.obs["bulk_labels"].astype(str).to_numpy()
    cols = {ct: frac[np.isin(labels, names)].mean(axis=0) for ct, names in _PBMC68K_LABELS.items()}
    return pd.DataFrame(cols, index=raw.var_names.astype(str))


def _read_pbmc68k_reduced():
    """Read scanpy's bundled ``pbmc68k_reduced`` from its install folder, without importing scanpy."""
    import importlib.util
    from pathlib import Path

    import anndata as ad

    spec = importlib.util.find_spec("scanpy")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "10x_pbmc68k_reduced.h5ad"
    if not path.exists():  # a scanpy that keeps the file elsewhere
        import scanpy as sc

        return sc.datasets.pbmc68k_reduced()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the file predates anndata's current encoding
        warnings.simplefilter("ignore", getattr(ad, "OldFormatWarning", PendingDeprecationWarning))
        return ad.read_h5ad(path)


def baseline_profiles(genes: list[str], proliferation: set[str], rng: np.random.Generator) -> pd.DataFrame:
    """Cell-type baseline fractions for ``genes`` (genes × CELL_TYPES, columns sum to 1).

    ``proliferation`` lists cell-cycle genes: high in myeloma cells, low in resting blood cells.
    """
    n = len(genes)
    index = pd.Index(genes)
    pbmc = pbmc68k_profiles().reindex(index)
    # genes outside pbmc68k: log-normal baseline plus a cell-type deviation
    base = np.exp(rng.normal(np.log(1.2e-4), 1.2, n))
    dev = rng.normal(0.0, 0.5, (n, len(CELL_TYPES)))
    prof = pd.DataFrame(base[:, None] * np.exp(dev), index=index, columns=list(CELL_TYPES))
    seeded = pbmc.notna().all(axis=1).to_numpy()
    floor = 2e-6
    for ct in _PBMC68K_LABELS:
        prof.loc[seeded, ct] = np.maximum(pbmc.loc[seeded, ct].to_numpy(), floor)
    # myeloma cells: plasma-cell-like B-lineage cells, seeded from B with a wider deviation
    prof.loc[seeded, "Myeloma"] = prof.loc[seeded, "B"].to_numpy() * np.exp(rng.normal(0.0, 0.8, seeded.sum()))
    cyc = index.isin(sorted(proliferation))
    prof.loc[cyc, "Myeloma"] *= 4.0
    prof.loc[cyc, ["CD4 T", "CD8 T", "NK", "B", "CD14 Mono"]] *= 0.3
    for gene, levels in _MARKERS.items():
        if gene in index:
            prof.loc[gene] = [_V[lv] for lv in levels]
    return prof / prof.sum(axis=0)
