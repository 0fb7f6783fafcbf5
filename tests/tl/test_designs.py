"""Study designs in ``dp.tl.de``: formulas, weighted contrasts, coefficients, omnibus tests, and their errors."""

import numpy as np
import pandas as pd
import pytest

import drugprint as dp
from drugprint.tl._stats.filter import filter_by_expr

CELMOD = {"CELMoD vs IMiD": {"iberdomide": 0.5, "mezigdomide": 0.5, "lenalidomide": -0.5, "pomalidomide": -0.5}}


@pytest.fixture(scope="module")
def nk(pdata):
    return pdata[pdata.obs["cell_type"] == "NK"].copy()


@pytest.fixture(scope="module")
def nk_pairs(nk):
    return dp.tl.de(nk, method="voom", verbose=False)


def _layer(sig, name, layer="log2fc"):
    return pd.Series(sig[name].layers[layer][0], index=sig.var_names)


def test_formula_equals_short_form(nk, nk_pairs):
    """The short form builds the same model; only the gene filter differs (edgeR's one-way rule vs the design's)."""
    sig = dp.tl.de(nk, method="voom", design="~donor+drug", verbose=False)
    assert list(sig.obs_names) == list(nk_pairs.obs_names)
    assert sig.uns["de"]["design"] == "~ donor + drug"
    assert (sig.uns["de"]["fits"]["design"] == "~ donor + drug").all()
    # same genes in, same numbers out
    unfiltered = {
        form: dp.tl.de(nk, method="voom", design=form, filter_genes=False, verbose=False)
        for form in ("~donor+drug", None)
    }
    np.testing.assert_array_equal(unfiltered["~donor+drug"].layers["stat"], unfiltered[None].layers["stat"])
    # the filters (edgeR's filterByExpr): the short form needs the smallest condition's size (4 profiles), the
    # formula 1 / max leverage of its design (~donor + drug, 4 donors x 6 conditions: 1 / 0.375 = 2.67 profiles)
    counts = pd.DataFrame(np.asarray(nk.X), index=nk.obs_names, columns=nk.var_names)
    x = pd.get_dummies(nk.obs[["donor", "drug"]].astype(str), drop_first=True).astype(float).assign(one=1.0)
    assert np.diag(x @ np.linalg.pinv(x)).max() == pytest.approx(0.375)
    expected = {
        "formula": filter_by_expr(counts, design=x.to_numpy()),
        "short": filter_by_expr(counts, nk.obs["drug"]),
    }
    for name, fitted in (("formula", sig), ("short", nk_pairs)):
        np.testing.assert_array_equal(np.isfinite(fitted.layers["stat"]).any(axis=0), expected[name])
    assert expected["formula"].sum() > expected["short"].sum()


def test_weighted_contrast_is_the_weighting_of_the_pairs(nk, nk_pairs):
    sig = dp.tl.de(nk, method="voom", contrasts=CELMOD, verbose=False)
    assert list(sig.obs_names) == ["NK|CELMoD vs IMiD"]
    row = sig.obs.iloc[0]
    assert (row["test"], row["condition"], row["reference"]) == ("weights", "CELMoD vs IMiD", "")
    assert (
        row["n_profiles"] == nk.obs["drug"].isin(list(CELMOD["CELMoD vs IMiD"])).sum()
    )  # the weighted drugs' profiles
    expected = sum(w * _layer(nk_pairs, f"NK|{d} vs DMSO") for d, w in CELMOD["CELMoD vs IMiD"].items())
    np.testing.assert_allclose(_layer(sig, "NK|CELMoD vs IMiD"), expected, rtol=1e-10, atol=1e-12)
    # the planted potency order: CELMoDs are stronger, so cytotoxic genes rise more under them
    assert _layer(sig, "NK|CELMoD vs IMiD")[["GZMB", "PRF1", "NKG7"]].gt(0).all()
    tests = sig.uns["de"]["tests"]
    assert tests.loc[0, "weights"] == "iberdomide: +0.5, mezigdomide: +0.5, lenalidomide: -0.5, pomalidomide: -0.5"


def test_coefficient_equals_its_pair(nk):
    sig = dp.tl.de(nk, method="voom", design="~ donor + drug", coef="drug[T.mezigdomide]", verbose=False)
    pairs = dp.tl.de(nk, method="voom", design="~ donor + drug", verbose=False)  # same design, same gene filter
    assert list(sig.obs_names) == ["NK|drug[T.mezigdomide]"]
    for layer in ("log2fc", "stat", "pvalue", "padj"):
        np.testing.assert_allclose(
            _layer(sig, "NK|drug[T.mezigdomide]", layer), _layer(pairs, "NK|mezigdomide vs DMSO", layer)
        )


