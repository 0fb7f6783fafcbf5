"""Translate identifiers (Ensembl → symbol, transcript → gene, probe → gene) through a two-column mapping."""

from __future__ import annotations

import pandas as pd


def map_ids(ids: pd.Index, mapping: pd.Series, *, what: str) -> pd.Index:
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
    >>> map_ids(pd.Index(["E1", "E2", "E3"]), pd.Series(["A", "A", "B"], index=["E1", "E1", "E2"]), what="map")
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
