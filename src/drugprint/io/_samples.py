"""Sample sheets: read, validate against the data's sample names, and attach as ``obs``."""

from __future__ import annotations

import gzip
import warnings
from os import PathLike
from pathlib import Path
from typing import Literal

import pandas as pd

from .._tables import read_table

SheetLike = str | PathLike | pd.DataFrame | None


def open_text(path: Path):
    """Open a text file, gzip-compressed or not."""
    return gzip.open(path, "rt") if Path(path).suffix == ".gz" else Path(path).open()


def sample_sheet(samples: SheetLike, *, sample_col: str | None = None) -> pd.DataFrame | None:
    """A sample sheet indexed by sample ID (``sample_col``, a ``sample`` column, or the first column).

    A file's columns get pandas' type inference (so ``"01"`` becomes ``1``), except the ID column, which is
    read as text; a DataFrame's columns keep their dtypes.
    """
    if samples is None:
        return None
    if isinstance(samples, pd.DataFrame):
        sheet = samples.copy()
    else:
        header = read_table(samples, nrows=0).columns
        id_col = sample_col if sample_col in header else "sample" if "sample" in header else header[0]
        sheet = read_table(samples, dtype={id_col: str})
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
    extra = sheet.index.difference(obs_names, sort=False).tolist()
    if extra:
        warnings.warn(
            f"{len(extra)} sample(s) of the sheet have no data and are left out: {extra[:8]}", UserWarning, stacklevel=3
        )
    return sheet.loc[list(obs_names)].copy()


Orientation = Literal["auto", "genes_x_samples", "samples_x_genes"]
#: First-column headers that say a table's rows are genes (or probes), or samples; they break ties of shape.
GENE_HEADERS = {"gene", "genes", "gene_id", "geneid", "gene_name", "gene_symbol", "symbol", "ensembl", "ensembl_id"}
GENE_HEADERS |= {"entrez", "entrez_id", "probe", "probe_id", "probeset", "probeset_id", "id_ref", "feature_id"}
SAMPLE_HEADERS = {"sample", "samples", "sample_id", "sample_name", "geo_accession", "gsm"}


def genes_in_rows(df: pd.DataFrame, sheet: pd.DataFrame | None, orientation: str, name: str) -> bool:
    """Whether a table is genes × samples (else samples × genes).

    ``orientation="auto"`` decides by the sample sheet (the axis naming more of its samples), else by shape (the
    longer axis holds the genes); a tie is broken by the first column's header (``gene``, ``probe`` … or
    ``sample`` …) or is an error asking for ``orientation=``.
    """
    if orientation != "auto":
        return orientation == "genes_x_samples"
    header = str(df.index.name or "").strip().lower()
    hint = True if header in GENE_HEADERS else False if header in SAMPLE_HEADERS else None
    if sheet is not None:
        in_cols = len(set(df.columns.astype(str)) & set(sheet.index))
        in_rows = len(set(df.index.astype(str)) & set(sheet.index))
        if not in_cols and not in_rows:
            raise ValueError(f"No sample of the sheet ({sheet.index[:3].tolist()} …) names a row or column of {name}.")
        if in_cols != in_rows:
            return in_cols > in_rows
        why = f"the sample sheet names {in_cols} of its rows and {in_cols} of its columns"
    elif df.shape[0] != df.shape[1]:
        return df.shape[0] > df.shape[1]
    else:
        why = f"it has as many rows as columns ({df.shape[0]}) and no sample sheet tells them apart"
    if hint is not None:
        return hint
    raise ValueError(
        f"Cannot tell whether {name} is genes × samples or samples × genes: {why}. Pass "
        "orientation='genes_x_samples' or 'samples_x_genes' (or name the first column 'gene' or 'sample')."
    )
