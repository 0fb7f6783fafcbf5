"""The DESeq2 engine's steps on real-shaped data: the trend's fallback, the batched Wald tests, counted rejections.

``fit_trend`` falls back to R's local fit where R's parametric fit fails (R's own local fit is checked in
tests/tl/test_small_designs_vs_r.py), ``wald_results`` tests every contrast of a fit at once with R's covariance
(checked here gene by gene against the formula of DESeq2's ``fitBeta``), and ``bh_rejections`` counts what scipy's
Benjamini–Hochberg rejects at each independent-filtering cutoff. Data: the small simulated screen (every cell
type, as ``dp.tl.de`` fits it) and the bundled screen counts with planted outliers (Cook's replacement and
refitting, genes made all zero; as in tests/tl/test_lrt.py).
"""

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pydeseq2.dds import DeseqDataSet
from scipy.stats import false_discovery_control

from drugprint.tl._stats.deseq2 import wald_results
from drugprint.tl._stats.design import build_design
from drugprint.tl._stats.dispersion import fit_genewise, fit_map, fit_prior, fit_trend, refit_outliers
from drugprint.tl._stats.filter import bh_rejections, filter_by_expr
from drugprint.tl._stats.nbinom import BatchedInference

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
    fit_genewise(dds)
    return dds


def _cell_types(pdata):
    """Each cell type's filtered counts, profiles and ``~ donor + drug`` design, as dp.tl.de fits them."""
    for cell_type in pdata.obs["cell_type"].cat.categories:
        sub = pdata[pdata.obs["cell_type"] == cell_type]
        counts = pd.DataFrame(np.asarray(sub.X), index=sub.obs_names, columns=sub.var_names)
        counts = counts.loc[:, filter_by_expr(counts, sub.obs["drug"])].astype(np.int64)
        design = build_design(sub.obs, "~ donor + drug", factor="drug", reference="DMSO")
        yield cell_type, counts, sub.obs[["donor", "drug"]], design


def test_trend_is_r_s_parametric_curve_and_falls_back_to_a_local_fit(pdata, monkeypatch):
    """The curve is DESeq2's (R's) fit of the gene-wise dispersions; where it fails, R's local fit."""
    import drugprint.tl._stats.dispersion as dispersion
    import drugprint.tl._stats.trend as trend

    _, counts, meta, design = next(_cell_types(pdata))
    dds = _dds(counts, meta, design.matrix)
    fit_trend(dds)
    means, genewise = dds.var["_normed_means"].to_numpy(), dds.var["genewise_dispersions"].to_numpy()
    use = genewise > 1e-6
    expected = trend.parametric_trend(means[use], genewise[use])
    assert dds.uns["disp_function_type"] == "parametric"
    np.testing.assert_array_equal(dds.uns["trend_coeffs"].to_numpy(), expected)
    np.testing.assert_allclose(dds.var["fitted_dispersions"], expected[0] + expected[1] / means, rtol=1e-12)

    monkeypatch.setattr(dispersion, "parametric_trend", lambda *args, **kwargs: None)
    local = fit_trend(dds)
    assert dds.uns["disp_function_type"] == "local"
    np.testing.assert_allclose(dds.var["fitted_dispersions"], trend.LocalTrend(means[use], genewise[use])(means))
    np.testing.assert_allclose(local(means), dds.var["fitted_dispersions"])


def _fitted(counts, meta, design) -> DeseqDataSet:
    """The engine's steps up to the refit of Cook's outliers (as ``fit_deseq2`` runs them)."""
    dds = _dds(counts, meta, design)
    trend = fit_trend(dds)
    fit_prior(dds)
    fit_map(dds)
    with _quiet():
        dds.fit_LFC()
        dds.calculate_cooks()
        refit_outliers(dds, trend)
    return dds


