"""DESeq2's likelihood-ratio test (``nbinom_lrt``) against R DESeq2 1.38, from tests/data/make_designs_reference.R.

Two kinds of comparison. On R's own dispersions (read from the reference tables and injected in place of
pydeseq2's dispersion search) the test itself — reduced fit, statistic, Cook's and outlier handling,
independent filtering — must equal DESeq2's to the rounding of the tables. Through pydeseq2's whole pipeline,
whose dispersions differ from R's by a few per cent, it must agree as closely as the Wald test does
(tests/tl/test_engines_vs_r.py).
"""

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydeseq2.dds import DeseqDataSet

from drugprint.tl._stats.lrt import nbinom_lrt
from drugprint.tl._stats.nbinom import BatchedInference

DATA = Path(__file__).parents[1] / "data"
ALPHA = 0.1  # R's results() default
IMIDS = ("thalidomide", "lenalidomide", "pomalidomide")


def _ref(name):
    return pd.read_csv(DATA / f"{name}.csv.gz", index_col=0)


def _model(meta: pd.DataFrame, terms: list[str], levels: dict[str, list[str]]) -> pd.DataFrame:
    """R's treatment-coded model matrix: ``Intercept``, ``<factor><level>`` columns, ``a:b`` interactions."""
    cols = {"Intercept": np.ones(len(meta))}
    dummies = {}
    for term in terms:
        parts = term.split(":")
        for f in parts:
            if f not in dummies:
                dummies[f] = {f"{f}{lv}": (meta[f].astype(str) == lv).to_numpy(float) for lv in levels[f][1:]}
        if len(parts) == 1:
            cols.update(dummies[term])
        else:
            da, db = (dummies[f] for f in parts)
            cols.update({f"{ka}:{kb}": va * vb for ka, va in da.items() for kb, vb in db.items()})
    return pd.DataFrame(cols, index=meta.index)


def _dds(counts: pd.DataFrame, meta: pd.DataFrame, design: pd.DataFrame, dispersions=None, monkeypatch=None):
    """A fitted DeseqDataSet; with ``dispersions`` (a Series by gene), those instead of pydeseq2's estimates.

    The dispersion steps are skipped (the trend and prior only feed the MAP step, which is replaced, also in the
    refit of genes with replaced outliers); size factors, full fit, Cook's distances, outlier replacement and
    refitting are pydeseq2's.
    """
    inference = BatchedInference(n_cpus=1)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        dds = DeseqDataSet(counts=counts, metadata=meta, design=design, inference=inference, quiet=True)
        if dispersions is None:
            dds.deseq2()
            return dds

        def injected(self):
            self.var["dispersions"] = dispersions.loc[self.var_names].to_numpy(dtype=float)

        monkeypatch.setattr(DeseqDataSet, "fit_MAP_dispersions", injected)
        dds.fit_size_factors()
        dds.var["non_zero"] = ~(dds.X == 0).all(axis=0)
        dds.non_zero_idx = np.flatnonzero(dds.var["non_zero"])
        dds.non_zero_genes = dds.var_names[dds.var["non_zero"]]
        dds.uns.update(disp_function_type="mean", mean_disp=0.1, _squared_logres=1.0, prior_disp_var=1.0)
        dds.fit_MAP_dispersions()
        dds.fit_LFC()
        dds.calculate_cooks()
        dds.refit()
        dds.cooks_outlier()
    return dds


def _assert_equals_r(ours: pd.DataFrame, r: pd.DataFrame, padj: bool = True):
    ours = ours.loc[r.index]
    # the tables carry 8 significant digits; the fits stop at DESeq2's relative deviance change of 1e-8
    np.testing.assert_allclose(ours["base_mean"], r["baseMean"], rtol=1e-7)
    np.testing.assert_allclose(ours["stat"], r["stat"], rtol=1e-4, atol=1e-5)
    assert (ours["stat"] - r["stat"]).abs().median() < 1e-7
    assert np.array_equal(ours["pvalue"].isna(), r["pvalue"].isna())
    np.testing.assert_allclose(ours["pvalue"], r["pvalue"], rtol=1e-4, atol=1e-7)
    if padj:
        assert np.array_equal(ours["padj"].isna(), r["padj"].isna())
        np.testing.assert_allclose(ours["padj"], r["padj"], rtol=1e-4, atol=1e-7)


