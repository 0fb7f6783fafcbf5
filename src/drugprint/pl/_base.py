"""What every drugprint figure shares: an optional ``ax``, ``figsize``, ``save``; the Figure is returned."""

from __future__ import annotations

import re
from os import PathLike

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: The pathways a drug-comparison figure shows first (the seed's questions), when they were scored.
KEY_PATHWAYS = (
    "HALLMARK_INTERFERON_ALPHA_RESPONSE",
    "HALLMARK_INTERFERON_GAMMA_RESPONSE",
    "HALLMARK_P53_PATHWAY",
    "HALLMARK_TNFA_SIGNALING_VIA_NFKB",
    "HALLMARK_APOPTOSIS",
    "HALLMARK_G2M_CHECKPOINT",
    "HALLMARK_E2F_TARGETS",
    "HALLMARK_MYC_TARGETS_V1",
    "HALLMARK_INFLAMMATORY_RESPONSE",
    "HALLMARK_REACTIVE_OXYGEN_SPECIES_PATHWAY",
)


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


def pretty(name: str) -> str:
    """``HALLMARK_TNFA_SIGNALING_VIA_NFKB`` → ``TNFα signaling via NF-κB``."""
    if "_" not in str(name):
        return str(name)
    words = re.sub(r"^(HALLMARK|IMID)_", "", str(name)).split("_")
    out = " ".join(_WORDS.get(w, w if w in _KEEP else w.lower()) for w in words)
    return out[:1].upper() + out[1:] if not out.startswith("p53") else out


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """A new figure and axes, or the figure of ``ax``."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def finish(fig: Figure, save: str | PathLike | None) -> Figure:
    """Save when asked, and return the figure (never shown here)."""
    if save is not None:
        fig.savefig(save, dpi=150, bbox_inches="tight")
    return fig
