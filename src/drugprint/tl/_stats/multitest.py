"""Multiple testing: Benjamini–Hochberg adjusted p-values (Benjamini & Hochberg 1995, JRSS B 57:289)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values; NaN stays NaN."""
    out = np.full_like(p, np.nan, dtype=float)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out
