"""Tidy tables of the ``dp.tl`` tools that store a table in ``uns[key_added]``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

from .._docs import doc_params
from .._results import TIERS, stored, table_copy
from .._signatures import group_key


def _params(tool: str, what: str = "sig") -> str:
    """The parameters every getter shares: the object the tool wrote to, and the tool's ``key_added``."""
    owner = {"mdata": "The MuData", "adata": "The cells (AnnData or MuData)"}.get(what, "Signatures")
    return f"{what}\n    {owner} after :func:`drugprint.tl.{tool}`.\nkey\n    Its ``key_added``."


@doc_params(params=_params("compare"))
def compare_table(sig: AnnData, key: str = "compare") -> pd.DataFrame:
    """The similarity of every pair of signatures per group, from :func:`drugprint.tl.compare`.

    Parameters
    ----------
    {params}

    Returns
    -------
    One row per group × pair (``a``, ``b``), with the columns :func:`drugprint.tl.compare` describes.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.compare(sig, metrics=["cosine"], ci="none")
    >>> dp.get.compare_table(sig)[["group", "a", "b"]].iloc[0].tolist()
    ['Myeloma', 'thalidomide', 'lenalidomide']
    """
    return table_copy(stored(sig, key, tool="compare"))


def comparison(sig: AnnData, group: str, *, key: str = "compare") -> dict | None:
    """The stored comparison of one group: signature ``names``, dendrogram ``order``, ``linkage``, ``matrices``.

    Parameters
    ----------
    sig
        Signatures after :func:`drugprint.tl.compare`.
    group
        Group (cell type) label; ``"all"`` when compared with ``groupby="none"``.
    key
        The comparison's ``key_added``.

    Returns
    -------
    A dict, or ``None`` when ``group`` was not compared (fewer than two signatures or too few informative
    genes, or not a group of ``sig``). ``matrices`` maps each metric to a square DataFrame.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.compare(sig, metrics=["cosine"], ci="none")
    >>> rec = dp.get.comparison(sig, "Myeloma")
    >>> len(rec["names"]), rec["linkage"].shape
    (5, (4, 4))
    """
    return _comparisons(sig, key).get(str(group))


def _comparisons(sig: AnnData, key: str) -> dict[str, dict]:
    """Every group's comparison by label; reads the positional layout and the label-keyed one of 0.1's first files."""
    stored(sig, key, tool="compare")
    res = sig.uns[key]
    out = {}
    if "groups" in res:
        for pos in sorted(res["groups"], key=lambda k: int(str(k)[1:])):  # h5py lists g10 before g2
            rec = res["groups"][pos]
            names = [str(n) for n in np.asarray(rec["names"])]
            out[str(rec["group"])] = {
                "names": names,
                "order": [str(n) for n in np.asarray(rec["order"])],
                "linkage": np.asarray(rec["linkage"], dtype=float),
                "matrices": {
                    m: pd.DataFrame(np.asarray(v, dtype=float), index=names, columns=names)
                    for m, v in rec["matrices"].items()
                },
            }
        return out
    for group, mats in res.get("matrices", {}).items():  # label-keyed layout of earlier versions
        first = next(iter(mats.values()))
        out[str(group)] = {
            "names": [str(n) for n in first.index],
            "order": [str(n) for n in np.asarray(res["order"][group])],
            "linkage": np.asarray(res["linkage"][group], dtype=float),
            "matrices": {m: df.astype(float) for m, df in mats.items()},
        }
    return out


@doc_params(params=_params("composition", what="adata"))
def composition_table(adata: AnnData, key: str = "composition") -> pd.DataFrame:
    """The change in each cell type's proportion per condition, from :func:`drugprint.tl.composition`.

    Parameters
    ----------
    {params}

    Returns
    -------
    The table :func:`drugprint.tl.composition` describes.

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small")
    >>> dp.tl.composition(adata)
    >>> sorted(dp.get.composition_table(adata)["condition"].unique())[:2]
    ['iberdomide', 'lenalidomide']
    """
    return table_copy(stored(adata, key, tool="composition", what="adata"))


@doc_params(params=_params("potency"))
def potency_table(sig: AnnData, key: str = "potency") -> pd.DataFrame:
    """Tiers and ranks per group × pathway × condition, from :func:`drugprint.tl.potency`.

    Parameters
    ----------
    {params}

    Returns
    -------
    The long table :func:`drugprint.tl.potency` describes; ``tier`` is an ordered categorical
    (none < modest < moderate < strong).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.panels(sig)
    >>> dp.tl.potency(sig, "panels")
    >>> dp.get.potency_table(sig)["tier"].cat.categories.tolist()
    ['none', 'modest', 'moderate', 'strong']
    """
    return table_copy(stored(sig, key, tool="potency"), {"tier": list(TIERS)})


