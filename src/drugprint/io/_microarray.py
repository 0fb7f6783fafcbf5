"""``read_microarray``: log2 intensity tables and GEO series-matrix files, probes collapsed to genes."""

from __future__ import annotations

import io
import warnings
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._checks import check_choice
from .._tables import read_table
from ._ids import check_map_ids, to_symbols, translate_ids
from ._samples import Orientation, SheetLike, attach, genes_in_rows, open_text, sample_sheet


def parse_series_matrix(path: str | PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse a GEO series-matrix file into (probes × samples table, sample annotation).

    ``!Sample_*`` header lines become annotation columns (``title``, ``geo_accession``, ``source_name_ch1`` …);
    ``!Sample_characteristics_ch1`` entries of the form ``key: value`` become one column per key.

    Parameters
    ----------
    path
        A GEO series-matrix file (``*_series_matrix.txt``, gzipped or not).

    Returns
    -------
    The values table (probes × samples, as in the file) and the sample annotation (one row per sample, indexed
    by ``geo_accession``).

    Examples
    --------
    >>> import drugprint as dp, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "GSE1_series_matrix.txt")
    >>> rows = [["!Sample_geo_accession", "GSM1", "GSM2"], ["!Sample_characteristics_ch1", "treatment: DMSO",
    ...          "treatment: CC-5013"], ["!series_matrix_table_begin"], ["ID_REF", "GSM1", "GSM2"],
    ...         ["p1", "7.1", "6.2"], ["!series_matrix_table_end"]]
    >>> with open(path, "w") as fh:  # tab-separated lines
    ...     _ = fh.write("".join(chr(9).join(row) + chr(10) for row in rows))
    >>> table, samples = dp.io.parse_series_matrix(path)
    >>> table.shape, samples["treatment"].tolist()
    ((1, 2), ['DMSO', 'CC-5013'])
    """
    path = Path(path)
    meta: dict[str, list[str]] = {}
    table_lines: list[str] = []
    in_table = False
    with open_text(path) as fh:
        for line in fh:
            if line.startswith("!series_matrix_table_begin"):
                in_table = True
                continue
            if line.startswith("!series_matrix_table_end"):
                in_table = False
                continue
            if in_table:
                table_lines.append(line)
            elif line.startswith("!Sample_"):
                key, *values = line.rstrip("\n").split("\t")
                values = [v.strip().strip('"') for v in values]
                key = key[len("!Sample_") :]
                if key.startswith("characteristics"):
                    keyed = [v for v in values if ":" in v]
                    name = keyed[0].split(":", 1)[0].strip() if keyed else key
                    while name in meta:
                        name += "_"
                    meta[name] = [v.split(":", 1)[1].strip() if ":" in v else v for v in values]
                else:
                    meta.setdefault(key, values)
    if not table_lines:
        raise ValueError(f"{path.name}: no '!series_matrix_table_begin' … '_end' block; is this a GEO series matrix?")
    table = pd.read_csv(io.StringIO("".join(table_lines)), sep="\t", index_col=0)
    table.columns = [str(c).strip('"') for c in table.columns]
    table.index = table.index.astype(str).str.strip('"')
    n = table.shape[1]
    ann = pd.DataFrame(
        {k: v for k, v in meta.items() if len(v) == n}, index=meta.get("geo_accession", list(table.columns))
    )
    return table, ann


def _annotation(annotation, table: pd.DataFrame, gene_col: str | None) -> pd.Series | None:
    if gene_col is not None:
        if gene_col not in table.columns:
            raise KeyError(f"The table has no column {gene_col!r}; columns: {list(table.columns)[:10]}.")
        return table[gene_col]
    if annotation is None:
        return None
    df = annotation if isinstance(annotation, pd.DataFrame) else read_table(annotation, dtype=str, comment="#")
    probe = next((c for c in ("ID", "probe", "probe_id", "ID_REF") if c in df.columns), df.columns[0])
    symbol = next(
        (c for c in ("symbol", "Gene Symbol", "gene_symbol", "SYMBOL", "GENE_SYMBOL") if c in df.columns),
        df.columns[1] if df.shape[1] > 1 else None,
    )
    if symbol is None:
        raise ValueError("annotation needs a probe column and a gene-symbol column.")
    return pd.Series(df[symbol].to_numpy(), index=df[probe].astype(str).to_numpy())


def _read_values(
    p: Path, sheet: pd.DataFrame | None, gene_col: str | None, orientation: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A plain table as probes × samples (IDs read as text), and the sample annotation of a samples × probes one."""
    first = read_table(p, nrows=0).columns[0]
    table = read_table(p, index_col=0, dtype={first: str})
    table.index = table.index.astype(str)
    non_numeric = [c for c in table.columns if c != gene_col and not pd.api.types.is_numeric_dtype(table[c])]
    values = table.drop(columns=[*non_numeric, *([gene_col] if gene_col in table.columns else [])])
    if gene_col is not None:
        if orientation == "samples_x_genes":
            raise ValueError("gene_col names a column of gene symbols, so the table is probes × samples; drop it.")
        rows = True
    else:
        rows = genes_in_rows(values, sheet, orientation, p.name)
    if rows:
        if non_numeric:
            raise ValueError(
                f"Columns {non_numeric[:5]} are not numeric; pass gene_col= for a symbol column or remove them."
            )
        return table, pd.DataFrame()
    return values.T.rename_axis(index=None, columns=None), table[non_numeric].rename_axis(index=None)


