import numpy as np
import pandas as pd
import pytest

import drugprint as dp
from drugprint.datasets import DRUGS

IFN, P53, APOP = "HALLMARK_INTERFERON_ALPHA_RESPONSE", "HALLMARK_P53_PATHWAY", "HALLMARK_APOPTOSIS"
G2M, E2F = "HALLMARK_G2M_CHECKPOINT", "HALLMARK_E2F_TARGETS"


def _order(table, group, source):
    sub = table[(table.group == group) & (table.source == source)].sort_values("rank", ascending=False)
    return list(sub["condition"].astype(str))


@pytest.fixture(scope="module")
def bundled():
    """The bundled screen as the demo runs it (default preset: 6 donors, programme noise on), voom for speed."""
    pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("default"))
    sig = dp.tl.de(pdata, method="voom", groups=["Myeloma", "NK", "CD8 T", "B"], verbose=False)
    dp.tl.pathways(sig)
    dp.tl.panels(sig)
    return sig


def test_pathway_slots(sig_all):
    for k in ("pathways", "pathways_padj", "pathways_log2fc", "panels", "panels_padj", "panels_log2fc"):
        assert sig_all.obsm[k].shape[0] == sig_all.n_obs
    for k in ("pathways_log2fc_lo", "pathways_log2fc_hi", "panels_log2fc_lo", "panels_log2fc_hi"):
        assert sig_all.obsm[k].shape == sig_all.obsm[k.rsplit("_", 2)[0]].shape
    assert sig_all.obsm["pathways"].shape[1] == 50
    rec = sig_all.uns["pathways"]
    assert rec["params"]["method"] == "camera" and rec["net"]["licence"] == "CC BY 4.0"
    assert rec["null"].startswith("competitive") and rec["params"]["inter_gene_cor"] == "estimated per set"
    assert (rec["basis"]["basis"] == "replicates (camera)").all()
    assert set(rec["overlap"]["fraction"]) == {1.0}
    lo, mid, hi = (sig_all.obsm[f"pathways_log2fc{k}"].to_numpy() for k in ("_lo", "", "_hi"))
    ok = np.isfinite(mid)
    assert (lo[ok] < mid[ok]).all() and (mid[ok] < hi[ok]).all()


@pytest.mark.parametrize(
    ("source", "direction"), [(IFN, "up"), (P53, "up"), (APOP, "up"), (G2M, "down"), (E2F, "down")]
)
def test_myeloma_potency_order_recovered(bundled, source, direction):
    table = dp.get.potency_table(dp.tl.potency(bundled, "pathways", copy=True))
    sub = table[(table.group == "Myeloma") & (table.source == source)].set_index("condition")
    order = _order(table, "Myeloma", source)  # least to most potent
    if source == APOP:  # planted 0.08 log2 apart, within programme noise: the two weakest may swap …
        assert order[2:] == list(DRUGS)[2:]
        weak = sub.loc[["thalidomide", "lenalidomide"]]  # … but then their intervals overlap
        assert weak["log2fc_lo"].max() < weak["log2fc_hi"].min()
    else:
        assert order == list(DRUGS)
    assert (sub["direction"] == direction).all()
    assert (sub.drop("thalidomide")["tier"] != "none").all()  # thalidomide's effect is the weakest
    assert sub.loc["mezigdomide", "tier"] == "strong" and sub.loc["mezigdomide", "padj"] < 1e-3
    assert (sub["basis"] == "replicates (camera)").all()


@pytest.mark.parametrize("group", ["NK", "CD8 T"])
def test_cytotoxicity_order_recovered(bundled, group):
    table = dp.get.potency_table(dp.tl.potency(bundled, "panels", copy=True))
    sub = table[(table.group == group) & (table.source == "cytotoxicity")].set_index("condition")
    assert list(sub.sort_values("rank", ascending=False).index) == list(DRUGS)
    assert (sub.loc[["iberdomide", "mezigdomide"], "direction"] == "up").all()
    assert (sub.loc[["pomalidomide", "iberdomide", "mezigdomide"], "tier"] == "strong").all()


