import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import drugprint as dp
from drugprint.datasets import DRUGS
from drugprint.tl._compare import alike_pairs
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def six_screen():
    return dp.datasets.imid_screen("small", random_state=1, n_donors=6, cells_per_sample=150)


@pytest.fixture(scope="module")
def six_donors(six_screen):
    """Six donors (as the default preset), fewer cells; voom keeps it quick."""
    pdata = dp.pp.pseudobulk(six_screen)
    sig = dp.tl.de(pdata, groups=["Myeloma", "B", "NK"], method="voom", verbose=False)
    dp.tl.pathways(sig)
    dp.tl.panels(sig)
    return pdata, sig


def _pair(tab, group, a, b):
    return tab[(tab.group == group) & (tab.a == a) & (tab.b == b)].iloc[0]


def test_effect_correlation_backs_similarity_with_interval(six_donors):
    pdata, sig = six_donors
    tab = dp.get.compare_table(dp.tl.compare(sig, pdata=pdata, n_boot=60, copy=True))
    row = _pair(tab, "Myeloma", "thalidomide", "lenalidomide")
    assert row["effect_r_lo"] > 0.6 and row["effect_r"] <= 1  # disattenuated, then capped at 1
    assert row["effect_r_lo"] <= row["effect_r"] <= row["effect_r_hi"]
    # every planted drug shares the same programmes in myeloma cells
    assert tab[tab.group == "Myeloma"]["effect_r"].min() > 0.7
    # B cells: nothing planted, so no reproducible effect and no fingerprint similarity to claim
    b = tab[tab.group == "B"]
    assert b["effect_r"].isna().all()
    assert (b[["reliability_a", "reliability_b"]].abs() < 0.2).all().all()
    # ... while their signatures still correlate through the shared control, which is flagged
    assert (b["spearman"] > 0.3).all() and b["shared_reference"].all()
    assert not b["comparable"].any() and b["note"].str.contains("no reproducible effect").all()


@pytest.fixture(scope="module")
def small_compared(pdata):
    """The small screen (4 donors) compared with its profiles: myeloma responds, CD4 T and NK barely."""
    sig = dp.tl.de(pdata, groups=["Myeloma", "CD4 T", "NK"], method="voom", verbose=False)
    return dp.get.compare_table(dp.tl.compare(sig, pdata=pdata, copy=True))


def test_effect_correlation_capped_at_one_raw_kept(small_compared):
    tab = small_compared
    my = tab[tab.group == "Myeloma"]
    for col in ("effect_r", "effect_r_lo", "effect_r_hi"):
        assert tab[col].dropna().between(-1, 1).all(), col
    # every drug plants the same myeloma programmes (true correlation ≈ 1): noise pushes some estimates past 1
    assert (my["effect_r_raw"] > 1).sum() >= 2 and my["effect_r_hi"].notna().all()
    assert my["effect_r"].min() > 0.9
    np.testing.assert_array_equal(tab["effect_r"], np.clip(tab["effect_r_raw"], -1, 1))
    assert (my["effect_r_hi"] == 1).any() and (my["effect_r_lo"] <= my["effect_r"]).all()


def test_no_interval_without_estimate(small_compared):
    """A pair gated out by reliability (on all genes) has no interval either, whatever its bootstrap draws gave."""
    tab = small_compared
    gated = tab["effect_r"].isna()
    low = (tab[["reliability_a", "reliability_b"]] < 0.2).any(axis=1)
    assert gated.sum() >= 10 and (gated == low).all()  # NaN exactly when a drug's reliability is below 0.2
    assert tab.loc[gated, ["effect_r_lo", "effect_r_hi"]].isna().all().all()
    assert tab.loc[gated, "effect_r_raw"].isna().all()
    assert tab.loc[~gated, ["effect_r_lo", "effect_r_hi"]].notna().all().all()
    # the case seen: two drugs just under the threshold whose draws sometimes passed it
    near = tab[gated & (tab[["reliability_a", "reliability_b"]] > 0.1).all(axis=1)]
    assert len(near) >= 1 and near["effect_r_lo"].isna().all()


