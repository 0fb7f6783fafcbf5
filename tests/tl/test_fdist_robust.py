"""limma's fitFDistRobustly (the prior of eBayes(robust=TRUE)) against R's own output."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drugprint.tl._stats.fdist import fit_f_dist, fit_f_dist_robust, squeeze_var

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def variances():
    return pd.read_csv(DATA / "robust_variances.csv")


@pytest.mark.parametrize(
    "case", ["outliers", "mixed_df1", "sampling_only", "sampling_outliers", "sampling_mixed_df1", "few"]
)
def test_equals_r_fitfdistrobustly(variances, case):
    ref = pd.read_csv(DATA / "robust_fdist.csv").query("case == @case")
    x = variances[case].dropna().to_numpy()
    df1 = variances["df1_mixed"].to_numpy() if case.endswith("mixed_df1") else 4.0
    scale, df2, shrunk = fit_f_dist_robust(x, df1)
    np.testing.assert_allclose(scale, ref["scale"].iloc[0], rtol=1e-10)
    np.testing.assert_allclose(df2, ref["df2"].iloc[0], rtol=1e-7)
    expected = ref["df2_shrunk"].to_numpy()
    np.testing.assert_array_equal(np.isfinite(shrunk), np.isfinite(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(shrunk[finite], expected[finite], rtol=1e-7)


def test_outliers_lose_prior_weight(variances):
    """Only the largest values lose prior df (the clearest of the 15 planted ×8); the others keep the common one."""
    x = variances["outliers"].to_numpy()
    _, df2, shrunk = fit_f_dist_robust(x, 4.0)
    top = np.argsort(x)[-15:]
    shrunk_ones = np.flatnonzero(shrunk < df2)
    assert set(shrunk_ones) <= set(top) and len(shrunk_ones) >= 5 and np.median(shrunk) == pytest.approx(df2)
    assert fit_f_dist(x, np.full(x.size, 4.0))[1] < df2  # the plain fit is dragged down by the outliers


def test_few_values_equal_the_plain_fit():
    """Fewer than 10 values: nothing is Winsorized, as in limma."""
    x = np.array([0.2, 0.3, 0.5, 0.25, 0.4, 1.9])
    scale, df2, shrunk = fit_f_dist_robust(x, 3.0)
    assert (scale, df2) == fit_f_dist(x, np.full(6, 3.0)) and (shrunk == df2).all()
    post = squeeze_var(x, np.full(6, 3.0), robust=True)[0]
    np.testing.assert_allclose(post, squeeze_var(x, np.full(6, 3.0))[0])


def test_zero_df_values_take_the_common_df(variances):
    x = variances["outliers"].to_numpy().copy()
    df1 = np.full(x.size, 4.0)
    df1[:3] = 0.0
    _, df2, shrunk = fit_f_dist_robust(x, df1)
    assert (shrunk[:3] == df2).all()
    np.testing.assert_allclose(shrunk[3:], fit_f_dist_robust(x[3:], 4.0)[2])


def _topTable(name):
    return pd.read_csv(DATA / f"{name}.csv.gz", index_col=0)


def _layers(sig, name, genes):
    i = sig.obs_names.get_loc(name)
    cols = sig.var_names.get_indexer(genes)
    return {k: sig.layers[k][i, cols] for k in ("log2fc", "stat", "pvalue", "padj")}


def test_voom_robust_equals_r():
    """dp.tl.de(method="voom", robust=True) against limma's voom → eBayes(robust = TRUE) on the myeloma profiles."""
    import drugprint as dp

    pdata = dp.io.read_counts(DATA / "screen_myeloma_counts.csv.gz", samples=DATA / "screen_myeloma_samples.csv")
    sig = dp.tl.de(pdata, groupby=None, method="voom", robust=True, contrasts=[("mezigdomide", "DMSO")], verbose=False)
    ref = _topTable("voom_robust_mezigdomide_vs_dmso")
    ours = _layers(sig, "all|mezigdomide vs DMSO", ref.index)
    np.testing.assert_allclose(ours["log2fc"], ref["logFC"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours["stat"], ref["t"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours["padj"], ref["adj.P.Val"], rtol=1e-5, atol=1e-12)
    assert ref["df_prior"].nunique() > 1 and sig.uns["de"]["robust"] is True  # the prior df does vary by gene


def test_limma_robust_equals_r():
    import drugprint as dp

    arrays = dp.io.read_microarray(DATA / "all_expr.csv.gz", samples=DATA / "all_samples.csv", collapse=None)
    sig = dp.tl.de(
        arrays,
        "mol_biol",
        "NEG",
        None,
        ["sex"],
        method="limma",
        robust=True,
        contrasts=[("BCR/ABL", "NEG")],
        verbose=False,
    )
    ref = _topTable("limma_robust_all_bcrabl_vs_neg")
    ours = _layers(sig, "all|BCR/ABL vs NEG", ref.index)
    np.testing.assert_allclose(ours["stat"], ref["t"], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours["pvalue"], ref["P.Value"], rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(ours["padj"], ref["adj.P.Val"], rtol=1e-6, atol=1e-14)
    with pytest.raises(ValueError, match="robust=True is limma's robust empirical Bayes: use method='voom'"):
        dp.tl.de(arrays, "mol_biol", "NEG", None, method="ttest", robust=True, verbose=False)