def test_continuous_dose_trend_recovers_the_planted_direction():
    """log2 dose as a continuous covariate: the interferon response planted in myeloma cells rises with dose."""
    cells = dp.datasets.imid_screen("small", random_state=2, doses=[0.1, 1.0, 10.0])
    pdata = dp.pp.pseudobulk(cells, groupby="cell_type")
    pdata = pdata[(pdata.obs["drug"] == "lenalidomide").to_numpy()].copy()
    pdata.obs["log2_dose"] = np.log2(pdata.obs["dose"].astype(float))
    sig = dp.tl.de(
        pdata, design="~ donor + log2_dose", coef="log2_dose", method="voom", groups=["Myeloma"], verbose=False
    )
    assert sig.obs["test"].iloc[0] == "coef" and sig.obs_names[0] == "Myeloma|log2_dose"
    assert _layer(sig, "Myeloma|log2_dose")["ISG15"] > 0.1
    assert _layer(sig, "Myeloma|log2_dose", "padj")["ISG15"] < 0.05
    # shuffling the doses within donors breaks the trend
    rng = np.random.default_rng(0)
    pdata.obs["log2_dose"] = pdata.obs.groupby("donor", observed=True)["log2_dose"].transform(rng.permutation)
    null = dp.tl.de(
        pdata, design="~ donor + log2_dose", coef="log2_dose", method="voom", groups=["Myeloma"], verbose=False
    )
    assert (null.layers["padj"] < 0.05).sum() < (sig.layers["padj"] < 0.05).sum() / 5


def test_omnibus_f_is_large_where_any_drug_moves(nk, nk_pairs):
    sig = dp.tl.de(nk, method="voom", reduced="~ donor", verbose=False)
    name = "NK|~ donor + drug vs ~ donor"
    assert list(sig.obs_names) == [name]
    assert sig.obs.loc[name, "test"] == "omnibus"
    assert sig.uns["de"]["fits"]["omnibus_df"].iloc[0] == 5
    f, lfc = _layer(sig, name, "stat"), _layer(sig, name)
    assert np.isnan(_layer(sig, name, "lfcse")).all()
    assert f[["GZMB", "NKG7"]].min() > 5 * f.median()  # planted cytotoxic genes
    # log2fc: the drug coefficient largest in absolute value, signed
    pairs = np.stack([_layer(nk_pairs, n) for n in nk_pairs.obs_names], axis=1)
    largest = pairs[np.arange(len(pairs)), np.nanargmax(np.where(np.isfinite(pairs), np.abs(pairs), -1), axis=1)]
    np.testing.assert_allclose(lfc, largest, rtol=1e-10)
    # F of a single pair equals t²
    one = dp.tl.de(
        nk[nk.obs["drug"].isin(["DMSO", "mezigdomide"]).to_numpy()], method="voom", reduced="~ donor", verbose=False
    )
    t = dp.tl.de(nk[nk.obs["drug"].isin(["DMSO", "mezigdomide"]).to_numpy()], method="voom", verbose=False)
    np.testing.assert_allclose(one.layers["stat"][0], t.layers["stat"][0] ** 2, rtol=1e-9)
    np.testing.assert_allclose(one.layers["pvalue"][0], t.layers["pvalue"][0], rtol=1e-9)


def test_omnibus_deseq2_is_a_likelihood_ratio(nk):
    sig = dp.tl.de(nk, reduced="~ donor", verbose=False)
    stat, p = sig.layers["stat"][0], sig.layers["pvalue"][0]
    ok = np.isfinite(p)
    from scipy import stats

    np.testing.assert_allclose(p[ok], stats.chi2.sf(stat[ok], 5), rtol=1e-8)
    assert _layer(sig, sig.obs_names[0], "padj")[["GZMB", "NKG7"]].lt(1e-3).all()


def test_several_kinds_of_test_in_one_call(nk):
    sig = dp.tl.de(
        nk,
        method="voom",
        design="~ donor + drug",
        contrasts=[("mezigdomide", "DMSO")],
        coef="drug[T.iberdomide]",
        reduced="~ donor",
        verbose=False,
    )
    assert list(sig.obs["test"]) == ["pair", "coef", "omnibus"]
    stored = sig.uns["de"]["replicates"]["fit0"]["signatures"]
    assert list(stored) == ["NK|mezigdomide vs DMSO", "NK|drug[T.iberdomide]"]  # omnibus rows have no contrast


