"""Translate identifiers (Ensembl → symbol, transcript → gene, probe → gene) through a two-column mapping."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd


def translate_ids(ids: pd.Index, mapping: pd.Series, *, what: str) -> pd.Index:
    """Translate ``ids`` through ``mapping`` (index: identifier, values: what to use instead).

    Parameters
    ----------
    ids
        The identifiers to translate.
    mapping
        Identifier → new identifier. Missing values are ignored and repeated identical pairs count once.
    what
        Name of the mapping in error messages (e.g. ``"gene_map"``).

    Returns
    -------
    The translated identifiers, NaN where ``mapping`` has none. An identifier that ``mapping`` sends to two
    different values raises a ``ValueError`` naming it.

    Examples
    --------
    >>> import pandas as pd
    >>> translate_ids(pd.Index(["E1", "E2", "E3"]), pd.Series(["A", "A", "B"], index=["E1", "E1", "E2"]), what="map")
    Index(['A', 'B', nan], dtype='object')
    """
    pairs = pd.DataFrame({"id": mapping.index.astype(str), "to": mapping.to_numpy()}).dropna().drop_duplicates()
    dup = pairs.loc[pairs["id"].duplicated(), "id"].unique()
    if len(dup):
        raise ValueError(
            f"{what} maps {len(dup)} identifier(s) to more than one value (e.g. {dup[:5].tolist()}); "
            "keep one row per identifier."
        )
    return pd.Index(ids.astype(str)).map(pd.Series(pairs["to"].to_numpy(), index=pairs["id"].to_numpy()))


#: An Ensembl human gene ID, versioned or not (GENCODE's ``_PAR_Y`` copies and Brainarray's ``_at`` probe sets too)
ENSEMBL_ID = r"^(ENSG\d{11})(?:\.\d+)?(?:_PAR_Y)?(?:_at)?$"
#: An NCBI Gene (Entrez) ID: a whole number (Brainarray's ``7157_at`` too)
ENTREZ_ID = r"^(\d+)(?:_at)?$"
#: ``map_ids="auto"`` maps when at least this share of the gene names are IDs of one kind
AUTO_SHARE = 0.9
RULE = (
    "IDs are named by their NCBI Gene symbol; an ID without a symbol keeps its ID; IDs sharing a symbol are not "
    "summed: the one with the highest {what} takes the symbol (the first in the file on ties) and the others keep "
    "their ID"
)
_KINDS = {"ensembl": "Ensembl (ENSG…)", "entrez": "Entrez (NCBI Gene)"}


def check_map_ids(map_ids: object) -> None:
    """Raise a ValueError unless ``map_ids`` is ``True``, ``False`` or ``"auto"``."""
    if not (isinstance(map_ids, bool) or map_ids == "auto"):
        raise ValueError(f"map_ids must be True, False or 'auto', got {map_ids!r}.")


def detect_ids(names: pd.Index, map_ids: bool | str = "auto") -> tuple[str, pd.Series] | None:
    """Whether ``names`` are human gene IDs to map: their kind (``"ensembl"``/``"entrez"``) and their bare IDs.

    ``map_ids="auto"`` says yes when at least 90 % of the names are IDs of one kind, at least half of those are in
    :func:`drugprint.resources.gene_table`, and (whole numbers) they are not row numbers (1, 2, 3 …).
    ``map_ids=True`` says yes when any name is an ID (else a ``ValueError``); ``False`` says no.
    """
    if map_ids is False or len(names) == 0:
        return None
    from ..resources._ids import symbol_lookup

    s = pd.Series(pd.Index(names).astype(str), dtype=object)
    ens, ent = s.str.extract(ENSEMBL_ID, expand=False), s.str.extract(ENTREZ_ID, expand=False)
    kind, keys = ("ensembl", ens) if ens.notna().sum() >= ent.notna().sum() else ("entrez", ent)
    n_ids = int(keys.notna().sum())
    if map_ids is True:
        if not n_ids:
            raise ValueError(
                f"map_ids=True, but no gene name is an Ensembl human gene ID (ENSG…) or an Entrez ID (a whole "
                f"number): e.g. {s.head(3).tolist()}."
            )
        return kind, keys
    ids = keys.dropna()
    if n_ids < AUTO_SHARE * len(s) or ids.isin(symbol_lookup(kind).index).mean() < 0.5:
        return None
    if kind == "entrez" and len(ids) > 1:
        numbers = sorted(int(i) for i in ids)
        if all(b - a == 1 for a, b in itertools.pairwise(numbers)):
            return None  # 1, 2, 3 …: row numbers, not genes
    return kind, keys


def to_symbols(
    names: pd.Index, totals: np.ndarray, *, map_ids: bool | str = "auto", what: str = "total count", stacklevel: int = 3
) -> tuple[pd.Index, pd.DataFrame, dict] | None:
    """Rename Ensembl or Entrez gene IDs to symbols by the shipped gene table; ``None`` when there is nothing to map.

    Parameters
    ----------
    names
        The gene names (IDs) in the data's order.
    totals
        Per name, the expression that decides which of several IDs sharing a symbol takes it (the total count, or
        the mean intensity).
    map_ids
        ``"auto"``, ``True`` or ``False`` (see :func:`detect_ids`).
    what
        What ``totals`` are, for the rule recorded.
    stacklevel
        Of the warning that reports the mapping.

    Returns
    -------
    The new names, ``var`` columns ``gene_ids`` (the names given) and ``symbol`` (NaN for no symbol) indexed by
    the new names, and a record of the mapping (``uns["gene_ids"]``). Warns once with the counts.

    Examples
    --------
    >>> import numpy as np, pandas as pd, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     new, var, info = to_symbols(pd.Index(["ENSG00000141510.17", "ENSG00000185811.21"]), np.array([5, 9]))
    >>> new.tolist(), info["n_mapped"]
    (['TP53', 'IKZF1'], 2)
    """
    found = detect_ids(names, map_ids)
    if found is None:
        return None
    from ..resources._ids import GENE_TABLE, symbol_lookup

    kind, keys = found
    names = pd.Index(pd.Index(names).astype(str))
    symbol = keys.map(symbol_lookup(kind)).to_numpy(dtype=object)
    is_id, has_symbol = keys.notna().to_numpy(), pd.notna(symbol)
    totals = np.asarray(totals, dtype=float)
    candidates = pd.DataFrame({"symbol": symbol, "total": totals, "pos": np.arange(len(names))})
    candidates = candidates[has_symbol & ~pd.Series(symbol).isin(set(names[~is_id])).to_numpy()]
    winners = candidates.sort_values(["total", "pos"], ascending=[False, True], kind="stable", na_position="last")
    winners = winners.drop_duplicates("symbol")
    new = names.to_numpy(dtype=object).copy()
    new[winners["pos"].to_numpy()] = winners["symbol"].to_numpy()
    info = {
        "kind": kind,
        "n_genes": len(names),
        "n_ids": int(is_id.sum()),
        "n_mapped": len(winners),
        "n_no_symbol": int((is_id & ~has_symbol).sum()),
        "n_duplicates": int(has_symbol.sum() - len(winners)),
        "n_not_ids": int((~is_id).sum()),
        "rule": RULE.format(what=what),
        "table": GENE_TABLE["file"],
        "version": GENE_TABLE["version"],
    }
    var = pd.DataFrame({"gene_ids": names.to_numpy(), "symbol": symbol}, index=pd.Index(new, dtype=object))
    others = f"; {info['n_not_ids']} other names unchanged" if info["n_not_ids"] else ""
    warnings.warn(
        f"The gene names are {_KINDS[kind]} IDs: {info['n_mapped']} renamed to their symbol "
        f"({GENE_TABLE['version']}); {info['n_no_symbol']} without a symbol and {info['n_duplicates']} sharing a "
        f"symbol with a higher-{what.split()[-1]} ID keep their ID (not summed){others}. The IDs are in "
        "var['gene_ids'], the record in uns['gene_ids']; pass map_ids=False to keep the IDs as names.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return pd.Index(new, dtype=object), var, info
