"""drugprint's array versions of pydeseq2 steps against pydeseq2's own, on real-shaped data.

``fit_parametric_trend`` replaces pydeseq2's trend with R's (tests/tl/test_trend.py), ``wald_results``
replaces ``DeseqStats(...).summary()`` (without independent filtering, which is ``independent_filtering``'s)
and ``bh_rejections`` counts what scipy's Benjamini–Hochberg rejects at each independent-filtering cutoff.
Data: the small simulated screen (every cell type, as ``dp.tl.de`` fits it) and the bundled screen counts with
planted outliers (Cook's replacement and refitting, genes made all zero; as in tests/tl/test_lrt.py).
"""

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pydeseq2.dds import DeseqDataSet
from pydeseq2.ds import DeseqStats
from scipy.stats import false_discovery_control

from drugprint.tl._deseq2 import fit_parametric_trend, wald_results
from drugprint.tl._design import build_design
from drugprint.tl._filter import bh_rejections, filter_by_expr
from drugprint.tl._nbinom import BatchedInference

DATA = Path(__file__).parents[1] / "data"


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _dataset(counts: pd.DataFrame, meta: pd.DataFrame, design: pd.DataFrame) -> DeseqDataSet:
    return DeseqDataSet(counts=counts, metadata=meta, design=design, inference=BatchedInference(n_cpus=1), quiet=True)


def _dds(counts: pd.DataFrame, meta: pd.DataFrame, design: pd.DataFrame) -> DeseqDataSet:
    with _quiet():
        dds = _dataset(counts, meta, design)
        dds.fit_size_factors()
        dds.fit_genewise_dispersions()
    return dds


def _cell_types(pdata):
    """Each cell type's filtered counts, profiles and ``~ donor + drug`` design, as dp.tl.de fits them."""
    for cell_type in pdata.obs["cell_type"].cat.categories:
        sub = pdata[pdata.obs["cell_type"] == cell_type]
        counts = pd.DataFrame(np.asarray(sub.X), index=sub.obs_names, columns=sub.var_names)
        counts = counts.loc[:, filter_by_expr(counts, sub.obs["drug"])].astype(np.int64)
        design = build_design(sub.obs, "~ donor + drug", factor="drug", reference="DMSO")
        yield cell_type, counts, sub.obs[["donor", "drug"]], design


def test_parametric_trend_is_r_s_and_falls_back_to_the_mean(pdata, monkeypatch):
    """The curve is DESeq2's (R's) fit of the gene-wise dispersions; where it fails, pydeseq2's mean trend."""
    import drugprint.tl._trend as trend

    _, counts, meta, design = next(_cell_types(pdata))
    dds = _dds(counts, meta, design.matrix)
    with _quiet():
        fit_parametric_trend(dds)
    expected = trend.parametric_trend(dds.var["_normed_means"].to_numpy(), dds.var["genewise_dispersions"].to_numpy())
    assert dds.uns["disp_function_type"] == "parametric"
    np.testing.assert_array_equal(dds.uns["trend_coeffs"].to_numpy(), expected)
    fitted = dds.var["fitted_dispersions"].to_numpy()
    np.testing.assert_allclose(fitted, expected[0] + expected[1] / dds.var["_normed_means"].to_numpy(), rtol=1e-12)

    monkeypatch.setattr(trend, "parametric_trend", lambda *args, **kwargs: None)
    with _quiet():
        fit_parametric_trend(dds)
    assert dds.uns["disp_function_type"] == "mean"
    np.testing.assert_array_equal(dds.var["fitted_dispersions"].to_numpy()[dds.var["non_zero"]], dds.uns["mean_disp"])


def _fitted(counts, meta, design) -> DeseqDataSet:
    """The steps of ``DeseqDataSet.deseq2`` as the engine runs them (R's trend in place of pydeseq2's)."""
    with _quiet():
        dds = _dataset(counts, meta, design)
        dds.fit_size_factors()
        dds.fit_genewise_dispersions()
        fit_parametric_trend(dds)
        for step in ("fit_dispersion_prior", "fit_MAP_dispersions", "fit_LFC", "calculate_cooks", "refit"):
            getattr(dds, step)()
    return dds


def _assert_summary_equal(dds: DeseqDataSet, contrasts: list[np.ndarray]):
    ours = wald_results(dds, contrasts)
    for c, res in zip(contrasts, ours, strict=True):
        with _quiet():  # pydeseq2's own per-gene Wald test (DefaultInference)
            stats = DeseqStats(dds, contrast=c, independent_filter=False, quiet=True)
            stats.summary()
        ref = stats.results_df
        assert list(res.index) == list(ref.index)
        assert np.array_equal(res["pvalue"].isna(), ref["pvalue"].isna())
        np.testing.assert_array_equal(res["base_mean"], ref["baseMean"])
        np.testing.assert_array_equal(res["log2fc"], ref["log2FoldChange"])
        for col, theirs in (("lfcse", "lfcSE"), ("stat", "stat"), ("pvalue", "pvalue")):
            np.testing.assert_allclose(res[col], ref[theirs], rtol=1e-10, atol=1e-300)


