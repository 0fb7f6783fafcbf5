import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import drugprint as dp
from drugprint.datasets import DRUGS

IFN, P53, APOP = "HALLMARK_INTERFERON_ALPHA_RESPONSE", "HALLMARK_P53_PATHWAY", "HALLMARK_APOPTOSIS"
G2M, E2F = "HALLMARK_G2M_CHECKPOINT", "HALLMARK_E2F_TARGETS"


def _order(table, group, source):
    sub = table[(table.group == group) & (table.source == source)].sort_values("rank", ascending=False)
    return list(sub["condition"].astype(str))


def test_pathway_slots(sig_all):
    for k in ("pathways", "pathways_padj", "pathways_log2fc", "panels", "panels_padj", "panels_log2fc"):
        assert sig_all.obsm[k].shape[0] == sig_all.n_obs
    assert sig_all.obsm["pathways"].shape[1] == 50
    rec = sig_all.uns["pathways"]
    assert rec["method"] == "ulm" and rec["net"]["licence"] == "CC BY 4.0"
    assert set(rec["overlap"]["fraction"]) == {1.0}


@pytest.mark.parametrize(
    ("source", "direction"), [(IFN, "up"), (P53, "up"), (APOP, "up"), (G2M, "down"), (E2F, "down")]
)
def test_myeloma_potency_order_recovered(sig_all, source, direction):
    table = dp.tl.potency(sig_all.copy(), "pathways")
    assert _order(table, "Myeloma", source) == list(DRUGS)  # least to most potent
    sub = table[(table.group == "Myeloma") & (table.source == source)]
    assert (sub["direction"] == direction).all()
    tiers = sub.set_index("condition")["tier"]
    assert (tiers.drop("thalidomide") != "none").all()  # thalidomide's effect is the weakest: modest or none
    assert tiers["mezigdomide"] == "strong"


@pytest.mark.parametrize("group", ["NK", "CD8 T"])
def test_cytotoxicity_order_recovered(sig_all, group):
    table = dp.tl.potency(sig_all.copy(), "panels")
    sub = table[(table.group == group) & (table.source == "cytotoxicity")].set_index("condition")
    rho = spearmanr([DRUGS.index(c) for c in sub.index], sub["log2fc"]).statistic
    # NK: exact order; CD8 T (fewer cells, weaker effect): at most one swap of neighbours
    assert rho >= (1.0 if group == "NK" else 0.9) - 1e-9
    assert (sub.loc[["iberdomide", "mezigdomide"], "direction"] == "up").all()
    assert sub.loc["mezigdomide", "tier"] != "none"


def test_no_pathway_called_in_b_cells(sig_all):
    table = dp.tl.potency(sig_all.copy(), "pathways")
    assert (table[table.group == "B"]["tier"] == "none").all()


def test_ikzf_mrna_not_down(sig_all):
    j = [sig_all.var_names.get_loc(g) for g in ("IKZF1", "IKZF3")]
    lfc = sig_all["Myeloma|mezigdomide vs DMSO"].layers["log2fc"][0, j]
    assert (lfc > -0.2).all()


def test_untested_genes_are_left_out_not_zero(sig):
    """Each fit's signatures are scored over the genes that fit tested, not over zeros elsewhere."""
    zeroed = sig.copy()
    zeroed.layers["stat"] = np.nan_to_num(zeroed.layers["stat"])
    dp.tl.pathways(zeroed)
    alone = sig[sig.obs["cell_type"] == "Myeloma"].copy()
    dp.tl.pathways(alone)
    rows = alone.obs_names
    np.testing.assert_allclose(sig.obsm["pathways"].loc[rows, IFN], alone.obsm["pathways"][IFN])
    assert not np.allclose(zeroed.obsm["pathways"].loc[rows, IFN], alone.obsm["pathways"][IFN])


