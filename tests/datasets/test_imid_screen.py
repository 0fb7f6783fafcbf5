import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats

import drugprint as dp
from drugprint.datasets import CELL_TYPES, DRUGS


def test_layout(screen):
    obs = screen.obs
    for col in ("donor", "drug", "cell_type", "sample", "dose", "time", "condition"):
        assert col in obs
    assert obs["donor"].nunique() == 4
    assert list(obs["drug"].cat.categories) == ["DMSO", *DRUGS]
    assert set(obs["cell_type"]) == set(CELL_TYPES)
    # one sample per donor × drug
    assert obs.groupby("sample", observed=True)[["donor", "drug"]].nunique().eq(1).all().all()
    assert obs["sample"].nunique() == obs["donor"].nunique() * 6


def test_counts_are_negative_binomial_integers(screen):
    c = screen.layers["counts"]
    assert sparse.issparse(c)
    assert np.issubdtype(c.dtype, np.integer)
    assert c.data.min() > 0
    lib = np.asarray(c.sum(axis=1)).ravel()
    assert 500 < np.median(lib) < 10_000
    assert lib.std() / lib.mean() > 0.2  # library sizes vary between cells
    # over-dispersion: within one profile, variance exceeds the Poisson mean for well-expressed genes
    mask = ((screen.obs["sample"] == "D1_DMSO") & (screen.obs["cell_type"] == "CD14 Mono")).to_numpy()
    x = c[mask].toarray() / lib[mask, None] * np.median(lib[mask])
    m, v = x.mean(0), x.var(0)
    high = m > 2
    assert np.median(v[high] / m[high]) > 1.2


def test_genes_cover_shipped_sets_and_panels(screen):
    genes = set(screen.var_names)
    for name, kw in (("hallmark", {}), ("progeny", {"top": 100}), ("imid", {})):
        assert set(dp.resources.genesets(name, **kw)["target"]) <= genes
    for members in dp.resources.panels().values():
        assert set(members) <= genes
    assert 3000 < screen.n_vars < 8000


def test_cell_type_markers(screen):
    x = screen.to_df(layer="counts")
    means = x.groupby(screen.obs["cell_type"], observed=True).mean()
    assert means["MS4A1"].idxmax() == "B"
    assert means["CD14"].idxmax() == "CD14 Mono"
    assert means["GNLY"].idxmax() == "NK"
    assert means["SDC1"].idxmax() == "Myeloma"
    assert means["CD8A"].idxmax() == "CD8 T"


def test_truth_records_planted_effects(screen):
    truth = screen.uns["truth"]
    assert truth["potency_order"] == list(DRUGS)
    assert truth["null_cell_types"] == ["B"]
    eff = truth["effects"]
    ifn = eff[(eff.cell_type == "Myeloma") & (eff.programme == "interferon")].set_index("drug")["log2fc"]
    assert list(ifn.sort_values().index) == list(DRUGS)
    assert (eff.loc[eff.programme == "cell_cycle", "log2fc"] < 0).all()
    genes = truth["gene_effects"]
    assert not (genes["cell_type"] == "B").any()
    ikzf = genes[genes["gene"].isin(["IKZF1", "IKZF3"])]
    assert (ikzf["log2fc"] >= 0).all() and ikzf["log2fc"].max() < 0.5
    act = truth["activity"].set_index("drug")["activity"]
    assert act.is_monotonic_increasing