def test_wald_results_equal_pydeseq2_summary(pdata):
    """All contrasts of one fit at once, as DeseqStats.summary() gives each (Cook's outliers NaN)."""
    _, counts, meta, design = next(c for c in _cell_types(pdata) if c[0] == "Myeloma")
    dds = _fitted(counts, meta, design.matrix)
    contrasts = [
        design.contrast("lenalidomide", "DMSO"),
        design.contrast("mezigdomide", "pomalidomide"),
        design.weighted({"iberdomide": 0.5, "mezigdomide": 0.5, "lenalidomide": -0.5, "pomalidomide": -0.5}),
        design.coef("donor[T.D2]"),
    ]
    _assert_summary_equal(dds, contrasts)


def test_wald_results_with_replaced_outliers_equal_pydeseq2_summary():
    """Cook's replacement and refitting, genes made all zero by it (stat 0, p-value 1, lfcSE 0)."""
    counts = pd.read_csv(DATA / "screen_myeloma_counts.csv.gz", index_col=0)
    meta = pd.read_csv(DATA / "screen_myeloma_samples.csv", index_col="sample")
    meta["imid"] = np.where(meta["drug"].isin(["thalidomide", "lenalidomide", "pomalidomide"]), "yes", "no")
    planted = counts.copy()
    every40 = np.flatnonzero(counts.sum(axis=1) > 0)[39::40]
    planted.iloc[every40, planted.columns.get_loc("D1_thalidomide")] = 10 * counts.iloc[every40].max(axis=1) + 20
    planted.loc[counts.sum(axis=1) == 0, "D2_lenalidomide"] = 50
    planted = planted[planted.sum(axis=1) > 0]
    design = build_design(meta, "~ imid", factor="imid", reference="no")
    dds = _fitted(planted.T, meta[["imid"]], design.matrix)
    assert dds.var["replaced"].sum() > 100 and len(dds.new_all_zeroes_genes) > 5 and dds.cooks_outlier().sum() > 5
    _assert_summary_equal(dds, [design.contrast("yes", "no"), design.contrast("no", "yes")])


def test_bh_rejections_count_scipy_rejections():
    """At every cutoff, the number of scipy's BH-adjusted p-values below alpha (ties, p = 1, empty subsets)."""
    rng = np.random.default_rng(7)
    for n in (1, 2, 50, 3000):
        base_mean = np.where(rng.random(n) < 0.2, 0.0, rng.lognormal(2, 2, n))
        p = np.round(rng.uniform(size=n) ** rng.uniform(1, 8), 4)
        p[rng.random(n) < 0.1] = 1.0
        cutoffs = np.quantile(base_mean, np.linspace(0, 1, 50))
        for alpha in (0.01, 0.05, 0.5):
            expected = [
                int((false_discovery_control(p[base_mean >= c], method="bh") < alpha).sum())
                if (base_mean >= c).any()
                else 0
                for c in cutoffs
            ]
            np.testing.assert_array_equal(bh_rejections(p, base_mean, cutoffs, alpha), expected)


def test_de_deseq2_rows_are_the_steps(pdata):
    """dp.tl.de's deseq2 rows are wald_results plus independent filtering (at its alpha) on the same fit."""
    import drugprint as dp
    from drugprint.tl._filter import independent_filtering

    sig = dp.tl.de(pdata, groups=["Myeloma"], alpha=0.1, verbose=False)
    _, counts, meta, design = next(c for c in _cell_types(pdata) if c[0] == "Myeloma")
    res = wald_results(_fitted(counts, meta, design.matrix), [design.contrast("mezigdomide", "DMSO")])[0]
    genes = sig.var_names.get_indexer(res.index)
    layers = {k: sig["Myeloma|mezigdomide vs DMSO"].layers[k][0, genes] for k in ("stat", "pvalue", "padj")}
    # the same steps, up to BLAS rounding (dp.tl.de runs them on one BLAS thread)
    np.testing.assert_allclose(layers["stat"], res["stat"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(layers["pvalue"], res["pvalue"], rtol=1e-8)
    padj = independent_filtering(res["base_mean"].to_numpy(), res["pvalue"].to_numpy(), 0.1)
    np.testing.assert_array_equal(np.isnan(layers["padj"]), np.isnan(padj))
    np.testing.assert_allclose(layers["padj"], padj, rtol=1e-8)
    assert (padj < 0.1).sum() > (padj < 0.05).sum() > 0


def test_mean_trend_fallback_is_recorded_and_warned(pdata, monkeypatch):
    """A group whose parametric trend cannot be fitted is fitted with the mean trend, recorded and warned by name."""
    import pytest

    import drugprint as dp
    import drugprint.tl._trend as trend

    sub = pdata[pdata.obs["cell_type"] == "NK", :1500].copy()
    sig = dp.tl.de(sub, verbose=False)
    assert (sig.uns["de"]["fits"]["dispersion_trend"] == "parametric").all()
    monkeypatch.setattr(trend, "parametric_trend", lambda *args, **kwargs: None)
    with pytest.warns(UserWarning, match="Group 'NK': DESeq2's parametric dispersion trend could not be fitted"):
        fallback = dp.tl.de(sub, verbose=False)
    assert (fallback.uns["de"]["fits"]["dispersion_trend"] == "mean").all()
    assert not np.allclose(np.nan_to_num(fallback.layers["stat"]), np.nan_to_num(sig.layers["stat"]))
    assert (dp.tl.de(sub, method="voom", verbose=False).uns["de"]["fits"]["dispersion_trend"] == "").all()
