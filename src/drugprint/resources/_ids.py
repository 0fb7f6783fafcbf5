"""Offline human gene identifiers: NCBI Gene (Entrez) IDs, symbols, Ensembl gene IDs and gene types."""

from __future__ import annotations

import functools
import lzma

import pandas as pd

from ._files import data_file

#: Provenance of the shipped human gene table (recorded on :func:`gene_table`'s ``attrs``).
GENE_TABLE: dict[str, str] = {
    "name": "human_genes",
    "file": "human_genes.tsv.xz",
    "version": "org.Hs.eg.db 3.16.0 (NCBI Gene 2022-Sep12)",
    "source": "NCBI Gene human genes: Entrez ID, official symbol, Ensembl gene IDs (org.Hs.egENSEMBL, NCBI's "
    "gene2ensembl and Ensembl's cross-references) and gene type (org.Hs.egGENETYPE), from Bioconductor's "
    "org.Hs.eg.db (Debian r-bioc-org.hs.eg.db 3.16.0) by data/scripts/human_genes_from_org_hs_eg_db.R",
    "citation": "Brown et al. 2015, Nucleic Acids Res 43:D36 (NCBI Gene); Carlson 2022, org.Hs.eg.db 3.16.0 "
    "(Bioconductor)",
    "licence": "public domain (NCBI Gene)",
    "sha256": "00879fbef94abf1039c45aa5810edf3d3e1546c977f2a72a2710a47207cdce7c",
}


@functools.lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    with data_file(GENE_TABLE["file"]).open("rb") as fh, lzma.open(fh, "rt", encoding="utf-8") as text:
        return pd.read_csv(text, sep="\t", dtype=str, keep_default_na=False, na_filter=False)


def gene_table() -> pd.DataFrame:
    """The shipped table of human genes: NCBI Gene (Entrez) ID, official symbol, Ensembl gene ID and gene type.

    It is what the readers of :mod:`drugprint.io` use to name genes by symbol when a table has Ensembl or Entrez
    IDs. Built by ``data/scripts/human_genes_from_org_hs_eg_db.R`` from Bioconductor's org.Hs.eg.db 3.16.0
    (NCBI Gene of 2022-09-12); read from the package's data once per session.

    Returns
    -------
    DataFrame with one row per Entrez gene × Ensembl gene pair (an Entrez gene without Ensembl ID has one row
    with an empty ``ensembl``), sorted by Entrez ID, all columns text: ``entrez``, ``symbol``, ``ensembl``
    (unversioned ``ENSG…``) and ``type`` (NCBI's gene type: ``protein-coding``, ``ncRNA``, ``pseudo`` …).
    ``attrs`` holds its provenance: ``name``, ``file``, ``version``, ``source``, ``citation``, ``licence`` and
    ``sha256`` (of the shipped file). A copy: changing it changes nothing for later calls.

    Examples
    --------
    >>> import drugprint as dp
    >>> genes = dp.resources.gene_table()
    >>> genes.loc[genes["ensembl"] == "ENSG00000141510", ["entrez", "symbol", "type"]].values.tolist()
    [['7157', 'TP53', 'protein-coding']]
    >>> genes.attrs["licence"]
    'public domain (NCBI Gene)'
    """
    out = _table().copy()
    out.attrs = dict(GENE_TABLE)
    return out


@functools.lru_cache(maxsize=2)
def symbol_lookup(kind: str) -> pd.Series:
    """Identifier → symbol: ``kind="ensembl"`` (unversioned ``ENSG…``) or ``"entrez"``.

    An Ensembl gene mapped to several Entrez genes (about 350, e.g. a gene and its readthrough transcript) takes the
    symbol of the lowest Entrez ID: the longest-established gene (ST7, not ST7-OT3; IPO11, not IPO11-LRRC70).
    """
    table = _table()
    if kind == "entrez":
        rows = table.drop_duplicates("entrez")
        return pd.Series(rows["symbol"].to_numpy(), index=rows["entrez"].to_numpy(), name="symbol")
    if kind == "ensembl":
        rows = table[table["ensembl"] != ""].drop_duplicates("ensembl", keep="first")  # rows sorted by Entrez ID
        return pd.Series(rows["symbol"].to_numpy(), index=rows["ensembl"].to_numpy(), name="symbol")
    raise ValueError(f"kind must be 'ensembl' or 'entrez', got {kind!r}.")
