"""Match a net's genes to a dataset's genes and report the overlap per set."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd


def match_net(net: pd.DataFrame, genes: Sequence[str] | pd.Index, *, min_fraction: float = 0.5) -> pd.DataFrame:
    """Per set: genes in the set, genes found in ``genes``, and the fraction kept.

    Ensembl version suffixes (``ENSG00000185811.17``) are ignored on both sides. Warns naming the sets that
    keep fewer than ``min_fraction`` of their genes, and raises a ValueError when no set overlaps ``genes`` at all.

    Parameters
    ----------
    net
        A decoupler-style net (``source``, ``target``).
    genes
        Gene identifiers of the data (usually ``var_names``).
    min_fraction
        Sets keeping less than this fraction of their genes are named in a warning.

    Returns
    -------
    DataFrame indexed by set name with ``n_genes``, ``n_matched``, ``fraction``.

    Examples
    --------
    >>> import drugprint as dp
    >>> rep = dp.resources.match_net(dp.resources.genesets("imid"), ["IKZF1", "IKZF3", "MYC"], min_fraction=0)
    >>> int(rep.loc["IMID_NEOSUBSTRATES", "n_matched"])
    2
    """
    for col in ("source", "target"):
        if col not in net.columns:
            raise ValueError(f"net needs columns 'source' and 'target'; it has {list(net.columns)}.")
    present = _strip_version(pd.Index(genes))
    net = net.assign(target=_strip_version(pd.Index(net["target"].astype(str))))
    hit = net["target"].isin(present)
    rep = (
        pd.DataFrame(
            {
                "n_genes": net.groupby("source", sort=False)["target"].nunique(),
                "n_matched": net[hit].groupby("source", sort=False)["target"].nunique(),
            }
        )
        .fillna(0)
        .astype(int)
    )
    rep["fraction"] = rep["n_matched"] / rep["n_genes"].clip(lower=1)
    rep.index.name = "source"
    if rep["n_matched"].sum() == 0:
        example = f"(e.g. {', '.join(map(str, present[:5]))})" if len(present) else "(the data has no genes)"
        raise ValueError(
            f"No gene of the {rep.shape[0]} sets ({', '.join(rep.index[:3])} …) is among the data's {len(present)} "
            f"genes {example}. Are the genes named by another identifier (Ensembl IDs?) or another organism?"
        )
    low = rep.index[rep["fraction"] < min_fraction]
    if len(low):
        listed = ", ".join(f"{s} ({rep.loc[s, 'n_matched']}/{rep.loc[s, 'n_genes']})" for s in low[:8])
        warnings.warn(
            f"{len(low)} gene set(s) keep fewer than {min_fraction:.0%} of their genes: {listed}"
            + (" …" if len(low) > 8 else ""),
            UserWarning,
            stacklevel=2,
        )
    return rep


#: ``var`` columns that commonly hold gene symbols or Ensembl IDs, tried first when matching
KNOWN_ID_COLUMNS = (
    "gene_symbols",
    "gene_symbol",
    "symbol",
    "SYMBOL",
    "gene_name",
    "gene_names",
    "feature_name",
    "gene_ids",
    "gene_id",
    "ensembl_id",
    "ENSEMBL",
    "ensembl",
    "feature_id",
    "aliases",
)


def _strip_version(values: pd.Index) -> pd.Index:
    """``ENSG00000185811.17`` → ``ENSG00000185811``; other identifiers unchanged."""
    s = pd.Index(values.astype(str))
    return pd.Index(s.str.replace(r"^(ENS[A-Z]*G\d+)\.\d+$", r"\1", regex=True))


def harmonise_net(net: pd.DataFrame, var: pd.DataFrame, *, id_column: str | None = None) -> tuple[pd.DataFrame, str]:
    """Rewrite a net's targets as the data's ``var_names``.

    The targets are matched to ``var_names`` or, when a ``var`` column matches better (e.g. a symbol
    column next to Ensembl ``var_names``, or an Ensembl column next to symbols), through that column.
    Ensembl version suffixes are ignored. A column of ``|``/``,``/``;``-separated aliases is also accepted.

    Parameters
    ----------
    net
        A decoupler-style net (``source``, ``target``, optional ``weight``).
    var
        The data's ``var`` (its index is ``var_names``).
    id_column
        Use this ``var`` column instead of searching.

    Returns
    -------
    The net with targets renamed to ``var_names`` (unmatched targets dropped, the original identifier kept
    in ``input_target``, ``attrs`` kept) and a note of how genes were matched (``"var_names"`` or
    ``"var['<column>']"``).

    Examples
    --------
    >>> import pandas as pd
    >>> import drugprint as dp
    >>> var = pd.DataFrame({"symbol": ["IKZF1", "MYC"]}, index=["ENSG00000185811", "ENSG00000136997"])
    >>> net = pd.DataFrame({"source": ["axis", "axis"], "target": ["IKZF1", "MYC"], "weight": [1.0, 1.0]})
    >>> out, how = dp.resources.harmonise_net(net, var)
    >>> out["target"].tolist(), how
    (['ENSG00000185811', 'ENSG00000136997'], "var['symbol']")
    """
    targets = set(_strip_version(pd.Index(net["target"].astype(str).unique())))
    names = pd.Index(var.index.astype(str))
    if id_column is not None:
        if id_column not in var.columns:
            raise KeyError(f"var has no column {id_column!r}; columns: {list(var.columns)}.")
        candidates = [id_column]
    else:
        others = [
            c
            for c in var.columns
            if c not in KNOWN_ID_COLUMNS and (var[c].dtype == object or isinstance(var[c].dtype, pd.CategoricalDtype))
        ]
        candidates = [c for c in KNOWN_ID_COLUMNS if c in var.columns] + others
    best, best_hits, best_map = "var_names", len(targets & set(_strip_version(names))), None
    for col in candidates:
        values = var[col].astype(str)
        if values.str.contains(r"[|;,]", regex=True).any():
            exploded = values.str.split(r"\s*[|;,]\s*", regex=True).explode()
            mapping = pd.Series(exploded.index.astype(str), index=_strip_version(pd.Index(exploded.to_numpy())))
        else:
            mapping = pd.Series(names, index=_strip_version(pd.Index(values.to_numpy())))
        mapping = mapping[~mapping.index.duplicated(keep="first")]
        hits = len(targets & set(mapping.index))
        if hits > best_hits or (id_column is not None and col == id_column):
            best, best_hits, best_map = f"var[{col!r}]", hits, mapping
    attrs = dict(net.attrs)
    out = net.copy()
    out["input_target"] = out["target"]
    out["target"] = _strip_version(pd.Index(out["target"].astype(str)))
    if best_map is None:
        lookup = pd.Series(names, index=_strip_version(names))
        lookup = lookup[~lookup.index.duplicated(keep="first")]
    else:
        lookup = best_map
    out["target"] = out["target"].map(lookup)
    out = out.dropna(subset=["target"]).drop_duplicates(["source", "target"]).reset_index(drop=True)
    out.attrs = attrs
    return out, best
