"""``deg_overlap``: genes significant for every drug, for some, or for one only (UpSet-ready)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import doc_params, key_added
from .._results import store
from .._signatures import check_signatures, group_labels, resolve_groupby, signature_names


@doc_params(
    key_added=key_added(
        "overlap_table",
        ", the UpSet ``intersections`` (group, direction, the ``conditions`` joined by `` & ``, ``n_genes``)",
    )
)
def deg_overlap(
    sig: AnnData,
    *,
    groupby: str | None = None,
    alpha: float = 0.05,
    lfc_threshold: float = 0.0,
    key_added: str = "deg_overlap",
    copy: bool = False,
) -> AnnData | None:
    """Per group and direction, which conditions call each gene significant.

    The table (:func:`drugprint.get.overlap_table`) has one row per group × direction (``"up"``/``"down"``) ×
    gene called at least once: a boolean column per condition (per signature, by its ``obs_names``, when a group
    repeats a condition, e.g. at several doses), ``n_conditions`` and ``category`` (``"all"``, ``"some"`` or
    ``"only <condition>"``). It is stored long, one row per gene × condition with ``called``, since condition
    labels may hold characters such as ``/`` that ``write_h5ad`` and ``write_zarr`` refuse as column names.

    Parameters
    ----------
    {sig}
    {groupby}
    alpha, lfc_threshold
        A gene is called for a condition when ``padj < alpha`` and ``|log2FC| > lfc_threshold``.
    {key_added}
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.deg_overlap(sig)
    >>> tab = dp.get.overlap_table(sig)
    >>> sorted(tab["direction"].unique())
    ['down', 'up']
    """
    check_signatures(sig, layers=("padj", "log2fc"))
    gk = resolve_groupby(sig, groupby)
    group_of = group_labels(sig, gk or "none")
    padj = np.nan_to_num(np.asarray(sig.layers["padj"], dtype=float), nan=1.0)
    lfc = np.nan_to_num(np.asarray(sig.layers["log2fc"], dtype=float))
    frames, calls, counts = [], [], []
    for group in dict.fromkeys(group_of):
        idx = np.flatnonzero((group_of == group).to_numpy())
        names = signature_names(sig, idx)  # by name when one drug stands at several doses or times
        for direction, sign in (("up", 1), ("down", -1)):
            called = (padj[idx] < alpha) & (sign * lfc[idx] > lfc_threshold)
            genes = np.flatnonzero(called.any(axis=0))
            if genes.size == 0:
                continue
            member = pd.DataFrame(called[:, genes].T, columns=names, index=sig.var_names[genes])
            n = member.sum(axis=1)
            category = np.where(n == len(names), "all", "some").astype(object)
            single = n == 1
            category[single.to_numpy()] = ["only " + member.columns[r.argmax()] for r in member[single].to_numpy()]
            df = member.assign(n_conditions=n.to_numpy(), category=category).rename_axis("gene").reset_index()
            df.insert(0, "direction", direction)
            df.insert(0, "group", group)
            frames.append(df)
            long = member.stack().rename("called").rename_axis(["gene", "condition"]).reset_index()
            calls.append(long.merge(df[["group", "direction", "gene", "n_conditions", "category"]], on="gene"))
            cols = np.asarray(member.columns)
            vc = pd.Series([" & ".join(cols[r]) for r in member.to_numpy()]).value_counts()
            counts += [(group, direction, k, int(v)) for k, v in vc.items()]
    out = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["group", "direction", "gene", "n_conditions", "category"])
    )
    long_cols = ["group", "direction", "gene", "condition", "called", "n_conditions", "category"]
    long = pd.concat(calls, ignore_index=True)[long_cols] if calls else pd.DataFrame(columns=long_cols)
    entries = {
        "table": long.astype({c: str for c in ("group", "direction", "gene", "condition", "category")}),
        "intersections": pd.DataFrame(counts, columns=["group", "direction", "conditions", "n_genes"]),
    }
    params = {"alpha": alpha, "lfc_threshold": lfc_threshold, "groupby": gk or ""}
    return store(sig, key_added, entries, params, copy=copy, tool="deg_overlap", getter="overlap_table", returned=out)
