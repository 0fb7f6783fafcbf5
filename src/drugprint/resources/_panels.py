"""Named gene panels read per gene and scored per signature by ``dp.tl.panels``."""

from __future__ import annotations

import re

_PANELS: dict[str, list[str]] = {
    "cytotoxicity": ["NKG7", "GZMB", "GZMA", "GZMH", "PRF1", "GNLY", "IFNG", "TNF"],
    "irf4_myc": ["IRF4", "MYC"],
    "il2_derepression": ["IL2", "IL2RA", "IFNG", "CD69", "TNFRSF9"],
    "neosubstrates": ["IKZF1", "IKZF3", "CSNK1A1", "ZFP91", "GSPT1", "SALL4"],
    # canonical ISGs, as in clinical interferon scores (Rice et al. 2013, Lancet Neurol 12:1159; Schoggins et al.
    # 2011, Nature 472:481); all but IFI6 and IFIT1 are in MSigDB's Hallmark interferon-α response
    "interferon": ["ISG15", "MX1", "IFI6", "IFIT1", "IFIT3", "ISG20", "OAS1", "RSAD2", "IFI44L", "CXCL10"],
}

_DESCRIPTIONS: dict[str, str] = {
    "cytotoxicity": "NK/CD8 T cytotoxic effector genes (expected up with IMiDs/CELMoDs)",
    "irf4_myc": "IKZF1/IKZF3 → IRF4 → MYC axis in myeloma cells (expected down)",
    "il2_derepression": "IL2 and co-stimulation genes de-repressed in T cells when Ikaros/Aiolos are degraded",
    "neosubstrates": "neosubstrate mRNA: degradation is post-transcriptional, so no fall is expected here",
    "interferon": "type I/II interferon-stimulated genes; up with interferon, and with IMiDs' IFN-like response "
    "in myeloma",
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


#: NK and CD8 T cell labels ("NK", "CD56 NK cells", "CD8+ effector memory"; not "NKT-like"), case ignored
_NK_OR_CD8 = r"(^|\s)nk(\s|$)|cd8"

#: The genes to point out in each kind of cell of an IMiD/CELMoD study, by its label (first rule that matches, case
#: ignored): NK and CD8 T cells' cytotoxic programme, CD4 T cells' IL-2 de-repression, and elsewhere (myeloma, B
#: cells) the IRF4–MYC axis with Ikaros and Aiolos, the drugs' first neosubstrates.
_KEY_GENES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (_NK_OR_CD8, ("cytotoxicity",)),
    (r"cd4", ("il2_derepression",)),
    (r"", ("irf4_myc", "IKZF1", "IKZF3")),
)


def key_genes(cell_type: str) -> list[str]:
    """The genes to point out in a cell type of an IMiD/CELMoD study (the report's volcano highlights).

    NK and CD8 T cells: the cytotoxicity panel; CD4 T cells: IL-2 de-repression; other cells (myeloma, B cells):
    the IRF4–MYC axis with IKZF1 and IKZF3. The cell type is matched on its label (``"NK"``, ``"CD8 T"``,
    ``"CD4+ T cells"``), ignoring case.

    Parameters
    ----------
    cell_type
        The cell type's label.

    Returns
    -------
    Gene symbols: those of the suited panels (:func:`panels`) and single genes, in order.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.resources.key_genes("NK")[:3]
    ['NKG7', 'GZMB', 'GZMA']
    >>> dp.resources.key_genes("Myeloma")
    ['IRF4', 'MYC', 'IKZF1', 'IKZF3']
    """
    low = str(cell_type).casefold()
    names = next(names for pattern, names in _KEY_GENES if re.search(pattern, low))
    return [gene for name in names for gene in _PANELS.get(name, [name])]


#: The panels suited to each kind of cell, by its label (every rule that matches adds its panel, in this order, case
#: ignored), and whether the panel reads IMiD/CELMoD biology (offered only in a study of such a compound). Cytotoxicity
#: and interferon are generic biology; IL-2 de-repression, the IRF4–MYC axis and the neosubstrates' mRNA (expected
#: unchanged: degradation is post-transcriptional) are what Ikaros/Aiolos degradation predicts.
_PANELS_FOR: tuple[tuple[str, str, bool], ...] = (
    (_NK_OR_CD8, "cytotoxicity", False),
    (r"cd4", "il2_derepression", True),
    (r"myeloma|plasma|(^|[^a-z0-9])b([^a-z0-9]|$)", "irf4_myc", True),
    (r"", "interferon", False),
    (r"", "neosubstrates", True),
)


def panels_for(cell_type: str, *, imid: bool = True) -> list[str]:
    """The panels (:func:`panels`) worth reading in a cell type.

    NK and CD8 T cells: cytotoxicity; CD4 T cells: IL-2 de-repression; myeloma, plasma and B cells: the IRF4–MYC
    axis; every cell type: interferon and, in an IMiD/CELMoD study, the neosubstrates' mRNA (expected unchanged).
    Without an IMiD/CELMoD compound (``imid=False``; see :func:`is_imid_study`) only the panels of generic biology
    are offered: interferon, and cytotoxicity in NK and CD8 T cells. The cell type is matched on its label
    (``"NK"``, ``"CD8 T"``, ``"CD4+ T cells"``, ``"Plasma/Myeloma"``, ``"B"``), ignoring case.

    Parameters
    ----------
    cell_type
        The cell type's label.
    imid
        Whether the study has an IMiD/CELMoD compound; ``False`` leaves out the panels specific to them.

    Returns
    -------
    Panel names, the cell type's own panel first.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.resources.panels_for("NK")
    ['cytotoxicity', 'interferon', 'neosubstrates']
    >>> dp.resources.panels_for("Myeloma", imid=False)
    ['interferon']
    """
    low = str(cell_type).casefold()
    return [name for pattern, name, specific in _PANELS_FOR if re.search(pattern, low) and (imid or not specific)]


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
