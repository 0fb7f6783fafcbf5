"""``summary_table``: deprecated here; :func:`drugprint.get.summary_table` reads the tables from stored results."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import pandas as pd
from anndata import AnnData

from .._checks import check_choice
from .._results import REMOVED_IN
from ..get import summary_table as read_summary
from ._compare import compare
from ._potency import potency


def summary_table(
    sig: AnnData,
    kind: Literal["pair", "tiers", "degs"] = "tiers",
    *,
    drugs: tuple[str, str] | None = None,
    groups: Sequence[str] | None = None,
    key: str = "pathways",
    sources: Sequence[str] | None = None,
    alpha: float = 0.05,
    pdata: AnnData | None = None,
    n_pathways: int = 3,
) -> pd.DataFrame:
    """Deprecated: run the tools, then read the table with :func:`drugprint.get.summary_table`.

    This runs :func:`~drugprint.tl.potency` (``alpha``, ``key``) and, for ``kind="pair"``,
    :func:`~drugprint.tl.compare` (with ``pdata``) on a copy of ``sig``, and reads the table from it; ``sig`` is
    not changed. It stops working in drugprint 0.3.

    Parameters
    ----------
    sig
        Signatures with pathways scored (:func:`drugprint.tl.pathways`).
    kind, drugs, groups, sources, n_pathways
        As in :func:`drugprint.get.summary_table`.
    key, alpha
        Scores and significance level of :func:`drugprint.tl.potency` (and of the DEG counts).
    pdata
        Profiles for the effect correlation of :func:`drugprint.tl.compare` (``kind="pair"``).

    Returns
    -------
    The table of :func:`drugprint.get.summary_table`.

    Examples
    --------
    >>> import drugprint as dp, warnings
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     t3 = dp.tl.summary_table(sig, "degs")
    >>> caught[0].category.__name__, list(t3.columns[:2])
    ('DeprecationWarning', ['group', 'condition'])
    """
    warnings.warn(
        f"dp.tl.summary_table is deprecated and stops working in drugprint {REMOVED_IN}: run dp.tl.potency (and "
        "dp.tl.compare for kind='pair'), then read the table with dp.get.summary_table.",
        DeprecationWarning,
        stacklevel=2,
    )
    check_choice(kind, ["pair", "tiers", "degs"], name="kind")
    work = sig
    if kind != "degs":
        work = potency(sig, key, alpha=alpha, copy=True)
    if kind == "pair":
        compare(work, pdata=pdata)
    return read_summary(
        work, kind, drugs=drugs, groups=groups, sources=sources, alpha=alpha, key=key, n_pathways=n_pathways
    )