@pytest.fixture(scope="module")
def screen():
    counts = pd.read_csv(DATA / "screen_myeloma_counts.csv.gz", index_col=0)
    meta = pd.read_csv(DATA / "screen_myeloma_samples.csv", index_col="sample")
    levels = {
        "donor": sorted(meta["donor"].unique()),
        "drug": ["DMSO", *sorted(set(meta["drug"]) - {"DMSO"})],
        "imid": ["no", "yes"],
    }
    meta["imid"] = np.where(meta["drug"].isin(IMIDS), "yes", "no")
    return counts, meta, levels


def test_lrt_on_r_dispersions_equals_deseq2(screen, monkeypatch):
    """~ donor + drug vs ~ donor (A1): statistic, p-values, independent filtering and BH as DESeq2's."""
    counts, meta, levels = screen
    r = _ref("designs_deseq2_lrt_drug")
    full = _model(meta, ["donor", "drug"], levels)
    dds = _dds(counts.loc[r.index].T, meta, full, r["dispersion"], monkeypatch)
    res = nbinom_lrt(dds, full.iloc[:, :4], inference=BatchedInference(), alpha=ALPHA)
    assert list(res.columns) == ["log2fc", "lfcse", "stat", "pvalue", "padj", "base_mean", "df"]
    assert (res["df"] == 5).all() and res["lfcse"].isna().all()
    _assert_equals_r(res, r)
    assert 100 < (res["padj"] < ALPHA).sum() < len(res) / 2 and res["padj"].isna().sum() > 100

    # log2fc: the dropped (drug) coefficient largest in absolute value, signed
    drugs = dds.varm["LFC"].loc[:, [c for c in full.columns if c.startswith("drug")]] / np.log(2)
    pick = drugs.to_numpy()[np.arange(len(drugs)), drugs.abs().to_numpy().argmax(axis=1)]
    np.testing.assert_allclose(res["log2fc"], pick, rtol=1e-12)
    assert (res["log2fc"].abs() == drugs.abs().max(axis=1)).all()

    # the reduced matrix's rows are matched by profile; a bare array tests the same but names no coefficient
    shuffled = full.iloc[::-1, :4]
    pd.testing.assert_frame_equal(nbinom_lrt(dds, shuffled, inference=BatchedInference(), alpha=ALPHA), res)
    bare = nbinom_lrt(dds, full.iloc[:, :4].to_numpy(), inference=BatchedInference(), alpha=ALPHA)
    assert bare["log2fc"].isna().all()
    pd.testing.assert_frame_equal(bare.drop(columns="log2fc"), res.drop(columns="log2fc"))


def test_lrt_replaced_outliers_as_deseq2(screen, monkeypatch):
    """Cook's replacement: refitted genes tested on the replaced counts, genes made all zero get stat 0, p 1."""
    counts, meta, levels = screen
    r = _ref("designs_deseq2_lrt_outliers")
    planted = counts.copy()
    every40 = np.flatnonzero(counts.sum(axis=1) > 0)[39::40]
    col = planted.columns.get_loc("D1_thalidomide")
    planted.iloc[every40, col] = 10 * counts.iloc[every40].max(axis=1).to_numpy() + 20
    planted.loc[counts.sum(axis=1) == 0, "D2_lenalidomide"] = 50
    planted = planted[planted.sum(axis=1) > 0]
    assert list(planted.index) == list(r.index)
    full = _model(meta, ["imid"], levels)
    dds = _dds(planted.T, meta, full, r["dispersion"], monkeypatch)
    assert np.array_equal(dds.var["replaced"], r["replace"]) and r["replace"].sum() == 150
    res = nbinom_lrt(dds, full[["Intercept"]], inference=BatchedInference(), alpha=ALPHA)
    _assert_equals_r(res, r)
    now_zero = r.index[r["replace"] & (r["baseMean"] == 0)]
    assert len(now_zero) == 11 and (res.loc[now_zero, ["stat", "log2fc"]] == 0).all().all()
    assert (res.loc[now_zero, "pvalue"] == 1).all()
    refitted = r.index[r["replace"] & (r["baseMean"] > 0)]
    assert (res.loc[refitted, "stat"] - r.loc[refitted, "stat"]).abs().max() < 1e-5
    # one coefficient dropped: log2fc is that coefficient
    others = r.index.difference(now_zero)
    np.testing.assert_allclose(res.loc[others, "log2fc"], dds.varm["LFC"].loc[others, "imidyes"] / np.log(2))


