"""Match a net's genes to a dataset's genes and report the overlap per set."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from ._orthologs import human_to, mouse_share

#: Species a net's (human) genes can be matched in: ``None`` detects, ``"human"`` matches as given.
SPECIES = (None, "human", "mouse")

#: The data count as mouse when at least this share of their identifiers are written as mouse symbols.
MOUSE_SHARE = 0.5

#: How a net was matched through orthologues (``matched_by`` starts with it).
MOUSE_ROUTE = "mouse orthologs (HCOP one-to-one)"


def _check_species(species: str | None) -> str | None:
    key = species.strip().lower() if isinstance(species, str) else species
    if key not in SPECIES:
        raise ValueError(f"species must be None (detect), 'human' or 'mouse', got {species!r}.")
    return key


def _mouse_route(
    species: str | None, targets: set[str], direct_hits: int, id_sets: list[pd.Index], search
) -> tuple[dict[str, str], object] | None:
    """The human → mouse map and the search result through it, when the net is to be matched as mouse genes.

    ``species="mouse"`` always; ``None`` when one of ``id_sets`` (the data's identifiers) is mostly written as
    mouse symbols and the net's genes translated to mouse match more of them than the net's genes as given.
    ``search(targets)`` returns ``(result, hits)`` for a set of targets.
    """
    if species == "human":
        return None
    if species is None and not any(mouse_share(ids) >= MOUSE_SHARE for ids in id_sets):
        return None
    to_mouse = human_to("mouse")
    result, hits = search({to_mouse[t] for t in targets if t in to_mouse})
    if species == "mouse" or hits > direct_hits:
        return to_mouse, result
    return None


def _route_note(targets: set[str], to_mouse: dict[str, str]) -> str:
    """How many of the net's genes have a one-to-one mouse orthologue, in words."""
    return f"{sum(t in to_mouse for t in targets)} of {len(targets)} net genes mapped"


def match_net(
    net: pd.DataFrame, genes: Sequence[str] | pd.Index, *, min_fraction: float = 0.5, species: str | None = "human"
) -> pd.DataFrame:
    """Per set: genes in the set, genes found in ``genes``, and the fraction kept.

    Ensembl version suffixes (``ENSG00000185811.17``) are ignored on both sides. Warns naming the sets that
    keep fewer than ``min_fraction`` of their genes, and raises a ValueError when no set overlaps ``genes`` at all.
    With ``species="mouse"`` (or ``None`` on data that look like mouse) the net's human genes are matched through
    their one-to-one mouse orthologues, as :func:`harmonise_net` does; the counts are then of the net's (human)
    genes whose mouse orthologue is in ``genes``, and ``attrs["matched_by"]`` says so.

    Parameters
    ----------
    net
        A decoupler-style net (``source``, ``target``).
    genes
        Gene identifiers of the data (usually ``var_names``).
    min_fraction
        Sets keeping less than this fraction of their genes are named in a warning.
    species
        ``"human"`` (default: match as given), ``"mouse"`` (match the net's human genes through their one-to-one
        mouse orthologues) or ``None`` (detect mouse data, as :func:`harmonise_net` does by default).

    Returns
    -------
    DataFrame indexed by set name with ``n_genes``, ``n_matched``, ``fraction``; ``attrs["matched_by"]``:
    ``"as given"`` or the orthologue route.

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
    species = _check_species(species)
    present = _strip_version(pd.Index(genes))
    net = net.assign(target=_strip_version(pd.Index(net["target"].astype(str))))
    hit = net["target"].isin(present)
    targets = set(net["target"])
    present_set = set(present)
    route = _mouse_route(
        species, targets, len(targets & present_set), [present], lambda t: (None, len(t & present_set))
    )
    matched_by = "as given"
    if route is not None:
        hit = net["target"].map(route[0]).isin(present)
        matched_by = f"{MOUSE_ROUTE}: {_route_note(targets, route[0])}"
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
    rep.attrs["matched_by"] = matched_by
    if rep["n_matched"].sum() == 0:
        example = f"(e.g. {', '.join(map(str, present[:5]))})" if len(present) else "(the data has no genes)"
        tried = (
            f" (tried through {MOUSE_ROUTE})"
            if route is not None
            else "; human nets meet mouse gene symbols through orthologues with species='mouse'"
        )
        raise ValueError(
            f"No gene of the {rep.shape[0]} sets ({', '.join(rep.index[:3])} …) is among the data's {len(present)} "
            f"genes {example}. Are the genes named by another identifier (Ensembl IDs?) or another organism"
            f"{tried}?"
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


def harmonise_net(
    net: pd.DataFrame, var: pd.DataFrame, *, id_column: str | None = None, species: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Rewrite a net's targets as the data's ``var_names``.

    The targets are matched to ``var_names`` or, when a ``var`` column matches better (e.g. a symbol
    column next to Ensembl ``var_names``, or an Ensembl column next to symbols), through that column.
    Ensembl version suffixes are ignored. A column of ``|``/``,``/``;``-separated aliases is also accepted.

    Mouse data meet human nets (gene sets, panels, GO) through orthologues: the net's human genes are
    replaced by their one-to-one mouse orthologues from HGNC's HCOP (:func:`drugprint.resources.orthologs`,
    which states the rule) and matched as above; genes without one are dropped. This happens with
    ``species="mouse"``, or by default when the data look like mouse (at least half of ``var_names``', or of a
    ``var`` column's, identifiers are written as mouse symbols — ``Ikzf1``, ``Trp53``, ``mt-Co1`` — or
    ``ENSMUSG`` IDs) **and** the orthologues match more of the net's genes than the net's genes as given.

    Parameters
    ----------
    net
        A decoupler-style net (``source``, ``target``, optional ``weight``).
    var
        The data's ``var`` (its index is ``var_names``).
    id_column
        Use this ``var`` column instead of searching.
    species
        ``None`` (detect, above), ``"human"`` (match the net as given) or ``"mouse"`` (always through orthologues).

    Returns
    -------
    The net with targets renamed to ``var_names`` (unmatched targets dropped, the original identifier kept
    in ``input_target``, ``attrs`` kept) and a note of how genes were matched (``"var_names"`` or
    ``"var['<column>']"``; through orthologues ``"mouse orthologs (HCOP one-to-one) in var_names: 4104 of 4384
    net genes mapped"``, the count being the net's genes that have a one-to-one mouse orthologue).

    Examples
    --------
    >>> import pandas as pd
    >>> import drugprint as dp
    >>> var = pd.DataFrame({"symbol": ["IKZF1", "MYC"]}, index=["ENSG00000185811", "ENSG00000136997"])
    >>> net = pd.DataFrame({"source": ["axis", "axis"], "target": ["IKZF1", "MYC"], "weight": [1.0, 1.0]})
    >>> out, how = dp.resources.harmonise_net(net, var)
    >>> out["target"].tolist(), how
    (['ENSG00000185811', 'ENSG00000136997'], "var['symbol']")

    Mouse data, human net:

    >>> mouse = pd.DataFrame(index=["Ikzf1", "Myc", "Trp53", "Gapdh"])
    >>> net = pd.DataFrame({"source": "axis", "target": ["IKZF1", "MYC", "TP53", "NOT_A_GENE"]})
    >>> out, how = dp.resources.harmonise_net(net, mouse)
    >>> out[["target", "input_target"]].values.tolist()
    [['Ikzf1', 'IKZF1'], ['Myc', 'MYC'], ['Trp53', 'TP53']]
    >>> how
    'mouse orthologs (HCOP one-to-one) in var_names: 3 of 4 net genes mapped'
    """
    species = _check_species(species)
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
    mappings = {}  # column → its identifier → var_name lookup
    for col in candidates:
        values = var[col].astype(str)
        if values.str.contains(r"[|;,]", regex=True).any():
            exploded = values.str.split(r"\s*[|;,]\s*", regex=True).explode()
            mapping = pd.Series(exploded.index.astype(str), index=_strip_version(pd.Index(exploded.to_numpy())))
        else:
            mapping = pd.Series(names, index=_strip_version(pd.Index(values.to_numpy())))
        mappings[col] = mapping[~mapping.index.duplicated(keep="first")]
    own = set(_strip_version(names))
    known = {col: set(mapping.index) for col, mapping in mappings.items()}

    def search(wanted: set[str]) -> tuple[tuple[str, pd.Series | None], int]:
        best, best_hits, best_map = "var_names", len(wanted & own), None
        for col, mapping in mappings.items():
            hits = len(wanted & known[col])
            if hits > best_hits or (id_column is not None and col == id_column):
                best, best_hits, best_map = f"var[{col!r}]", hits, mapping
        return (best, best_map), best_hits

    (best, best_map), best_hits = search(targets)
    id_sets = [names] + [pd.Index(m.index) for m in mappings.values()]
    route = _mouse_route(species, targets, best_hits, id_sets, search)
    if route is not None:
        best, best_map = route[1]
        best = f"{MOUSE_ROUTE} in {best}: {_route_note(targets, route[0])}"
    attrs = dict(net.attrs)
    out = net.copy()
    out["input_target"] = out["target"]
    out["target"] = _strip_version(pd.Index(out["target"].astype(str)))
    if route is not None:
        out["target"] = out["target"].map(route[0])
    if best_map is None:
        lookup = pd.Series(names, index=_strip_version(names))
        lookup = lookup[~lookup.index.duplicated(keep="first")]
    else:
        lookup = best_map
    out["target"] = out["target"].map(lookup)
    out = out.dropna(subset=["target"]).drop_duplicates(["source", "target"]).reset_index(drop=True)
    out.attrs = attrs
    return out, best
