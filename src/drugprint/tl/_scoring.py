"""Score gene sets on signatures: replicate-level set tests, or decoupler's gene-level methods."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats
from threadpoolctl import threadpool_limits

from .._utils import check_choice
from ..resources import harmonise_net, match_net, provenance
from ._stats import settests as _settests
from ._stats.multitest import bh
from ._stats.replicates import Fit, fits

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


def _effect_sizes(sig: AnnData, net: pd.DataFrame, sources: pd.Index, tmin: int) -> np.ndarray:
    """Weighted mean log2 fold change, sum(w * lfc) / sum(|w|), of each set (signatures × ``sources``).

    Over the genes each signature's fit tested; sets with fewer than ``tmin`` of them (counting every row of
    the net) are left NaN.
    """
    out = np.full((sig.n_obs, len(sources)), np.nan)
    lfc = np.asarray(sig.layers["log2fc"], dtype=float)
    # genes and sets in name order, weights by column: the products round as in earlier versions
    target, targets = pd.factorize(net["target"], sort=True)
    source, names = pd.factorize(net["source"], sort=True)
    first = ~net.duplicated(["source", "target"]).to_numpy()  # a gene listed twice in a set counts once
    weight = net["weight"].to_numpy(dtype=float)
    with threadpool_limits(limits=1):  # products too small to share: BLAS threads would only synchronise
        for rows in _blocks(lfc).values():
            cols = np.flatnonzero(np.isfinite(lfc[rows]).all(axis=0))
            pos = sig.var_names[cols].get_indexer(targets)  # each net gene's column among those tested
            tested = (pos[target] >= 0) & (source >= 0)  # (a row without a set name is in no set)
            keep = tested & first & (np.bincount(source[tested], minlength=len(names)) >= tmin)[source]
            if not keep.any():
                continue
            genes, sets = np.unique(target[keep]), np.unique(source[keep])
            w = np.zeros((genes.size, sets.size), order="F")
            w[np.searchsorted(genes, target[keep]), np.searchsorted(sets, source[keep])] = weight[keep]
            means = lfc[np.ix_(rows, cols)].take(pos[genes], axis=1) @ w / np.abs(w).sum(axis=0)
            out[np.ix_(rows, sources.get_indexer(names[sets]))] = means
    return out


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
    """The sets of ``net`` with at least ``tmin`` of the fit's genes, as positions in ``fit.genes`` (net order)."""
    pos = fit.genes.get_indexer(net["target"])
    found = pos >= 0
    pos, weight = pos[found], net["weight"].to_numpy(dtype=float)[found]
    codes, sources = pd.factorize(net["source"].to_numpy()[found])  # in order of appearance
    order = np.argsort(codes, kind="stable")  # rows of each set together, in the net's order
    bounds = np.searchsorted(codes[order], np.arange(len(sources) + 1))
    out = {}
    for source, start, end in zip(sources, bounds[:-1], bounds[1:], strict=True):
        if end - start >= tmin:
            rows = order[start:end]
            out[source] = _settests.SetIndex(pos[rows], weight[rows])
    return out


def _replicate_scores(
    fit: Fit,
    net: pd.DataFrame,
    method: str | None,
    tmin: int,
    level: float,
    inter_gene_cor: float | None,
    tables: dict[str, np.ndarray],
    signatures: pd.Index,
    sources: pd.Index,
) -> dict | None:
    """Set tests, effect intervals and activity residuals of one fit's signatures.

    Writes the rows of the fit's signatures in ``tables`` (``"score"``, ``"padj"``, ``"lo"``, ``"hi"``:
    ``signatures`` × ``sources``), centring the intervals on ``tables["log2fc"]`` when present.
    ``method=None`` runs no set test (a gene-level method scores the signatures); the intervals still come
    from the replicates.
    """
    sets = _fit_sets(fit, net, tmin)
    if not sets:
        return None
    names = list(sets)
    cols = sources.get_indexer(names)
    act = _settests.set_activities(fit.expr, sets)
    tests = _settests.activity_test(act, fit.design, fit.contrasts)
    q = stats.t.ppf((1 + level) / 2, tests[0].df)
    for name, contrast, at in zip(fit.signatures, fit.contrasts, tests, strict=True):
        row = signatures.get_loc(name)
        if method == "activity":
            tables["score"][row, cols], tables["padj"][row, cols] = at.stat, bh(at.pvalue)
        elif method is not None:
            fn = _settests.camera if method == "camera" else _settests.fry
            kw = {"inter_gene_cor": inter_gene_cor} if method == "camera" else {}
            res = fn(fit.expr, sets, fit.design, contrast, weights=fit.weights, **kw)
            tables["score"][row, cols], tables["padj"][row, cols] = res["stat"], bh(res["pvalue"])
        centre = tables["log2fc"][row, cols] if "log2fc" in tables else at.estimate
        tables["lo"][row, cols] = centre - q * at.se
        tables["hi"][row, cols] = centre + q * at.se
    xtx_inv = np.linalg.inv(fit.design.T @ fit.design)
    return {
        "group": fit.group,
        "signatures": np.asarray(fit.signatures, dtype=str),
        "sources": np.asarray(names, dtype=str),
        "residuals": _settests.residuals(act, fit.design),
        "k": fit.contrasts @ xtx_inv @ fit.contrasts.T,
        "df_residual": int(fit.df_residual),
        "activity_padj": np.vstack([bh(at.pvalue) for at in tests]),  # signatures × sources, for few replicates
    }


