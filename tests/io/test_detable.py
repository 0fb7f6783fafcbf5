import numpy as np
import pandas as pd
import pytest
from scipy import stats

import drugprint as dp
from tests.conftest import shared_path


def test_stat_derived_from_pvalue():
    tab = pd.DataFrame({"g": ["A", "B", "B", "C"], "lfc": [1.0, -2.0, -0.5, 0.1], "p": [0.01, 1e-6, 0.5, np.nan]})
    sig = dp.io.read_de_table(tab, "g", "lfc", pvalue_col="p", condition="len", reference="DMSO", group="NK")
    assert sig.obs_names.tolist() == ["NK|len vs DMSO"]
    assert sig.obs["cell_type"].iloc[0] == "NK"
    row = sig.to_df(layer="stat").iloc[0]
    assert np.isclose(row["A"], stats.norm.isf(0.005))
    assert np.isclose(row["B"], -stats.norm.isf(5e-7))  # duplicated gene: most significant row kept
    assert np.isnan(row["C"]) and sig.X[0, 2] == 0
    assert sig.obs["n_genes_tested"].iloc[0] == 2


def test_group_column_gives_one_signature_per_group():
    tab = pd.DataFrame(
        {"gene": ["A", "B", "A", "B"], "ct": ["NK", "NK", "B", "B"], "lfc": [1, 2, 3, 4], "t": [5, 6, 7, 8]}
    )
    sig = dp.io.read_de_table(tab, "gene", "lfc", stat_col="t", group_col="ct")
    assert sig.obs["cell_type"].tolist() == ["NK", "B"]
    assert sig.to_df(layer="stat").loc["B|treated vs control", "B"] == 8


def test_errors():
    tab = pd.DataFrame({"gene": ["A"], "lfc": [1.0], "p": [3.0]})
    with pytest.raises(KeyError, match="logFC"):
        dp.io.read_de_table(tab, "gene", "logFC")
    with pytest.raises(ValueError, match="outside"):
        dp.io.read_de_table(tab, "gene", "lfc", pvalue_col="p")
    with pytest.warns(UserWarning, match="stands in"):
        dp.io.read_de_table(tab, "gene", "lfc")


def test_published_lenalidomide_table():
    """AIFI TEA-seq, CD4 naive T cells, 24 h: lenalidomide raises IKZF1 mRNA (degradation is post-translational)."""
    path = shared_path("aifi_lenalidomide_tcells", "deg_scatter_cd4_naive_24_dex_len_data_2023-10-24.csv")
    with pytest.warns(UserWarning, match="adjusted p-values"):
        sig = dp.io.read_de_table(
            path,
            "gene",
            "y_lfc",
            padj_col="y_fdr",
            condition="lenalidomide",
            reference="DMSO",
            group="CD4 naive",
            study="AIFI TEA-seq",
            platform="scRNA MAST",
        )
    lfc = sig.to_df(layer="log2fc").iloc[0]
    padj = sig.to_df(layer="padj").iloc[0]
    assert lfc["IKZF1"] > 0.3 and padj["IKZF1"] < 1e-10
    assert sig.n_vars > 7000
    dp.tl.panels(sig)
    assert sig.obsm["panels_log2fc"].iloc[0]["neosubstrates"] > 0  # mRNA does not fall
    dp.tl.pathways(sig, "hallmark")  # published tables flow into pathways unchanged
    assert sig.obsm["pathways"].shape == (1, 50)


def test_duplicates_resolved_by_stat_when_only_stat_given():
    tab = pd.DataFrame({"g": ["A", "A", "B"], "lfc": [2.0, 0.5, 1.0], "t": [1.0, -6.0, 3.0]})
    sig = dp.io.read_de_table(tab, "g", "lfc", stat_col="t")
    assert sig.to_df(layer="stat").iloc[0].tolist() == [-6.0, 3.0]  # |t| = 6 beats the larger |log2FC|
    assert sig.to_df(layer="log2fc").iloc[0].tolist() == [0.5, 1.0]
