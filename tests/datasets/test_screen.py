import anndata as ad
import numpy as np
import pandas as pd
import pytest

import drugprint as dp

SMALL = {"cell_lines": 2, "n_genes": 500}


@pytest.fixture(scope="module")
def small():
    return dp.datasets.screen(12, **SMALL)


@pytest.fixture(scope="module")
def forty():
    """40 compounds: several members per family."""
    return dp.datasets.screen(40, n_genes=500, random_state=1)


def _truth_by_compound(adata) -> pd.DataFrame:
    """Each compound's true fingerprint, lines concatenated (one dose)."""
    truth = adata.uns["screen_truth"]
    rows = pd.Series(truth["fingerprint_rows"]).str.split("|", expand=True)
    lines = list(adata.obs["cell_line"].cat.categories)
    blocks = [truth["fingerprints"][(rows[0] == line).to_numpy()] for line in lines]
    return pd.DataFrame(np.hstack(blocks), index=rows.loc[rows[0] == lines[0], 1].to_numpy())


def _family_fingerprints(adata) -> pd.DataFrame:
    truth = adata.uns["screen_truth"]
    rows = pd.Series(truth["family_fingerprint_rows"]).str.split("|", expand=True)
    lines = list(adata.obs["cell_line"].cat.categories)
    blocks = [truth["family_fingerprints"][(rows[0] == line).to_numpy()] for line in lines]
    return pd.DataFrame(np.hstack(blocks), index=rows.loc[rows[0] == lines[0], 1].to_numpy())


def _log_cpm(adata) -> np.ndarray:
    c = adata.layers["counts"].astype(float)
    return np.log2((c + 0.5) / c.sum(axis=1, keepdims=True) * 1e6)


def test_layout(small):
    obs = small.obs
    # 2 lines × 3 replicates × (4 DMSO + 12 compounds)
    assert small.shape == (96, 500)
    assert list(obs.columns) == [
        "sample",
        "cell_line",
        "compound",
        "dose",
        "treatment",
        "replicate",
        "plate",
        "family",
        "n_cells",
    ]
    assert obs.index.is_unique and small.var_names.is_unique
    assert list(obs["cell_line"].cat.categories) == ["A549", "K562"]
    assert obs["compound"].cat.categories[0] == "DMSO" and obs["treatment"].cat.categories[0] == "DMSO"
    assert list(obs["replicate"].cat.categories) == ["r1", "r2", "r3"]
    assert list(obs["plate"].cat.categories) == ["p01"]
    dmso = obs["compound"] == "DMSO"
    assert (obs.loc[dmso, "dose"] == 0).all() and (obs.loc[~dmso, "dose"] == 1.0).all()
    assert (obs.loc[dmso, "family"] == "vehicle").all()
    assert (obs["treatment"].astype(str) == obs["compound"].astype(str)).all()  # one dose: the compound
    assert obs.loc["A549|cmpd-0007|1uM|r2", "sample"] == "cmpd-0007|1uM|r2"
    assert np.issubdtype(obs["n_cells"].dtype, np.integer) and 150 < obs["n_cells"].mean() < 250
    for col in ("sample", "cell_line", "compound", "treatment", "replicate", "plate", "family"):
        assert isinstance(obs[col].dtype, pd.CategoricalDtype), col
    counts = small.layers["counts"]
    assert np.issubdtype(counts.dtype, np.integer) and counts.min() >= 0
    np.testing.assert_array_equal(small.X, counts)
    lib = counts.sum(axis=1)
    assert 1e6 < lib.mean() < 3e6 and lib.std() / lib.mean() > 0.1
    assert small.uns["pseudobulk"]["groupby"] == ["cell_line"]
    truth = small.uns["screen_truth"]
    assert truth["params"]["cell_lines"] == ["A549", "K562"] and truth["params"]["n_compounds"] == 12
    fams = truth["compounds"]["family"]
    assert (fams == "none").sum() == 3 and set(obs["family"].cat.categories) >= {"vehicle", "none"}
    assert truth["fingerprints"].shape == (2 * 12, 500) and truth["fingerprints"].dtype == np.float32


def test_counts_are_testable_and_overdispersed():
    adata = dp.datasets.screen(4, cell_lines=1, n_controls=8, n_genes=3000)
    dmso = (adata.obs["compound"] == "DMSO").to_numpy()
    c = adata.layers["counts"][dmso].astype(float)
    mean = c.mean(axis=0)
    assert (mean >= 10).mean() > 0.98  # nearly every gene has counts a count engine tests
    assert np.quantile(mean, 0.99) > 20 * np.median(mean)  # a few genes high
    scaled = c / c.sum(axis=1, keepdims=True) * c.sum(axis=1).mean()
    high = mean > 100
    assert np.median(scaled.var(axis=0)[high] / mean[high]) > 2  # far above Poisson