@pytest.fixture(scope="module")
def inert():
    """The small screen with a drug known to do nothing: half of each DMSO sample's cells, relabelled "inertamide".

    Returns the profiles, the myeloma signatures and their comparison with the profiles.
    """
    cells = dp.datasets.imid_screen("small")
    obs = cells.obs
    moved = (obs["condition"] == "DMSO").to_numpy() & (np.random.default_rng(0).random(cells.n_obs) < 0.5)
    for col in ("condition", "drug"):
        obs[col] = obs[col].cat.add_categories("inertamide")
        obs.loc[moved, col] = "inertamide"
    obs["sample"] = np.where(moved, obs["donor"].astype(str) + "_inertamide", obs["sample"].astype(str))
    pdata = dp.pp.pseudobulk(cells)
    sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    return pdata, sig, dp.get.compare_table(dp.tl.compare(sig, pdata=pdata, n_boot=40, copy=True))


def test_null_drug_is_not_comparable(inert):
    _, sig, tab = inert
    null, drugs = tab[tab.b == "inertamide"], tab[tab.b != "inertamide"]
    assert len(null) == 5 and len(drugs) == 10 and not (tab.a == "inertamide").any()
    # its signature correlates with every drug through the shared control (truth: no effect, no similarity)
    assert (null["spearman"] > 0.15).all() and null["spearman"].max() > 0.5
    assert (null["reliability_b"] < 0.2).all()
    assert null[["effect_r", "effect_r_lo", "effect_r_hi"]].isna().all().all()
    assert not null["comparable"].any()
    row = _pair(tab, "Myeloma", "lenalidomide", "inertamide")
    assert row["note"] == (
        f"inertamide has no reproducible effect (split-half reliability {row['reliability_b']:.2f} < 0.2): its "
        "correlation reflects the shared control"
    )
    assert drugs["comparable"].all() and (drugs["note"] == "").all() and drugs["effect_r"].notna().all()
    # without profiles, a signature calling no gene is what marks a drug without effect
    plain = dp.get.compare_table(dp.tl.compare(sig, n_boot=40, copy=True))
    row = _pair(plain, "Myeloma", "mezigdomide", "inertamide")
    assert row["n_deg_b"] == 0 and not row["comparable"]
    assert row["note"] == "inertamide has no DE gene at padj < 0.05: its correlation reflects the shared control"
    pair = _pair(plain, "Myeloma", "pomalidomide", "mezigdomide")
    assert pair["comparable"] and pair["note"] == ""
    # the numbers of a pair are reported whatever its note says
    cols = ["spearman", "spearman_lo", "spearman_hi", "jaccard", "n_deg_a", "n_deg_b"]
    pd.testing.assert_frame_equal(plain[cols], tab[cols])


def test_alike_pairs_never_one_pair_twice(inert):
    tab = inert[2]
    most, least = alike_pairs(tab, "spearman")
    assert "inertamide" not in {most["b"], least["b"]}  # not comparable, however alike
    ok = tab[tab["comparable"]]
    assert most["spearman"] == ok["spearman"].max() and least["spearman"] == ok["spearman"].min()
    one = ok.iloc[[3]]  # one comparable pair among pairs that are not: it is the most alike, and none the least
    most, least = alike_pairs(pd.concat([one, tab[~tab["comparable"]]]), "effect_r")
    assert least is None and (most["a"], most["b"]) == (one.iloc[0]["a"], one.iloc[0]["b"])
    assert alike_pairs(tab[~tab["comparable"]], "spearman") == (None, None)
    tied = pd.DataFrame({"a": ["x", "y"], "b": ["z", "z"], "spearman": [0.5, 0.5]})  # no comparable column: all
    most, least = alike_pairs(tied, "spearman")
    assert (most["a"], least["a"]) == ("y", "x")
    with pytest.raises(ValueError, match="'kendall' is not a column"):
        alike_pairs(tab, "kendall")


