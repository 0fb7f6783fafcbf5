"""``annotate``: label unlabelled cells: scanpy clustering, then marker-based naming of the clusters."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import pandas as pd
from anndata import AnnData

from .._anndata import get_matrix
from .._counts import is_integer_valued
from .._docs import doc_params
from .._env import optional_import
from ..resources import harmonise_net


@doc_params()
def annotate(
    adata: AnnData,
    markers: Mapping[str, Sequence[str]] | None = None,
    *,
    key_added: str = "cell_type",
    resolution: float = 1.0,
    layer: str | None = None,
    n_top_genes: int = 2000,
    n_pcs: int = 30,
    n_neighbors: int = 15,
    min_score: float = 0.0,
    random_state: int = 0,
    copy: bool = False,
) -> AnnData | None:
    """Cluster cells (scanpy + leidenalg) and name each cluster by its marker genes (decoupler).

    On a private copy: counts are normalised to 10,000 per cell and ``log1p``-transformed (skipped when
    ``layer``/``X`` is already log-normalised), highly variable genes, PCA, a k-NN graph and Leiden clusters
    (leidenalg). Marker genes are matched to ``var_names`` or a symbol column of ``var``
    (:func:`drugprint.resources.harmonise_net`). Marker-set activity is scored per cell with decoupler's ULM;
    each cluster takes the cell type
    with the highest mean score. Its confidence is the fraction of the cluster's cells whose own best cell type
    agrees. Clusters whose best mean score is below ``min_score`` are labelled ``"unassigned"``.

    Parameters
    ----------
    adata
        Cells × genes (raw counts or log-normalised values).
    markers
        Cell type → marker genes; default :func:`drugprint.resources.markers` (blood and bone marrow,
        including plasma/myeloma cells).
    key_added
        The label goes to ``obs[key_added]``, the cluster to ``obs[key_added + "_cluster"]``, the cluster's
        confidence to ``obs[key_added + "_confidence"]``, and ``uns[key_added]`` holds the ``clusters`` (each
        cluster's label, confidence and best mean marker score) and the ``params``; nothing else changes.
    resolution, n_top_genes, n_pcs, n_neighbors
        Clustering parameters.
    layer
        Where expression is read (``None``: ``X``).
    min_score
        Smallest mean marker score for a label.
    {random_state}
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", n_donors=2, cells_per_sample=60)
    >>> truth = adata.obs["cell_type"].astype(str)
    >>> dp.tl.annotate(adata, key_added="predicted")
    >>> from sklearn.metrics import adjusted_rand_score
    >>> bool(adjusted_rand_score(truth, adata.obs["predicted"]) > 0.8)
    True
    """
    optional_import("leidenalg", "cluster", "dp.tl.annotate (Leiden clustering)")  # before any work
    import decoupler as dc

    from ..resources import markers as shipped

    markers_given = markers
    markers = shipped() if markers is None else {k: list(v) for k, v in markers.items()}
    if not markers:
        raise ValueError("markers must name at least one cell type with marker genes.")
    work = _clustered(adata, layer, n_top_genes, n_pcs, n_neighbors, resolution, random_state)
    net = pd.DataFrame(
        [(ct, g, 1.0) for ct, genes in markers.items() for g in dict.fromkeys(genes)],
        columns=["source", "target", "weight"],
    )
    net, _ = harmonise_net(net, adata.var)  # symbols may sit in a var column (e.g. next to Ensembl IDs)
    if net.empty:
        raise ValueError("No marker gene is among the data's genes; pass markers= matching its gene names.")
    dc.mt.ulm(work, net[["source", "target", "weight"]], tmin=2, verbose=False)
    scores = work.obsm["score_ulm"]
    clusters = work.obs["cluster"].astype(str)
    per_cluster = scores.groupby(clusters.to_numpy()).mean()
    best = per_cluster.idxmax(axis=1)
    best[per_cluster.max(axis=1) < min_score] = "unassigned"
    cell_best = scores.idxmax(axis=1)
    confidence = pd.Series(
        {c: float((cell_best[clusters == c] == best[c]).mean()) for c in per_cluster.index}, dtype=float
    )
    target = adata.copy() if copy else adata
    target.obs[key_added] = pd.Categorical(clusters.map(best).to_numpy())
    target.obs[f"{key_added}_cluster"] = pd.Categorical(clusters.to_numpy())
    target.obs[f"{key_added}_confidence"] = clusters.map(confidence).to_numpy(dtype=float)
    summary = pd.DataFrame(  # long form: cell-type names may hold characters h5ad refuses in column names
        {
            "cluster": per_cluster.index.astype(str),
            "label": best.to_numpy(),
            "confidence": confidence.reindex(per_cluster.index).to_numpy(),
            "mean_score": per_cluster.max(axis=1).to_numpy(),
        }
    )
    target.uns[key_added] = {
        "clusters": summary,
        "params": {
            "resolution": resolution,
            "layer": layer or "X",
            "n_top_genes": n_top_genes,
            "n_pcs": n_pcs,
            "n_neighbors": n_neighbors,
            "min_score": min_score,
            "random_state": random_state,
            "markers": "dp.resources.markers()" if markers_given is None else "given",
        },
    }
    return target if copy else None


def _clustered(adata: AnnData, layer, n_top_genes: int, n_pcs: int, n_neighbors: int, resolution: float, random_state):
    """A working copy of the cells, log-normalised when they are counts, with scanpy's Leiden ``cluster``."""
    import scanpy as sc

    x = get_matrix(adata, layer)
    work = AnnData(X=x.copy(), var=pd.DataFrame(index=adata.var_names), obs=pd.DataFrame(index=adata.obs_names))
    if is_integer_valued(x, sample=100_000):
        sc.pp.normalize_total(work, target_sum=1e4)
        sc.pp.log1p(work)
    sc.pp.highly_variable_genes(work, n_top_genes=min(n_top_genes, work.n_vars))
    sc.pp.pca(
        work, n_comps=min(n_pcs, work.n_vars - 1, work.n_obs - 1), mask_var="highly_variable", random_state=random_state
    )
    # exact k-NN (sklearn): deterministic, and avoids a scipy ≥ 1.17 incompatibility of the pynndescent path
    sc.pp.neighbors(work, n_neighbors=n_neighbors, random_state=random_state, transformer="sklearn")
    with warnings.catch_warnings():  # scanpy announces igraph as its future default; leidenalg is our choice
        warnings.simplefilter("ignore", FutureWarning)
        sc.tl.leiden(work, resolution=resolution, flavor="leidenalg", random_state=random_state, key_added="cluster")
    return work
