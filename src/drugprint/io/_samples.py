"""Sample sheets: read, validate against the data's sample names, and attach as ``obs``."""

from __future__ import annotations

import gzip
import warnings
from os import PathLike
from pathlib import Path

import pandas as pd

SheetLike = str | PathLike | pd.DataFrame | None


def open_text(path: Path):
    """Open a text file, gzip-compressed or not."""
    return gzip.open(path, "rt") if Path(path).suffix == ".gz" else Path(path).open()


def read_table(path: str | PathLike, **kwargs) -> pd.DataFrame:
    """CSV/TSV by extension (``.tsv``, ``.txt``, ``.tab`` are tab-separated); gzip is handled."""
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
            f"Could not parse {p.name!r} as a {'tab' if sep == chr(9) else 'comma'}-separated table: {err}"
        ) from err


def sample_sheet(samples: SheetLike, *, sample_col: str | None = None) -> pd.DataFrame | None:
    """A sample sheet indexed by sample ID (``sample_col``, a ``sample`` column, or the first column)."""
    if samples is None:
        return None
    sheet = samples.copy() if isinstance(samples, pd.DataFrame) else read_table(samples, dtype=str)
    if sample_col is not None:
        if sample_col not in sheet.columns:
            raise KeyError(f"The sample sheet has no column {sample_col!r}; columns: {list(sheet.columns)}.")
        sheet = sheet.set_index(sample_col)
    elif isinstance(samples, pd.DataFrame) and not isinstance(sheet.index, pd.RangeIndex):
        pass
    elif "sample" in sheet.columns:
        sheet = sheet.set_index("sample")
    else:
        sheet = sheet.set_index(sheet.columns[0])
    sheet.index = sheet.index.astype(str).str.strip()
    if sheet.index.has_duplicates:
        dup = sheet.index[sheet.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"The sample sheet lists samples more than once: {dup}.")
    sheet.index.name = None
    return sheet


def attach(obs_names: pd.Index, sheet: pd.DataFrame | None) -> pd.DataFrame:
    """``obs`` for ``obs_names``: the sheet's rows in data order, after checking both name the same samples."""
    if sheet is None:
        return pd.DataFrame(index=obs_names)
    missing = [s for s in obs_names if s not in sheet.index]
    if missing:
        raise ValueError(
            f"{len(missing)} sample(s) of the data are not in the sample sheet: {missing[:8]}"
            f"{' …' if len(missing) > 8 else ''}. Sheet IDs look like {sheet.index[:3].tolist()}."
        )
    extra = [s for s in sheet.index if s not in set(obs_names)]
    if extra:
        warnings.warn(
            f"{len(extra)} sample(s) of the sheet have no data and are left out: {extra[:8]}", UserWarning, stacklevel=3
        )
    obs = sheet.loc[list(obs_names)].copy()
    for col in obs.columns:
        converted = pd.to_numeric(obs[col], errors="coerce")
        if converted.notna().all():
            obs[col] = converted
    return obs
