import copy
import logging
import warnings

import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from anndata import AnnData
from scipy import sparse

import drugprint as dp


def _cells(n=300, g=40, seed=0, fmt="csr"):
    rng = np.random.default_rng(seed)
    x = rng.poisson(0.8, size=(n, g)).astype(np.float32)
    obs = pd.DataFrame(
        {
            "sample": rng.choice(["s1", "s2", "s3", "s4"], n),
            "cell_type": rng.choice(["T", "B", "NK"], n),
            "noise": rng.normal(size=n),
        },
        index=[f"c{i}" for i in range(n)],
    )
    obs["donor"] = obs["sample"].map({"s1": "d1", "s2": "d1", "s3": "d2", "s4": "d2"}).astype("category")
    obs["drug"] = obs["sample"].map({"s1": "DMSO", "s2": "len", "s3": "DMSO", "s4": "len"})
    mat = sparse.csr_matrix(x) if fmt == "csr" else (sparse.csc_matrix(x) if fmt == "csc" else x)
    return AnnData(
        X=mat, obs=obs, var=pd.DataFrame({"symbol": [f"G{i}" for i in range(g)]}, index=[f"G{i}" for i in range(g)])
    )


@pytest.mark.parametrize("fmt", ["csr", "csc", "dense"])
def test_sums_match_manual(fmt):
    adata = _cells(fmt=fmt)
    pb = dp.pp.pseudobulk(adata, min_cells=0)
    dense = adata.X.toarray() if sparse.issparse(adata.X) else adata.X
    for name, row in pb.obs.iterrows():
        m = ((adata.obs["sample"] == row["sample"]) & (adata.obs["cell_type"] == row["cell_type"])).to_numpy()
        np.testing.assert_array_equal(pb[name].X.ravel(), dense[m].sum(axis=0))
        assert row["n_cells"] == m.sum()
    assert pb.obs["n_cells"].sum() == adata.n_obs
    assert isinstance(pb.X, np.ndarray) and pb.X.dtype == np.float64


def test_agrees_with_scanpy_aggregate():
    adata = _cells(seed=2)
    pb = dp.pp.pseudobulk(adata, min_cells=0)
    ref = sc.get.aggregate(adata, by=["sample", "cell_type"], func="sum")
    ref.obs_names = ref.obs["sample"].astype(str) + "|" + ref.obs["cell_type"].astype(str)
    ref = ref[pb.obs_names]
    np.testing.assert_allclose(pb.X, np.asarray(ref.layers["sum"]))


def test_metadata_constant_columns_kept():
    pb = dp.pp.pseudobulk(_cells(), min_cells=0)
    assert {"sample", "cell_type", "donor", "drug", "n_cells"} <= set(pb.obs.columns)
    assert "noise" not in pb.obs  # varies within profiles
    assert isinstance(pb.obs["donor"].dtype, pd.CategoricalDtype)
    assert (pb.obs.loc[pb.obs["sample"] == "s2", "drug"] == "len").all()
    assert list(pb.obs.columns[:2]) == ["sample", "cell_type"]
    pd.testing.assert_frame_equal(pb.var, _cells().var)


def test_min_cells_drops_and_records(caplog):
    adata = _cells(n=120)
    counts = adata.obs.groupby(["sample", "cell_type"]).size()
    cut = int(counts.median()) + 1
    with caplog.at_level(logging.INFO, logger="drugprint"):
        pb = dp.pp.pseudobulk(adata, min_cells=cut)
    dropped = pb.uns["pseudobulk"]["dropped"]
    assert len(dropped) == int((counts < cut).sum())
    assert (pb.obs["n_cells"] >= cut).all()
    assert "dropped" in caplog.text


def test_layer_default_prefers_counts_layer():
    adata = _cells()
    adata.layers["counts"] = adata.X.copy()
    adata.X = adata.X * 0.5  # e.g. normalised values in X
    pb = dp.pp.pseudobulk(adata, min_cells=0)
    assert pb.uns["pseudobulk"]["layer"] == "counts"
    np.testing.assert_array_equal(pb.X.sum(), adata.layers["counts"].sum())
    with pytest.warns(UserWarning, match="not non-negative integers"):
        dp.pp.pseudobulk(AnnData(adata.X, obs=adata.obs), min_cells=0)