def test_other_collections_and_methods(sig):
    dp.tl.pathways(sig, "progeny", key_added="progeny")
    assert "p53" in sig.obsm["progeny"].columns
    assert sig.uns["progeny"]["net"]["licence"] == "Apache-2.0"
    dp.tl.pathways(sig, "imid", method="zscore", key_added="imid")
    assert sig.obsm["imid"].loc["Myeloma|mezigdomide vs DMSO", "IMID_CORE_ISG"] > 0
    net = pd.DataFrame({"source": ["x"] * 5, "target": ["ISG15", "MX1", "IFIT1", "IFIT3", "OAS1"]})
    out = dp.tl.pathways(sig, net, key_added="custom", copy=True)
    assert "custom" in out.obsm and "custom" not in sig.obsm


def test_pathway_errors(sig):
    with pytest.raises(ValueError, match="Unknown method"):
        dp.tl.pathways(sig, method="magic")
    with pytest.raises(ValueError, match="Unknown gene-set collection"):
        dp.tl.pathways(sig, "reactome")
    bad = pd.DataFrame({"source": ["a"] * 3, "target": ["ENSG1", "ENSG2", "ENSG3"]})
    with pytest.raises(ValueError, match="No gene of the 1 sets"):
        dp.tl.pathways(sig, bad)
    with pytest.raises(KeyError, match="layers has no"):
        dp.tl.pathways(sig, layer="t")
    with pytest.raises(TypeError):
        dp.tl.pathways(sig, net=3)


def test_panels_cells(screen):
    adata = screen[screen.obs["cell_type"].isin(["NK", "B"])].copy()
    before = adata.obs.columns.tolist()
    dp.tl.score_cells(adata, {"cytotoxicity": ["NKG7", "GZMB", "GZMA", "PRF1", "GNLY"]})
    assert adata.obs.columns.tolist() == [*before, "panel_cytotoxicity"]
    nk = adata.obs[adata.obs.cell_type == "NK"]
    means = nk.groupby("drug", observed=True)["panel_cytotoxicity"].mean()
    assert means["mezigdomide"] > means["DMSO"]


def test_mlm_padj_is_bh_of_its_pvalues(sig):
    """decoupler adjusts every method's p-values but mlm's; score_sets adjusts mlm's itself (BH per signature)."""
    import decoupler as dc

    from drugprint.tl._limma import bh

    my = sig[sig.obs["cell_type"] == "Myeloma"].copy()  # one fit: one block of tested genes
    net = dp.resources.genesets("imid")
    tested = np.isfinite(my.layers["stat"]).all(axis=0)
    data = pd.DataFrame(my.layers["stat"][:, tested], index=my.obs_names, columns=my.var_names[tested])
    for method in ("mlm", "ulm"):
        dp.tl.pathways(my, net, method=method, key_added=method)
        _, pv = getattr(dc.mt, method)(data, net, tmin=5, verbose=False)
        got = my.obsm[f"{method}_padj"][pv.columns].to_numpy()
        want = np.vstack([bh(row) for row in pv.to_numpy()]) if method == "mlm" else pv.to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12)
        if method == "mlm":  # the adjustment took place: stored values exceed the raw p-values
            assert (got > 1.5 * pv.to_numpy()).any()


def test_pathways_accepts_a_path(sig, tmp_path):
    genes = ["ISG15", "MX1", "IFIT1", "IFIT3", "OAS1", "IFI44L"]
    gmt = tmp_path / "isg.gmt"
    gmt.write_text("ISG\tna\t" + "\t".join(genes) + "\n")
    dp.tl.pathways(sig, gmt, key_added="from_path")
    dp.tl.pathways(sig, pd.DataFrame({"source": "ISG", "target": genes}), key_added="from_frame")
    np.testing.assert_allclose(sig.obsm["from_path"]["ISG"], sig.obsm["from_frame"]["ISG"])
    assert sig.obsm["from_path"].loc["Myeloma|mezigdomide vs DMSO", "ISG"] > 0
    assert sig.uns["from_path"]["net"]["source"] == str(gmt)


def test_panel_provenance(sig):
    dp.tl.panels(sig)
    assert sig.uns["panels"]["net"]["source"] == "drugprint.resources.panels"
    dp.tl.panels(sig, {"isg": ["ISG15", "MX1", "IFIT1"]}, key_added="own")
    assert sig.uns["own"]["net"]["source"] == "user panels"
