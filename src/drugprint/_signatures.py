"""The signatures contract: what a signatures AnnData holds, and how every tool reads it.

A signatures AnnData (from :func:`drugprint.tl.de`, :func:`drugprint.io.read_de_table` or
:func:`drugprint.tl.concat_signatures`) has one row per group (cell type) × tested thing and one column per gene:

- ``obs["condition"]`` and ``obs["reference"]``: what was tested against what (a coefficient or an omnibus test
  names itself in ``condition``); ``obs["contrast"]``: the test's label;
- the group column, named by ``uns["de"]["groupby"]`` (absent, or ``""``, when the signatures are not grouped:
  every row then belongs to the one group ``"all"``);
- layers :data:`LAYERS` (``log2fc``, ``lfcse``, ``stat``, ``pvalue``, ``padj``, ``base_mean``), and
  ``padj_global`` from :func:`drugprint.tl.de`; untested genes are NaN; ``X`` is ``stat`` with NaN as 0.

Every ``tl``, ``pl`` and ``get`` function reads groups and conditions through this module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

#: Layers of a signatures AnnData, one value per signature × gene (NaN where a gene was not tested).
LAYERS = ("log2fc", "lfcse", "stat", "pvalue", "padj", "base_mean")
#: The label of every row when the signatures have no group column.
ALL = "all"


def check_signatures(sig: object, *, layers: Sequence[str] = (), what: str = "sig") -> AnnData:
    """Check that ``sig`` is a signatures AnnData with ``layers``; return it.

    Raises a TypeError for another type, and a KeyError naming each missing layer and where it comes from.
    """
    if not isinstance(sig, AnnData):
        raise TypeError(
            f"{what} must be a signatures AnnData (from dp.tl.de, dp.io.read_de_table or dp.tl.concat_signatures), "
            f"got {type(sig).__name__}."
        )
    missing = [k for k in layers if k not in sig.layers]
    if missing:
        raise KeyError(
            f"{what}.layers has no {', '.join(map(repr, missing))} (present: {list(sig.layers.keys())}); "
            "signatures from dp.tl.de or dp.io.read_de_table carry them."
        )
    return sig


def group_key(sig: AnnData) -> str | None:
    """The ``obs`` column holding the group (cell type) of each signature, or ``None`` when ungrouped."""
    rec = sig.uns.get("de")
    key = rec.get("groupby") if isinstance(rec, dict) else None
    return key if key and key in sig.obs.columns else None


def resolve_groupby(sig: AnnData, groupby: str | None = None) -> str | None:
    """``groupby`` checked against ``sig.obs``, or the group column of :func:`group_key` when ``None``.

    ``"none"`` compares every signature as one group (returns ``None``).
    """
    if groupby == "none":
        return None
    if groupby is None:
        return group_key(sig)
    if groupby not in sig.obs.columns:
        raise KeyError(
            f"sig.obs has no column {groupby!r} (groupby=); columns: {list(sig.obs.columns)}. "
            "Leave groupby=None for the group column dp.tl.de used."
        )
    return groupby


def group_labels(sig: AnnData, groupby: str | None = None) -> pd.Series:
    """The group of each signature as strings (``"all"`` for every row when ungrouped), indexed by ``obs_names``."""
    key = resolve_groupby(sig, groupby)
    if key is None:
        return pd.Series(ALL, index=sig.obs_names)
    return sig.obs[key].astype(str)


def groups(sig: AnnData, groupby: str | None = None) -> list[str]:
    """The groups (cell types) of signatures, in order of first appearance.

    Parameters
    ----------
    sig
        Signatures (from :func:`drugprint.tl.de`, :func:`drugprint.io.read_de_table` …).
    groupby
        ``obs`` column of groups; default the one :func:`drugprint.tl.de` used (``["all"]`` when ungrouped).

    Returns
    -------
    The group labels as strings.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK", "Myeloma"], method="voom", verbose=False)
    >>> dp.get.groups(sig)
    ['NK', 'Myeloma']
    """
    return list(dict.fromkeys(group_labels(sig, groupby)))


def condition_labels(sig: AnnData) -> pd.Series:
    """The tested condition of each signature as strings (its name when ``obs`` has no ``condition``)."""
    if "condition" in sig.obs:
        return sig.obs["condition"].astype(str)
    return pd.Series(sig.obs_names.astype(str), index=sig.obs_names)


def conditions(sig: AnnData) -> list[str]:
    """The tested conditions of signatures: in category order when ``obs["condition"]`` is categorical.

    Parameters
    ----------
    sig
        Signatures (from :func:`drugprint.tl.de`, :func:`drugprint.io.read_de_table` …).

    Returns
    -------
    The conditions as strings (the signatures' names when ``obs`` has no ``condition``).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    >>> dp.get.conditions(sig)
    ['thalidomide', 'lenalidomide', 'pomalidomide', 'iberdomide', 'mezigdomide']
    """
    if "condition" in sig.obs and isinstance(sig.obs["condition"].dtype, pd.CategoricalDtype):
        present = set(sig.obs["condition"].astype(str))
        return [str(c) for c in sig.obs["condition"].cat.categories if str(c) in present]
    return list(dict.fromkeys(condition_labels(sig)))


def select_rows(
    sig: AnnData,
    groups: Sequence[str] | None = None,
    conditions: Sequence[str] | None = None,
    *,
    skip_missing: bool = False,
) -> np.ndarray:
    """Row positions of ``sig`` in ``groups`` (in the order given) and ``conditions``; all rows for ``None``.

    Unknown names raise a KeyError listing those present, or are left out with ``skip_missing`` (then at
    least one must be present).
    """
    rows = np.arange(sig.n_obs)
    if groups is not None:
        if group_key(sig) is None and set(groups) != {ALL}:
            raise KeyError(f"These signatures have no group column; leave groups=None (got {list(groups)}).")
        label = group_labels(sig).to_numpy()
        present = list(dict.fromkeys(label))
        unknown = [g for g in groups if g not in present]
        if unknown and (not skip_missing or len(unknown) == len(groups)):
            raise KeyError(f"groups {unknown} are not in these signatures; groups present: {present}.")
        rows = np.concatenate([np.flatnonzero(label == g) for g in groups if g in present])
    if conditions is not None:
        label = condition_labels(sig).to_numpy()
        unknown = sorted(set(conditions) - set(label))
        if unknown:
            raise KeyError(f"conditions {unknown} are not in these signatures; present: {sorted(set(label))}.")
        rows = rows[np.isin(label[rows], list(conditions))]
    return rows


def signature_names(sig: AnnData, rows: np.ndarray) -> list[str]:
    """Labels for ``rows`` of one group: their conditions, or their names when a condition repeats."""
    names = condition_labels(sig).iloc[rows].tolist()
    return names if len(set(names)) == len(names) else sig.obs_names[rows].astype(str).tolist()


def called(padj, lfc, alpha: float = 0.05, lfc_threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the genes called up and down: ``padj < alpha`` and log2FC beyond ``±lfc_threshold`` (NaN: neither)."""
    hit = np.nan_to_num(np.asarray(padj, dtype=float), nan=1.0) < alpha
    lfc = np.nan_to_num(np.asarray(lfc, dtype=float))
    return hit & (lfc > lfc_threshold), hit & (lfc < -lfc_threshold)


def deg_counts(sig: AnnData, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Genes up and down at ``padj < alpha`` in each signature (untested genes count as neither)."""
    up, down = called(sig.layers["padj"], sig.layers["log2fc"], alpha)
    return up.sum(axis=1), down.sum(axis=1)
