"""``read_counts``: bulk RNA-seq count tables (featureCounts, salmon, kallisto, plain CSV/TSV)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._checks import check_choice
from .._libsize import check_library_sizes
from .._tables import read_table
from ._ids import check_map_ids, to_symbols, translate_ids
from ._samples import Orientation, SheetLike, attach, genes_in_rows, open_text, sample_sheet

_FC_ANNOT = ["Geneid", "Chr", "Start", "End", "Strand", "Length"]
Format = Literal["auto", "featurecounts", "salmon", "kallisto", "table"]
#: Aligner and post-processing suffixes stripped from featureCounts' sample columns, when every column has the same
BAM_SUFFIXES = (
    ".Aligned.sortedByCoord.out",
    "_Aligned.sortedByCoord.out",
    "Aligned.sortedByCoord.out",
    ".Aligned.out",
    "_Aligned.out",
    "Aligned.out",
    ".sortedByCoord.out",
    ".sorted",
    "_sorted",
    ".sort",
    ".dedup",
    "_dedup",
    ".dedupped",
    ".deduplicated",
    ".markdup",
    "_markdup",
    ".markdups",
    ".mkdup",
    ".rmdup",
    "_rmdup",
    ".filtered",
    ".unique",
    ".primary",
)


def _mapping(gene_map: str | PathLike | pd.DataFrame | Mapping | None) -> pd.Series | None:
    if gene_map is None:
        return None
    if isinstance(gene_map, Mapping):
        return pd.Series(dict(gene_map), dtype=object)
    df = gene_map if isinstance(gene_map, pd.DataFrame) else read_table(gene_map, dtype=str)
    if df.shape[1] < 2:
        raise ValueError("gene_map needs two columns: the identifier in the file and the one to use (e.g. symbol).")
    return pd.Series(df.iloc[:, 1].to_numpy(), index=df.iloc[:, 0].astype(str).to_numpy())


def _sample_names(files: Sequence[Path]) -> list[str]:
    """Parent folder names (``S1/quant.sf``) when they tell the files apart, else file stems (``S1.sf``)."""
    names = [f.parent.name for f in files]
    if not all(names) or len(set(names)) < len(names):
        names = [Path(f.name.removesuffix(".gz")).stem for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"Several files would be named {dup[:5]} (neither their folders nor their file names differ); "
            "pass a mapping {sample: file} instead of a list."
        )
    return names


def _sniff(path: Path) -> str:
    with open_text(path) as fh:
        first = fh.readline()
        header = first if not first.startswith("#") else fh.readline()
    cols = header.rstrip("\n").split("\t")
    if first.startswith("# Program:featureCounts") or cols[:6] == _FC_ANNOT:
        return "featurecounts"
    if cols[:2] == ["Name", "Length"] and "NumReads" in cols:
        return "salmon"
    if cols[:1] == ["target_id"] and "est_counts" in cols:
        return "kallisto"
    return "table"


def _per_sample(files: Mapping[str, Path], fmt: str) -> pd.DataFrame:
    id_col, count_col = ("Name", "NumReads") if fmt == "salmon" else ("target_id", "est_counts")
    cols = {}
    for sample, f in files.items():
        df = read_table(f, sep="\t")
        if id_col not in df.columns or count_col not in df.columns:
            raise ValueError(f"{Path(f).name}: a {fmt} file needs columns {id_col!r} and {count_col!r}.")
        cols[sample] = df.set_index(id_col)[count_col]
    return pd.DataFrame(cols)


def _bam_sample_names(columns: Sequence[str]) -> list[str]:
    """Sample names from featureCounts' sample columns (BAM paths).

    Directories and the ``.bam``/``.sam``/``.cram`` extension go; then any suffix of :data:`BAM_SUFFIXES` that
    every column ends with (``Aligned.sortedByCoord.out``, ``.sorted``, ``.dedup`` …), repeatedly, as long as the
    names stay distinct and non-empty. Files named alike in folders of their own (``S1/Aligned.out.bam``) are named
    after their folders.
    """
    parts = [re.split(r"[\\/]", str(c)) for c in columns]
    names = [re.sub(r"\.(bam|sam|cram)$", "", p[-1], flags=re.IGNORECASE) for p in parts]
    stripped = True
    while stripped:
        stripped = False
        for suffix in BAM_SUFFIXES:
            if all(n.endswith(suffix) and len(n) > len(suffix) for n in names):
                cut = [n[: -len(suffix)] for n in names]
                if len(set(cut)) == len(cut):
                    names, stripped = cut, True
                    break
    if len(set(names)) < len(names):
        folders = [p[-2] if len(p) > 1 else "" for p in parts]
        names = folders if all(folders) and len(set(folders)) == len(folders) else [str(c) for c in columns]
    return names


def _positions(values: pd.Series, pick) -> pd.Series:
    """``"1;5;9"`` → ``pick`` of the numbers (featureCounts lists one start/end per exon)."""
    return values.astype(str).str.split(";").map(lambda xs: pick(int(x) for x in xs if x.strip()))


def _read_featurecounts(p: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read featureCounts output: counts (genes × samples) and gene annotation (chr, start, end, strand, length)."""
    df = read_table(p, sep="\t", comment="#")
    missing = [c for c in _FC_ANNOT if c not in df.columns]
    if missing:
        raise ValueError(f"{p.name}: featureCounts output needs columns {_FC_ANNOT}; missing {missing}.")
    df = df.set_index(df["Geneid"].astype(str)).drop(columns="Geneid")
    var = pd.DataFrame(
        {
            "chr": df["Chr"].astype(str).str.split(";").str[0],
            "start": _positions(df["Start"], min),
            "end": _positions(df["End"], max),
            "strand": df["Strand"].astype(str).str.split(";").str[0],
            "length": df["Length"],
        },
        index=df.index,
    )
    counts = df.drop(columns=_FC_ANNOT[1:])
    extra = [c for c in counts.columns if not pd.api.types.is_numeric_dtype(counts[c])]  # --extraAttributes
    var = var.join(counts[extra])
    counts = counts.drop(columns=extra)
    counts.columns = _bam_sample_names(list(counts.columns))
    return counts, var


