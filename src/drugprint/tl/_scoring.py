"""Score gene sets on signatures: replicate-level set tests, or decoupler's gene-level methods."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from .._utils import check_choice
from ..resources import harmonise_net, match_net, provenance
from ..resources._harmonise import _strip_version
from . import _settests
from ._limma import bh
from ._replicates import Fit, fits

#: tests with the samples as replicates (need the per-profile data kept by dp.tl.de)
REPLICATE_METHODS = ("camera", "fry", "activity")
#: decoupler methods that score a single contrast statistic per observation (genes as the units)
GENE_METHODS = ("ulm", "mlm", "zscore", "gsea", "viper", "waggr")
METHODS = REPLICATE_METHODS + GENE_METHODS
NULL = {
    "camera": "competitive: the set's genes move more than the other tested genes (inter-gene correlation "
    "estimated from the residuals)",
    "fry": "self-contained: the set's genes move (mean standardised effect)",
    "activity": "self-contained: the set's mean log-expression moves",
}
GENE_LEVEL_NOTE = (
    "p-values treat genes as independent; genes of a programme co-vary between samples in real data, so "
    "these p-values are too small: use them to describe, not to call"
)


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


def _decoupler(sig, net, values, method, tmin, scores, padj, **kwargs) -> None:
    """Run a decoupler gene-level method on each block of signatures sharing tested genes."""
    import decoupler as dc

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


def _fit_sets(fit: Fit, net: pd.DataFrame, tmin: int) -> dict[str, _settests.SetIndex]:
    pos = pd.Series(np.arange(len(fit.genes)), index=fit.genes)
    sub = net[net["target"].isin(pos.index)]
    out = {}
    for source, d in sub.groupby("source", sort=False):
        if len(d) >= tmin:
            out[source] = _settests.SetIndex(pos[d["target"]].to_numpy(), d["weight"].to_numpy(dtype=float))
    return out


def _replicate_scores(fit: Fit, net, method, tmin, level, inter_gene_cor, scores, padj, lo, hi, effect) -> dict | None:
    """Set tests, effect intervals and activity residuals of one fit's signatures.

    ``method=None`` runs no set test (a gene-level method scores the signatures); the intervals still come
    from the replicates.
    """
    sets = _fit_sets(fit, net, tmin)
    if not sets:
        return None
    names = list(sets)
    act = _settests.set_activities(fit.expr, sets)
    tests = _settests.activity_test(act, fit.design, fit.contrasts)
    q = stats.t.ppf((1 + level) / 2, tests[0].df)
    for name, contrast, at in zip(fit.signatures, fit.contrasts, tests, strict=True):
        if method == "activity":
            scores.loc[name, names], padj.loc[name, names] = at.stat, bh(at.pvalue)
        elif method is not None:
            fn = _settests.camera if method == "camera" else _settests.fry
            kw = {"inter_gene_cor": inter_gene_cor} if method == "camera" else {}
            res = fn(fit.expr, sets, fit.design, contrast, weights=fit.weights, **kw)
            scores.loc[name, names], padj.loc[name, names] = res["stat"], bh(res["pvalue"])
        centre = effect.loc[name, names].to_numpy(dtype=float) if effect is not None else at.estimate
        lo.loc[name, names] = centre - q * at.se
        hi.loc[name, names] = centre + q * at.se
    xtx_inv = np.linalg.inv(fit.design.T @ fit.design)
    return {
        "group": fit.group,
        "signatures": np.asarray(fit.signatures, dtype=str),
        "sources": np.asarray(names, dtype=str),
        "residuals": _settests.residuals(act, fit.design),
        "k": fit.contrasts @ xtx_inv @ fit.contrasts.T,
        "df_residual": int(fit.df_residual),
    }


#: Stands in for "/" in set names (U+2215, reads the same; "/" cannot be part of an HDF5 or zarr key)
SLASH = "\u2215"


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
    level: float = 0.95,
    inter_gene_cor: float | None = None,
    extra: dict | None = None,
    **kwargs,
) -> None:
    """Score ``net`` on ``sig``; write ``obsm[key_added]``, ``_padj``, ``_log2fc``, ``_log2fc_lo/_hi``, ``uns``.

    Replicate methods need ``sig.uns["de"]["replicates"]``; signatures without it are scored with ``ulm``
    and a warning. Effect intervals come from the replicates whenever they are kept, whatever the method.
    """
    check_choice(method, METHODS, name="method")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}.")
    original = net if "weight" in net.columns else net.assign(weight=1.0)
    slashed = sorted({str(x) for x in original["source"] if "/" in str(x)})
    if slashed:  # set names become obsm column keys, which HDF5 and zarr refuse to contain "/"
        original = original.assign(source=original["source"].astype(str).str.replace("/", SLASH, regex=False))
        warnings.warn(
            f"{len(slashed)} gene-set name(s) contain '/', which .h5ad/.zarr keys cannot hold (e.g. {slashed[0]!r}); "
            f"stored with '{SLASH}' (division slash) instead.",
            UserWarning,
            stacklevel=3,
        )
    if not sig.var_names.is_unique:
        dup = sig.var_names[sig.var_names.duplicated()].unique()[:5].tolist()
        raise ValueError(f"Gene names are duplicated (e.g. {dup}); run sig.var_names_make_unique() first.")
    if layer is not None and layer not in sig.layers:
        raise KeyError(
            f"sig.layers has no {layer!r}; present: {list(sig.layers.keys())}. Is this a signatures AnnData?"
        )
    net, matched_by = harmonise_net(original, sig.var, id_column=id_column)
    if net.empty:  # say which identifiers the data has, not the (empty) matched ones
        match_net(original, sig.var_names, min_fraction=min_fraction)
    stripped = original.assign(target=_strip_version(pd.Index(original["target"].astype(str))))
    report = match_net(stripped, net["input_target"].unique(), min_fraction=min_fraction)
    net = net[["source", "target", "weight"]]
    sources = list(dict.fromkeys(net["source"]))
    empty = pd.DataFrame(np.nan, index=sig.obs_names, columns=sources)
    scores, padj, lo, hi = empty.copy(), empty.copy(), empty.copy(), empty.copy()
    effect = None
    if "log2fc" in sig.layers:
        effect = empty.copy()
        lfc_all = np.asarray(sig.layers["log2fc"], dtype=float)
        for rows in _blocks(lfc_all).values():
            cols = np.flatnonzero(np.isfinite(lfc_all[rows]).all(axis=0))
            if cols.size == 0:
                continue
            lfc = pd.DataFrame(lfc_all[np.ix_(rows, cols)], index=sig.obs_names[rows], columns=sig.var_names[cols])
            sub = net[net["target"].isin(lfc.columns)]
            n_in = sub.groupby("source").size()
            eff = _mean_log2fc(lfc, sub[sub["source"].isin(n_in.index[n_in >= tmin])])
            effect.loc[eff.index, eff.columns] = eff.to_numpy()

    kept_fits = fits(sig)
    with_replicates = {s for f in kept_fits for s in f.signatures}
    omnibus = set(sig.obs_names[sig.obs["test"].astype(str) == "omnibus"]) if "test" in sig.obs else set()
    if omnibus:  # an F or likelihood-ratio statistic has no direction to score sets on
        warnings.warn(
            f"{len(omnibus)} omnibus signature(s) (e.g. {sorted(omnibus)[0]!r}) are left unscored: their F or "
            "likelihood-ratio statistics say that genes moved, not in which direction. Test sets on the "
            "contrasts or coefficients instead.",
            UserWarning,
            stacklevel=3,
        )
        if effect is not None:
            effect.loc[sorted(omnibus)] = np.nan
    without = [s for s in sig.obs_names if s not in with_replicates and s not in omnibus]
    basis = pd.Series(f"genes ({method}): p-values assume independent genes", index=sig.obs_names)
    basis[sorted(omnibus)] = "not scored: omnibus test"
    resampling = {}
    test = method if method in REPLICATE_METHODS else None  # gene-level: only the intervals from the replicates
    for fit in kept_fits:
        rec = _replicate_scores(fit, net, test, tmin, level, inter_gene_cor, scores, padj, lo, hi, effect)
        if rec is not None:
            resampling[fit.key] = rec
    gene_method = method
    if method in REPLICATE_METHODS:
        basis[list(with_replicates)] = f"replicates ({method})"
        if without:
            gene_method = "ulm"
            basis[without] = "genes (ulm): p-values assume independent genes"
            warnings.warn(
                f"{len(without)} of {sig.n_obs} signatures (e.g. {without[0]!r}) carry no per-profile data "
                f"(a published table, or signatures not made by dp.tl.de), so method={method!r} cannot treat "
                "samples as replicates; they were scored with decoupler's ulm, whose p-values assume "
                "independent genes.",
                UserWarning,
                stacklevel=3,
            )
    gene_rows = without if method in REPLICATE_METHODS else [s for s in sig.obs_names if s not in omnibus]
    if gene_rows:
        sub = sig[gene_rows]
        values = np.asarray(sub.layers[layer] if layer is not None else sub.X, dtype=float)
        gs, gq = empty.loc[gene_rows].copy(), empty.loc[gene_rows].copy()
        _decoupler(sub, net, values, gene_method, tmin, gs, gq, **kwargs)
        scores.loc[gene_rows], padj.loc[gene_rows] = gs, gq
    kept = scores.columns[scores.notna().any(axis=0)]
    if len(kept) == 0:
        raise ValueError(
            f"No gene set has at least tmin={tmin} tested genes in any signature; lower tmin or check that "
            f"the net's genes match sig.var_names (overlap per set: {report['n_matched'].to_dict()})."
        )
    sig.obsm[key_added] = scores[kept]
    sig.obsm[f"{key_added}_padj"] = padj[kept]
    if effect is not None:
        sig.obsm[f"{key_added}_log2fc"] = effect[kept]
    if resampling:
        sig.obsm[f"{key_added}_log2fc_lo"] = lo[kept]
        sig.obsm[f"{key_added}_log2fc_hi"] = hi[kept]
    sig.uns[key_added] = {
        "method": method,
        "null": NULL.get(method, f"gene-level: {GENE_LEVEL_NOTE}"),
        "layer": layer if layer is not None else "X",
        "tmin": int(tmin),
        "level": float(level),
        "inter_gene_cor": "estimated per set" if inter_gene_cor is None else float(inter_gene_cor),
        "min_fraction": float(min_fraction),
        "id_column": id_column or "",
        "key_added": key_added,
        "net": provenance(original),
        "matched_by": matched_by,
        "overlap": report.reset_index(),
        "basis": basis.reset_index().set_axis(["signature", "basis"], axis=1),
        "replicates": resampling,
        **(extra or {}),
    }
