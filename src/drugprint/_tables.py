"""Reading CSV/TSV tables, the separator chosen by the file's extension."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import pandas as pd


def read_table(path: str | PathLike, **kwargs) -> pd.DataFrame:
    """Read a CSV/TSV table, the separator chosen by extension.

    Parameters
    ----------
    path
        The file; ``.tsv``, ``.txt``, ``.tab`` and ``.sf`` are tab-separated, anything else comma-separated.
        Gzip-compressed files (``.gz``) are read too.
    **kwargs
        Passed to :func:`pandas.read_csv` (``sep`` overrides the choice by extension).

    Returns
    -------
    The table; ``FileNotFoundError`` names a missing file, ``ValueError`` one that does not parse.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No file at {str(p)!r}.")
    name = p.name.lower().removesuffix(".gz")
    sep = "\t" if name.endswith((".tsv", ".txt", ".tab", ".sf")) else ","
    kwargs.setdefault("sep", sep)
    try:
        return pd.read_csv(p, **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(
            f"Could not parse {p.name!r} as a {'tab' if kwargs['sep'] == chr(9) else 'comma'}-separated table: {err}"
        ) from err
