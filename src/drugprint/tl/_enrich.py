"""``enrich``: over-representation of each signature's up and down genes in a gene-set collection (GO by default)."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import doc_params, key_added
from .._results import store
from .._signatures import called, check_signatures
from ..resources import annotated_genes, genesets, harmonise_net, match_net, provenance
from ._stats.multitest import bh
from ._stats.ora import hypergeometric, membership

Direction = Literal["up", "down", "any"]


def _lists(padj: np.ndarray, lfc: np.ndarray, alpha: float, lfc_threshold: float) -> dict[str, np.ndarray]:
    up, down = called(padj, lfc, alpha, lfc_threshold)
    return {"up": up, "down": down, "any": up | down}


#: The pseudo-set that carries a collection's annotated genes through the same matching as its sets.
_ANNOTATED = "\0annotated"


def set_members(sig: AnnData, net, *, species: str | None = None, annotated: bool = False):
    """A collection's sets as a sets × ``var_names`` 0/1 matrix, matched as :func:`drugprint.tl.pathways` matches.

    The net's genes reach the data through :func:`drugprint.resources.harmonise_net` (Ensembl versions, a symbol
    column of ``var``, mouse orthologues); no match at all is :func:`~drugprint.resources.match_net`'s error,
    which names the data's genes. Returns the net as loaded, the set names, the matrix, how genes were matched,
    and (``annotated``) which ``var_names`` carry an annotation in the collection's source, matched the same way.
    """
    net = genesets(net) if not isinstance(net, pd.DataFrame) else net
    sets = net[["source", "target"]].astype(str).assign(weight=1.0)
    pairs = sets
    if annotated:
        extra = pd.DataFrame({"source": _ANNOTATED, "target": annotated_genes(net).astype(str), "weight": 1.0})
        pairs = pd.concat([sets, extra], ignore_index=True)
    pairs.attrs = dict(net.attrs)
    matched, matched_by = harmonise_net(pairs, sig.var, species=species)
    if not (matched["source"] != _ANNOTATED).any():  # the error names the data's genes and the sets
        match_net(sets, sig.var_names, min_fraction=0.0, species=species)
    extra_rows = (matched["source"] == _ANNOTATED).to_numpy()
    on_list = sig.var_names.isin(matched.loc[extra_rows, "target"]) if annotated else None
    sets = matched[~extra_rows]
    names, member = membership(sets["source"].to_numpy(), sets["target"].to_numpy(), sig.var_names)
    return net, names, member, matched_by, on_list


@doc_params(
    key_added=key_added(
        "enrich_table",
        ", ``lists`` (each signature × direction's list and universe sizes), ``terms`` (each set's ``term`` name, "
        "for GO) and ``net`` (the collection's provenance)",
    )
)
def enrich(
    sig: AnnData,
    net: str | PathLike | pd.DataFrame = "go_bp",
    *,
    alpha: float = 0.05,
    lfc_threshold: float = 0.0,
    directions: Sequence[Direction] = ("up", "down"),
    min_size: int = 10,
    max_size: int = 500,
    species: Literal["human", "mouse"] | None = None,
    key_added: str = "enrich",
    copy: bool = False,
) -> AnnData | None:
    """Over-representation of each signature's up and down genes in a collection (GO biological process by default).

    For each signature, the genes called up (``padj < alpha`` and log2FC above ``lfc_threshold``) and those
    called down are tested separately (``directions``; ``"any"`` tests both together) with the one-sided
    hypergeometric test of limma's ``goana``. The universe is the signature's tested genes (finite ``padj``) that
    carry at least one annotation in the collection's source (for GO, any GO term in any ontology, as ``goana``),
    and the lists are restricted to it. A set's size is counted in that universe; sets outside ``min_size`` ..
    ``max_size`` there are not tested (the p-values of those tested do not depend on the filter; their adjustment
    does). Benjamini–Hochberg adjusts within each signature × direction.

    Parameters
    ----------
    sig
        Signatures AnnData from :func:`drugprint.tl.de` (layers ``padj`` and ``log2fc``).
    net
        A collection of :func:`drugprint.resources.genesets` (``"go_bp"``, ``"go_mf"``, ``"go_cc"``,
        ``"hallmark"`` …), a GMT/CSV path or a decoupler-style net (``source``, ``target``; for a net of its own,
        the universe's annotated genes are its genes).
    alpha, lfc_threshold
        A gene is in a list when ``padj < alpha`` and ``|log2FC| > lfc_threshold`` in the list's direction.
    directions
        The lists tested: ``"up"``, ``"down"``, ``"any"`` (both together).
    min_size, max_size
        Sets with fewer or more genes in the universe are not tested.
    species
        As in :func:`drugprint.tl.pathways`: how the (human) collection meets the data's genes (``None``: mouse
        symbols detected and matched through one-to-one orthologues, the annotated universe too).
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
    >>> dp.tl.enrich(sig, "go_bp")
    >>> tab = dp.get.enrich_table(sig)
    >>> top = tab[(tab["condition"] == "mezigdomide") & (tab["direction"] == "up")].iloc[0]
    >>> top["source"], top["term"]  # doctest: +SKIP
    ('GO:0034340', 'response to type I interferon')
    """
    check_signatures(sig, layers=("padj", "log2fc"))
    unknown = [d for d in directions if d not in ("up", "down", "any")]
    if unknown or not directions:
        raise ValueError(f"directions must name 'up', 'down' or 'any'; got {list(directions)!r}.")
    if not 0 < alpha <= 1 or lfc_threshold < 0 or min_size < 1 or max_size < min_size:
        raise ValueError(
            f"Need 0 < alpha <= 1, lfc_threshold >= 0 and 1 <= min_size <= max_size; got alpha={alpha}, "
            f"lfc_threshold={lfc_threshold}, min_size={min_size}, max_size={max_size}."
        )
    net, names, member, matched_by, on_list = set_members(sig, net, species=species, annotated=True)
    padj = np.asarray(sig.layers["padj"], dtype=float)
    lfc = np.asarray(sig.layers["log2fc"], dtype=float)
    frames, lists = [], []
    for i, signature in enumerate(sig.obs_names):
        universe = np.isfinite(padj[i]) & on_list
        calls = _lists(padj[i], lfc[i], alpha, lfc_threshold)
        for direction in directions:
            res = hypergeometric(member, universe, calls[direction])
            lists.append((str(signature), direction, int(res["n_list"][0]), int(res["n_universe"][0])))
            keep = (res["n_set"] >= min_size) & (res["n_set"] <= max_size)
            stored_cols = (
                "n_set",
                "overlap",
                "odds_ratio",
                "pvalue",
            )  # n_list, n_universe: per list; expected: derived
            frame = pd.DataFrame({k: res[k][keep] for k in stored_cols}).astype(
                {"n_set": np.int32, "overlap": np.int32}
            )
            frame.insert(0, "source", names[keep])
            frame.insert(0, "direction", direction)
            frame.insert(0, "signature", str(signature))
            frame["padj"] = bh(frame["pvalue"].to_numpy())
            hits = universe & calls[direction]
            frame["genes"] = _overlap_genes(member, keep, hits, sig.var_names, frame["pvalue"], alpha)
            frames.append(frame.sort_values(["pvalue", "source"], kind="stable"))
    table = pd.concat(frames, ignore_index=True)
    for col in ("signature", "direction", "source"):
        table[col] = table[col].astype("category")
    terms = _terms(net, names)
    params = {
        "net": str(net.attrs.get("name", "user net")),
        "alpha": float(alpha),
        "lfc_threshold": float(lfc_threshold),
        "directions": list(directions),
        "min_size": int(min_size),
        "max_size": int(max_size),
        "universe": "tested genes (finite padj) with at least one annotation in the collection's source",
        "matched_by": matched_by,
    }
    sizes = pd.DataFrame(lists, columns=["signature", "direction", "n_list", "n_universe"])
    entries = {"table": table, "lists": sizes, "terms": terms, "net": provenance(net)}
    return store(sig, key_added, entries, params, copy=copy, tool="enrich", getter="enrich_table")


def _overlap_genes(
    member, keep: np.ndarray, hits: np.ndarray, genes: pd.Index, pvalue: pd.Series, alpha: float
) -> np.ndarray:
    """The list's genes in each kept set, ``";"``-joined, for the sets at ``pvalue < alpha`` (else ``""``)."""
    rows = np.flatnonzero(keep)
    out = np.full(rows.size, "", dtype=object)
    for j in np.flatnonzero(pvalue.to_numpy() < alpha):
        cols = member.indices[member.indptr[rows[j]] : member.indptr[rows[j] + 1]]
        out[j] = ";".join(genes[cols[hits[cols]]])
    return out


def _terms(net: pd.DataFrame, names: np.ndarray) -> pd.DataFrame:
    """Each set's term name (the net's ``term`` column, else the set's own name)."""
    if "term" in net.columns:
        terms = net.drop_duplicates("source").set_index("source")["term"].astype(str)
        return pd.DataFrame({"source": names, "term": terms.reindex(names).fillna("").to_numpy()})
    return pd.DataFrame({"source": names, "term": names})