def test_planted_effect_visible_in_counts():
    # programme noise alone shifts GZMB ±0.4
    screen = dp.datasets.imid_screen("small", random_state=0, programme_sd=0.0)
    obs = screen.obs
    x = screen.layers["counts"]
    lib = np.asarray(x.sum(axis=1)).ravel()
    planted = screen.uns["truth"]["gene_effects"]
    genes = sorted(set(planted["gene"]))
    cols = screen.var_names.get_indexer(genes)

    def counts(cell_type, drug):
        m = ((obs["cell_type"] == cell_type) & (obs["drug"] == drug)).to_numpy()
        return pd.Series(np.asarray(x[m][:, cols].sum(axis=0)).ravel(), index=genes), lib[m].sum()

    def log2fc(cell_type, drug, which):
        (c, n), (c0, n0) = counts(cell_type, drug), counts(cell_type, "DMSO")
        return np.log2((c[which].sum() / n) / (c0[which].sum() / n0))

    nk = planted[(planted["cell_type"] == "NK") & (planted["gene"] == "GZMB")].set_index("drug")["log2fc"]
    observed = [log2fc("NK", d, ["GZMB"]) for d in DRUGS]
    np.testing.assert_allclose(observed, nk[list(DRUGS)], atol=0.4)  # mezigdomide: planted 3.17
    # B cells carry no planted effect: genes planted in other cell types stay put (pooled over those expressed)
    expressed = counts("B", "DMSO")[0].loc[lambda c: c >= 100].index
    assert len(expressed) > 20
    np.testing.assert_allclose([log2fc("B", d, expressed) for d in DRUGS], 0, atol=0.2)
    # myeloma cells die with potent drugs
    frac = obs.groupby("drug", observed=True)["cell_type"].apply(lambda s: (s == "Myeloma").mean())
    assert frac["mezigdomide"] < frac["DMSO"]


def test_deterministic_and_seeded():
    a = dp.datasets.imid_screen("small", random_state=3, n_donors=2, cells_per_sample=30)
    b = dp.datasets.imid_screen("small", random_state=3, n_donors=2, cells_per_sample=30)
    c = dp.datasets.imid_screen("small", random_state=4, n_donors=2, cells_per_sample=30)
    assert (a.layers["counts"] != b.layers["counts"]).nnz == 0
    pd.testing.assert_frame_equal(a.obs, b.obs)
    assert a.shape != c.shape or (a.layers["counts"] != c.layers["counts"]).nnz > 0


def test_doses_and_timepoints():
    a = dp.datasets.imid_screen("small", n_donors=2, cells_per_sample=20, doses=[0.1, 1.0], timepoints=[6, 24])
    assert set(a.obs["dose"]) == {0.0, 0.1, 1.0}
    assert set(a.obs["time"]) == {6.0, 24.0}
    assert "lenalidomide_0.1uM" in set(a.obs["condition"])
    act = a.uns["truth"]["activity"]
    len_act = act[act.drug == "lenalidomide"].set_index("dose")["activity"]
    assert len_act[1.0].iloc[0] > len_act[0.1].iloc[0]