def test_signature_similarity_structure(sig_all):
    tab = dp.get.compare_table(dp.tl.compare(sig_all, n_boot=50, copy=True))
    my = tab[tab.group == "Myeloma"].set_index(["a", "b"])
    assert my["spearman"].idxmax() == ("iberdomide", "mezigdomide")  # the two CELMoDs, most potent
    assert (my["spearman_lo"] <= my["spearman"]).all() and (my["spearman"] <= my["spearman_hi"]).all()
    assert my.loc[("iberdomide", "mezigdomide"), "overlap_pvalue"] < 1e-10
    assert my.loc[("pomalidomide", "mezigdomide"), "jaccard"] > my.loc[("thalidomide", "mezigdomide"), "jaccard"]


def test_compare_stores_matrices_and_order(six_donors):
    _, sig = six_donors
    sig = sig.copy()
    assert dp.tl.compare(sig, n_boot=10, metrics=["spearman", "cosine"]) is None
    ordered = dp.get.similarity_matrix(sig, "Myeloma", "cosine", ordered=True)
    assert set(ordered.index) == set(DRUGS) and list(ordered.columns) == list(ordered.index)
    m = dp.get.similarity_matrix(sig, "Myeloma", "cosine")
    assert m.shape == (5, 5) and np.allclose(np.diag(m), 1) and list(m.index) == list(DRUGS)
    pd.testing.assert_frame_equal(m.loc[ordered.index, ordered.index], ordered)
    tab = dp.get.compare_table(sig).query("group == 'Myeloma'")
    assert np.allclose(m.to_numpy()[np.triu_indices(5, 1)], tab["cosine"])  # the table's pairs, row by row
    assert dp.get.similarity_matrix(sig, "Platelets") is None
    with pytest.raises(ValueError, match="'pearson' was not computed"):
        dp.get.similarity_matrix(sig, "Myeloma", "pearson")
    with pytest.raises(ValueError, match="No effect correlation"):
        dp.get.similarity_matrix(sig, "Myeloma", "effect_r")
    with pytest.raises(KeyError, match=r"run dp\.tl\.compare"):
        dp.get.similarity_matrix(sig, "Myeloma", key="nope")
    a = dp.get.compare_table(dp.tl.compare(sig, n_boot=10, random_state=3, copy=True))
    b = dp.get.compare_table(dp.tl.compare(sig, n_boot=10, random_state=3, copy=True))
    pd.testing.assert_frame_equal(a, b)


def test_compare_errors(six_donors):
    pdata, sig = six_donors
    with pytest.raises(ValueError, match="Unknown metric"):
        dp.tl.compare(sig, metrics=["kendall"])
    with pytest.raises(KeyError, match="'site'"):
        dp.tl.compare(sig, pdata=pdata, donor_key="site")
    with pytest.raises(ValueError, match="level"):
        dp.tl.compare(sig, level=95)
    with pytest.raises(ValueError, match=r"not in pdata \(e.g. \['MX1'\]\)"):
        dp.tl.compare(sig, pdata=pdata[:, pdata.var_names != "MX1"], n_boot=10)


def test_deg_overlap(six_donors, six_screen):
    _, sig = six_donors
    sig = sig[sig.obs["condition"] != "thalidomide"].copy()  # the weakest drug calls few genes on its own
    dp.tl.deg_overlap(sig)
    tab = dp.get.overlap_table(sig)
    my = tab[(tab.group == "Myeloma") & (tab.direction == "up")]
    assert (my["category"] == "all").any()
    assert my["category"].str.startswith("only ").any()
    truth = six_screen.uns["truth"]
    genes = truth["programme_genes"].query("cell_type == 'Myeloma'")
    planted = set(genes["gene"]) | set(truth["gene_effects"].query("cell_type == 'Myeloma'")["gene"])
    mine = tab[tab.group == "Myeloma"]
    assert set(mine.loc[mine["category"] == "all", "gene"]) <= planted  # what every drug calls was planted
    assert mine["gene"].isin(planted).mean() > 0.85
    # strong planted ISGs are called up by the three most potent drugs
    isg = genes.query("programme == 'interferon' and log2fc_at_activity_1 > 2")["gene"]
    called = my.set_index("gene").reindex(isg).dropna(subset=["category"])
    assert len(called) >= 10
    assert called[["pomalidomide", "iberdomide", "mezigdomide"]].astype(bool).all().all()
    assert "B" not in set(tab["group"])
    inter = sig.uns["deg_overlap"]["intersections"]
    assert inter[(inter.group == "Myeloma") & (inter.direction == "up")]["n_genes"].sum() == len(my)


