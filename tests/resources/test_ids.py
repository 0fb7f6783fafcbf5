"""The shipped human gene table: its content, provenance and checksum, and the ID → symbol lookups built on it."""

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

import drugprint as dp
from drugprint.resources import _ids
from drugprint.resources._files import data_file

ROOT = Path(__file__).resolve().parents[2]
SHA256 = "00879fbef94abf1039c45aa5810edf3d3e1546c977f2a72a2710a47207cdce7c"


def test_gene_table_content(no_network):
    genes = dp.resources.gene_table()
    assert list(genes.columns) == ["entrez", "symbol", "ensembl", "type"]
    assert genes.shape == (81120, 4)
    assert all(dtype is np.dtype(object) for dtype in genes.dtypes) and not genes.isna().any().any()
    assert genes["entrez"].nunique() == 77614 and (genes["ensembl"] != "").sum() == 40102
    by_entrez = genes.drop_duplicates("entrez").set_index("entrez")
    assert by_entrez.loc["7157", "symbol"] == "TP53" and by_entrez.loc["10320", "symbol"] == "IKZF1"
    assert by_entrez["type"].value_counts()["protein-coding"] == 20598
    assert genes.loc[genes["symbol"] == "IKZF1", "ensembl"].tolist() == ["ENSG00000185811"]
    assert genes.loc[genes["ensembl"] == "ENSG00000141510", "entrez"].tolist() == ["7157"]
    assert genes["entrez"].astype(int).is_monotonic_increasing  # sorted by Entrez ID, as the script writes it


def test_gene_table_provenance_and_checksum():
    genes = dp.resources.gene_table()
    assert genes.attrs["sha256"] == SHA256 == hashlib.sha256(data_file("human_genes.tsv.xz").read_bytes()).hexdigest()
    assert genes.attrs["licence"] == "public domain (NCBI Gene)"
    assert genes.attrs["file"] == "human_genes.tsv.xz"
    assert "org.Hs.eg.db 3.16.0" in genes.attrs["version"] and "NCBI Gene 2022-Sep12" in genes.attrs["version"]
    for key in ("name", "source", "citation"):
        assert genes.attrs[key]
    readme = (ROOT / "data" / "README.md").read_text()
    assert re.search(r"\| `human_genes\.tsv\.xz` \|.*\| " + SHA256 + r" \|", readme)
    assert "`scripts/human_genes_from_org_hs_eg_db.R`" in readme


def test_gene_table_is_read_once_and_copied():
    _ids._table.cache_clear()
    first = dp.resources.gene_table()
    first.loc[0, "symbol"] = "CHANGED"
    second = dp.resources.gene_table()
    assert second.loc[0, "symbol"] == "A1BG"
    assert _ids._table.cache_info().misses == 1 and _ids._table.cache_info().hits == 1


def test_symbol_lookups():
    ensembl = _ids.symbol_lookup("ensembl")
    entrez = _ids.symbol_lookup("entrez")
    assert ensembl["ENSG00000141510"] == "TP53" and ensembl["ENSG00000185811"] == "IKZF1"
    assert entrez["7157"] == "TP53" and entrez["100124696"] == "TEC" and entrez["7006"] == "TEC"
    assert ensembl.index.is_unique and entrez.index.is_unique
    assert len(ensembl) == 39708 and len(entrez) == 77614
    # an Ensembl gene of several Entrez genes takes the lowest Entrez ID's symbol (ST7, not ST7-OT3)
    assert ensembl["ENSG00000004866"] == "ST7" and ensembl["ENSG00000086200"] == "IPO11"
    assert isinstance(ensembl, pd.Series)
