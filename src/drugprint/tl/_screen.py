"""Screens: the hits of each cell line (``screen_hits``) and the mechanism families of the compounds.

A screen's signatures are many (cell line × compound); these tools summarise them per compound. A hit is a
calibrated call per signature (enough genes called by the signature's own Benjamini–Hochberg adjustment);
``cluster_signatures`` groups the hit compounds by their fingerprints across lines with scanpy's PCA,
k-nearest-neighbour graph and Leiden clustering.
"""

from __future__ import annotations

import numbers
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._anndata import categories
from .._checks import check_choice
from .._docs import doc_params
from .._env import optional_import
from .._results import store, stored
from .._signatures import called, check_signatures, condition_labels, conditions, group_labels, resolve_groupby

#: Genes a signature must call (``padj < alpha``) to be a hit, by default. Measured on ``dp.datasets.screen`` (3
#: replicates, replicate as covariate, 3 seeds × 100 inactive compounds × 3 lines): inactive compounds are called
#: hits in 9 % (voom) and 25 % (DESeq2) of their lines with 1 gene, 2.2 % and 8.8 % with 2, 0.4 % and 3.4 % with 3.
MIN_GENES = 3
#: A gene enters a line's part of the fingerprints when at least this many of the line's clustered signatures call it.
MIN_CALLS = 2
#: Fewer informative genes than this in a line: the line's part of the fingerprints holds every gene tested there.
MIN_FEATURES = 20


def _check_level(alpha: float) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number between 0 and 1, got {alpha!r}.")


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}.")
    return int(value)


def _check_key(key_added) -> None:
    if not isinstance(key_added, str) or not key_added:
        raise TypeError(f"key_added must be a non-empty string, got {key_added!r}.")


@doc_params()
def screen_hits(
    sig: AnnData,
    *,
    alpha: float = 0.05,
    min_genes: int = MIN_GENES,
    groupby: str | None = None,
    n_genes: int = 5,
    key_added: str = "screen_hits",
    copy: bool = False,
) -> AnnData | None:
    """Call each signature (cell line × compound) a hit or not, and count each compound's hits over the lines.

    A signature is a **hit** when at least ``min_genes`` genes reach ``padj < alpha``, its own Benjamini–Hochberg
    adjustment over the genes it tested (``layers["padj"]``, as :func:`drugprint.tl.de` writes it). When nothing
    moved, BH keeps the chance of one call or more near ``alpha`` if the engine's p-values are calibrated; screens
    are not quite (plates, replicate batches and co-varying gene programmes the design leaves out), so the default
    asks for 3 genes: on :func:`drugprint.datasets.screen` (3 replicates, ``covariates=["replicate"]``) inactive
    compounds were called hits in 0.4 % (voom) and 3.4 % (DESeq2) of their lines, against 9 % and 25 % with one gene
    (see the statistics page). Set ``min_genes=1`` for engines and designs known to be calibrated; with plates that
    carry their own controls, ``covariates=["plate", "replicate"]`` brings the one-gene rate down.

    Parameters
    ----------
    {sig}
    {alpha}
    min_genes
        Genes a signature must call to be a hit.
    {groupby}
    n_genes
        The strongest called genes listed per signature (smallest ``padj``, then largest ``|log2fc|``).
    key_added
        Results go to ``sig.uns[key_added]``: ``table`` (one row per signature), ``conditions`` (one row per
        compound; both read with :func:`drugprint.get.screen_hits_table`) and the ``params``.
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.datasets.screen(12, cell_lines=2, n_genes=500)
    >>> sig = dp.tl.de(pdata, condition_key="compound", covariates=["replicate"], method="voom", verbose=False)
    >>> dp.tl.screen_hits(sig)
    >>> tab = dp.get.screen_hits_table(sig)
    >>> tab.columns.tolist()[:5]
    ['signature', 'group', 'condition', 'hit', 'n_up']
    >>> per = dp.get.screen_hits_table(sig, level="condition")
    >>> truth = pdata.uns["screen_truth"]["compounds"]
    >>> bool((per.set_index("condition")["n_hit"] > 0).reindex(truth.index).eq(truth["active"]).mean() >= 0.8)
    True
    """
    check_signatures(sig, layers=("padj", "log2fc"))
    _check_level(alpha)
    min_genes = _check_count(min_genes, "min_genes", 1)
    n_genes = _check_count(n_genes, "n_genes", 0)
    _check_key(key_added)
    groupby = resolve_groupby(sig, groupby)
    table = hit_table(sig, groupby, alpha, min_genes, n_genes)
    entries = {"table": table, "conditions": per_condition(table, conditions(sig))}
    params = {"alpha": alpha, "min_genes": min_genes, "groupby": groupby or "", "n_genes": n_genes}
    return store(sig, key_added, entries, params, copy=copy, tool="screen_hits", getter="screen_hits_table")