def test_potency_rank_from_replicates(bundled):
    rank = dp.get.potency_rank_table(dp.tl.potency_rank(bundled, copy=True))
    my = rank[rank.group == "Myeloma"].set_index("condition")
    assert list(my.sort_values("rank").index) == list(DRUGS)[::-1]
    assert (my["rank_lo"] == my["rank"]).all() and (my["rank_hi"] == my["rank"]).all()  # the data separate them
    assert my.loc["mezigdomide", "p_first"] > 0.95 and (my["p_vs_next"].dropna() < 0.01).all()
    assert (rank[rank.group == "B"]["n_sources"] == 0).all()  # nothing moves in the null cell type


def test_no_pathway_called_in_b_cells(sig_all, bundled):
    for sig in (sig_all, bundled):
        table = dp.get.potency_table(dp.tl.potency(sig, "pathways", copy=True))
        assert (table[table.group == "B"]["tier"] == "none").all()


def test_gene_level_methods_say_their_p_values_assume_independent_genes(bundled):
    sig = bundled[bundled.obs["cell_type"] == "B"].copy()
    dp.tl.pathways(sig, method="ulm", key_added="ulm")
    assert "independent" in sig.uns["ulm"]["null"]
    dp.tl.potency(sig, "ulm")
    table = dp.get.potency_table(sig)
    assert table["basis"].str.contains("assume independent genes").all()
    assert (table["tier"] != "none").sum() > 10  # programme noise alone: ulm calls pathways in the null cell type
    assert np.isfinite(table["log2fc_lo"]).all()  # the effect's interval still comes from the replicates


def test_ikzf_mrna_not_down(sig_all):
    j = [sig_all.var_names.get_loc(g) for g in ("IKZF1", "IKZF3")]
    lfc = sig_all["Myeloma|mezigdomide vs DMSO"].layers["log2fc"][0, j]
    assert (lfc > -0.2).all()


@pytest.mark.parametrize("method", ["camera", "ulm"])
def test_untested_genes_are_left_out_not_zero(sig, method):
    """Each fit's signatures are scored over the genes that fit tested, not over zeros elsewhere."""
    dp.tl.pathways(sig, method=method)
    alone = sig[sig.obs["cell_type"] == "Myeloma"].copy()
    dp.tl.pathways(alone, method=method)
    rows = alone.obs_names
    np.testing.assert_allclose(sig.obsm["pathways"].loc[rows, IFN], alone.obsm["pathways"][IFN])
    zeroed = sig.copy()
    zeroed.layers["stat"] = np.nan_to_num(zeroed.layers["stat"])
    dp.tl.pathways(zeroed, method=method)
    same = np.allclose(zeroed.obsm["pathways"].loc[rows, IFN], alone.obsm["pathways"][IFN])
    assert same == (method == "camera")  # camera reads the fit's profiles of its tested genes, not the layer


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
    with pytest.raises(ValueError, match="No gene of the 1 sets") as err:
        dp.tl.pathways(sig, bad)
    assert f"(e.g. {sig.var_names[0]}," in str(err.value)  # the data's own identifiers, never an empty example
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
    rec = adata.uns["panel"]  # the genes scored per cell type and panel, and the parameters
    assert rec["genes"].set_index("cell_type")["n_genes"].to_dict() == {"NK": 5, "B": 5}
    assert rec["params"] == {"groupby": "cell_type", "layer": "X", "random_state": 0}


def test_mlm_padj_is_bh_of_its_pvalues(sig):
    """decoupler adjusts every method's p-values but mlm's; score_sets adjusts mlm's itself (BH per signature)."""
    import decoupler as dc

    from drugprint.tl._stats.multitest import bh

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


@pytest.fixture(scope="module")
def voom_sig(pdata):
    """The small screen's signatures (voom) with the shipped panels, as the report scores them (read-only)."""
    sig = dp.tl.de(pdata, method="voom", groups=["CD4 T", "CD8 T", "NK", "CD14 Mono", "Myeloma"], verbose=False)
    dp.tl.panels(sig)
    return sig


