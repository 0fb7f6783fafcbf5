"""``deg_overlap``: genes significant for every drug, for some, or for one only (UpSet-ready)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ._potency import _group_key


def deg_overlap(
    sig: AnnData,
    *,
    groupby: str | None = None,
    alpha: float = 0.05,
    lfc_threshold: float = 0.0,
    key_added: str | None = "deg_overlap",
) -> pd.DataFrame:
    """Per group and direction, which conditions call each gene significant.

    Parameters
    ----------
    sig
        Signatures from :func:`drugprint.tl.de`.
    groupby
        ``obs`` column of groups; default the one used by :func:`~drugprint.tl.de`.
    alpha, lfc_threshold
        A gene is called for a condition when ``padj < alpha`` and ``|log2FC| > lfc_threshold``.
    key_added
        Store the table and the UpSet intersection counts in ``sig.uns[key_added]``. The table is stored long
        (``table``: one row per group × direction × gene × condition, ``called`` saying whether that condition
        calls the gene, with ``n_conditions`` and ``category``), since condition labels may hold characters
        such as ``/`` that ``write_h5ad`` and ``write_zarr`` refuse as column names.

    Returns
    -------
    One row per group × direction (``"up"``/``"down"``) × gene called at least once: a boolean column per
    condition (per signature, by its ``obs_names``, when a group repeats a condition, e.g. at several doses),
    ``n_conditions`` and ``category`` (``"all"``, ``"some"`` or ``"only <condition>"``).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> tab = dp.tl.deg_overlap(sig)
    >>> sorted(tab["direction"].unique())
    ['down', 'up']
    """
    if "padj" not in sig.layers or "log2fc" not in sig.layers:
        raise KeyError("sig needs layers 'padj' and 'log2fc' (signatures from dp.tl.de or dp.io.read_de_table).")
    gk = groupby or _group_key(sig)
    group_of = sig.obs[gk].astype(str) if gk else pd.Series("all", index=sig.obs_names)
    cond = sig.obs["condition"].astype(str) if "condition" in sig.obs else pd.Series(sig.obs_names, sig.obs_names)
    padj = np.nan_to_num(np.asarray(sig.layers["padj"], dtype=float), nan=1.0)
    lfc = np.nan_to_num(np.asarray(sig.layers["log2fc"], dtype=float))
    frames, calls, counts = [], [], []
    for group in dict.fromkeys(group_of):
        idx = np.flatnonzero((group_of == group).to_numpy())
        names = cond.iloc[idx].tolist()
        if len(set(names)) < len(names):  # one drug at several doses or times: name the signatures
            names = sig.obs_names[idx].tolist()
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
    if key_added:
        long_cols = ["group", "direction", "gene", "condition", "called", "n_conditions", "category"]
        long = pd.concat(calls, ignore_index=True)[long_cols] if calls else pd.DataFrame(columns=long_cols)
        sig.uns[key_added] = {
            "table": long.astype({c: str for c in ("group", "direction", "gene", "condition", "category")}),
            "intersections": pd.DataFrame(counts, columns=["group", "direction", "conditions", "n_genes"]),
            "params": {"alpha": alpha, "lfc_threshold": lfc_threshold, "groupby": gk or ""},
        }
    return out
