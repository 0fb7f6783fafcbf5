import numpy as np
import pytest

import drugprint as dp


def test_de_table(sig_all):
    tab = dp.get.de_table(sig_all, groups=["NK"], conditions=["mezigdomide"])
    assert set(tab["signature"]) == {"NK|mezigdomide vs DMSO"}
    assert list(tab.columns[:5]) == ["signature", "cell_type", "condition", "reference", "gene"]
    assert len(tab) == sig_all.obs.loc["NK|mezigdomide vs DMSO", "n_genes_tested"]
    assert tab["pvalue"].is_monotonic_increasing
    row = tab.set_index("gene").loc["GZMB"]
    j = sig_all.var_names.get_loc("GZMB")
    assert np.isclose(row["log2fc"], sig_all["NK|mezigdomide vs DMSO"].layers["log2fc"][0, j])
    sig_only = dp.get.de_table(sig_all, alpha=0.05)
    assert len(sig_only) == np.sum(np.asarray(sig_all.layers["padj"]) < 0.05) > 0
    with pytest.raises(KeyError, match=r"\['Nk'\] are not in these signatures.*'NK'"):
        dp.get.de_table(sig_all, groups=["Nk"])
    with pytest.raises(KeyError, match="mezi"):
        dp.get.de_table(sig_all, conditions=["mezi"])


def test_pathway_table(sig_all):
    tab = dp.get.pathway_table(sig_all)
    assert len(tab) == sig_all.obsm["pathways"].notna().sum().sum()
    assert {"signature", "cell_type", "condition", "source", "score", "padj", "log2fc"} <= set(tab.columns)
    row = tab.set_index(["signature", "source"]).loc[
        ("Myeloma|mezigdomide vs DMSO", "HALLMARK_INTERFERON_ALPHA_RESPONSE")
    ]
    lo = sig_all.obsm["pathways_log2fc_lo"].loc["Myeloma|mezigdomide vs DMSO", "HALLMARK_INTERFERON_ALPHA_RESPONSE"]
    assert row["log2fc_lo"] == lo and row["log2fc_lo"] < row["log2fc"] < row["log2fc_hi"]
    assert (tab["basis"] == "replicates (camera)").all()