def test_deg_overlap_names_repeated_conditions_by_signature():
    """One drug at two doses in a group: columns are the signatures, as in compare."""
    names = ["A|d @ 1", "A|d @ 10", "B|d @ 1", "B|e @ 1"]
    obs = pd.DataFrame({"grp": ["A", "A", "B", "B"], "condition": ["d", "d", "d", "e"]}, index=names)
    padj = np.array([[0.01, 0.5, 0.5], [0.01, 0.01, 0.5], [0.5, 0.5, 0.01], [0.5, 0.5, 0.01]])
    lfc = np.array([[1.0, 0.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, -1.0], [0.0, 0.0, -1.0]])
    sig = AnnData(lfc, obs=obs, var=pd.DataFrame(index=["g1", "g2", "g3"]), layers={"padj": padj, "log2fc": lfc})
    sig.uns["de"] = {"groupby": "grp"}
    dp.tl.deg_overlap(sig)
    tab = dp.get.overlap_table(sig).set_index(["group", "direction", "gene"])
    assert tab.loc[("A", "up", "g1"), "category"] == "all"
    assert tab.loc[("A", "up", "g2"), "category"] == "only A|d @ 10"
    assert bool(tab.loc[("A", "up", "g2"), "A|d @ 10"]) and not tab.loc[("A", "up", "g2"), "A|d @ 1"]
    assert tab.loc[("B", "down", "g3"), "category"] == "all" and tab.loc[("B", "down", "g3"), "n_conditions"] == 2


def test_potency_rank_with_uncertainty(six_donors):
    _, sig = six_donors
    rank = dp.get.potency_rank_table(dp.tl.potency_rank(sig, n_draws=500, copy=True))
    my = rank[rank.group == "Myeloma"]
    assert list(my["condition"]) == list(DRUGS)[::-1]
    assert my.iloc[0]["p_first"] > 0.5
    assert (my["rank_lo"] <= my["rank"]).all() and (my["rank"] <= my["rank_hi"]).all()
    assert my.set_index("condition").loc["mezigdomide", "rank_hi"] <= 2
    assert (my["score_lo"] <= my["score"]).all() and (my["score"] <= my["score_hi"]).all()
    assert rank[rank.group == "B"]["n_sources"].eq(0).all()


def _summarised(sig, pdata=None):
    """A copy of ``sig`` with the results the summary tables read: potency and compare (with ``pdata``)."""
    out = dp.tl.potency(sig, copy=True)
    dp.tl.compare(out, pdata=pdata)
    return out