@doc_params(params=_params("potency_rank"))
def potency_rank_table(sig: AnnData, key: str = "potency_rank") -> pd.DataFrame:
    """One potency ranking per group with its intervals, from :func:`drugprint.tl.potency_rank`.

    Parameters
    ----------
    {params}

    Returns
    -------
    The table :func:`drugprint.tl.potency_rank` describes, ordered by group and rank.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.potency_rank(sig, n_draws=200)
    >>> dp.get.potency_rank_table(sig)["condition"].iloc[0]
    'mezigdomide'
    """
    return table_copy(stored(sig, key, tool="potency_rank"))


@doc_params(params=_params("deg_overlap"))
def overlap_table(sig: AnnData, key: str = "deg_overlap") -> pd.DataFrame:
    """Which conditions call each gene, per group and direction, from :func:`drugprint.tl.deg_overlap`.

    Parameters
    ----------
    {params}

    Returns
    -------
    One row per group × direction × gene called at least once: a boolean column per condition (NaN for
    conditions of other groups), ``n_conditions`` and ``category``.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.deg_overlap(sig)
    >>> tab = dp.get.overlap_table(sig)
    >>> tab.columns[:3].tolist(), bool(tab["n_conditions"].between(1, 5).all())
    (['group', 'direction', 'gene'], True)
    """
    long = stored(sig, key, tool="deg_overlap")
    keys = ["group", "direction", "gene"]
    if long.empty:
        return pd.DataFrame(columns=[*keys, "n_conditions", "category"])
    frames = []
    for (group, direction), part in long.groupby(["group", "direction"], sort=False):
        conds = list(dict.fromkeys(part["condition"]))
        genes = list(dict.fromkeys(part["gene"]))
        called = part.pivot(index="gene", columns="condition", values="called").loc[genes, conds].astype(bool)
        first = part.drop_duplicates("gene").set_index("gene").loc[genes]
        df = called.assign(n_conditions=first["n_conditions"].astype(int), category=first["category"])
        df = df.rename_axis(index="gene", columns=None).reset_index()
        df.insert(0, "direction", direction)
        df.insert(0, "group", group)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _labelled(sig: AnnData, table: pd.DataFrame, terms: pd.DataFrame) -> pd.DataFrame:
    """A set table with each set's ``term`` after ``source`` and the signature's ``group`` and ``condition``."""
    table.insert(table.columns.get_loc("source") + 1, "term", table["source"].map(terms.set_index("source")["term"]))
    obs = sig.obs.reindex(table["signature"])
    table.insert(1, "condition", obs["condition"].astype(str).to_numpy() if "condition" in obs else "")
    group = group_key(sig)
    if group is not None:
        table.insert(1, "group", obs[group].astype(str).to_numpy())
    return table.reset_index(drop=True)


#: The stored columns of :func:`enrich_table`, in order (``group``, ``condition`` and ``term`` are inserted).
ENRICH_COLUMNS = [
    "signature",
    "direction",
    "source",
    "n_set",
    "n_list",
    "n_universe",
    "overlap",
    "expected",
    "odds_ratio",
    "pvalue",
    "padj",
    "genes",
]


@doc_params(params=_params("enrich"))
def enrich_table(sig: AnnData, key: str = "enrich") -> pd.DataFrame:
    """Over-representation of each signature's up and down genes, from :func:`drugprint.tl.enrich`.

    Parameters
    ----------
    {params}

    Returns
    -------
    One row per signature × direction × tested set (not only the significant ones), by p-value within each
    signature and direction: ``signature``, its ``group`` (when grouped) and ``condition``, ``direction``
    (``"up"``, ``"down"``, ``"any"``), ``source`` (e.g. the GO ID), ``term``, ``n_set`` (the set's genes in the
    universe), ``n_list``, ``n_universe``, ``overlap``, ``expected``, ``odds_ratio``, ``pvalue``, ``padj``
    (Benjamini–Hochberg within the signature and direction) and ``genes`` (the list's genes in the set, for
    sets at ``pvalue < 0.05``).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.enrich(sig, "hallmark", min_size=5)
    >>> tab = dp.get.enrich_table(sig)
    >>> tab.columns[:6].tolist()
    ['signature', 'group', 'condition', 'direction', 'source', 'term']
    """
    table = stored(sig, key, tool="enrich").copy()
    terms = stored(sig, key, tool="enrich", entry="terms")
    for col in ("signature", "direction", "source"):
        table[col] = table[col].astype(str)
    sizes = stored(sig, key, tool="enrich", entry="lists").astype({"signature": str, "direction": str})
    table = table.merge(sizes, on=["signature", "direction"], how="left", sort=False)
    table.insert(
        table.columns.get_loc("overlap") + 1, "expected", table["n_set"] * table["n_list"] / table["n_universe"]
    )
    table = table[[c for c in ENRICH_COLUMNS if c in table]]
    return _labelled(sig, table, terms)