def test_doses_and_potency():
    adata = dp.datasets.screen(6, n_doses=3, cell_lines=1, n_genes=300, inactive=0.0)
    obs = adata.obs
    assert sorted(obs["dose"].unique()) == [0.0, 0.1, 1.0, 10.0]
    assert "cmpd-0001 0.1uM" in obs["treatment"].cat.categories
    truth = adata.uns["screen_truth"]
    tr = truth["treatments"]
    assert list(tr.columns) == ["compound", "dose", "potency"]
    for _, group in tr.groupby("compound"):
        assert group.sort_values("dose")["potency"].is_monotonic_increasing
    norms = pd.Series(np.linalg.norm(truth["fingerprints"], axis=1), index=tr.index)
    by_dose = norms.groupby(tr["dose"]).mean()
    assert by_dose.is_monotonic_increasing and by_dose[10.0] > 2 * by_dose[0.1]
    one = dp.datasets.screen(6, cell_lines=1, n_genes=300, inactive=0.0).uns["screen_truth"]["compounds"]
    assert one["tier"].nunique() >= 2 or len(one) < 3


def test_deterministic():
    a = dp.datasets.screen(8, **SMALL, random_state=3)
    b = dp.datasets.screen(8, **SMALL, random_state=3)
    c = dp.datasets.screen(8, **SMALL, random_state=4)
    np.testing.assert_array_equal(a.layers["counts"], b.layers["counts"])
    np.testing.assert_array_equal(a.uns["screen_truth"]["fingerprints"], b.uns["screen_truth"]["fingerprints"])
    pd.testing.assert_frame_equal(a.obs, b.obs)
    assert not np.array_equal(a.layers["counts"], c.layers["counts"])


def test_planted_truth_is_consistent(forty):
    truth = forty.uns["screen_truth"]
    comp = truth["compounds"]
    assert (~comp["active"]).sum() == 10 and (comp.loc[~comp["active"], "family"] == "none").all()
    assert (comp.loc[~comp["active"], "potency"] == 0).all()
    fp = _truth_by_compound(forty)
    assert (fp.loc[comp.index[~comp["active"]]].to_numpy() == 0).all()
    assert (fp.loc[comp.index[comp["active"]]].abs().sum(axis=1) > 0).all()
    assert comp.loc[comp["active"], "tier"].nunique() >= 2  # weak to strong
    active = comp.index[comp["active"]]
    r = np.corrcoef(fp.loc[active].to_numpy())
    fam = comp.loc[active, "family"].to_numpy()
    same = (fam[:, None] == fam[None, :]) & ~np.eye(len(fam), dtype=bool)
    other = fam[:, None] != fam[None, :]
    assert same.any() and r[same].mean() > 0.8 and r[same].min() > 0.6
    assert np.abs(r[other]).mean() < 0.3
    # one line ignores one family: its compounds have no effect there
    sens = truth["sensitivity"]
    assert int((sens.to_numpy() == 0).sum()) == 1 and list(sens.columns) == list(forty.obs["cell_line"].cat.categories)
    # gene sets: each family's moved genes, and the modules
    sets = truth["genesets"]
    assert {f"family_{f}" for f in truth["families"]} <= set(sets["source"])
    assert sets["source"].str.startswith("module_").any()
    moved = forty.var["moved_by"].str.len() > 0
    assert set(sets.loc[sets["source"].str.startswith("family_"), "target"]) == set(forty.var_names[moved])


def test_plates_carry_their_own_controls():
    adata = dp.datasets.screen(12, compounds_per_plate=5, n_controls=2, cell_lines=2, n_genes=200)
    obs = adata.obs
    assert list(obs["plate"].cat.categories) == ["p01", "p02", "p03"]
    dmso = obs[obs["compound"] == "DMSO"]
    per = dmso.groupby(["plate", "replicate", "cell_line"], observed=False).size()
    assert (per == 2).all() and len(per) == 3 * 3 * 2
    plate_of = adata.uns["screen_truth"]["compounds"]["plate"]
    treated = obs[obs["compound"] != "DMSO"]
    assert (treated["plate"].astype(str).to_numpy() == plate_of[treated["compound"].astype(str)].to_numpy()).all()
    assert plate_of.value_counts().sort_index().tolist() == [5, 5, 2]


def test_new_members_share_the_families(forty):
    new = dp.datasets.screen(40, n_genes=500, new_members=2, random_state=1)
    old_t, new_t = forty.uns["screen_truth"], new.uns["screen_truth"]
    np.testing.assert_array_equal(old_t["family_fingerprints"], new_t["family_fingerprints"])
    comp = new_t["compounds"]
    assert len(comp) == 8 * 2 and comp["active"].all() and "NEW-F3-01" in comp.index
    assert comp.loc["NEW-F3-02", "family"] == "F3"
    assert not set(comp.index) & set(old_t["compounds"].index)
    assert set(new.obs["compound"].cat.categories) == {"DMSO", *comp.index}
    fp, fam = _truth_by_compound(new), _family_fingerprints(new)
    r = pd.DataFrame(np.corrcoef(fp.to_numpy(), fam.to_numpy())[: len(fp), len(fp) :], fp.index, fam.index)
    own = np.array([r.loc[c, comp.loc[c, "family"]] for c in r.index])
    assert own.min() > 0.8
    others = r.to_numpy()[comp["family"].to_numpy()[:, None] != fam.index.to_numpy()[None, :]]
    assert np.abs(others).mean() < 0.3
    # fresh deviations: a new member is not a copy of an old one
    old_fp = _truth_by_compound(forty).loc[old_t["compounds"]["active"]]
    assert np.corrcoef(fp.to_numpy(), old_fp.to_numpy())[: len(fp), len(fp) :].max() < 0.99
    # fresh noise: the controls differ
    d_old = forty.layers["counts"][(forty.obs["compound"] == "DMSO").to_numpy()]
    d_new = new.layers["counts"][(new.obs["compound"] == "DMSO").to_numpy()]
    assert not np.array_equal(d_old[: len(d_new)], d_new[: len(d_old)])


