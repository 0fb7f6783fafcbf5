"""Library sizes that say a matrix was normalised (TPM, CPM, CP10k, scaled to a common depth), rounded or not.

Raw counts of different samples (or cells) never sum to the same total: sequencing depth varies by tens of percent
between libraries. Normalised values do, by construction, and rounding them back to integers does not change that.
Count models (DESeq2, voom) treat such values as counts and give wrong answers without a word, so the readers and
tools that take counts check the totals here.
"""

from __future__ import annotations

import numpy as np

# Normalisation targets and what sums to them
TARGETS = {
    1e4: "CP10k, as scanpy's normalize_total(target_sum=1e4)",
    1e5: "counts per 100,000",
    1e6: "CPM or TPM",
}
# Rounding normalised values to integers moves a cell's total by up to ~2 % (cells of few, mostly unit counts, whose
# rounding errors lean one way: Kang et al.'s PBMCs on 1,267 genes, CP10k rounded: 0.979–1.021); raw depths never
# agree that closely across many libraries. A few bulk samples may be sequenced to nearly equal depth, and their
# normalised values have totals exact to ~1e-5 (rounding TPM of 20,000 genes), so with fewer than 20 libraries
# the totals must agree to 0.1 %.
TOLERANCE = 0.03
FEW, TOLERANCE_FEW = 20, 0.001
MIN_DEPTH = 100  # a common total below this says nothing (toy data: three cells of one count each)


def normalised_reason(totals: np.ndarray, *, cells: bool = False, cell_means: bool = False) -> str | None:
    """Why these library sizes look normalised, or ``None`` when they look like raw counts.

    Normalised: every non-zero total within 3 % of a normalisation target (10,000, 100,000 or 1,000,000), or, with
    three libraries or more (20 cells), of their median (scaled to a common depth; a median of 100 counts or more);
    with fewer than 20 libraries, within 0.1 %.
    For ``cells`` (100 or more), also when the central 90 % of the totals lie within 20 % of their median: scaled to
    the median depth and rounded, cells of a thousand counts spread that much (Kang et al.'s PBMCs: 0.91–1.11),
    while raw cell depths span several-fold (0.52–2.91). For ``cell_means`` (a pseudobulk profile's total per cell),
    a normalisation target is matched within 3 % whatever their number: averages of cells that each sum to the
    target, give or take their rounding.

    Parameters
    ----------
    totals
        The library sizes (column or row sums of the counts).
    cells
        The totals are of single cells.
    cell_means
        The totals are pseudobulk profiles' totals divided by their numbers of cells.

    Returns
    -------
    A sentence naming the totals found, or ``None``.

    Examples
    --------
    >>> normalised_reason(np.array([1e6, 1e6 + 3, 1e6 - 2])).split(":")[0]
    'every library sums to 1,000,000 (± 0.1 %)'
    >>> normalised_reason(np.array([2.1e6, 3.4e6, 1.8e6])) is None
    True
    """
    t = np.asarray(totals, dtype=float)
    t = t[np.isfinite(t) & (t > 0)]
    if t.size == 0:
        return None
    tolerance = TOLERANCE if t.size >= FEW else TOLERANCE_FEW
    near_target = TOLERANCE if cell_means else tolerance
    for target, name in TARGETS.items():
        if np.all(np.abs(t / target - 1) < near_target):
            return f"every library sums to {target:,.0f} (± {100 * near_target:g} %): {name}"
    if np.median(t) < MIN_DEPTH:  # a few counts: equal totals by chance (tests, toy data)
        return None
    if t.size >= (FEW if cells else 3) and np.all(np.abs(t / np.median(t) - 1) < tolerance):
        return (
            f"all {t.size} libraries sum to {np.median(t):,.0f} (± {100 * tolerance:g} %): values scaled to a "
            "common depth (raw counts vary in depth between libraries)"
        )
    if cells and t.size >= 100:
        low, high = np.quantile(t / np.median(t), [0.05, 0.95])
        if low > 0.8 and high < 1.2:
            return (
                f"90 % of the {t.size} cells sum to within 20 % of {np.median(t):,.0f} ({low:.2f}–{high:.2f} of it): "
                "values scaled to a common depth and rounded (raw depths of cells span several-fold)"
            )
    return None


def check_library_sizes(
    totals: np.ndarray, *, what: str, fix: str, allow: bool, cells: bool = False, cell_means: bool = False
) -> None:
    """Raise a ValueError naming the totals when they look normalised (:func:`normalised_reason`), unless ``allow``.

    Parameters
    ----------
    totals
        The library sizes.
    what
        What the totals are of, e.g. ``"the columns of counts.csv"``.
    fix
        How to fix it, for the message.
    allow
        The caller's override (``allow_normalized=True``): no check.
    cells, cell_means
        What the totals are (:func:`normalised_reason`).
    """
    if allow:
        return
    reason = normalised_reason(totals, cells=cells, cell_means=cell_means)
    if reason is not None:
        raise ValueError(
            f"{what} look normalised, not raw counts: {reason}. Count models need the raw counts, whose depth "
            f"differences they estimate themselves. {fix} If the counts really are raw and equal in depth (e.g. "
            "downsampled to a common total), pass allow_normalized=True."
        )
