"""Gene-level scoring of signatures: decoupler's methods, and each set's mean log2 fold change (its effect size)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from anndata import AnnData
from threadpoolctl import threadpool_limits

from .._stats.multitest import bh


def blocks(values: np.ndarray) -> dict[bytes, np.ndarray]:
    """Rows grouped by their pattern of finite values (rows from one fit share tested genes)."""
    finite = np.isfinite(values)
    keys = [np.packbits(row).tobytes() for row in finite]
    out: dict[bytes, list[int]] = {}
    for i, k in enumerate(keys):
        out.setdefault(k, []).append(i)
    return {k: np.asarray(v) for k, v in out.items()}


def effect_sizes(sig: AnnData, net: pd.DataFrame, sources: pd.Index, need: pd.Series) -> np.ndarray:
    """Weighted mean log2 fold change, sum(w * lfc) / sum(|w|), of each set (signatures × ``sources``).

    Over the genes each signature's fit tested; sets with fewer of them (counting every row of the net) than
    they ``need`` (per set: :func:`~drugprint.tl._sets.net.minimum`) are left NaN.
    """
    out = np.full((sig.n_obs, len(sources)), np.nan)
    lfc = np.asarray(sig.layers["log2fc"], dtype=float)
    # genes and sets in name order, weights by column: the products round as in earlier versions
    target, targets = pd.factorize(net["target"], sort=True)
    source, names = pd.factorize(net["source"], sort=True)
    least = need.reindex(names).to_numpy()
    first = ~net.duplicated(["source", "target"]).to_numpy()  # a gene listed twice in a set counts once
    weight = net["weight"].to_numpy(dtype=float)
    with threadpool_limits(limits=1):  # products too small to share: BLAS threads would only synchronise
        for rows in blocks(lfc).values():
            cols = np.flatnonzero(np.isfinite(lfc[rows]).all(axis=0))
            pos = sig.var_names[cols].get_indexer(targets)  # each net gene's column among those tested
            tested = (pos[target] >= 0) & (source >= 0)  # (a row without a set name is in no set)
            keep = tested & first & (np.bincount(source[tested], minlength=len(names)) >= least)[source]
            if not keep.any():
                continue
            genes, sets = np.unique(target[keep]), np.unique(source[keep])
            w = np.zeros((genes.size, sets.size), order="F")
            w[np.searchsorted(genes, target[keep]), np.searchsorted(sets, source[keep])] = weight[keep]
            means = lfc[np.ix_(rows, cols)].take(pos[genes], axis=1) @ w / np.abs(w).sum(axis=0)
            out[np.ix_(rows, sources.get_indexer(names[sets]))] = means
    return out


def decoupler_scores(sig, net, values, method, tmin, need, scores, padj, **kwargs) -> None:
    """Run a decoupler gene-level method on each block of signatures sharing tested genes.

    Sets with fewer tested genes in a block than they ``need`` (per set, at least ``tmin``) are left out of it.
    """
    import decoupler as dc

    fn = getattr(dc.mt, method)
    for rows in blocks(values).values():
        cols = np.flatnonzero(np.isfinite(values[rows]).all(axis=0))
        if cols.size == 0:
            continue
        data = pd.DataFrame(values[np.ix_(rows, cols)], index=sig.obs_names[rows], columns=sig.var_names[cols])
        block_net = net
        if (need > tmin).any():  # a share of each set's genes is needed too: keep the sets that have it here
            n_tested = net[net["target"].isin(data.columns)].groupby("source", sort=False).size()
            block_net = net[net["source"].isin(n_tested.index[n_tested >= need.reindex(n_tested.index)])]
            if block_net.empty:
                continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                es, pv = fn(data, block_net, tmin=tmin, verbose=False, **kwargs)
            except (ValueError, AssertionError) as err:  # no set keeps tmin genes in this block
                if "tmin" in str(err) or "No sources" in str(err) or "targets" in str(err):
                    continue
                raise
        q = pv.to_numpy(dtype=float)
        if method == "mlm":  # decoupler BH-adjusts the p-values of every method but mlm
            q = np.vstack([bh(row) for row in q])
        scores.loc[es.index, es.columns] = es.to_numpy()
        padj.loc[pv.index, pv.columns] = q
