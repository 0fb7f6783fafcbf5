"""How much of each set a signature tested: the record that keeps a set's name from claiming more than was read."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._signatures import group_key

#: The columns of the coverage table, after the set's column
COUNTS = ["n_tested", "n_genes", "genes_tested"]


def tested_genes(sig: AnnData, layer: str | None) -> np.ndarray:
    """Signatures × genes: whether the gene was tested in the signature (a finite log2 fold change; else ``layer``)."""
    if "log2fc" in sig.layers:
        values = sig.layers["log2fc"]
    else:
        values = sig.layers[layer] if layer is not None else sig.X
    values = values.toarray() if hasattr(values, "toarray") else values
    return np.isfinite(np.asarray(values, dtype=float))


def coverage_table(sig: AnnData, net: pd.DataFrame, overlap: pd.DataFrame, layer: str | None, column: str):
    """One row per signature × set: its group, ``n_tested`` genes of the set tested there, ``n_genes`` in the set.

    ``net``: the net on ``sig``'s genes (``source``, ``target``, ``input_target``); ``overlap``: per set (index),
    ``n_genes`` in the net as given. ``genes_tested`` lists the tested genes as the net names them, ``"; "``-joined
    in the net's order. Signatures of one fit share their tested genes, so each pattern is read once.
    """
    finite = tested_genes(sig, layer)
    pairs = net.drop_duplicates(["source", "target"]).astype({"input_target": str})
    pos = sig.var_names.get_indexer(pairs["target"])
    sources = pd.Index(overlap.index)
    gk = group_key(sig)
    groups = sig.obs[gk].astype(str).to_numpy() if gk else np.full(sig.n_obs, "all", dtype=object)
    seen: dict[bytes, pd.Series] = {}
    parts = []
    for i, name in enumerate(sig.obs_names):
        key = np.packbits(finite[i]).tobytes()
        if key not in seen:
            hit = pairs[finite[i, pos]]
            seen[key] = hit.groupby("source", sort=False)["input_target"].agg(list).reindex(sources)
        genes = seen[key].map(lambda g: g if isinstance(g, list) else [])
        parts.append(
            pd.DataFrame(
                {
                    "signature": str(name),
                    "group": groups[i],
                    column: sources.astype(str),
                    "n_tested": genes.map(len).to_numpy(dtype=np.int64),
                    "n_genes": overlap["n_genes"].to_numpy(dtype=np.int64),
                    "genes_tested": genes.map("; ".join).to_numpy(dtype=object),
                }
            )
        )
    columns = ["signature", "group", column, *COUNTS]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