def test_default_preset_has_six_donors():
    a = dp.datasets.imid_screen("default", n_donors=None, cells_per_sample=20)
    assert a.obs["donor"].nunique() == 6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"preset": "huge"}, "preset"),
        ({"modalities": ("rna", "atac")}, "modality"),
        ({"n_donors": 1}, "n_donors"),
        ({"doses": [0.0]}, "positive"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dp.datasets.imid_screen(**kwargs)


def test_activity_unknown_drug_lists_choices():
    activity = dp.datasets.activity
    assert activity("DMSO", 1.0) == 0.0
    assert activity("mezigdomide", 0.01) == pytest.approx(0.625)  # emax 1.25 at the EC50
    with pytest.raises(ValueError, match="Unknown drug 'aspirin'; choose one of 'DMSO', 'thalidomide'"):
        activity("aspirin", 1.0)


def test_programmes_covary_between_profiles():
    """Each Hallmark set's genes shift together per profile; the shifts are recorded and off with programme_sd=0."""
    noisy = dp.datasets.imid_screen("small", random_state=3, n_donors=2, cells_per_sample=300, programme_sd=0.3)
    flat = dp.datasets.imid_screen("small", random_state=3, n_donors=2, cells_per_sample=300, programme_sd=0.0)
    shifts = noisy.uns["truth"]["programme_shifts"]
    assert shifts.shape[1] == 2 + 50 and noisy.uns["imid_screen"]["programme_sd"] == 0.3
    assert 0.2 < shifts.iloc[:, 2:].to_numpy().std() < 0.4
    assert (flat.uns["truth"]["programme_shifts"].iloc[:, 2:] == 0).all().all()

    def set_means(adata, source):
        pdata = dp.pp.pseudobulk(adata[adata.obs["cell_type"] == "CD4 T"].copy())
        x = np.log2(pdata.X / pdata.X.sum(axis=1, keepdims=True) * 1e6 + 1)
        genes = dp.resources.genesets("hallmark").query("source == @source")["target"]
        cols = pdata.var_names.isin(genes) & (pdata.X.mean(axis=0) > 20)
        return pd.Series(x[:, cols].mean(axis=1), index=pdata.obs["sample"].astype(str))

    source = "HALLMARK_OXIDATIVE_PHOSPHORYLATION"
    truth = shifts[shifts["cell_type"] == "CD4 T"].set_index("sample")[source]
    observed = set_means(noisy, source)
    assert np.corrcoef(observed, truth.reindex(observed.index))[0, 1] > 0.8
    observed = set_means(flat, source)  # without programme noise the set mean does not follow those shifts
    assert abs(np.corrcoef(observed, truth.reindex(observed.index))[0, 1]) < 0.8


def test_programme_sd_validated():
    with pytest.raises(ValueError, match="programme_sd"):
        dp.datasets.imid_screen("small", programme_sd=-1)


def test_composition_truth_follows_potency(screen):
    """Myeloma falls, NK and CD8 T rise, in potency order; the others move only by renormalisation."""
    truth = screen.uns["truth"]["composition"]
    assert len(truth) == len(DRUGS) * len(dp.datasets.CELL_TYPES) and set(truth["drug"]) == set(DRUGS)
    full = truth.pivot(index="drug", columns="cell_type", values="log2_abundance").loc[list(DRUGS)]
    act = np.array([min(dp.datasets.activity(d, 1.0), 1.25) / 1.25 for d in DRUGS])
    for ct, lfc in dp.datasets.COMPOSITION.items():  # log2 change of abundance = planted maximum × scaled activity
        np.testing.assert_allclose(full[ct], lfc * act, rtol=1e-12)
    assert (full[["CD4 T", "B", "CD14 Mono"]] == 0).all().all()
    prop = truth.pivot(index="drug", columns="cell_type", values="log2fc_proportion").loc[list(DRUGS)]
    assert prop["Myeloma"].is_monotonic_decreasing and prop["NK"].is_monotonic_increasing
    assert prop["CD8 T"].is_monotonic_increasing and (prop["B"] < 0).all()  # B falls only by renormalisation


def test_composition_planted_in_the_cells():
    """The planted shifts are in the cell counts: recovered in potency order, and none with composition_scale=0."""
    adata = dp.datasets.imid_screen("small", random_state=1, n_donors=6, cells_per_sample=400)
    dp.tl.composition(adata)
    tab = dp.get.composition_table(adata).set_index(["cell_type", "condition"])
    truth = adata.uns["truth"]["composition"].set_index(["cell_type", "drug"])["log2fc_proportion"]
    for ct in ("Myeloma", "NK", "CD8 T"):
        est = tab.loc[ct, "log2fc"].reindex(list(DRUGS))
        rho = stats.spearmanr(est, truth.loc[ct].reindex(list(DRUGS))).statistic
        assert rho >= 0.8, (ct, est.round(2).tolist())
    for drug in ("iberdomide", "mezigdomide"):
        assert tab.loc[("Myeloma", drug), "padj"] < 0.01 and tab.loc[("Myeloma", drug), "log2fc"] < 0
        assert tab.loc[("NK", drug), "padj"] < 0.01 and tab.loc[("NK", drug), "log2fc"] > 0
    assert (tab.loc[("Myeloma", "mezigdomide"), "logit_diff_hi"] < 0) and tab.loc[("B", "thalidomide"), "padj"] > 0.05


def test_no_composition_change_gives_no_calls():
    calls = 0
    for seed in range(4):
        adata = dp.datasets.imid_screen("small", random_state=seed, composition_scale=0.0)
        assert (adata.uns["truth"]["composition"][["log2_abundance", "log2fc_proportion"]] == 0).all().all()
        dp.tl.composition(adata)
        calls += int((dp.get.composition_table(adata)["padj"] < 0.05).sum())
    assert calls <= 2, calls  # 120 tests over 20 families with nothing planted; measured: 0


def test_composition_scale_validated():
    with pytest.raises(ValueError, match="composition_scale"):
        dp.datasets.imid_screen("small", composition_scale=np.nan)
