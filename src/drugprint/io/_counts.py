"""``read_counts``: bulk RNA-seq count tables (featureCounts, salmon, kallisto, plain CSV/TSV)."""

from __future__ import annotations

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
from ._ids import map_ids
from ._samples import SheetLike, attach, open_text, sample_sheet

_FC_ANNOT = ["Geneid", "Chr", "Start", "End", "Strand", "Length"]
Format = Literal["auto", "featurecounts", "salmon", "kallisto", "table"]


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


def read_counts(
    path: str | PathLike | Sequence[str | PathLike] | Mapping[str, str | PathLike],
    samples: SheetLike = None,
    *,
    format: Format = "auto",
    sample_col: str | None = None,
    gene_col: str | None = None,
    symbol_col: str | None = None,
    gene_map: str | PathLike | pd.DataFrame | Mapping | None = None,
    orientation: Literal["auto", "genes_x_samples", "samples_x_genes"] = "auto",
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
        ``var["gene_ids"]``).
    gene_map
        Two-column mapping (path, DataFrame or dict) from the file's identifiers to the ones to use: Ensembl →
        symbol, or transcript → gene for transcript-level salmon/kallisto files. Rows mapped to the same gene
        are summed; unmapped identifiers are kept as they are (Ensembl → symbol) or dropped with a warning.
        An identifier mapped to two different genes is an error.
    orientation
        Of a plain table; ``"auto"`` uses the sample sheet's IDs, else takes the longer axis as genes.
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
    annotation (e.g. featureCounts ``Length``) in ``var`` and the source in ``uns["io"]``.

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
            df = read_table(p, sep="\t", comment="#")
            missing = [c for c in _FC_ANNOT if c not in df.columns]
            if missing:
                raise ValueError(f"{p.name}: featureCounts output needs columns {_FC_ANNOT}; missing {missing}.")
            df = df.set_index("Geneid")
            var_extra = df[["Chr", "Length"]].rename(columns={"Chr": "chr", "Length": "length"})
            var_extra["chr"] = var_extra["chr"].astype(str).str.split(";").str[0]
            counts = df.drop(columns=_FC_ANNOT[1:])
            counts.columns = [
                Path(c).name.removesuffix(".bam").removesuffix(".sam").removesuffix(".cram") for c in counts.columns
            ]
        else:
            df = read_table(p)
            gcol = gene_col if gene_col is not None else df.columns[0]
            if gcol not in df.columns:
                raise KeyError(f"{p.name} has no column {gcol!r}; columns: {list(df.columns)[:10]}.")
            df = df.set_index(gcol)
            if symbol_col is not None:
                if symbol_col not in df.columns:
                    raise KeyError(f"{p.name} has no column {symbol_col!r}; columns: {list(df.columns)[:10]}.")
                gmap = df[symbol_col].dropna().astype(str)
                df = df.drop(columns=[symbol_col])
            non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
            counts = df.drop(columns=non_numeric)
            if _genes_in_rows(counts, sheet, orientation, p.name):
                var_extra = df[non_numeric]
            else:
                counts, obs_extra = counts.T, df[non_numeric].set_axis(df.index.astype(str))
    counts.index = counts.index.astype(str)
    counts.columns = counts.columns.astype(str)
    if fmt == "featurecounts" and symbol_col is not None:
        raise ValueError("featureCounts output has no symbol column; pass gene_map= (Ensembl → symbol) instead.")

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
    check_library_sizes(
        values.sum(axis=0),
        what=f"The samples of {Path(path).name if isinstance(path, str | PathLike) else 'these files'}",
        fix="Read the raw (or estimated) counts instead — featureCounts, salmon's NumReads, kallisto's "
        "est_counts —, or log-transform the normalised values and read them with dp.io.read_microarray (limma).",
        allow=allow_normalized,
    )
    counts = pd.DataFrame(values.astype(np.int64), index=counts.index, columns=counts.columns)

    gene_ids = None
    if gmap is not None:
        mapped = map_ids(counts.index, gmap, what="symbol_col" if symbol_col is not None else "gene_map")
        unmapped = mapped.isna()
        if fmt in ("salmon", "kallisto") and unmapped.any():
            warnings.warn(
                f"{int(unmapped.sum())} transcripts have no gene in gene_map and are dropped.",
                UserWarning,
                stacklevel=2,
            )
            counts, mapped = counts[~unmapped], mapped[~unmapped]
        elif unmapped.any():
            warnings.warn(
                f"{int(unmapped.sum())} identifiers have no entry in the mapping and keep their ID.",
                UserWarning,
                stacklevel=2,
            )
            mapped = pd.Index(np.where(unmapped, counts.index, mapped))
        gene_ids = (
            pd.Series(counts.index, index=counts.index)
            .groupby(np.asarray(mapped), sort=False)
            .agg(lambda s: ";".join(s))
        )
        counts = counts.groupby(np.asarray(mapped), sort=False).sum()
    elif counts.index.has_duplicates:
        dup = counts.index[counts.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"Gene identifiers are duplicated (e.g. {dup}); pass gene_map= or fix the table.")

    obs = attach(pd.Index(counts.columns), sheet)
    obs = obs.join(obs_extra.drop(columns=obs.columns.intersection(obs_extra.columns)))
    var = pd.DataFrame(index=pd.Index(counts.index.astype(str)))
    if gene_ids is not None:
        var["gene_ids"] = gene_ids.reindex(var.index).to_numpy()
    elif len(var_extra):
        var = var.join(var_extra.set_axis(var_extra.index.astype(str)))
    x = counts.T.to_numpy()
    adata = AnnData(X=x, obs=obs, var=var)
    adata.layers["counts"] = x.copy()
    adata.uns["io"] = {"reader": "read_counts", "source": str(path), "format": fmt, "rounded": bool(fractional.any())}
    return adata


def _genes_in_rows(df: pd.DataFrame, sheet: pd.DataFrame | None, orientation: str, name: str) -> bool:
    """Whether the table is genes × samples (else samples × genes)."""
    if orientation != "auto":
        return orientation == "genes_x_samples"
    if sheet is not None:
        in_cols = len(set(df.columns.astype(str)) & set(sheet.index))
        in_rows = len(set(df.index.astype(str)) & set(sheet.index))
        if in_cols or in_rows:
            return in_cols >= in_rows
        raise ValueError(f"No sample of the sheet ({sheet.index[:3].tolist()} …) names a row or column of {name}.")
    return df.shape[0] >= df.shape[1]