def _tested(sig, signature, genes):
    """The genes of ``genes`` with a finite log2 fold change in ``signature``, in order."""
    lfc = sig[signature].layers["log2fc"][0]
    return [g for g in genes if g in sig.var_names and np.isfinite(lfc[sig.var_names.get_loc(g)])]


def test_panel_with_a_quarter_of_its_genes_tested_is_not_scored(screen):
    """2 of the 8 cytotoxicity genes tested (as TNF and NKG7 in Kang 2018's monocytes) do not make 'cytotoxicity'."""
    cyto = dp.resources.panels()["cytotoxicity"]
    cells = screen[:, ~screen.var_names.isin([g for g in cyto if g not in ("NKG7", "GZMB")])].copy()
    sig = dp.tl.de(dp.pp.pseudobulk(cells), groups=["NK", "Myeloma"], method="voom", verbose=False)
    nk = list(sig.obs_names[sig.obs["cell_type"] == "NK"])
    assert all(_tested(sig, s, cyto) == ["NKG7", "GZMB"] for s in nk)
    with pytest.warns(UserWarning, match=r"fewer than 50% of their genes: cytotoxicity \(2/8\)"):
        dp.tl.panels(sig)
    assert sig.obsm["panels"].reindex(columns=["cytotoxicity"]).loc[nk].isna().all().all()
    cov = sig.uns["panels"]["coverage"].set_index(["signature", "panel"]).loc[[(s, "cytotoxicity") for s in nk]]
    assert (cov["n_tested"] == 2).all() and (cov["n_genes"] == 8).all() and (cov["genes_tested"] == "NKG7; GZMB").all()
    assert (cov["group"] == "NK").all()
    assert "cytotoxicity" not in set(dp.get.pathway_table(sig, "panels")["source"])
    # the minimum is what left it out: tmin=2 alone scores it on NKG7 and GZMB, as before
    loose = dp.tl.panels(sig, min_fraction=0, copy=True)
    assert loose.obsm["panels"].loc[nk, "cytotoxicity"].notna().all()
    assert loose.uns["panels"]["params"]["min_tested_fraction"] == 0.0
    assert sig.uns["panels"]["params"]["min_fraction"] == sig.uns["panels"]["params"]["min_tested_fraction"] == 0.5