def test_mean_and_no_groupby():
    adata = _cells()
    pb = dp.pp.pseudobulk(adata, groupby=None, func="mean", min_cells=0)
    assert pb.n_obs == 4
    m = (adata.obs["sample"] == "s1").to_numpy()
    np.testing.assert_allclose(pb["s1"].X.ravel(), adata.X[m].toarray().mean(0))


def test_multiple_groupby_keys():
    adata = _cells()
    adata.obs["batch"] = np.where(np.arange(adata.n_obs) % 2, "b1", "b2")
    pb = dp.pp.pseudobulk(adata, groupby=["cell_type", "batch"], min_cells=0)
    assert pb.obs_names[0].count("|") == 2
    assert pb.obs["n_cells"].sum() == adata.n_obs


def test_input_not_mutated():
    adata = _cells()
    before = copy.deepcopy(adata)
    dp.pp.pseudobulk(adata, min_cells=5)
    assert (adata.X != before.X).nnz == 0
    pd.testing.assert_frame_equal(adata.obs, before.obs)
    assert adata.uns == before.uns


def test_missing_key_and_bad_arguments():
    adata = _cells()
    with pytest.raises(KeyError, match="'patient'"):
        dp.pp.pseudobulk(adata, sample_key="patient")
    with pytest.raises(ValueError, match="func"):
        dp.pp.pseudobulk(adata, func="median")
    with pytest.raises(ValueError, match="min_cells"):
        dp.pp.pseudobulk(adata, min_cells=10_000)
    with pytest.raises(KeyError, match="layers has no 'raw'"):
        dp.pp.pseudobulk(adata, layer="raw")
    with pytest.raises(ValueError, match="empty"):
        dp.pp.pseudobulk(adata[:0].copy())


def test_cells_without_sample_warn_and_are_left_out():
    adata = _cells()
    adata.obs["sample"] = adata.obs["sample"].astype(object)
    adata.obs.iloc[:5, adata.obs.columns.get_loc("sample")] = np.nan
    with pytest.warns(UserWarning, match="5 cells"):
        pb = dp.pp.pseudobulk(adata, min_cells=0)
    assert pb.obs["n_cells"].sum() == adata.n_obs - 5


def test_screen_profiles(screen, pdata):
    assert pdata.obs["n_cells"].sum() + pdata.uns["pseudobulk"]["dropped"]["n_cells"].sum() == screen.n_obs
    assert np.isclose(pdata.X.sum(), screen.layers["counts"].sum() - _dropped_counts(screen, pdata))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dp.pp.pseudobulk(screen)  # counts layer used: no warning


def _dropped_counts(screen, pdata):
    d = pdata.uns["pseudobulk"]["dropped"]
    total = 0
    for _, r in d.iterrows():
        m = ((screen.obs["sample"] == r["sample"]) & (screen.obs["cell_type"] == r["cell_type"])).to_numpy()
        total += screen.layers["counts"][m].sum()
    return total


def test_mudata_global_obs_joined_without_copying_the_modality():
    from mudata import MuData

    from drugprint._utils import as_anndata

    rna = _cells()
    rna.layers["counts"] = rna.X.copy()
    mdata = MuData({"rna": rna})
    mdata.obs["batch"] = np.where(mdata.obs_names.str[1:].astype(int) < 150, "b1", "b2")
    view = as_anndata(mdata)
    assert view.X is rna.X and view.layers["counts"] is rna.layers["counts"]
    assert view.obs["batch"].tolist() == mdata.obs["batch"].tolist()
    assert "batch" not in rna.obs.columns  # the modality itself is left alone
    pb = dp.pp.pseudobulk(mdata, groupby="batch", min_cells=0)
    assert sorted(pb.obs["batch"].unique()) == ["b1", "b2"]
    assert pb.X.sum() == rna.X.sum()
