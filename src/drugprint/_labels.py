"""Readable labels for gene-set names, shared by the figures and the report."""

from __future__ import annotations

import re

_WORDS = {"TNFA": "TNFα", "NFKB": "NF-κB", "P53": "p53", "ALPHA": "α", "GAMMA": "γ", "BETA": "β", "DN": "down"}
_KEEP = {
    "MYC",
    "E2F",
    "G2M",
    "DNA",
    "UV",
    "IL2",
    "IL6",
    "JAK",
    "STAT3",
    "STAT5",
    "KRAS",
    "MTORC1",
    "PI3K",
    "AKT",
    "MTOR",
    "TGF",
    "WNT",
    "ISG",
    "IRF4",
    "NK",
    "T",
    "UP",
    "V1",
    "V2",
}


#: The shipped panels' names as read in a sentence.
_PANEL_NAMES = {"irf4_myc": "IRF4–MYC", "il2_derepression": "IL-2 de-repression"}


def pretty(name: str) -> str:
    """``HALLMARK_TNFA_SIGNALING_VIA_NFKB`` → ``TNFα signaling via NF-κB``; ``irf4_myc`` → ``IRF4–MYC``."""
    if str(name) in _PANEL_NAMES:
        return _PANEL_NAMES[str(name)]
    if "_" not in str(name):
        return str(name)
    words = re.sub(r"^(HALLMARK|IMID)_", "", str(name)).split("_")
    out = " ".join(_WORDS.get(w, w if w in _KEEP else w.lower()) for w in words)
    return out[:1].upper() + out[1:] if not out.startswith("p53") else out