def hit_table(sig: AnnData, groupby: str | None, alpha: float, min_genes: int, n_genes: int) -> pd.DataFrame:
    """One row per signature: its group, condition, genes up, down and tested, the hit call and its top genes."""
    padj = np.asarray(sig.layers["padj"], dtype=float)
    lfc = np.asarray(sig.layers["log2fc"], dtype=float)
    up, down = called(padj, lfc, alpha)
    n_up, n_down = up.sum(axis=1), down.sum(axis=1)
    table = pd.DataFrame(
        {
            "signature": sig.obs_names.astype(str),
            "group": group_labels(sig, groupby or "none").to_numpy(dtype=str),
            "condition": condition_labels(sig).to_numpy(dtype=str),
            "hit": (n_up + n_down) >= min_genes,
            "n_up": n_up,
            "n_down": n_down,
            "n_deg": n_up + n_down,
            "n_tested": np.isfinite(padj).sum(axis=1),
        }
    )
    table["top_genes"] = _top_genes(padj, lfc, np.nan_to_num(padj, nan=1.0) < alpha, sig.var_names, n_genes)
    return table


def _top_genes(padj: np.ndarray, lfc: np.ndarray, called: np.ndarray, genes: pd.Index, n: int) -> list[str]:
    """Per row, its ``n`` strongest called genes as ``"ISG15↑, MX1↑"`` (one pass per row that calls a gene)."""
    out = [""] * padj.shape[0]
    names = np.asarray(genes, dtype=str)
    for i in np.flatnonzero(called.any(axis=1)) if n else []:
        where = np.flatnonzero(called[i])
        order = where[np.lexsort((-np.abs(lfc[i, where]), padj[i, where]))][:n]
        out[i] = ", ".join(f"{names[j]}{'↑' if lfc[i, j] > 0 else '↓'}" for j in order)
    return out