def _read_plain(
    p: Path, sheet: pd.DataFrame | None, gene_col: str | None, symbol_col: str | None, orientation: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series | None]:
    """A plain table: counts (genes × samples), gene annotation, sample annotation and the symbol column."""
    header = read_table(p, nrows=0).columns
    gcol = gene_col if gene_col is not None else header[0]
    if gcol not in header:
        raise KeyError(f"{p.name} has no column {gcol!r}; columns: {list(header)[:10]}.")
    df = read_table(p, dtype={gcol: str}).set_index(gcol)  # IDs as text: sample "01" stays "01"
    gmap = None
    if symbol_col is not None:
        if symbol_col not in df.columns:
            raise KeyError(f"{p.name} has no column {symbol_col!r}; columns: {list(df.columns)[:10]}.")
        gmap = df[symbol_col].dropna().astype(str)
        df = df.drop(columns=[symbol_col])
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    counts = df.drop(columns=non_numeric)
    if genes_in_rows(counts, sheet, orientation, p.name):
        return counts, df[non_numeric], pd.DataFrame(), gmap
    return counts.T, pd.DataFrame(), df[non_numeric].set_axis(df.index.astype(str)), gmap


def _integer_counts(counts: pd.DataFrame, fmt: str, round_counts: bool | None) -> tuple[np.ndarray, bool]:
    """The counts as a float array after the checks (no NaN, no negatives, integers or rounded) and whether rounded."""
    values = counts.to_numpy(dtype=float)
    if np.isnan(values).any():
        r, c = np.argwhere(np.isnan(values))[0]
        raise ValueError(f"Missing count for gene {counts.index[r]!r} in sample {counts.columns[c]!r}.")
    if (values < 0).any():
        r, c = np.argwhere(values < 0)[0]
        raise ValueError(f"Negative count {values[r, c]} for gene {counts.index[r]!r} in sample {counts.columns[c]!r}.")
    fractional = np.mod(values, 1) != 0
    do_round = round_counts if round_counts is not None else fmt in ("salmon", "kallisto")
    if fractional.any():
        if not do_round:
            r, c = np.argwhere(fractional)[0]
            raise ValueError(
                f"Counts must be integers, but gene {counts.index[r]!r} in sample {counts.columns[c]!r} has "
                f"{values[r, c]}. For estimated counts pass round_counts=True; for normalised or log values use "
                "dp.io.read_microarray (limma)."
            )
        values = np.rint(values)
    return values, bool(fractional.any())