def read_microarray(
    path: str | PathLike,
    samples: SheetLike = None,
    *,
    sample_col: str | None = None,
    annotation: str | PathLike | pd.DataFrame | None = None,
    gene_col: str | None = None,
    collapse: Literal["max_mean", "mean"] | None = "max_mean",
    log2: bool | Literal["auto"] = "auto",
    orientation: Orientation = "auto",
    map_ids: bool | Literal["auto"] = "auto",
) -> AnnData:
    """Read normalised microarray intensities into an AnnData (samples × genes).

    Parameters
    ----------
    path
        A probes × samples table (CSV/TSV; first column the probe ID), a samples × probes one (first column the
        sample ID; its non-numeric columns join ``obs``), or a GEO series-matrix file
        (``*_series_matrix.txt[.gz]``), whose ``!Sample_`` lines become ``obs``.
    samples
        Sample sheet (path or DataFrame) keyed by the table's sample names (GSM accessions for GEO); its
        columns join ``obs``.
    sample_col
        Sample-ID column of the sheet.
    annotation
        Probe → gene-symbol table (e.g. a GEO platform table with ``ID`` and ``Gene Symbol``). Probes mapping
        to several genes (``"A /// B"``) are assigned to the first; unannotated probes are dropped.
    gene_col
        Column of the table itself holding gene symbols (instead of ``annotation``). A probe given two
        different symbols (in either) is an error.
    collapse
        Probes → genes: ``"max_mean"`` keeps, per gene, the probe with the highest mean intensity (WGCNA's
        ``collapseRows`` "MaxMean"); ``"mean"`` averages the gene's probes; ``None`` keeps probes.
    log2
        Whether to log2-transform. ``"auto"`` transforms (with a warning) when values exceed 100, i.e. the
        data were not logged; values below 1 are floored at 1 first.
    orientation
        Of a table: ``"genes_x_samples"`` (probes in rows), ``"samples_x_genes"`` or ``"auto"``: the axis naming
        more of the sample sheet's samples holds the samples, else the longer axis holds the probes; a tie is
        broken by the first column's header (``probe``, ``ID_REF``, ``gene`` … or ``sample`` …) or is an error.
        (A table with ``gene_col`` and a GEO series matrix are probes × samples.)
    map_ids
        Without ``annotation`` or ``gene_col``, name probes that are human Ensembl IDs (``ENSG…``, versioned or
        not) or Entrez IDs (whole numbers; also Brainarray's ``ENSG…_at`` and ``7157_at``) by their NCBI Gene
        symbol, through :func:`drugprint.resources.gene_table`, as :func:`drugprint.io.read_counts` does: ``"auto"``
        when at least 90 % of the names are such IDs, ``True`` always, ``False`` never. An ID without a symbol
        keeps its ID; of IDs sharing a symbol, the one with the highest mean intensity takes it (the first on
        ties) and the others keep their ID. The IDs are kept in ``var["gene_ids"]``, the record in
        ``uns["gene_ids"]``, with a warning.

    Returns
    -------
    AnnData with log2 intensities in ``X``; ``var`` has ``n_probes`` and the kept ``probe`` (``max_mean``), or
    ``gene_ids`` and ``symbol`` (IDs named by symbol, recorded in ``uns["gene_ids"]``); ``uns["io"]`` records the
    source, the collapse rule and whether the data were log-transformed.

    Examples
    --------
    >>> import drugprint as dp, pandas as pd, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "rma.csv")
    >>> pd.DataFrame({"probe": ["p1", "p2", "p3"], "symbol": ["MYC", "MYC", "IRF4"], "A": [7.0, 9.0, 5.0],
    ...               "B": [7.5, 9.5, 4.0]}).to_csv(path, index=False)
    >>> adata = dp.io.read_microarray(path, gene_col="symbol")
    >>> adata.var.loc["MYC", "probe"], float(adata[:, "MYC"].X[0, 0])
    ('p2', 9.0)
    """
    check_choice(collapse, ["max_mean", "mean", None], name="collapse")
    check_choice(orientation, ["auto", "genes_x_samples", "samples_x_genes"], name="orientation")
    check_map_ids(map_ids)
    if map_ids is True and (annotation is not None or gene_col is not None):
        raise ValueError("map_ids=True maps IDs by drugprint's gene table; pass it without annotation or gene_col.")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No file at {str(p)!r}.")
    with open_text(p) as fh:
        head = fh.read(4096)
    geo = "!Series_" in head or "!series_matrix_table_begin" in head or "!Sample_" in head
    sheet = sample_sheet(samples, sample_col=sample_col)
    table_obs = pd.DataFrame()
    if geo:
        table, geo_obs = parse_series_matrix(p)
    else:
        table, table_obs = _read_values(p, sheet, gene_col, orientation)
        geo_obs = None
    genes = _annotation(annotation, table, gene_col)
    if gene_col is not None:
        table = table.drop(columns=[gene_col])
    non_numeric = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if non_numeric:
        raise ValueError(
            f"Columns {non_numeric[:5]} are not numeric; pass gene_col= for a symbol column or remove them."
        )
    values = table.to_numpy(dtype=float)
    logged = False
    if log2 is True or (log2 == "auto" and np.nanmax(values) > 100):
        if log2 == "auto":
            warnings.warn(
                "Intensities exceed 100, so they look unlogged; applying log2 (pass log2=False to keep).",
                UserWarning,
                stacklevel=2,
            )
        values = np.log2(np.maximum(values, 1.0))
        logged = True
    expr = pd.DataFrame(values, index=table.index, columns=table.columns)

    var = pd.DataFrame(index=expr.index)
    id_record = None
    if genes is None:
        mapped = to_symbols(expr.index, expr.mean(axis=1).to_numpy(), map_ids=map_ids, what="mean intensity")
        if mapped is not None:
            names, var, id_record = mapped
            expr.index = names
    what = "gene_col" if gene_col is not None else "annotation"
    if genes is not None and collapse is not None:
        sym = pd.Series(translate_ids(expr.index, genes, what=what), index=expr.index, dtype=object)
        sym = sym.where(sym.notna(), None).map(
            lambda s: None if s in (None, "", "---") else str(s).split("///")[0].strip()
        )
        keep = sym.notna().to_numpy()
        if not keep.any():
            raise ValueError("No probe has a gene symbol; check that annotation IDs match the table's probe IDs.")
        expr, sym = expr[keep], sym[keep]
        n_probes = sym.value_counts()
        if collapse == "max_mean":
            means = expr.mean(axis=1)
            best = means.groupby(sym.to_numpy()).idxmax()
            expr = expr.loc[best.to_numpy()].set_axis(best.index)
            var = pd.DataFrame(
                {"probe": best.to_numpy(), "n_probes": n_probes.reindex(best.index).to_numpy()}, index=best.index
            )
        else:
            expr = expr.groupby(sym.to_numpy()).mean()
            var = pd.DataFrame({"n_probes": n_probes.reindex(expr.index).to_numpy()}, index=expr.index)
    elif genes is not None:
        var["symbol"] = translate_ids(expr.index, genes, what=what).to_numpy()
    var.index = var.index.astype(str)

    obs = attach(pd.Index(expr.columns.astype(str)), sheet)
    obs = obs.join(table_obs.drop(columns=obs.columns.intersection(table_obs.columns)))
    if geo_obs is not None:
        obs = geo_obs.reindex(obs.index).join(obs, rsuffix="_sheet") if len(obs.columns) else geo_obs.reindex(obs.index)
    adata = AnnData(X=expr.T.to_numpy(), obs=obs, var=var)
    adata.uns["io"] = {
        "reader": "read_microarray",
        "source": str(path),
        "format": "GEO series matrix" if geo else "table",
        "collapse": str(collapse),
        "log2_applied": logged,
    }
    if id_record is not None:
        adata.uns["gene_ids"] = id_record
    return adata
