"""Intra-block correlation and blocked GLS fits against R (limma 3.54, statmod 1.5), from make_dupcor_reference.R."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from drugprint.tl._stats.dupcor import duplicate_correlation, gls_fit
from drugprint.tl._stats.linear import lm_fit, moderated_tests
from drugprint.tl._stats.voom import tmm_factors, voom, voom_blocked

DATA = Path(__file__).parents[1] / "data"
TOPTABLE = {"log2fc": "logFC", "stat": "t", "pvalue": "P.Value", "padj": "adj.P.Val", "base_mean": "AveExpr"}


def _ref(name):
    return pd.read_csv(DATA / f"{name}.csv.gz", index_col=0)


def _coef(j, p=4):
    return np.eye(p)[j]


@pytest.fixture(scope="module")
def all_blocked():
    """ALL probes with a few planted NAs, ``~ sex + mol_biol``, synthetic pair blocks (see make_dupcor_reference.R)."""
    expr = pd.read_csv(DATA / "all_expr.csv.gz", index_col=0)
    samples = pd.read_csv(DATA / "all_samples.csv", dtype=str)
    blocks = pd.read_csv(DATA / "dupcor_limma_all_blocks.csv", dtype=str)
    assert list(expr.columns) == list(samples["sample"]) == list(blocks["sample"])
    na = pd.read_csv(DATA / "dupcor_limma_all_na.csv", dtype=str)
    for probe, sample in na.itertuples(index=False):
        expr.loc[probe, sample] = np.nan
    g = samples["mol_biol"]
    design = np.column_stack([np.ones(len(g)), samples["sex"] == "M", g == "BCR/ABL", g == "ALL1/AF4"]).astype(float)
    return expr, design, blocks["block"].to_numpy(), na


@pytest.fixture(scope="module")
def repeated():
    """Counts of 8 patients before/after treatment in two arms; R's filterByExpr genes, TMM library sizes."""
    counts = pd.read_csv(DATA / "repeated_counts.csv.gz", index_col=0)
    meta = pd.read_csv(DATA / "repeated_samples.csv")
    assert list(counts.columns) == list(meta["sample"])
    counts = counts.loc[_ref("dupcor_voom_interaction").index]
    x = counts.to_numpy(dtype=float)
    lib = x.sum(axis=0) * tmm_factors(x)
    arm, post = (meta["arm"] == "B").to_numpy(float), (meta["time"] == "post").to_numpy(float)
    design = np.column_stack([np.ones(len(meta)), arm, post, arm * post])  # ~ arm * time
    return SimpleNamespace(x=x, design=design, lib=lib, patient=meta["patient"].to_numpy(), genes=counts.index)


@pytest.fixture(scope="module")
def repeated_fit(repeated):
    d = repeated
    e, w, first, final = voom_blocked(d.x, d.design, d.lib, d.patient)
    return e, w, first, final, gls_fit(e, d.design, d.patient, final, w)


def _assert_toptable(ours: pd.DataFrame, r: pd.DataFrame, rtol: float):
    for a, b in TOPTABLE.items():
        np.testing.assert_allclose(ours[a], r[b], rtol=rtol, atol=1e-12, err_msg=a)


def test_duplicate_correlation_equals_r_on_all(all_blocked):
    expr, design, block, na = all_blocked
    dc = duplicate_correlation(expr.to_numpy(), design, block)
    r = _ref("dupcor_limma_all_atanh")["atanh"]
    assert abs(dc.consensus - _ref("dupcor_limma_all_consensus")["consensus"].iloc[0]) < 1e-10
    np.testing.assert_array_equal(np.isnan(dc.atanh_per_gene), r.isna())
    n_na = na["probe"].value_counts()
    assert n_na.max() == 82 and r.isna().sum() == 1 and r[n_na.idxmax()] != r[n_na.idxmax()]  # 6 obs ≤ p + 2
    assert np.isfinite(dc.atanh_per_gene[expr.index.get_indexer(n_na.index[n_na < 82])]).all()  # other NA probes
    np.testing.assert_allclose(dc.atanh_per_gene, r, rtol=1e-8, atol=1e-9)  # R's values have 9 digits


def test_gls_fit_equals_r_on_all(all_blocked):
    expr, design, block, _ = all_blocked
    rho = _ref("dupcor_limma_all_consensus")["consensus"].iloc[0]
    fit = gls_fit(expr.to_numpy(), design, block, rho)
    ours = moderated_tests(fit, {"bcr": _coef(2)}, expr.index)["bcr"]
    _assert_toptable(ours, _ref("dupcor_limma_all_bcrabl_vs_neg"), rtol=1e-7)