#: Residual degrees of freedom at or below which camera and fry have almost no power (see LOW_DF_NOTE)
LOW_DF = 3
#: What the null and power simulations of ``bench/bench_small_designs.py`` measured (bench/RESULTS.md)
LOW_DF_NOTE = (
    "With 3 residual degrees of freedom or fewer (2–4 samples per arm of a two-arm study), camera and fry can "
    "hardly call a pathway: on simulated paired studies of 2, 3 and 4 donors per arm they called a 1 log2 shift of "
    "interferon-α in 0–7 % of 40 studies each. The self-contained activity test keeps its error rate there "
    "(null studies with a false call: 3–8 %, 5 % expected) and called that shift in 45 % of the studies at 1 "
    "residual df and 97–100 % at 2–3: its calls are listed in 'activity_calls' (dp.tl.pathways(..., "
    "method='activity') to use it). No call here means the study could not tell, not that nothing moved."
)


def _low_df(sig: AnnData, method: str, tables: dict, sources: pd.Index, resampling: dict, kept_fits) -> pd.DataFrame:
    """One row per signature of a fit with at most ``LOW_DF`` residual df: the calls made, and activity's."""
    rows = []
    for fit in kept_fits:
        rec = resampling.get(fit.key)
        if rec is None or fit.df_residual > LOW_DF:
            continue
        names = pd.Index(rec["sources"])
        for i, signature in enumerate(rec["signatures"]):
            row = sig.obs_names.get_loc(signature)
            cols = sources.get_indexer(names)
            lfc = tables["log2fc"][row, cols] if "log2fc" in tables else np.full(len(names), np.nan)
            hits = np.flatnonzero(rec["activity_padj"][i] < 0.05)
            hits = hits[np.argsort(rec["activity_padj"][i][hits])]
            rows.append(
                {
                    "group": fit.group,
                    "signature": str(signature),
                    "residual_df": int(fit.df_residual),
                    "method": method,
                    "called": int(np.sum(tables["padj"][row, cols] < 0.05)),
                    "called_by_activity": int(hits.size),
                    "activity_calls": "; ".join(f"{names[j]} {'up' if lfc[j] > 0 else 'down'}" for j in hits[:10]),
                }
            )
    columns = ["group", "signature", "residual_df", "method", "called", "called_by_activity", "activity_calls"]
    return pd.DataFrame(rows, columns=columns)


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
    report = match_net(original, net["input_target"].unique(), min_fraction=min_fraction)
    net = net[["source", "target", "weight"]]
    sources = pd.Index(list(dict.fromkeys(net["source"])))
    # signatures × sources: scores, adjusted p-values, interval bounds and (with log2FC) the effect sizes
    tables = {k: np.full((sig.n_obs, len(sources)), np.nan) for k in ("score", "padj", "lo", "hi")}
    if "log2fc" in sig.layers:
        tables["log2fc"] = _effect_sizes(sig, net, sources, tmin)

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
        if "log2fc" in tables:
            tables["log2fc"][sig.obs_names.get_indexer(sorted(omnibus))] = np.nan
    without = [s for s in sig.obs_names if s not in with_replicates and s not in omnibus]
    basis = pd.Series(f"genes ({method}): p-values assume independent genes", index=sig.obs_names)
    basis[sorted(omnibus)] = "not scored: omnibus test"
    resampling = {}
    test = method if method in REPLICATE_METHODS else None  # gene-level: only the intervals from the replicates
    for fit in kept_fits:
        rec = _replicate_scores(fit, net, test, tmin, level, inter_gene_cor, tables, sig.obs_names, sources)
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
        gs = pd.DataFrame(np.nan, index=sub.obs_names, columns=sources)
        gq = gs.copy()
        _decoupler(sub, net, values, gene_method, tmin, gs, gq, **kwargs)
        rows = sig.obs_names.get_indexer(gene_rows)
        tables["score"][rows], tables["padj"][rows] = gs.to_numpy(), gq.to_numpy()
    kept = ~np.isnan(tables["score"]).all(axis=0)
    if not kept.any():
        raise ValueError(
            f"No gene set has at least tmin={tmin} tested genes in any signature; lower tmin or check that "
            f"the net's genes match sig.var_names (overlap per set: {report['n_matched'].to_dict()})."
        )
    outputs = {"score": key_added, "padj": f"{key_added}_padj", "log2fc": f"{key_added}_log2fc"}
    if resampling:
        outputs.update(lo=f"{key_added}_log2fc_lo", hi=f"{key_added}_log2fc_hi")
    for k, obsm_key in outputs.items():
        if k in tables:
            sig.obsm[obsm_key] = pd.DataFrame(tables[k][:, kept], index=sig.obs_names, columns=sources[kept])
    sig.uns[key_added] = {
        "params": {
            "method": method,
            "layer": layer if layer is not None else "X",
            "tmin": int(tmin),
            "level": float(level),
            "inter_gene_cor": "estimated per set" if inter_gene_cor is None else float(inter_gene_cor),
            "min_fraction": float(min_fraction),
            "id_column": id_column or "",
        },
        "null": NULL.get(method, f"gene-level: {GENE_LEVEL_NOTE}"),
        "net": provenance(original),
        "matched_by": matched_by,
        "overlap": report.reset_index(),
        "basis": basis.reset_index().set_axis(["signature", "basis"], axis=1),
        "low_df": _low_df(sig, method, tables, sources, resampling, kept_fits),
        "low_df_note": LOW_DF_NOTE,
        "replicates": resampling,
        **(extra or {}),
    }
