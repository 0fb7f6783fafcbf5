"""Screens fitted in blocks of conditions (tl/_de/blocks.py): same tests, linear cost, small studies unchanged."""

import numpy as np
import pandas as pd
import pytest

import drugprint as dp


@pytest.fixture(scope="module")
def small():
    return dp.pp.pseudobulk(dp.datasets.imid_screen("small"))


def _fit(pdata, **kw):
    kw.setdefault("method", "voom")
    return dp.tl.de(pdata, verbose=False, **kw)


def _screen_fit(pdata, **kw):
    return _fit(pdata, condition_key="compound", covariates=["replicate"], **kw)


def test_a_small_study_is_one_fit_as_before(small):
    auto, whole = _fit(small, groups=["NK", "Myeloma"]), _fit(small, groups=["NK", "Myeloma"], conditions_per_fit=None)
    assert (auto.uns["de"]["fits"]["part"] == "").all()
    assert list(auto.obs_names) == list(whole.obs_names)
    for layer in ("log2fc", "stat", "pvalue", "padj", "padj_global"):
        np.testing.assert_array_equal(auto.layers[layer], whole.layers[layer])
    assert auto.uns["de"]["conditions_per_fit"] == "auto"


def test_blocks_as_large_as_the_study_are_the_whole_fit(small):
    whole = _fit(small, groups=["NK"], conditions_per_fit=None)
    five = _fit(small, groups=["NK"], conditions_per_fit=5)
    np.testing.assert_allclose(five.layers["stat"], whole.layers["stat"], rtol=0, atol=1e-8, equal_nan=True)


def test_forced_blocks_keep_the_tests_and_their_order(small):
    whole = _fit(small, groups=["NK", "Myeloma"], conditions_per_fit=None)
    blocks = _fit(small, groups=["NK", "Myeloma"], conditions_per_fit=2)
    assert list(blocks.obs_names) == list(whole.obs_names)
    fits = blocks.uns["de"]["fits"]
    assert fits["part"].tolist() == ["1/3", "2/3", "3/3"] * 2
    assert fits["profiles_per_condition"].iloc[0] == "DMSO: 4, thalidomide: 4, lenalidomide: 4"
    assert any("5 conditions fitted in 3 blocks of at most 2" in n for n in blocks.uns["de"]["notes"])
    # the same contrast of the same data: the effects agree closely; the variances rest on fewer profiles
    for layer, r_min in (("log2fc", 0.97), ("stat", 0.97)):
        x, y = whole.layers[layer], blocks.layers[layer]
        ok = np.isfinite(x) & np.isfinite(y)
        assert np.corrcoef(x[ok], y[ok])[0, 1] > r_min
    # every signature's genes are the group's filter's (one filter per group)
    nk = blocks.obs[blocks.obs["cell_type"] == "NK"].index
    tested = np.isfinite(blocks[nk].layers["pvalue"])
    assert (tested == tested[0]).all()


def test_a_screen_is_fitted_in_blocks_of_ten_with_its_controls(compound_screen):
    sig = _screen_fit(compound_screen)
    fits = sig.uns["de"]["fits"]
    assert sig.n_obs == 2 * 40
    assert fits.groupby("group").size().tolist() == [4, 4]  # 40 compounds: 4 blocks of 10 per line
    # each block: its 10 compounds × 3 replicates and the line's 4 DMSO wells × 3 replicates
    assert (fits["n_profiles"] == 10 * 3 + 4 * 3).all()
    assert (fits["residual_df"] == 42 - (1 + 2 + 10)).all()
    truth = compound_screen.uns["screen_truth"]
    rows = pd.Index(truth["fingerprint_rows"])
    strong = truth["compounds"].query("active").sort_values("potency").index[-1]
    for line in compound_screen.obs["cell_line"].cat.categories:
        fp = truth["fingerprints"][rows.get_loc(f"{line}|{strong}")]
        lfc = sig.layers["log2fc"][sig.obs_names.get_loc(f"{line}|{strong} vs DMSO")]
        ok = np.isfinite(lfc)
        if np.abs(fp).max() > 0:
            assert np.corrcoef(fp[ok], lfc[ok])[0, 1] > 0.8


def test_screen_blocks_agree_with_the_whole_design(compound_screen):
    blocks, whole = _screen_fit(compound_screen), _screen_fit(compound_screen, conditions_per_fit=None)
    x, y = whole.layers["stat"], blocks.layers["stat"]
    ok = np.isfinite(x) & np.isfinite(y)
    assert np.corrcoef(x[ok], y[ok])[0, 1] > 0.98
    a, b = whole.layers["padj"] < 0.05, blocks.layers["padj"] < 0.05
    assert (a & b).sum() / (a | b).sum() > 0.85


def test_plates_in_the_design_bring_only_their_controls():
    pdata = dp.datasets.screen(40, n_genes=500, cell_lines=1, compounds_per_plate=10, random_state=1)
    sig = _fit(pdata, condition_key="compound", covariates=["replicate", "plate"])
    fits = sig.uns["de"]["fits"]
    assert len(fits) == 4
    assert (fits["n_profiles"] == 10 * 3 + 4 * 3).all()  # one plate's DMSO wells, not all four plates'
    assert any("sharing their replicate, plate" in n for n in sig.uns["de"]["notes"])


def test_other_tests_keep_the_whole_design(compound_screen):
    sub = compound_screen[compound_screen.obs["cell_line"] == compound_screen.obs["cell_line"].cat.categories[0]].copy()
    sig = _fit(
        sub,
        condition_key="compound",
        covariates=["replicate"],
        contrasts=[("cmpd-0001", "cmpd-0002")],
    )
    assert (sig.uns["de"]["fits"]["part"] == "").all()


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "many"])
def test_conditions_per_fit_is_checked(small, bad):
    with pytest.raises(ValueError, match="conditions_per_fit"):
        _fit(small, groups=["NK"], conditions_per_fit=bad)


def test_deseq2_blocks(compound_screen):
    sub = compound_screen[compound_screen.obs["cell_line"] == compound_screen.obs["cell_line"].cat.categories[0]].copy()
    sig = _screen_fit(sub, method="deseq2")
    assert len(sig.uns["de"]["fits"]) == 4 and sig.n_obs == 40
    assert np.isfinite(sig.layers["padj"]).any(axis=1).all()