def _assert_wald_is_r_s(dds: DeseqDataSet, contrasts: list[np.ndarray]):
    """All contrasts at once equal DESeq2's per-gene Wald test (``fitBeta``'s covariance: weights from the fitted
    means, at least minmu = 0.5; ridge 1e-6 on the log2 scale), Cook's outliers NaN, genes zeroed by replacement at
    stat 0, p-value 1."""
    from scipy.stats import norm

    X = dds.obsm["design_matrix"].to_numpy(dtype=float)
    lfc = dds.varm["LFC"].to_numpy(dtype=float)
    sf = dds.obs["size_factors"].to_numpy()
    ridge = np.eye(X.shape[1]) * 1e-6 / np.log(2) ** 2
    outlier = dds.cooks_outlier().to_numpy(dtype=bool)
    zero = dds.var_names.isin(dds.new_all_zeroes_genes)
    ours = wald_results(dds, contrasts)
    for c, res in zip(contrasts, ours, strict=True):
        assert list(res.index) == list(dds.var_names)
        np.testing.assert_array_equal(res["base_mean"], dds.var["_normed_means"])
        np.testing.assert_allclose(res["log2fc"], lfc @ c / np.log(2), rtol=1e-12)
        assert res["pvalue"].isna().to_numpy().tolist() == outlier.tolist()
        for g in [*np.flatnonzero(~zero & ~outlier)[::25], *np.flatnonzero(zero & ~outlier)[:5]]:
            mu = np.maximum(sf * np.exp(X @ lfc[g]), 0.5)
            w = mu / (1 + dds.var["dispersions"].iloc[g] * mu)
            xtwx = (X.T * w) @ X
            inv = np.linalg.inv(xtwx + ridge)
            se = np.sqrt(c @ inv @ xtwx @ inv @ c)
            stat = (lfc[g] @ c) / se
            if zero[g]:
                se, stat = 0.0, 0.0
            np.testing.assert_allclose(res["lfcse"].iloc[g], se / np.log(2), rtol=1e-9)
            np.testing.assert_allclose(res["stat"].iloc[g], stat, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(res["pvalue"].iloc[g], 1.0 if zero[g] else 2 * norm.sf(abs(stat)), rtol=1e-8)


def test_wald_results_are_r_s_per_gene_tests(pdata):
    """All contrasts of one fit at once, as DESeq2's Wald test gives each (Cook's outliers NaN)."""
    _, counts, meta, design = next(c for c in _cell_types(pdata) if c[0] == "Myeloma")
    dds = _fitted(counts, meta, design.matrix)
    contrasts = [
        design.contrast("lenalidomide", "DMSO"),
        design.contrast("mezigdomide", "pomalidomide"),
        design.weighted({"iberdomide": 0.5, "mezigdomide": 0.5, "lenalidomide": -0.5, "pomalidomide": -0.5}),
        design.coef("donor[T.D2]"),
    ]
    _assert_wald_is_r_s(dds, contrasts)


def test_wald_results_with_replaced_outliers_are_r_s():
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
    _assert_wald_is_r_s(dds, [design.contrast("yes", "no"), design.contrast("no", "yes")])


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
    from drugprint.tl._stats.filter import independent_filtering

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


def test_local_trend_fallback_is_recorded(pdata, monkeypatch):
    """A group whose parametric trend cannot be fitted gets R's local fit, recorded per group (as R's note)."""
    import drugprint as dp
    import drugprint.tl._stats.dispersion as dispersion

    sub = pdata[pdata.obs["cell_type"] == "NK", :1500].copy()
    sig = dp.tl.de(sub, verbose=False)
    assert (sig.uns["de"]["fits"]["dispersion_trend"] == "parametric").all()
    monkeypatch.setattr(dispersion, "parametric_trend", lambda *args, **kwargs: None)
    fallback = dp.tl.de(sub, verbose=False)
    assert (fallback.uns["de"]["fits"]["dispersion_trend"] == "local").all()
    assert not np.allclose(np.nan_to_num(fallback.layers["stat"]), np.nan_to_num(sig.layers["stat"]))
    assert (dp.tl.de(sub, method="voom", verbose=False).uns["de"]["fits"]["dispersion_trend"] == "").all()
