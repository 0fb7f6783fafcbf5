"""camera, fry and set activities against R's limma 3.54 (tests/data/make_settests_reference.R)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drugprint.resources import genesets
from drugprint.tl._stats.settests import SetIndex, activity_test, camera, fry, set_activities
from drugprint.tl._stats.voom import tmm_factors, voom

DATA = Path(__file__).parents[1] / "data"
CONTRASTS = {
    "mezigdomide_vs_dmso": ("mezigdomide", None),
    "pomalidomide_vs_lenalidomide": ("pomalidomide", "lenalidomide"),
}


@pytest.fixture(scope="module")
def myeloma():
    """voom log-CPM and weights of the myeloma pseudobulk, design ~ donor + drug, as R builds them."""
    counts = pd.read_csv(DATA / "screen_myeloma_counts.csv.gz", index_col=0)
    meta = pd.read_csv(DATA / "screen_myeloma_samples.csv")
    genes = pd.Index((DATA / "edger_filterbyexpr_kept.txt").read_text().split())
    y = counts.loc[genes].to_numpy(dtype=float)
    donors = sorted(meta["donor"].unique())
    drugs = sorted(set(meta["drug"]) - {"DMSO"})
    design = np.column_stack(
        [np.ones(len(meta))]
        + [(meta["donor"] == d).to_numpy(float) for d in donors[1:]]
        + [(meta["drug"] == d).to_numpy(float) for d in drugs]
    )
    columns = ["(Intercept)", *donors[1:], *drugs]
    expr, weights = voom(y, design, y.sum(axis=0) * tmm_factors(y))
    return genes, expr, weights, design, columns


def _contrast(columns, a, b):
    c = np.zeros(len(columns))
    c[columns.index(a)] = 1.0
    if b:
        c[columns.index(b)] = -1.0
    return c


def _sets(genes, net, names):
    out = {}
    for s in names:
        sub = net[(net["source"] == s) & net["target"].isin(genes)]
        out[s] = SetIndex(genes.get_indexer(sub["target"]), sub["weight"].to_numpy(dtype=float))
    return out


@pytest.mark.parametrize("name", list(CONTRASTS))
def test_weighted_camera_and_fry_match_limma(myeloma, name):
    genes, expr, weights, design, columns = myeloma
    ref = pd.read_csv(DATA / f"settests_voom_{name}.csv.gz", index_col=0)
    sets = _sets(genes, genesets("hallmark").assign(weight=1.0), ref.index)
    c = _contrast(columns, *CONTRASTS[name])
    cam = camera(expr, sets, design, c, weights=weights)
    np.testing.assert_array_equal(cam["n_genes"], ref["NGenes"])
    np.testing.assert_allclose(cam["correlation"], ref["Correlation"], atol=1e-9)
    np.testing.assert_allclose(cam["pvalue"], ref["PValue"], rtol=1e-6)
    assert (np.where(cam["stat"] > 0, "Up", "Down") == ref["Direction"]).all()
    fixed = camera(expr, sets, design, c, weights=weights, inter_gene_cor=0.01)
    np.testing.assert_allclose(fixed["pvalue"], ref["PValue_fixed"], rtol=1e-6)
    fr = fry(expr, sets, design, c, weights=weights)
    np.testing.assert_allclose(fr["pvalue"], ref["fry_PValue"], rtol=1e-6)
    np.testing.assert_allclose(fr["pvalue_mixed"], ref["fry_PValue_Mixed"], rtol=1e-6)
    assert (np.where(fr["stat"] > 0, "Up", "Down") == ref["fry_Direction"]).all()
    # the tests are not trivially equal: camera and fry disagree, and estimating the correlation matters
    assert np.abs(np.log(cam["pvalue"] / fixed["pvalue"])).max() > 0.1


@pytest.mark.parametrize("name", list(CONTRASTS))
def test_activities_match_limma(myeloma, name):
    genes, expr, _, design, columns = myeloma
    ref = pd.read_csv(DATA / f"settests_activity_{name}.csv.gz", index_col=0)
    sets = _sets(genes, genesets("hallmark").assign(weight=1.0), ref.index)
    fit = activity_test(set_activities(expr, sets), design, _contrast(columns, *CONTRASTS[name]))[0]
    np.testing.assert_allclose(fit.estimate, ref["logFC"], atol=1e-10)
    np.testing.assert_allclose(fit.se, ref["SE"], rtol=1e-8)
    np.testing.assert_allclose(fit.stat, ref["t"], rtol=1e-8)
    np.testing.assert_allclose(fit.pvalue, ref["P.Value"], rtol=1e-8)
    assert fit.df == pytest.approx(ref["df"].iloc[0], rel=1e-10)


def test_fry_with_signed_weights_matches_limma(myeloma):
    genes, expr, weights, design, columns = myeloma
    ref = pd.read_csv(DATA / "settests_fry_progeny_mezigdomide_vs_dmso.csv.gz", index_col=0)
    sets = _sets(genes, genesets("progeny", top=100), ref.index)
    assert any((s.weight < 0).any() for s in sets.values())
    fr = fry(expr, sets, design, _contrast(columns, "mezigdomide", None), weights=weights)
    np.testing.assert_array_equal(fr["n_genes"], ref["NGenes"])
    np.testing.assert_allclose(fr["pvalue"], ref["PValue"], rtol=1e-6)
    np.testing.assert_allclose(fr["pvalue_mixed"], ref["PValue_Mixed"], rtol=1e-6)


def test_unweighted_microarray_matches_limma():
    expr = pd.read_csv(DATA / "all_expr.csv.gz", index_col=0).to_numpy()
    samples = pd.read_csv(DATA / "all_samples.csv")
    ref = pd.read_csv(DATA / "settests_all_bcrabl_vs_all1af4.csv.gz", index_col=0)
    design = np.column_stack(
        [
            np.ones(len(samples)),
            (samples["sex"] == sorted(samples["sex"].unique())[1]).to_numpy(float),
            (samples["mol_biol"] == "BCR/ABL").to_numpy(float),
            (samples["mol_biol"] == "ALL1/AF4").to_numpy(float),
        ]
    )
    sets = {k: SetIndex(np.array(m.split(), dtype=int), np.ones(len(m.split()))) for k, m in ref["members"].items()}
    c = np.array([0.0, 0.0, 1.0, -1.0])
    cam = camera(expr, sets, design, c)
    np.testing.assert_allclose(cam["correlation"], ref["Correlation"], atol=1e-12)
    np.testing.assert_allclose(cam["pvalue"], ref["PValue"], rtol=1e-10)
    fr = fry(expr, sets, design, c)
    np.testing.assert_allclose(fr["pvalue"], ref["fry_PValue"], rtol=1e-10)
    np.testing.assert_allclose(fr["pvalue_mixed"], ref["fry_PValue_Mixed"], rtol=1e-10)


def test_set_tests_reject_bad_input():
    y = np.random.default_rng(0).normal(size=(20, 4))
    sets = {"s": SetIndex(np.arange(5), np.ones(5))}
    with pytest.raises(ValueError, match="no residual degrees of freedom"):
        camera(y, sets, np.eye(4), np.array([0, 0, 0, 1.0]))
    y[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fry(y, sets, np.column_stack([np.ones(4), [0, 0, 1, 1]]), np.array([0, 1.0]))
