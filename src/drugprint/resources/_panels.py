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
