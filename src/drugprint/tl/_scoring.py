"""Score gene sets on signatures with decoupler, block by block of signatures sharing tested genes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from anndata import AnnData

from .._utils import check_choice
from ..resources import harmonise_net, match_net, provenance
from ..resources._harmonise import _strip_version
from ._limma import bh

#: decoupler methods that score a single contrast statistic per observation
METHODS = ("ulm", "mlm", "zscore", "gsea", "viper", "waggr")


def _blocks(values: np.ndarray) -> dict[bytes, np.ndarray]:
    """Rows grouped by their pattern of finite values (rows from one fit share tested genes)."""
    finite = np.isfinite(values)
    keys = [np.packbits(row).tobytes() for row in finite]
    out: dict[bytes, list[int]] = {}
    for i, k in enumerate(keys):
        out.setdefault(k, []).append(i)
    return {k: np.asarray(v) for k, v in out.items()}


def _mean_log2fc(lfc: pd.DataFrame, net: pd.DataFrame) -> pd.DataFrame:
    """Weighted mean log2 fold change of each set's genes: sum(w * lfc) / sum(|w|)."""
    sub = net[net["target"].isin(lfc.columns)]
    w = sub.pivot_table(index="target", columns="source", values="weight", aggfunc="first", fill_value=0.0)
    genes = w.index
    m = lfc[genes].to_numpy() @ w.to_numpy()
    return pd.DataFrame(m / np.abs(w.to_numpy()).sum(axis=0), index=lfc.index, columns=w.columns)


def score_sets(
    sig: AnnData,
    net: pd.DataFrame,
    *,
    method: str,
    layer: str | None,
    tmin: int,
    key_added: str,
    min_fraction: float,
    id_column: str | None = None,
    extra: dict | None = None,
    **kwargs,
) -> None:
    """Run a decoupler method on ``sig`` and write ``obsm[key_added]``, ``_padj``, ``_log2fc`` and ``uns``."""
    import decoupler as dc

    check_choice(method, METHODS, name="method")
    original = net if "weight" in net.columns else net.assign(weight=1.0)
    if not sig.var_names.is_unique:
        dup = sig.var_names[sig.var_names.duplicated()].unique()[:5].tolist()
        raise ValueError(f"Gene names are duplicated (e.g. {dup}); run sig.var_names_make_unique() first.")
    if layer is not None and layer not in sig.layers:
        raise KeyError(
            f"sig.layers has no {layer!r}; present: {list(sig.layers.keys())}. Is this a signatures AnnData?"
        )
    values = np.asarray(sig.layers[layer] if layer is not None else sig.X, dtype=float)
    net, matched_by = harmonise_net(original, sig.var, id_column=id_column)
    stripped = original.assign(target=_strip_version(pd.Index(original["target"].astype(str))))
    report = match_net(stripped, net["input_target"].unique(), min_fraction=min_fraction)
    net = net[["source", "target", "weight"]]
    lfc_all = np.asarray(sig.layers["log2fc"], dtype=float) if "log2fc" in sig.layers else None
    sources = list(dict.fromkeys(net["source"]))
    scores = pd.DataFrame(np.nan, index=sig.obs_names, columns=sources)
    padj = scores.copy()
    effect = scores.copy()
    fn = getattr(dc.mt, method)
    for rows in _blocks(values).values():
        cols = np.flatnonzero(np.isfinite(values[rows]).all(axis=0))
        if cols.size == 0:
            continue
        data = pd.DataFrame(values[np.ix_(rows, cols)], index=sig.obs_names[rows], columns=sig.var_names[cols])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                es, pv = fn(data, net, tmin=tmin, verbose=False, **kwargs)
            except (ValueError, AssertionError) as err:  # no set keeps tmin genes in this block
                if "tmin" in str(err) or "No sources" in str(err) or "targets" in str(err):
                    continue
                raise
        q = pv.to_numpy(dtype=float)
        if method == "mlm":  # decoupler BH-adjusts the p-values of every method but mlm
            q = np.vstack([bh(row) for row in q])
        scores.loc[es.index, es.columns] = es.to_numpy()
        padj.loc[pv.index, pv.columns] = q
        if lfc_all is not None:
            lfc = pd.DataFrame(lfc_all[np.ix_(rows, cols)], index=data.index, columns=data.columns)
            eff = _mean_log2fc(lfc, net[net["source"].isin(es.columns)])
            effect.loc[eff.index, eff.columns] = eff.to_numpy()
    kept = scores.columns[scores.notna().any(axis=0)]
    if len(kept) == 0:
        raise ValueError(
            f"No gene set has at least tmin={tmin} tested genes in any signature; lower tmin or check that "
            f"the net's genes match sig.var_names (overlap per set: {report['n_matched'].to_dict()})."
        )
    sig.obsm[key_added] = scores[kept]
    sig.obsm[f"{key_added}_padj"] = padj[kept]
    if lfc_all is not None:
        sig.obsm[f"{key_added}_log2fc"] = effect[kept]
    sig.uns[key_added] = {
        "method": method,
        "layer": layer if layer is not None else "X",
        "tmin": int(tmin),
        "min_fraction": float(min_fraction),
        "id_column": id_column or "",
        "key_added": key_added,
        "net": provenance(original),
        "matched_by": matched_by,
        "overlap": report.reset_index(),
        **(extra or {}),
    }