def per_condition(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """One row per condition (in ``order``): lines tested and hit, the lines' names, DE genes in all and at most."""
    by = table.groupby("condition", sort=False)
    out = pd.DataFrame(
        {
            "n_groups": by.size(),
            "n_hit": by["hit"].sum().astype(int),
            "n_deg": by["n_deg"].sum().astype(int),
            "n_deg_max": by["n_deg"].max().astype(int),
        }
    )
    hit_in = table[table["hit"].to_numpy(bool)].groupby("condition", sort=False)["group"].agg(", ".join)
    out.insert(2, "hit_in", hit_in.reindex(out.index).fillna("").to_numpy(dtype=object))
    out.insert(0, "hit", out["n_hit"] > 0)
    out = out.reindex([c for c in order if c in out.index])  # order: every condition of the table
    return out.rename_axis("condition").reset_index()


@doc_params()
def cluster_signatures(
    sig: AnnData,
    *,
    hits_only: bool = True,
    hits_key: str = "screen_hits",
    groupby: str | None = None,
    layer: str = "stat",
    alpha: float = 0.05,
    n_neighbors: int | None = None,
    resolution: float = 1.0,
    n_pcs: int = 50,
    metric: Literal["correlation", "cosine"] = "correlation",
    random_state: int = 0,
    key_added: str = "clusters",
    copy: bool = False,
) -> AnnData | None:
    """Cluster the compounds (conditions) by their fingerprints across cell lines into mechanism families.

    Each condition's **fingerprint** joins, line by line, its ``layer`` (the moderated t or Wald statistic) on the
    line's informative genes: those tested in every clustered signature of the line and called
    (``padj < alpha``) by at least two of them (every tested gene when fewer than 20 are); a gene not tested, or a
    line where the condition was not tested, counts 0. Each fingerprint is scaled to length 1, so that a weak
    compound weighs as much as a strong one of its family (their directions agree, their sizes do not). Then, with
    scanpy on an AnnData of conditions × features: :func:`scanpy.pp.pca` (more than ``n_pcs`` features),
    :func:`scanpy.pp.neighbors` (``metric`` on the components, Gaussian-kernel weights) and
    :func:`scanpy.tl.leiden` (igraph's implementation). Clusters are named ``C1``, ``C2`` … by decreasing size.

    On :func:`drugprint.datasets.screen` (8 families, 3 lines, 3 replicates, voom), the clusters of the active
    compounds called hits agree with the planted families with an adjusted Rand index of 1.0, 1.0 and 0.97 (100
    compounds, seeds 0–2), 0.98 (300) and 0.97 (1,000); with 24 families in 600 compounds, 0.99 (see the
    statistics page).

    Parameters
    ----------
    {sig}
    hits_only
        Cluster the conditions called a hit in at least one line by :func:`drugprint.tl.screen_hits` (read from
        ``uns[hits_key]``), on their hit signatures' genes; ``False``: every condition, on every signature.
    hits_key
        ``uns`` key of :func:`drugprint.tl.screen_hits`.
    {groupby}
    layer
        Layer of the fingerprints.
    {alpha}
        Here it chooses the informative genes.
    n_neighbors
        Neighbours of each condition in the graph; default about the square root of the number of conditions
        clustered, from 5 to 30 (a family's members should be among one another's neighbours: few neighbours
        split the large families of a large screen, many merge the small families of a small one).
    resolution
        Leiden's resolution: higher gives more, smaller clusters.
    n_pcs
        Principal components the graph is built on.
    metric
        Distance between the conditions' components.
    {random_state}
    key_added
        ``sig.obs[key_added]`` holds each signature's cluster (its condition's; NaN for conditions not clustered);
        ``sig.uns[key_added]`` the ``table`` (one row per condition: ``condition``, ``cluster``, ``n_hit``,
        ``n_deg``; read it with :func:`drugprint.get.cluster_table`), the ``embedding`` (the conditions'
        principal components), ``features`` (informative genes per line) and the ``params``.
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.datasets.screen(24, cell_lines=2, n_families=3, n_genes=800)
    >>> sig = dp.tl.de(pdata, condition_key="compound", covariates=["replicate"], method="voom", verbose=False)
    >>> dp.tl.screen_hits(sig)
    >>> dp.tl.cluster_signatures(sig)
    >>> tab = dp.get.cluster_table(sig)
    >>> truth = pdata.uns["screen_truth"]["compounds"].loc[tab["condition"], "family"]
    >>> from sklearn.metrics import adjusted_rand_score
    >>> bool(adjusted_rand_score(truth[truth != "none"], tab["cluster"][(truth != "none").to_numpy()]) > 0.8)
    True
    """
    check_signatures(sig, layers=(layer, "padj"))
    _check_level(alpha)
    check_choice(metric, ["correlation", "cosine"], name="metric")
    if n_neighbors is not None:
        n_neighbors = _check_count(n_neighbors, "n_neighbors", 2)
    n_pcs = _check_count(n_pcs, "n_pcs", 2)
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Real) or resolution <= 0:
        raise ValueError(f"resolution must be a positive number, got {resolution!r}.")
    _check_key(key_added)
    groupby = resolve_groupby(sig, groupby)
    rows, per = _clustered_rows(sig, hits_only, hits_key, groupby, alpha)
    x, features = fingerprints(sig, rows, list(per.index), groupby, layer, alpha)
    n_neighbors = auto_neighbors(len(per)) if n_neighbors is None else n_neighbors
    labels, embedding = leiden(x, n_neighbors, resolution, n_pcs, metric, random_state)
    table = per.assign(cluster=labels).rename_axis("condition").reset_index()
    table = table[["condition", "cluster", "n_hit", "n_deg"]]
    target = sig.copy() if copy else sig
    cluster_of = dict(zip(table["condition"], table["cluster"], strict=True))
    names = sorted(set(labels), key=_cluster_number)
    target.obs[key_added] = pd.Categorical(condition_labels(sig).map(cluster_of).to_numpy(), categories=names)
    params = {
        "hits_only": hits_only,
        "hits_key": hits_key if hits_only else "",
        "groupby": groupby or "",
        "layer": layer,
        "alpha": alpha,
        "n_neighbors": n_neighbors,
        "resolution": float(resolution),
        "n_pcs": n_pcs,
        "metric": metric,
        "random_state": random_state,
    }
    embedding = pd.DataFrame(embedding, index=table["condition"].to_numpy())
    embedding.columns = [f"PC{i + 1}" for i in range(embedding.shape[1])]
    entries = {"table": table, "embedding": embedding, "features": features, "signatures": rows.astype(str)}
    store(target, key_added, entries, params, copy=False, tool="cluster_signatures", getter="cluster_table")
    return target if copy else None


def auto_neighbors(n: int) -> int:
    """The default neighbours of each of ``n`` conditions: ``round(sqrt(n))``, from 5 to 30."""
    return int(np.clip(round(np.sqrt(max(n, 1))), 5, 30))


def _cluster_number(name: str) -> int:
    return int(name[1:])


