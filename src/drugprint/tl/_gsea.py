"""``gsea``: preranked gene-set enrichment of each signature, with its leading-edge genes (no replicates needed)."""

from __future__ import annotations

from os import PathLike
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._checks import check_choice
from .._docs import doc_params, key_added
from .._results import store
from .._signatures import check_signatures
from ..resources import provenance
from ._enrich import _terms, set_members
from ._sets.methods import GENE_LEVEL_NOTE
from ._stats import gsea as stats
from ._stats.multitest import bh

#: The statistics a signature can be ranked by.
RANK_LAYERS = ("stat", "log2fc")


@doc_params(
    key_added=key_added(
        "gsea_table",
        ", ``terms`` (each set's ``term`` name, for GO) and ``net`` (the collection's provenance)",
    )
)
def gsea(
    sig: AnnData,
    net: str | PathLike | pd.DataFrame = "hallmark",
    *,
    layer: Literal["stat", "log2fc"] = "stat",
    min_size: int = 15,
    max_size: int = 500,
    n_perm: int = 1000,
    random_state: int = 0,
    species: Literal["human", "mouse"] | None = None,
    key_added: str = "gsea",
    copy: bool = False,
) -> AnnData | None:
    """Preranked gene-set enrichment analysis (GSEA) of each signature, with the leading-edge genes of each set.

    Made for signatures without replicates to test sets on — published DE tables (:func:`drugprint.io.read_de_table`),
    other studies' signatures —, where camera and fry (:func:`drugprint.tl.pathways`) cannot run. Each signature's
    genes with a finite ``layer`` value are ranked, largest first (ties keep the order of ``var_names``). Each set of
    the collection, matched to those genes (membership only: a net's weights are ignored), with ``min_size`` to
    ``max_size`` of them, gets the enrichment score ES of Subramanian et al. (2005, PNAS 102:15545): the largest
    deviation from 0 of the running sum that rises at the set's genes by their ``|value|`` (weight ``p = 1``) and
    falls at the others. Its p-value comes from the gene-set permutation null: the ES of ``n_perm`` random sets of
    the same size drawn from the ranked genes, ``(1 + #{null at least as extreme}) / (1 + #{null of ES's
    sign})``; NES = ES divided by the absolute mean of the null ES of its sign. Benjamini–Hochberg adjusts within
    each signature. The leading edge is the set's genes at or before the running sum's peak for a positive ES, at
    or after it for a negative one: the genes that carry the score. The null treats genes as exchangeable, and
    genes of a programme co-vary between samples in real data, so the p-values are far too small to call
    anything (Wu & Smyth 2012): on simulated null studies with co-varying programmes and donor effects, every
    signature had Hallmark sets at padj < 0.05 (26–66 % of the tests; camera: 0–13 % of signatures,
    ``bench/bench_enrich_null.py``). Use ES, NES and the leading edge to describe; use
    :func:`drugprint.tl.pathways` (camera) to call, wherever there are replicates.

    Parameters
    ----------
    {sig}
    net
        A collection of :func:`drugprint.resources.genesets` (``"hallmark"``, ``"go_bp"`` …), a GMT/CSV path or a
        decoupler-style net (``source``, ``target``).
    layer
        The ranking statistic: ``"stat"`` (the test statistic; for :func:`drugprint.io.read_de_table` the table's
        own, else ``sign(log2FC) · Φ⁻¹(1 − p/2)`` from its p-value, else its log2FC) or ``"log2fc"``.
    min_size, max_size
        Sets with fewer or more genes among a signature's ranked genes are not tested in it.
    n_perm
        Random sets drawn per set size for the null (the smallest p-value is about ``2 / n_perm``).
    {random_state}
    species
        As in :func:`drugprint.tl.pathways`: how the (human) collection meets the data's genes (``None``: mouse
        symbols detected and matched through one-to-one orthologues).
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
    >>> dp.tl.gsea(sig, "hallmark")
    >>> tab = dp.get.gsea_table(sig)
    >>> row = tab.query("condition == 'mezigdomide' and source == 'HALLMARK_INTERFERON_ALPHA_RESPONSE'").iloc[0]
    >>> bool(row["nes"] > 0 and row["padj"] < 0.05)
    True
    """
    check_choice(layer, RANK_LAYERS, name="layer")
    check_signatures(sig, layers=(layer,))
    _check_sizes(min_size, max_size, n_perm)
    net, names, member, matched_by, _ = set_members(sig, net, species=species)
    values = np.asarray(sig.layers[layer], dtype=float)
    frames = [
        _one_signature(str(s), values[i], member, names, sig.var_names, min_size, max_size, n_perm, random_state)
        for i, s in enumerate(sig.obs_names)
    ]
    table = pd.concat(frames, ignore_index=True)
    if table.empty:
        raise ValueError(
            f"No set has {min_size} to {max_size} genes among any signature's ranked genes (finite {layer!r}); "
            "lower min_size or check the gene names."
        )
    for col in ("signature", "source"):
        table[col] = table[col].astype("category")
    params = {
        "net": str(net.attrs.get("name", "user net")),
        "layer": layer,
        "min_size": int(min_size),
        "max_size": int(max_size),
        "n_perm": int(n_perm),
        "random_state": int(random_state),
        "weight": 1,
        "matched_by": matched_by,
        "null": f"gene-set permutation: random sets of the same size from the ranked genes; {GENE_LEVEL_NOTE}",
    }
    entries = {"table": table, "terms": _terms(net, names), "net": provenance(net)}
    return store(sig, key_added, entries, params, copy=copy, tool="gsea", getter="gsea_table")