def _aggregate_var(var: pd.DataFrame, groups: np.ndarray) -> pd.DataFrame:
    """Gene annotation of rows summed into one gene: lengths summed, the span of starts and ends, else the first."""
    how = {c: {"length": "sum", "start": "min", "end": "max"}.get(c, "first") for c in var.columns}
    return var.groupby(groups, sort=False).agg(how) if how else pd.DataFrame(index=pd.unique(groups))


def _apply_gene_map(
    counts: pd.DataFrame, var_extra: pd.DataFrame, gmap: pd.Series, fmt: str, what: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts summed per mapped gene, and ``var`` (``gene_ids`` joined by ``;``, the annotation aggregated)."""
    mapped = translate_ids(counts.index, gmap, what=what)
    unmapped = mapped.isna()
    if fmt in ("salmon", "kallisto") and unmapped.any():
        warnings.warn(
            f"{int(unmapped.sum())} transcripts have no gene in gene_map and are dropped.", UserWarning, stacklevel=3
        )
        counts, mapped = counts[~unmapped], mapped[~unmapped]
    elif unmapped.any():
        warnings.warn(
            f"{int(unmapped.sum())} identifiers have no entry in the mapping and keep their ID.",
            UserWarning,
            stacklevel=3,
        )
        mapped = pd.Index(np.where(unmapped, counts.index, mapped))
    groups = np.asarray(mapped)
    gene_ids = pd.Series(counts.index, index=counts.index).groupby(groups, sort=False).agg(lambda s: ";".join(s))
    var = pd.DataFrame({"gene_ids": gene_ids})
    if len(var_extra.columns):
        var = var.join(_aggregate_var(var_extra.reindex(counts.index), groups))
    return counts.groupby(groups, sort=False).sum(), var


def read_counts(
    path: str | PathLike | Sequence[str | PathLike] | Mapping[str, str | PathLike],
    samples: SheetLike = None,
    *,
    format: Format = "auto",
    sample_col: str | None = None,
    gene_col: str | None = None,
    symbol_col: str | None = None,
    gene_map: str | PathLike | pd.DataFrame | Mapping | None = None,
    map_ids: bool | Literal["auto"] = "auto",
    orientation: Orientation = "auto",
    round_counts: bool | None = None,
    allow_normalized: bool = False,
) -> AnnData:
    """Read bulk RNA-seq counts into an AnnData (samples × genes) with a validated sample sheet.

    Parameters
    ----------
    path
        A featureCounts output, a gene-level table (CSV/TSV, either orientation), or salmon (``quant.sf``,
        ``quant.genes.sf``) / kallisto (``abundance.tsv``) files: a list or a mapping sample → file. Listed
        files are named after their folders when these differ, else after the file names (``S1.sf`` → ``S1``).
        featureCounts' sample columns are BAM paths: they are named by the file without its folder and its
        ``.bam``/``.sam``/``.cram`` extension, and without the aligner suffixes every column shares
        (``Aligned.sortedByCoord.out``, ``.sorted``, ``.dedup``, ``.markdup`` …), so that
        ``/data/S1.Aligned.sortedByCoord.out.bam`` is ``S1``; files named alike in their own folders
        (``S1/Aligned.sortedByCoord.out.bam``) are named by the folder.
    samples
        Sample sheet (path or DataFrame) whose IDs match the data's sample names; it becomes ``obs``.
        Every data sample must be in it; sheet rows without data are dropped with a warning.
    format
        File format; ``"auto"`` recognises featureCounts, salmon and kallisto headers.
    sample_col
        Column of the sample sheet with the sample IDs (default ``sample`` or the first column).
    gene_col
        Column of a plain table with the gene identifiers (default: the first column).
    symbol_col
        Column of the table holding gene symbols to use as ``var_names`` (original IDs kept in
        ``var["gene_ids"]``); for featureCounts, one of its ``--extraAttributes`` columns (e.g. ``gene_name``).
    gene_map
        Two-column mapping (path, DataFrame or dict) from the file's identifiers to the ones to use: Ensembl →
        symbol, or transcript → gene for transcript-level salmon/kallisto files. Rows mapped to the same gene
        are summed; unmapped identifiers are kept as they are (Ensembl → symbol) or dropped with a warning.
        An identifier mapped to two different genes is an error.
    map_ids
        Name genes given as human Ensembl IDs (``ENSG…``, versioned or not) or Entrez IDs (whole numbers) by their
        NCBI Gene symbol, through :func:`drugprint.resources.gene_table` (after ``gene_map`` too: transcripts
        mapped to Ensembl genes are then named by symbol, the map's identifiers kept in ``var["mapped_from"]``).
        ``"auto"`` maps when at least 90 % of the gene names are IDs of one kind (and
        at least half of them are known); ``True`` maps whatever IDs there are; ``False`` keeps the IDs. Rule:
        an ID without a symbol keeps its ID; IDs that share a symbol are not summed: the one with the highest
        total count takes the symbol (the first in the file on ties), the others keep their ID. The IDs are kept
        in ``var["gene_ids"]``, the symbols in ``var["symbol"]``, the counts of mapped, unmapped and duplicate IDs
        in ``uns["gene_ids"]``, and a warning reports them.
    orientation
        Of a plain table; ``"auto"`` uses the sample sheet's IDs, else takes the longer axis as genes; a tie is
        broken by the first column's header (``gene`` …, ``sample`` …) or is an error.
        Non-numeric columns are gene annotation (``var``) in a genes × samples table and sample annotation
        (``obs``, after the sheet's own columns) in a samples × genes one.
    round_counts
        Round non-integer counts (salmon/kallisto estimated counts are rounded by default, as tximport users
        do for DESeq2). Otherwise non-integer values are an error.
    allow_normalized
        Read tables whose samples all sum to the same total (TPM, CPM, scaled counts; rounded or not) as counts.
        By default a table whose samples all sum to 10,000, 100,000 or 1,000,000, or (three samples or more) to
        one common total, within 0.1 % (3 % from 20 samples), is an error: its values are not counts, and count
        models would treat them as if they were.

    Returns
    -------
    AnnData with integer counts in ``X`` and ``layers["counts"]``, the sample sheet in ``obs``, gene
    annotation in ``var`` (featureCounts: ``chr``, ``start``, ``end``, ``strand``, ``length`` and any
    ``--extraAttributes`` columns; of rows summed into one gene by ``gene_map``, the lengths summed, the
    span of starts and ends, else the first row's), the source in ``uns["io"]`` and, when IDs were named
    by symbol, the record in ``uns["gene_ids"]``.

    Examples
    --------
    >>> import drugprint as dp, pandas as pd, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "counts.csv")
    >>> pd.DataFrame({"gene": ["IKZF1", "MYC", "IRF4"], "S1": [10, 0, 5], "S2": [12, 3, 7]}).to_csv(path, index=False)
    >>> adata = dp.io.read_counts(path, samples=pd.DataFrame({"drug": ["DMSO", "lenalidomide"]}, index=["S1", "S2"]))
    >>> adata.obs["drug"].tolist(), adata.shape
    (['DMSO', 'lenalidomide'], (2, 3))
    """
    check_choice(format, ["auto", "featurecounts", "salmon", "kallisto", "table"], name="format")
    check_choice(orientation, ["auto", "genes_x_samples", "samples_x_genes"], name="orientation")
    check_map_ids(map_ids)
    if map_ids is True and (gene_map is not None or symbol_col is not None):
        raise ValueError("map_ids=True maps IDs by drugprint's gene table; pass it without gene_map or symbol_col.")
    sheet = sample_sheet(samples, sample_col=sample_col)
    gmap = _mapping(gene_map)
    var_extra = obs_extra = pd.DataFrame()
    if isinstance(path, Mapping) or (isinstance(path, Sequence) and not isinstance(path, str)):
        if isinstance(path, Mapping):
            files = {str(k): Path(v) for k, v in path.items()}
        else:
            paths = [Path(p) for p in path]
            files = dict(zip(_sample_names(paths), paths, strict=True))
        for f in files.values():
            if not f.exists():
                raise FileNotFoundError(f"No file at {str(f)!r}.")
        fmt = _sniff(next(iter(files.values()))) if format == "auto" else format
        if fmt not in ("salmon", "kallisto"):
            raise ValueError("Several files are read only in salmon or kallisto format; pass format=... or one table.")
        counts = _per_sample(files, fmt)  # genes × samples
    else:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"No file at {str(p)!r}.")
        fmt = _sniff(p) if format == "auto" else format
        if fmt in ("salmon", "kallisto"):
            counts = _per_sample({_sample_names([p])[0]: p}, fmt)
        elif fmt == "featurecounts":
            counts, var_extra = _read_featurecounts(p)
            if symbol_col is not None:
                if symbol_col not in var_extra.columns[5:]:
                    raise ValueError(
                        f"This featureCounts output has no column {symbol_col!r} (its --extraAttributes: "
                        f"{list(var_extra.columns[5:])}); pass gene_map= (Ensembl → symbol) instead."
                    )
                gmap = var_extra.pop(symbol_col).dropna().astype(str)
        else:
            counts, var_extra, obs_extra, symbols = _read_plain(p, sheet, gene_col, symbol_col, orientation)
            gmap = symbols if symbols is not None else gmap
    counts.index = counts.index.astype(str)
    counts.columns = counts.columns.astype(str)
    var_extra = var_extra.set_axis(var_extra.index.astype(str)) if len(var_extra.columns) else pd.DataFrame()

    values, rounded = _integer_counts(counts, fmt, round_counts)
    check_library_sizes(
        values.sum(axis=0),
        what=f"The samples of {Path(path).name if isinstance(path, str | PathLike) else 'these files'}",
        fix="Read the raw (or estimated) counts instead — featureCounts, salmon's NumReads, kallisto's "
        "est_counts —, or log-transform the normalised values and read them with dp.io.read_microarray (limma).",
        allow=allow_normalized,
    )
    counts = pd.DataFrame(values.astype(np.int64), index=counts.index, columns=counts.columns)

    id_record = None
    if gmap is not None:
        what = "symbol_col" if symbol_col is not None else "gene_map"
        counts, var = _apply_gene_map(counts, var_extra, gmap, fmt, what)
        if map_ids is not False:  # e.g. transcript → Ensembl gene by gene_map, then Ensembl → symbol
            mapped = to_symbols(counts.index, counts.sum(axis=1).to_numpy(), map_ids="auto", what="total count")
            if mapped is not None:
                names, id_var, id_record = mapped
                var = id_var.join(var.rename(columns={"gene_ids": "mapped_from"}).set_axis(names))
                counts.index = names
    else:
        if counts.index.has_duplicates:
            dup = counts.index[counts.index.duplicated()].unique()[:5].tolist()
            raise ValueError(f"Gene identifiers are duplicated (e.g. {dup}); pass gene_map= or fix the table.")
        var = var_extra.reindex(counts.index) if len(var_extra.columns) else pd.DataFrame(index=counts.index)
        mapped = to_symbols(counts.index, counts.sum(axis=1).to_numpy(), map_ids=map_ids, what="total count")
        if mapped is not None:
            names, id_var, id_record = mapped
            var = id_var.join(var.set_axis(names)) if len(var.columns) else id_var
            counts.index = names

    obs = attach(pd.Index(counts.columns), sheet)
    obs = obs.join(obs_extra.drop(columns=obs.columns.intersection(obs_extra.columns)))
    var = var.set_axis(pd.Index(counts.index.astype(str)))
    x = counts.T.to_numpy()
    adata = AnnData(X=x, obs=obs, var=var)
    adata.layers["counts"] = x.copy()
    adata.uns["io"] = {"reader": "read_counts", "source": str(path), "format": fmt, "rounded": rounded}
    if id_record is not None:
        adata.uns["gene_ids"] = id_record
    return adata