def _clustered_rows(
    sig: AnnData, hits_only: bool, hits_key: str, groupby: str | None, alpha: float
) -> tuple[np.ndarray, pd.DataFrame]:
    """The signatures whose genes make the fingerprints, and per condition to cluster its hits and DE genes."""
    if hits_only:
        table = stored(sig, hits_key, tool="screen_hits")
        if list(table["signature"].astype(str)) != list(sig.obs_names.astype(str)):
            raise ValueError(
                f"sig.uns[{hits_key!r}] was made on other signatures than these; rerun dp.tl.screen_hits(sig)."
            )
        table = table.assign(group=group_labels(sig, groupby or "none").to_numpy(dtype=str))
    else:
        table = hit_table(sig, groupby, alpha, 1, 0).assign(hit=True)
    rows = table.loc[table["hit"].to_numpy(bool), "signature"].to_numpy()
    hit_conditions = set(table.loc[table["hit"], "condition"])
    order = [c for c in conditions(sig) if c in hit_conditions]
    hits = table[table["hit"]].groupby("condition", sort=False)
    per = pd.DataFrame({"n_hit": hits.size(), "n_deg": hits["n_deg"].sum()}).reindex(order).astype(int)
    return rows, per


def fingerprints(
    sig: AnnData, rows: np.ndarray, conds: list[str], groupby: str | None, layer: str, alpha: float
) -> tuple[np.ndarray, pd.DataFrame]:
    """Conditions × features: each line's ``layer`` on its informative genes (0 where untested), rows of length 1.

    ``rows``: the signatures (names) whose values and calls are used; the informative genes of a line are tested in
    all its ``rows`` and called by :data:`MIN_CALLS` of them (all tested genes when fewer than :data:`MIN_FEATURES`).
    """
    used = np.asarray(sig.obs_names.isin(rows))
    group = group_labels(sig, groupby or "none").to_numpy(dtype=str)
    cond = condition_labels(sig).to_numpy(dtype=str)
    parts, counts = [], []
    for g in categories(pd.Series(group[used])):
        here = np.flatnonzero(used & (group == g))
        values = np.asarray(sig.layers[layer][here], dtype=float)
        padj = np.nan_to_num(np.asarray(sig.layers["padj"][here], dtype=float), nan=1.0)
        tested = np.isfinite(values).all(axis=0)
        informative = tested & ((padj < alpha).sum(axis=0) >= MIN_CALLS)
        genes = informative if informative.sum() >= MIN_FEATURES else tested
        part = pd.DataFrame(np.nan_to_num(values[:, genes]), index=cond[here]).groupby(level=0, sort=False).mean()
        parts.append(part.reindex(conds).fillna(0.0).to_numpy())
        counts.append((g, int(genes.sum()), int(informative.sum() >= MIN_FEATURES)))
    x = np.hstack(parts) if parts else np.zeros((len(conds), 0))
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    features = pd.DataFrame(counts, columns=["group", "n_genes", "informative"]).astype({"informative": bool})
    return x, features


def leiden(
    x: np.ndarray, n_neighbors: int, resolution: float, n_pcs: int, metric: str, random_state: int
) -> tuple[list[str], np.ndarray]:
    """Leiden clusters (``C1`` … by size) of the rows of ``x`` through scanpy; and the components they rest on.

    With fewer than three rows there is no graph to cluster: each row is its own cluster.
    """
    n = x.shape[0]
    if n < 3:
        return [f"C{i + 1}" for i in range(n)], x[:, :0]
    optional_import("igraph", "cluster", "dp.tl.cluster_signatures (Leiden clustering)")
    import scanpy as sc

    work = AnnData(np.ascontiguousarray(x, dtype=np.float32))
    rep = "X"
    if x.shape[1] > n_pcs:
        sc.pp.pca(work, n_comps=min(n_pcs, n - 1, x.shape[1] - 1), random_state=random_state)
        rep = "X_pca"
    embedding = work.obsm["X_pca"] if rep == "X_pca" else x
    k = min(n_neighbors, n - 1)  # Gaussian-kernel weights: no UMAP kernel to compile on the first call
    sc.pp.neighbors(work, n_neighbors=k, use_rep=rep, metric=metric, method="gauss", random_state=random_state)
    sc.tl.leiden(
        work, resolution=resolution, flavor="igraph", n_iterations=-1, directed=False, random_state=random_state
    )
    raw = work.obs["leiden"].astype(str).to_numpy()
    sizes = pd.Series(raw).value_counts(sort=False)
    first = {c: i for i, c in reversed(list(enumerate(raw)))}
    ranked = sorted(sizes.index, key=lambda c: (-sizes[c], first[c]))
    name = {c: f"C{i + 1}" for i, c in enumerate(ranked)}
    return [name[c] for c in raw], np.asarray(embedding, dtype=float)