def _check_sizes(min_size: int, max_size: int, n_perm: int) -> None:
    for name, value in (("min_size", min_size), ("max_size", max_size), ("n_perm", n_perm)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be an integer, got {value!r}.")
    if min_size < 1 or max_size < min_size or n_perm < 1:
        raise ValueError(
            f"Need 1 <= min_size <= max_size and n_perm >= 1; got min_size={min_size}, max_size={max_size}, "
            f"n_perm={n_perm}."
        )


def _one_signature(
    signature: str,
    values: np.ndarray,
    member: sp.csr_matrix,
    names: np.ndarray,
    genes: pd.Index,
    min_size: int,
    max_size: int,
    n_perm: int,
    random_state: int,
) -> pd.DataFrame:
    """The table rows of one signature: its tested sets, by p-value (then name)."""
    order = stats.rank(values)
    ranked = member[:, order].tocsr()  # columns in rank order
    sizes = np.diff(ranked.indptr)
    keep = np.flatnonzero((sizes >= min_size) & (sizes <= max_size) & (sizes < order.size))
    ranked = ranked[keep]
    res = stats.gsea(np.abs(values[order]), ranked, n_perm=n_perm, rng=np.random.default_rng(random_state))
    frame = pd.DataFrame(
        {
            "signature": signature,
            "source": names[keep],
            "n_set": res["n_set"].astype(np.int32),
            "es": res["es"],
            "nes": res["nes"],
            "pvalue": res["pvalue"],
            "padj": bh(res["pvalue"]),
            "n_leading_edge": res["n_leading_edge"].astype(np.int32),
            "leading_edge": _leading_edges(ranked, res["es"], res["n_leading_edge"], genes[order]),
        }
    )
    return frame.sort_values(["pvalue", "source"], kind="stable")


def _leading_edges(ranked: sp.csr_matrix, es: np.ndarray, n_le: np.ndarray, genes: pd.Index) -> np.ndarray:
    """Each set's leading-edge genes in rank order, ``";"``-joined: its first ``n_le`` (ES > 0) or last ones."""
    ranked.sort_indices()
    out = np.full(es.size, "", dtype=object)
    for s in np.flatnonzero(n_le > 0):
        pos = ranked.indices[ranked.indptr[s] : ranked.indptr[s + 1]]
        out[s] = ";".join(genes[pos[: n_le[s]] if es[s] > 0 else pos[pos.size - n_le[s] :]])
    return out
