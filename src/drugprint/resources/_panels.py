"""Named gene panels read per gene and scored per signature by ``dp.tl.panels``."""

from __future__ import annotations

_PANELS: dict[str, list[str]] = {
    "cytotoxicity": ["NKG7", "GZMB", "GZMA", "GZMH", "PRF1", "GNLY", "IFNG", "TNF"],
    "irf4_myc": ["IRF4", "MYC"],
    "il2_derepression": ["IL2", "IL2RA", "IFNG", "CD69", "TNFRSF9"],
    "neosubstrates": ["IKZF1", "IKZF3", "CSNK1A1", "ZFP91", "GSPT1", "SALL4"],
}

_DESCRIPTIONS: dict[str, str] = {
    "cytotoxicity": "NK/CD8 T cytotoxic effector genes (expected up with IMiDs/CELMoDs)",
    "irf4_myc": "IKZF1/IKZF3 → IRF4 → MYC axis in myeloma cells (expected down)",
    "il2_derepression": "IL2 and co-stimulation genes de-repressed in T cells when Ikaros/Aiolos are degraded",
    "neosubstrates": "neosubstrate mRNA: degradation is post-transcriptional, so no fall is expected here",
}


def panels(*, describe: bool = False) -> dict[str, list[str]] | dict[str, str]:
    """The gene panels scored by :func:`drugprint.tl.panels`.

    Parameters
    ----------
    describe
        Return one-line descriptions instead of the gene lists.

    Returns
    -------
    A new dict, panel name → gene symbols (or → description).

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.resources.panels()["cytotoxicity"][:3]
    ['NKG7', 'GZMB', 'GZMA']
    """
    if describe:
        return dict(_DESCRIPTIONS)
    return {k: list(v) for k, v in _PANELS.items()}


#: Cell-type markers of blood and bone marrow (positive markers only), for ``dp.tl.annotate``.
_MARKERS: dict[str, list[str]] = {
    "CD4 T": ["CD3E", "CD3D", "IL7R", "CD4", "CCR7", "LTB", "CD40LG"],
    "CD8 T": ["CD3E", "CD3D", "CD8A", "CD8B", "GZMK", "CCL5"],
    "NK": ["NKG7", "GNLY", "KLRD1", "KLRF1", "NCAM1", "PRF1", "GZMB", "SPON2", "FGFBP2"],
    "B": ["MS4A1", "CD19", "CD79A", "CD79B", "PAX5", "BANK1", "TCL1A", "CD22", "VPREB3"],
    "CD14 Mono": ["CD14", "LYZ", "S100A8", "S100A9", "FCN1", "VCAN"],
    "CD16 Mono": ["FCGR3A", "MS4A7", "LST1", "CDKN1C"],
    "DC": ["FCER1A", "CST3", "CLEC10A", "CD1C"],
    "pDC": ["LILRA4", "IL3RA", "CLEC4C", "TCF4"],
    "Plasma/Myeloma": ["SDC1", "TNFRSF17", "MZB1", "JCHAIN", "XBP1", "PRDM1", "IGKC", "CD38", "SLAMF7"],
    "Platelet": ["PPBP", "PF4", "GP9"],
    "Erythroid": ["HBB", "HBA1", "GYPA"],
    "HSPC": ["CD34", "PROM1", "KIT"],
}


def markers() -> dict[str, list[str]]:
    """Marker genes of blood and bone-marrow cell types, including plasma/myeloma cells.

    Curated from the canonical markers of the Azimuth human PBMC and bone-marrow references (Hao et al. 2021,
    Cell 184:3573) and, for plasma/myeloma cells, CD138/SDC1, BCMA/TNFRSF17, MZB1, JCHAIN, XBP1, PRDM1, CD38 and
    SLAMF7 (Shaffer et al. 2008, Nature 454:226).

    Returns
    -------
    A new dict, cell type → marker genes.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.resources.markers()["Plasma/Myeloma"][:2]
    ['SDC1', 'TNFRSF17']
    """
    return {k: list(v) for k, v in _MARKERS.items()}