def test_errors_name_what_to_fix(nk):
    with pytest.raises(KeyError, match=r"'batch' \(design=\).*Columns present: .*'donor'"):
        dp.tl.de(nk, design="~ batch + drug", verbose=False)
    with pytest.raises(KeyError, match=r"coef 'drug\[T.mezi\]' is not a coefficient.*drug\[T.mezigdomide\]"):
        dp.tl.de(nk, method="voom", design="~ donor + drug", coef="drug[T.mezi]", verbose=False)
    with pytest.raises(ValueError, match=r"weights sum to 0.5; a contrast's weights must sum to 0"):
        dp.tl.de(nk, method="voom", contrasts={"x": {"iberdomide": 1, "lenalidomide": -0.5}}, verbose=False)
    with pytest.raises(ValueError, match=r"'ibrdomide', not a level of obs\['drug'\]"):
        dp.tl.de(nk, method="voom", contrasts={"x": {"ibrdomide": 1, "lenalidomide": -1}}, verbose=False)
    with pytest.raises(ValueError, match="reduced='~ dose' names 'dose', which the design ~ donor \\+ drug does not"):
        dp.tl.de(nk, method="voom", reduced="~ dose", verbose=False)
    with pytest.raises(ValueError, match="method='deseq2' does not model a blocking factor"):
        dp.tl.de(nk, block="donor", covariates=[], verbose=False)
    with pytest.raises(ValueError, match="method='ttest' ignores designs"):
        dp.tl.de(nk, method="ttest", design="~ donor + drug", verbose=False)
    with pytest.raises(ValueError, match="offers pair tests, not coef"):
        dp.tl.de(nk, method="ttest", coef="x", verbose=False)
    with pytest.raises(ValueError, match="Pass covariates inside design="):
        dp.tl.de(nk, design="~ drug", covariates=["donor"], verbose=False)
    with pytest.raises(ValueError, match="has no factor 'drug' whose levels could be contrasted"):
        dp.tl.de(nk, method="voom", design="~ donor", verbose=False)


def test_confounded_formula_names_the_terms(nk):
    nk = nk.copy()
    nk.obs["site"] = np.where(nk.obs["donor"].isin(["D1", "D2"]), "A", "B")
    with pytest.raises(ValueError, match=r"No group could be tested.*the terms 'donor', 'site' are confounded"):
        dp.tl.de(nk, method="voom", design="~ donor + site + drug", verbose=False)


def test_a_level_missing_in_one_group_is_skipped_there(pdata):
    sub = pdata[pdata.obs["cell_type"].isin(["NK", "B"]).to_numpy()].copy()
    sub = sub[~((sub.obs["cell_type"] == "B") & (sub.obs["drug"] == "iberdomide")).to_numpy()].copy()
    sig = dp.tl.de(sub, method="voom", contrasts=CELMOD, verbose=False)
    assert list(sig.obs_names) == ["NK|CELMoD vs IMiD"]
    sk = sig.uns["de"]["skipped"]
    assert ((sk["group"] == "B") & (sk["what"] == "CELMoD vs IMiD") & sk["reason"].str.contains("iberdomide")).any()


def test_de_methods_lists_the_registry():
    table = dp.tl.de_methods()
    assert list(table.index) == ["deseq2", "voom", "limma", "ttest"]
    assert table.loc["deseq2", "omnibus"].startswith("likelihood-ratio")
    assert bool(table.loc["limma", "block"]) and not bool(table.loc["deseq2", "block"])


def test_pathways_leave_omnibus_rows_unscored(nk):
    sig = dp.tl.de(nk, method="voom", contrasts=[("mezigdomide", "DMSO")], reduced="~ donor", verbose=False)
    with pytest.warns(UserWarning, match="1 omnibus signature"):
        dp.tl.pathways(sig, "hallmark")
    scores = sig.obsm["pathways"]
    assert scores.loc["NK|~ donor + drug vs ~ donor"].isna().all()
    assert scores.loc["NK|mezigdomide vs DMSO"].notna().any()


def test_design_records_round_trip(nk, tmp_path):
    import anndata as ad

    sig = dp.tl.de(nk, method="voom", design="~ donor + drug", contrasts=CELMOD, reduced="~ donor", verbose=False)
    sig.write_h5ad(tmp_path / "sig.h5ad")
    back = ad.read_h5ad(tmp_path / "sig.h5ad")
    pd.testing.assert_frame_equal(back.uns["de"]["tests"], sig.uns["de"]["tests"], check_dtype=False)
    assert back.uns["de"]["design"] == "~ donor + drug" and back.uns["de"]["reduced"] == "~ donor"
    np.testing.assert_array_equal(back.layers["padj_global"], sig.layers["padj_global"])


def test_block_without_repeated_profiles_is_skipped(nk):
    nk = nk.copy()
    nk.obs["patient"] = [f"p{i}" for i in range(nk.n_obs)]  # every profile its own block: nothing to correlate
    with pytest.raises(
        ValueError,
        match=r"No group could be tested.*block 'patient' needs at least two blocks, one with several profiles",
    ):
        dp.tl.de(nk, method="voom", block="patient", covariates=[], verbose=False)


def test_omnibus_calibrated_where_nothing_is_planted(pdata):
    """B cells carry donor effects and co-varying programmes but no drug effect: the omnibus tests stay near level."""
    b = pdata[(pdata.obs["cell_type"] == "B").to_numpy()].copy()
    for method in ("voom", "deseq2"):
        sig = dp.tl.de(b, method=method, reduced="~ donor", verbose=False)
        p = sig.layers["pvalue"][0]
        p = p[np.isfinite(p)]
        assert 0.01 < np.mean(p < 0.05) < 0.10, method
        assert np.nansum(sig.layers["padj"][0] < 0.05) <= 3, method