def test_panel_minimum_per_signature(voom_sig):
    """Each panel is scored where tmin=2 and half its genes were tested: NaN in that cell type only."""
    sig, scores = voom_sig, voom_sig.obsm["panels"]
    cov = sig.uns["panels"]["coverage"]
    group_counts = cov.groupby(["group", "panel"], sort=False)["n_tested"].agg(["min", "max"])
    assert (group_counts["min"] == group_counts["max"]).all()  # the signatures of one fit share their genes
    n = group_counts["min"].unstack().loc[["CD4 T", "CD8 T", "NK", "CD14 Mono", "Myeloma"]]
    assert n.loc["NK", ["cytotoxicity", "il2_derepression", "neosubstrates", "interferon"]].tolist() == [7, 2, 4, 1]
    assert n.loc["CD8 T", ["cytotoxicity", "il2_derepression", "interferon"]].tolist() == [6, 1, 2]
    assert n.loc["CD14 Mono", ["cytotoxicity", "neosubstrates", "interferon"]].tolist() == [1, 2, 5]
    assert n.loc["Myeloma", ["irf4_myc", "interferon"]].tolist() == [2, 9]
    assert n.loc["CD4 T", ["il2_derepression", "interferon"]].tolist() == [3, 7]
    panels = dp.resources.panels()
    for row in cov.itertuples():  # the counts are the genes actually tested; scored exactly when enough were
        genes = _tested(sig, row.signature, panels[row.panel])
        assert (
            row.n_tested == len(genes)
            and row.genes_tested == "; ".join(genes)
            and row.n_genes == len(panels[row.panel])
        )
        need = max(2, -(-row.n_genes // 2))
        score = scores.loc[row.signature, row.panel] if row.panel in scores else np.nan
        assert np.isfinite(score) == (row.n_tested >= need), row
    # newly unscored (scored with tmin=2 alone): IL-2 in NK (2/5), neosubstrates in CD14 Mono (2/6), IFN in CD8 T (2/10)
    loose = dp.tl.panels(sig, min_fraction=0, copy=True).obsm["panels"]
    for group, panel in (("NK", "il2_derepression"), ("CD14 Mono", "neosubstrates"), ("CD8 T", "interferon")):
        rows = sig.obs_names[sig.obs["cell_type"] == group]
        assert scores.loc[rows, panel].isna().all() and loose.loc[rows, panel].notna().all()
    scored = loose.notna() & scores.notna()
    np.testing.assert_allclose(scores[scored].stack(), loose[scored].stack())  # the scored ones are unchanged


def test_pathway_table_has_the_panel_genes_tested(voom_sig):
    tab = dp.get.pathway_table(voom_sig, "panels").set_index(["signature", "source"])
    assert list(tab.columns[-2:]) == ["n_genes_tested", "n_genes_set"]
    assert tab["n_genes_tested"].dtype == np.int64 and tab["n_genes_set"].dtype == np.int64
    got = {
        k: tab.loc[k, ["n_genes_tested", "n_genes_set"]].tolist()
        for k in (
            ("NK|mezigdomide vs DMSO", "cytotoxicity"),
            ("Myeloma|mezigdomide vs DMSO", "irf4_myc"),
            ("CD14 Mono|thalidomide vs DMSO", "interferon"),
            ("CD4 T|iberdomide vs DMSO", "il2_derepression"),
        )
    }
    assert list(got.values()) == [[7, 8], [2, 2], [5, 10], [3, 5]]
    assert (tab["n_genes_tested"] >= np.maximum(2, np.ceil(tab["n_genes_set"] / 2))).all()
    assert len(tab) == voom_sig.obsm["panels"].notna().sum().sum()
    sig = voom_sig.copy()
    dp.tl.pathways(sig, "imid")  # pathways keep their own rule (tmin only) and table
    assert sig.uns["pathways"]["params"]["min_tested_fraction"] == 0.0 and "coverage" not in sig.uns["pathways"]
    assert "n_genes_tested" not in dp.get.pathway_table(sig).columns


def test_published_table_scored_gene_level_with_a_warning(sig_all):
    """A DE table has no replicates: pathways warns once, and potency says its p-values assume independent genes."""
    rows = sig_all[sig_all.obs["cell_type"] == "Myeloma"]
    long = dp.get.de_table(rows)
    table = long[long["condition"] == "mezigdomide"][["gene", "log2fc", "pvalue"]]
    pub = dp.io.read_de_table(table, "gene", "log2fc", pvalue_col="pvalue", condition="mezigdomide", group="Myeloma")
    with pytest.warns(UserWarning, match="cannot treat samples as replicates") as record:
        dp.tl.pathways(pub)
    assert len([w for w in record if "replicates" in str(w.message)]) == 1
    assert pub.uns["pathways"]["basis"]["basis"].str.startswith("genes (ulm)").all()
    assert "pathways_log2fc_lo" not in pub.obsm  # no replicates, no interval
    dp.tl.potency(pub)
    tab = dp.get.potency_table(pub)
    assert tab["basis"].str.contains("assume independent genes").all()
    assert tab["log2fc_lo"].isna().all()
    assert tab.set_index("source").loc[IFN, "tier"] == "strong"
    with pytest.warns(UserWarning, match="no interval"):
        dp.tl.potency_rank(pub, keys=["pathways"])
    rank = dp.get.potency_rank_table(pub)
    assert rank["p_first"].isna().all() and (rank["basis"] == "no replicates: no interval").all()


def test_signatures_round_trip_with_their_replicates(sig_all, tmp_path):
    import anndata as ad

    path = tmp_path / "sig.h5ad"
    sig_all.write_h5ad(path)
    back = ad.read_h5ad(path)
    dp.tl.pathways(back, key_added="again")
    np.testing.assert_allclose(back.obsm["again"].to_numpy(), sig_all.obsm["pathways"].to_numpy(), rtol=1e-10)
    dp.tl.potency_rank(back, keys=["again"], random_state=1)
    rank = dp.get.potency_rank_table(back)
    assert (rank.dropna(subset=["p_first"])["basis"] == "replicates").all()


def test_kang2018_interferon_and_identical_arms():
    """Real PBMCs, IFN-β vs control (2 donors): interferon-α response is among the top 3 pathways up in every
    cell type; the stimulated cells split at random into two arms (the same treatment twice) are never ranked
    apart with confidence."""
    from tests.conftest import kang_cells

    adata = kang_cells()
    adata.obs["donor"] = adata.obs["sample_id"].str[-3:]
    pdata = dp.pp.pseudobulk(adata, sample_key="sample_id", groupby="cluster_id")
    sig = dp.tl.de(pdata, "group_id", "ctrl", "cluster_id", ["donor"], method="voom", verbose=False)
    dp.tl.pathways(sig)
    assert sig.uns["pathways"]["matched_by"] == "var['SYMBOL']"
    top3 = sig.obsm["pathways"].rank(axis=1, ascending=False)[IFN]
    assert sig.n_obs >= 4 and (top3 <= 3).all(), top3.to_dict()
    assert (sig.obsm["pathways_log2fc_lo"][IFN] > 1).all()  # ISGs are far up, with the interval above 1
    stim = (adata.obs["group_id"] == "stim").to_numpy()
    p_first, p_next = [], []
    for seed in range(4):
        arm = np.where(np.random.default_rng(seed).random(adata.n_obs) < 0.5, "stimA", "stimB")
        adata.obs["arm"] = np.where(stim, arm, "ctrl")
        adata.obs["sample"] = adata.obs["arm"] + adata.obs["donor"]
        split = dp.pp.pseudobulk(adata, sample_key="sample", groupby="cluster_id")
        two = dp.tl.de(split, "arm", "ctrl", "cluster_id", ["donor"], method="voom", verbose=False)
        dp.tl.pathways(two, method="activity")  # self-contained: many responsive pathways to rank on
        dp.tl.potency_rank(two, random_state=seed)
        rank = dp.get.potency_rank_table(two)
        assert (rank["n_sources"] > 5).all()
        p_first += list(rank.loc[rank["condition"] == "stimA", "p_first"])
        p_next += list(rank.loc[rank["rank"] == 1, "p_vs_next"])
    p_first, p_next = np.array(p_first), np.array(p_next)
    assert (p_next < 0.05).mean() <= 0.1  # the order between identical arms is not significant
    assert ((p_first >= 0.9) | (p_first <= 0.1)).mean() <= 0.35  # spread like a calibrated probability
    assert 0.25 < p_first.mean() < 0.75


def test_concatenated_studies_keep_their_replicates(sig_all):
    """dp.tl.de signatures keep replicate-level tests after concatenation; a published table falls back, warned."""
    mine = sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy()
    long = dp.get.de_table(mine)
    table = long[long["condition"] == "lenalidomide"][["gene", "log2fc", "pvalue"]]
    pub = dp.io.read_de_table(table, "gene", "log2fc", pvalue_col="pvalue", condition="lenalidomide", group="Myeloma")
    both = dp.tl.concat_signatures({"screen": mine, "paper": pub}, genes="union")
    with pytest.warns(UserWarning, match="1 of 6 signatures"):
        dp.tl.pathways(both)
    basis = both.uns["pathways"]["basis"].set_index("signature")["basis"]
    assert basis["paper:Myeloma|lenalidomide vs control"].startswith("genes (ulm)")
    assert (basis.drop("paper:Myeloma|lenalidomide vs control") == "replicates (camera)").all()
    rows = [f"screen:{n}" for n in mine.obs_names]
    np.testing.assert_allclose(
        both.obsm["pathways"].loc[rows].to_numpy(), sig_all.obsm["pathways"].loc[mine.obs_names].to_numpy()
    )


def test_gene_subset_keeps_replicates_valid(sig_all):
    """Replicate data are stored by gene name: subsetting or reordering genes tests the genes that remain."""
    my = sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy()
    dp.tl.pathways(my, "imid", key_added="full")
    rng = np.random.default_rng(0)
    order = rng.permutation(my.n_vars)
    shuffled = my[:, order].copy()
    dp.tl.pathways(shuffled, "imid", key_added="full")
    np.testing.assert_allclose(shuffled.obsm["full"].to_numpy(), my.obsm["full"].to_numpy(), rtol=1e-10)
    isg = dp.resources.genesets("imid").query("source == 'IMID_CORE_ISG'")["target"]
    fewer = my[:, ~my.var_names.isin(isg[:5])].copy()
    dp.tl.pathways(fewer, "imid", key_added="fewer")
    assert fewer.uns["fewer"]["overlap"].set_index("source").loc["IMID_CORE_ISG", "n_matched"] == len(set(isg)) - 5
    assert not np.allclose(fewer.obsm["fewer"]["IMID_CORE_ISG"], my.obsm["full"]["IMID_CORE_ISG"])


def test_score_cells_names_missing_genes_and_reads_backed_data(screen, tmp_path):
    """Mouse symbols are matched through orthologues (species="human": an error naming the data's genes, not NaN
    columns); a panel without genes is warned; a backed AnnData is read from disk (it used to fail with
    '_CSRDataset' has no attribute 'copy')."""
    import anndata as ad
    from scipy import sparse

    mouse = screen.copy()
    mouse.var_names = [g.capitalize() for g in mouse.var_names]
    with pytest.raises(ValueError, match=r"No gene of the 5 sets .* is among the data's \d+ genes \(e.g. "):
        dp.tl.score_cells(mouse, species="human")
    scored = dp.tl.score_cells(mouse, {"cyto": ["NKG7", "GZMA", "PRF1"]}, copy=True)
    human = dp.tl.score_cells(screen, {"cyto": ["NKG7", "GZMA", "PRF1"]}, copy=True)
    assert scored.uns["panel"]["matched_by"].startswith("mouse orthologs")
    np.testing.assert_allclose(scored.obs["panel_cyto"], human.obs["panel_cyto"])
    with pytest.warns(UserWarning, match=r"Panel\(s\) made_up have no gene among adata.var_names"):
        dp.tl.score_cells(screen, {"cyto": ["NKG7", "GZMB"], "made_up": ["NOTAGENE1"]}, copy=True)
    cells = screen.copy()
    cells.X = sparse.csr_matrix(cells.X)
    cells.write_h5ad(tmp_path / "cells.h5ad")
    backed = ad.read_h5ad(tmp_path / "cells.h5ad", backed="r")
    in_memory = dp.tl.score_cells(cells, {"cyto": ["NKG7", "GZMB", "PRF1"]}, copy=True)
    dp.tl.score_cells(backed, {"cyto": ["NKG7", "GZMB", "PRF1"]})
    np.testing.assert_allclose(backed.obs["panel_cyto"], in_memory.obs["panel_cyto"])


def test_pathways_species(sig_all):
    """species= chooses how a human collection meets the data: detected (mouse symbols through orthologues),
    "human" as given (mouse symbols then match nothing), recorded in params and matched_by."""
    sig = sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy()
    mouse = sig.copy()
    mouse.var_names = [g.capitalize() for g in mouse.var_names]
    dp.tl.pathways(mouse, method="activity")
    assert mouse.uns["pathways"]["matched_by"].startswith("mouse orthologs")
    assert mouse.uns["pathways"]["params"]["species"] == "detected"
    with pytest.raises(ValueError, match="No gene set has at least tmin=5 tested genes"):
        dp.tl.pathways(mouse, method="activity", species="human")
    dp.tl.pathways(sig, method="activity", species="human")
    assert sig.uns["pathways"]["params"]["species"] == "human" and sig.uns["pathways"]["matched_by"] == "var_names"