def test_summary_tables(six_donors):
    pdata, sig = six_donors
    pair = ("lenalidomide", "pomalidomide")  # both move myeloma pathways reproducibly (thalidomide barely does)
    done = _summarised(sig, pdata)
    t1 = dp.get.summary_table(done, "pair", drugs=pair)
    my = t1.set_index("group").loc["Myeloma"]
    assert my["call"] == "qualitatively similar" and my["stronger"] == "pomalidomide"
    assert "HALLMARK_INTERFERON_ALPHA_RESPONSE" in my["shared_pathways"]
    assert t1.set_index("group").loc["B", "call"] == "no reproducible effect to compare"
    # one group alone gives that group's row unchanged (compare draws per group)
    solo = _summarised(sig[sig.obs["cell_type"] == "Myeloma"].copy(), pdata)
    alone = dp.get.summary_table(solo, "pair", drugs=pair, groups=["Myeloma"])
    pd.testing.assert_frame_equal(alone, t1[t1.group == "Myeloma"].reset_index(drop=True))
    # Myeloma with three donors has no effect correlation: its row falls back to the signature Spearman
    three = pdata[~((pdata.obs["cell_type"] == "Myeloma") & pdata.obs["donor"].isin(["D4", "D5", "D6"]))].copy()
    mixed = dp.get.summary_table(_summarised(sig, three), "pair", drugs=pair).set_index("group")
    assert mixed.loc["Myeloma", "similarity_measure"] == "signature Spearman"
    assert mixed.loc["Myeloma", "similarity"] > 0.5 and "share a control" in mixed.loc["Myeloma", "call"]
    assert mixed.loc["NK", "similarity_measure"] == "effect correlation (split donors)"
    no_pdata = dp.get.summary_table(_summarised(sig), "pair", drugs=pair)
    assert "share a control" in no_pdata.set_index("group").loc["Myeloma", "call"]
    t2 = dp.get.summary_table(done, "tiers", groups=["Myeloma"])
    assert t2.loc[("Myeloma", "HALLMARK_G2M_CHECKPOINT"), "mezigdomide"].startswith("more significantly impaired (-")
    ifn = t2.loc[("Myeloma", "HALLMARK_INTERFERON_ALPHA_RESPONSE"), "mezigdomide"]
    pot = dp.get.potency_table(done).set_index(["group", "source", "condition"])
    row = pot.loc[("Myeloma", "HALLMARK_INTERFERON_ALPHA_RESPONSE", "mezigdomide")]
    assert ifn == f"strong ({row['log2fc']:+.2f} [{row['log2fc_lo']:+.2f}, {row['log2fc_hi']:+.2f}])"  # same numbers
    t3 = dp.get.summary_table(sig, "degs")
    row = t3[(t3.group == "Myeloma") & (t3.condition == "mezigdomide")].iloc[0]
    assert row["n_up"] > 50 and row["n_down"] > 50
    assert "HALLMARK_INTERFERON_ALPHA_RESPONSE" in row["top_pathways_up"]
    assert "G2M" in row["top_pathways_down"] or "E2F" in row["top_pathways_down"]
    with pytest.raises(ValueError, match="not conditions"):
        dp.get.summary_table(done, "pair", drugs=("thalidomide", "aspirin"))


def test_cross_study_comparison_flags_platform(six_donors):
    _, sig = six_donors
    path = shared_path("aifi_lenalidomide_tcells", "deg_scatter_cd4_naive_24_dex_len_data_2023-10-24.csv")
    kw = {"padj_col": None, "reference": "DMSO", "group": "CD4 naive", "study": "AIFI", "platform": "scRNA MAST"}
    with pytest.warns(UserWarning, match="adjusted"):
        pub = dp.io.read_de_table(path, "gene", "y_lfc", **{**kw, "padj_col": "y_fdr"}, condition="lenalidomide")
    with pytest.warns(UserWarning, match="adjusted"):
        dex = dp.io.read_de_table(path, "gene", "x_lfc", **{**kw, "padj_col": "x_fdr"}, condition="dexamethasone")
    sim = sig[sig.obs["cell_type"] == "NK"].copy()
    both = dp.tl.concat_signatures(
        {"screen": sim, "AIFI len": pub, "AIFI dex": dex}, platform=["simulated pseudobulk", "scRNA MAST", "scRNA MAST"]
    )
    assert both.n_vars < sim.n_vars and set(both.obs["study"]) == {"screen", "AIFI len", "AIFI dex"}
    dp.tl.compare(both, groupby="none", n_boot=20)
    tab = dp.get.compare_table(both)
    cross = tab[tab["a"].str.startswith("screen") & tab["b"].str.startswith("AIFI")]
    assert cross["cross_platform"].all()
    assert not cross["shared_reference"].any()  # both against "DMSO", but in different studies
    same = tab[tab["a"].str.startswith("AIFI len") & tab["b"].str.startswith("AIFI dex")]
    assert not same["cross_platform"].any() and not same["shared_reference"].any()  # published: unknown
    screen = tab[tab["a"].str.startswith("screen") & tab["b"].str.startswith("screen")]
    assert len(screen) == 10 and screen["shared_reference"].all()  # one fit, one DMSO