@doc_params(params=_params("dose_response"))
def dose_table(sig: AnnData, key: str = "dose_response") -> pd.DataFrame:
    """Hill fits per group × drug × source, from :func:`drugprint.tl.dose_response`.

    Parameters
    ----------
    {params}

    Returns
    -------
    The table :func:`drugprint.tl.dose_response` describes (the fitted points are in ``uns[key]["points"]``).

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", doses=[0.01, 0.1, 1, 10], n_donors=3, cells_per_sample=80)
    >>> sig = dp.tl.de(dp.pp.pseudobulk(adata), condition_key="condition", groups=["Myeloma"], verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.dose_response(sig, sources=["HALLMARK_P53_PATHWAY"])
    >>> dp.get.dose_table(sig)[["group", "drug", "source", "ec50"]].shape[1]
    4
    """
    return table_copy(stored(sig, key, tool="dose_response"))


@doc_params(params=_params("time_course"))
def time_course_table(sig: AnnData, key: str = "time_course") -> pd.DataFrame:
    """Pathway activity per group × drug × time point, from :func:`drugprint.tl.time_course`.

    Parameters
    ----------
    {params}

    Returns
    -------
    The long table :func:`drugprint.tl.time_course` describes.

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", timepoints=[6, 24], n_donors=3, cells_per_sample=80)
    >>> sig = dp.tl.de(dp.pp.pseudobulk(adata), match="time", groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.time_course(sig, sources=["HALLMARK_APOPTOSIS"])
    >>> sorted(dp.get.time_course_table(sig)["time"].unique().tolist())
    [6.0, 24.0]
    """
    return table_copy(stored(sig, key, tool="time_course"))


@doc_params(params=_params("neosubstrates", what="mdata"))
def neosubstrate_table(mdata: MuData, key: str = "neosubstrates") -> pd.DataFrame:
    """Protein loss beside mRNA change per group × condition × antibody, from :func:`drugprint.tl.neosubstrates`.

    Parameters
    ----------
    {params}

    Returns
    -------
    The table :func:`drugprint.tl.neosubstrates` describes.

    Examples
    --------
    >>> import drugprint as dp
    >>> mdata = dp.datasets.imid_screen("small", modalities=("rna", "prot"))
    >>> dp.tl.neosubstrates(mdata, genes=["IKZF1"])
    >>> dp.get.neosubstrate_table(mdata)["gene"].unique().tolist()
    ['IKZF1']
    """
    return table_copy(stored(mdata, key, tool="neosubstrates", what="mdata"))


#: The stored columns of :func:`gsea_table`, in order (``group``, ``condition`` and ``term`` are inserted).
GSEA_COLUMNS = ["signature", "source", "n_set", "es", "nes", "pvalue", "padj", "n_leading_edge", "leading_edge"]


@doc_params(params=_params("gsea"))
def gsea_table(sig: AnnData, key: str = "gsea") -> pd.DataFrame:
    """Preranked GSEA of each signature, with each set's leading-edge genes, from :func:`drugprint.tl.gsea`.

    Parameters
    ----------
    {params}

    Returns
    -------
    One row per signature × tested set, by p-value within each signature: ``signature``, its ``group`` (when
    grouped) and ``condition``, ``source`` (the set, e.g. the GO ID), ``term`` (the GO term's name; else the
    source), ``n_set`` (the set's genes among the signature's ranked genes), ``es``, ``nes``, ``pvalue`` (from the
    gene-set permutation null), ``padj`` (Benjamini–Hochberg within the signature), ``n_leading_edge`` and
    ``leading_edge`` (those genes, ``";"``-joined in the order of the ranked list).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.gsea(sig, "hallmark", n_perm=200)
    >>> tab = dp.get.gsea_table(sig)
    >>> tab.columns[:6].tolist()
    ['signature', 'group', 'condition', 'source', 'term', 'n_set']
    """
    table = stored(sig, key, tool="gsea").copy()
    terms = stored(sig, key, tool="gsea", entry="terms")
    for col in ("signature", "source"):
        table[col] = table[col].astype(str)
    table = table[[c for c in GSEA_COLUMNS if c in table]]
    return _labelled(sig, table, terms)