def test_lrt_interaction_on_r_dispersions(monkeypatch):
    """~ donor + drug * time vs ~ donor + drug + time (B2), two interaction coefficients dropped."""
    r = _ref("designs_deseq2_lrt_interaction")
    counts = pd.read_csv(DATA / "designs_counts.csv.gz", index_col=0)
    meta = pd.read_csv(DATA / "designs_samples.csv", index_col="sample")
    meta = meta[(meta["drug"] == "DMSO") | (meta["dose"] == 1)]
    levels = {"donor": ["D1", "D2", "D3", "D4"], "drug": ["DMSO", "lenalidomide", "mezigdomide"], "time": ["6", "24"]}
    full = _model(meta, ["donor", "drug", "time", "drug:time"], levels)
    assert list(full.columns[-2:]) == ["druglenalidomide:time24", "drugmezigdomide:time24"]
    dds = _dds(counts.loc[r.index, meta.index].T, meta, full, r["dispersion"], monkeypatch)
    res = nbinom_lrt(dds, full.iloc[:, :-2], inference=BatchedInference(), alpha=ALPHA)
    assert (res["df"] == 2).all()
    _assert_equals_r(res, r, padj=False)
    # pydeseq2's lowess (independent filtering) is not R's: here the filter threshold lands on the other side of
    # a near tie (numbers of rejections 40 vs R's threshold 39.9), so the filtered genes differ
    ours, theirs = set(r.index[res.loc[r.index, "padj"] < ALPHA]), set(r.index[r["padj"] < ALPHA])
    assert len(theirs) > 20 and len(ours & theirs) / len(ours | theirs) > 0.9


def test_lrt_input_checks(screen, monkeypatch):
    counts, meta, levels = screen
    r = _ref("designs_deseq2_lrt_drug").iloc[:300]
    full = _model(meta, ["donor", "drug"], levels)
    dds = _dds(counts.loc[r.index].T, meta, full, r["dispersion"], monkeypatch)
    with pytest.raises(ValueError, match="nothing to test"):
        nbinom_lrt(dds, full, inference=BatchedInference())
    with pytest.raises(ValueError, match="profiles"):
        nbinom_lrt(dds, full.iloc[:, :4].set_axis([f"x{i}" for i in range(len(full))]), inference=BatchedInference())
    with pytest.raises(ValueError, match="rows"):
        nbinom_lrt(dds, full.iloc[:-1, :4].to_numpy(), inference=BatchedInference())
    with pytest.raises(ValueError, match="full column rank"):
        nbinom_lrt(dds, full.iloc[:, [0, 0]].to_numpy(), inference=BatchedInference())
    noise = np.random.default_rng(0).normal(size=len(full))
    with pytest.raises(ValueError, match="not nested"):
        nbinom_lrt(dds, np.c_[np.ones(len(full)), noise], inference=BatchedInference())
    undone = DeseqDataSet(counts=counts.loc[r.index].T, metadata=meta, design=full, quiet=True)
    with pytest.raises(ValueError, match="deseq2"):
        nbinom_lrt(undone, full.iloc[:, :4], inference=BatchedInference())


# Through pydeseq2's own dispersions and dp.tl.de: tests/tl/test_designs_vs_r.py::test_deseq2_class_contrast_and_lrt