def test_concat_errors(six_donors):
    _, sig = six_donors
    with pytest.raises(ValueError, match="at least two"):
        dp.tl.concat_signatures([sig])
    other = sig.copy()
    other.var_names = [f"X{i}" for i in range(other.n_vars)]
    with pytest.raises(ValueError, match="share no gene"):
        dp.tl.concat_signatures([sig, other])


def test_screen_compares_each_signature_with_its_neighbours(compound_screen, compound_sig):
    """More than 30 signatures: full matrices of estimates, intervals for each one's nearest neighbours only."""
    sig = compound_sig.copy()
    dp.tl.compare(sig, n_boot=60, n_neighbors=5)
    tab = dp.get.compare_table(sig)
    line = str(sig.obs["cell_line"].cat.categories[0])
    mat = dp.get.similarity_matrix(sig, line)
    assert mat.shape == (40, 40) and np.isfinite(mat.to_numpy()).all()
    rows = tab[tab["group"] == line]
    assert len(rows) <= 40 * 5 and len(rows) >= 40 * 5 // 2
    assert set(rows["a"]) | set(rows["b"]) == set(mat.index)
    assert not rows.duplicated(["a", "b"]).any()
    inside = (rows["spearman_lo"] <= rows["spearman"] + 1e-12) & (rows["spearman"] <= rows["spearman_hi"] + 1e-12)
    assert inside.all()
    # each listed pair is among the nearest of one of its members
    values = mat.to_numpy().copy()
    np.fill_diagonal(values, -np.inf)
    kth = np.sort(values, axis=1)[:, -5]
    where = {n: i for i, n in enumerate(mat.index)}
    for a, b, r in rows[["a", "b", "spearman"]].itertuples(index=False):
        assert r >= min(kth[where[a]], kth[where[b]]) - 1e-12
    # strong compounds' nearest neighbour shares their planted family
    truth = compound_screen.uns["screen_truth"]["compounds"]
    strong = [c for c in mat.index if truth.loc[c, "tier"] == "strong"]
    same = [truth.loc[mat.columns[np.argmax(values[where[c]])], "family"] == truth.loc[c, "family"] for c in strong]
    assert np.mean(same) >= 0.8
    assert sig.uns["compare"]["params"]["pairs"] == "auto"


def test_pairs_all_lists_every_pair(sig_all):
    sig = sig_all[sig_all.obs["cell_type"] == "NK"].copy()
    dp.tl.compare(sig, n_boot=20, pairs="neighbors", n_neighbors=1)
    few = dp.get.compare_table(sig)
    dp.tl.compare(sig, n_boot=20, pairs="all")
    every = dp.get.compare_table(sig)
    assert len(every) == 5 * 4 // 2 and len(few) < len(every)
    with pytest.raises(ValueError, match="n_neighbors"):
        dp.tl.compare(sig, n_neighbors=0)


def test_neighbour_intervals_equal_the_whole_matrices_draws():
    """Pearson and cosine from gene counts equal the resampled matrices exactly; Spearman with ranks fixed is close."""
    from drugprint.tl._compare import _bounds

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 200)) + rng.normal(size=(1, 200)) * np.linspace(0, 2, 12)[:, None]
    listed = np.array([[0, 1], [2, 7], [3, 11], [5, 6]])
    q = [2.5, 97.5]
    whole = _bounds(x, ["spearman", "pearson", "cosine"], None, 300, q, np.random.default_rng(1))
    pairs = _bounds(x, ["spearman", "pearson", "cosine"], listed, 300, q, np.random.default_rng(1))
    a, b = listed.T
    for m, tol in (("pearson", 1e-10), ("cosine", 1e-10), ("spearman", 0.03)):
        for k in (0, 1):
            np.testing.assert_allclose(pairs[m][k][a, b], whole[m][k][a, b], atol=tol)
            assert np.isnan(pairs[m][k][0, 2])