def test_counts_carry_the_effect():
    """Mean log-CPM change against the DMSO wells of the compound's plate follows the strongest compound's truth."""
    adata = dp.datasets.screen(12, cell_lines=2, n_genes=1000, random_state=2)
    obs, truth = adata.obs, adata.uns["screen_truth"]
    comp = truth["compounds"]
    strong = comp["potency"].idxmax()
    dead = comp.index[~comp["active"]][0]
    logcpm = _log_cpm(adata)
    rows = list(truth["fingerprint_rows"])
    for line in obs["cell_line"].cat.categories:
        true = truth["fingerprints"][rows.index(f"{line}|{strong}")]
        if not true.any():  # the line ignores the strongest compound's family
            continue
        here = (obs["cell_line"] == line).to_numpy()
        r = {}
        for compound in (strong, dead):
            control = here & (obs["compound"] == "DMSO").to_numpy() & (obs["plate"] == comp.loc[compound, "plate"])
            treated = here & (obs["compound"] == compound).to_numpy()
            diff = logcpm[treated].mean(axis=0) - logcpm[control.to_numpy()].mean(axis=0)
            r[compound] = np.corrcoef(diff, true)[0, 1]
        assert r[strong] > 0.7 and abs(r[dead]) < 0.2, (line, r)
        assert not truth["fingerprints"][rows.index(f"{line}|{dead}")].any()


def test_de_recovers_the_fingerprint():
    adata = dp.datasets.screen(12, n_genes=500)
    sig = dp.tl.de(adata, condition_key="treatment", covariates=["replicate"], method="voom", verbose=False)
    truth = adata.uns["screen_truth"]
    comp, sens = truth["compounds"], truth["sensitivity"]
    assert set(sig.obs["cell_line"]) == set(adata.obs["cell_line"].cat.categories)
    strong = comp["potency"].idxmax()
    line = sens.loc[comp.loc[strong, "family"]].idxmax()
    est = sig[f"{line}|{strong} vs DMSO"].layers["log2fc"][0]
    true = truth["fingerprints"][list(truth["fingerprint_rows"]).index(f"{line}|{strong}")]
    ok = np.isfinite(est)
    assert ok.mean() > 0.9
    assert np.corrcoef(est[ok], true[ok])[0, 1] > 0.7


def test_h5ad_round_trip(small, tmp_path):
    path = tmp_path / "screen.h5ad"
    small.write_h5ad(path)
    back = ad.read_h5ad(path)
    np.testing.assert_array_equal(back.layers["counts"], small.layers["counts"])
    pd.testing.assert_frame_equal(back.obs, small.obs)
    t, u = small.uns["screen_truth"], back.uns["screen_truth"]
    np.testing.assert_array_equal(u["fingerprints"], t["fingerprints"])
    assert list(u["fingerprint_rows"]) == list(t["fingerprint_rows"])
    pd.testing.assert_frame_equal(u["compounds"], t["compounds"], check_dtype=False)
    assert list(u["params"]["cell_lines"]) == ["A549", "K562"]
    assert list(back.uns["pseudobulk"]["groupby"]) == ["cell_line"]


def test_cell_line_names():
    adata = dp.datasets.screen(4, cell_lines=["HeLa", "U2OS"], n_genes=200)
    assert list(adata.obs["cell_line"].cat.categories) == ["HeLa", "U2OS"]
    assert "HeLa|cmpd-0001|1uM|r1" in adata.obs_names
    assert len(dp.datasets.screen(4, cell_lines=12, n_genes=200).obs["cell_line"].cat.categories) == 12


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_compounds": 0}, "n_compounds"),
        ({"n_families": 0}, "n_families"),
        ({"inactive": 1.0}, "inactive"),
        ({"inactive": -0.1}, "inactive"),
        ({"n_doses": 0}, "n_doses"),
        ({"cell_lines": 0}, "cell_lines"),
        ({"cell_lines": ["A549", "A549"]}, "cell_lines"),
        ({"cell_lines": ["A|B"]}, "cell_lines"),
        ({"n_replicates": 1}, "n_replicates"),
        ({"n_controls": 0}, "n_controls"),
        ({"compounds_per_plate": 0}, "compounds_per_plate"),
        ({"n_genes": 50}, "n_genes"),
        ({"depth": 0}, "depth"),
        ({"new_members": -1}, "new_members"),
        ({"random_state": -1}, "random_state"),
        ({"n_compounds": 2.5}, "n_compounds"),
    ],
)
def test_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        dp.datasets.screen(**kwargs)