def test_voom_blocked_equals_r(repeated, repeated_fit):
    e, w, first, final, fit = repeated_fit
    r = _ref("dupcor_voom_consensus")["consensus"]
    assert abs(first - r.iloc[0]) < 1e-9 and abs(final - r.iloc[1]) < 1e-9
    assert 0.3 < final < 0.5  # the pre and post profiles of a patient correlate
    dc = duplicate_correlation(e, repeated.design, repeated.patient, weights=w)
    np.testing.assert_allclose(dc.atanh_per_gene, _ref("dupcor_voom_atanh")["final"], rtol=1e-7, atol=2e-8)
    tables = moderated_tests(fit, {"interaction": _coef(3), "time": _coef(2)}, repeated.genes)
    _assert_toptable(tables["interaction"], _ref("dupcor_voom_interaction"), rtol=1e-6)
    _assert_toptable(tables["time"], _ref("dupcor_voom_timepost"), rtol=1e-6)


def test_ignoring_the_block_changes_the_answer(repeated):
    """Plain voom + lm_fit (no block) does not give R's blocked statistics: the correlation matters."""
    d = repeated
    e, w = voom(d.x, d.design, d.lib)
    ours = moderated_tests(lm_fit(e, d.design, w), {"time": _coef(2)}, d.genes)["time"]
    r = _ref("dupcor_voom_timepost")
    assert np.median(np.abs(ours["stat"] / r["t"] - 1)) > 0.05
    with pytest.raises(AssertionError):
        _assert_toptable(ours, r, rtol=1e-3)


def test_gls_with_zero_correlation_is_least_squares(repeated_fit):
    e, w, *_ = repeated_fit
    rng = np.random.default_rng(0)
    e = e[:200].copy()
    e[rng.random(e.shape) < 0.05] = np.nan
    design = np.column_stack([np.ones(16), np.repeat([0.0, 1.0], 8), np.tile([0.0, 1.0], 8)])
    block = np.repeat(np.arange(8), 2)
    for weights in (None, w[:200]):
        a, b = gls_fit(e, design, block, 0.0, weights), lm_fit(e, design, weights)
        for field in ("coefficients", "stdev_unscaled", "sigma", "df_residual", "amean", "cov_coefficients"):
            np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-10, atol=1e-12, err_msg=field)


def test_unit_weights_take_the_unweighted_path(all_blocked):
    expr, design, block, _ = all_blocked
    y = expr.to_numpy()[:300]
    a = duplicate_correlation(y, design, block)
    b = duplicate_correlation(y, design, block, weights=np.ones(y.shape[1]))
    np.testing.assert_allclose(a.atanh_per_gene, b.atanh_per_gene, rtol=1e-9, atol=1e-12)
    c = duplicate_correlation(y, design, block, weights=np.where(np.arange(y.shape[1]) == 0, 0.0, 1.0))
    d = duplicate_correlation(y[:, 1:], design[1:], block[1:])  # zero weight = left out
    np.testing.assert_allclose(c.atanh_per_gene, d.atanh_per_gene, rtol=1e-9, atol=1e-12)


def test_gls_inestimable_coefficient_is_nan_like_r():
    """As gls.series: a coefficient the observed samples cannot estimate is NaN, the rest are fitted."""
    rng = np.random.default_rng(1)
    design = np.column_stack([np.ones(12), np.tile([0.0, 1.0, 0.0], 4), np.tile([0.0, 0.0, 1.0], 4)])
    block = np.repeat(np.arange(4), 3)
    y = rng.normal(size=(3, 12))
    y[0, design[:, 2] == 1] = np.nan
    fit = gls_fit(y, design, block, 0.3)
    sub = gls_fit(y[:1, design[:, 2] == 0], design[design[:, 2] == 0, :2], block[design[:, 2] == 0], 0.3)
    assert np.isnan(fit.coefficients[0, 2]) and np.isnan(fit.stdev_unscaled[0, 2])
    np.testing.assert_allclose(fit.coefficients[0, :2], sub.coefficients[0], rtol=1e-12)
    np.testing.assert_allclose(fit.stdev_unscaled[0, :2], sub.stdev_unscaled[0], rtol=1e-12)
    assert fit.df_residual[0] == sub.df_residual[0] == 6 and np.isclose(fit.sigma[0], sub.sigma[0])
    assert np.isfinite(fit.coefficients[1:]).all() and (fit.df_residual[1:] == 9).all()


def test_block_errors_and_degenerate_blocks(all_blocked):
    expr, design, block, _ = all_blocked
    y = expr.to_numpy()[:50]
    with pytest.raises(ValueError, match="block has 87 labels but there are 88 samples"):
        duplicate_correlation(y, design, block[1:])
    with pytest.raises(ValueError, match="block has 2 missing"):
        duplicate_correlation(y, design, np.where(np.arange(88) < 2, None, block))
    with pytest.raises(ValueError, match="single level"):
        gls_fit(y, design, np.repeat("p1", 88), 0.2)
    with pytest.raises(ValueError, match="design has 87 rows but there are 88 samples"):
        gls_fit(y, design[1:], block, 0.2)
    with pytest.raises(ValueError, match="strictly between -1 and 1"):
        gls_fit(y, design, block, 1.0)
    with pytest.warns(UserWarning, match="Blocks all of size 1"):
        assert duplicate_correlation(y, design, np.arange(88)).consensus == 0
    with pytest.warns(UserWarning, match="already encoded"):
        assert duplicate_correlation(y, design, design[:, 2].astype(int)).consensus == 0
