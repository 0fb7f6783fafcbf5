import copy
import logging
import re
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

    from drugprint._anndata import as_anndata

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


def _scanpy_processed(seed=0):
    """The usual scanpy object: counts in ``.raw`` (50 genes), X = normalize_total + log1p of 40 of them."""
    counts = _cells(g=50, seed=seed)
    full = counts.copy()
    full.raw = full.copy()  # a copy: `full.raw = full` shares float X, which normalize_total changes in place
    sc.pp.normalize_total(full)
    sc.pp.log1p(full)
    return full[:, :40].copy(), counts


def _manual_sums(counts, pb):
    dense = counts.X.toarray()
    rows = []
    for _, row in pb.obs.iterrows():
        m = ((counts.obs["sample"] == row["sample"]) & (counts.obs["cell_type"] == row["cell_type"])).to_numpy()
        rows.append(dense[m].sum(axis=0))
    return np.vstack(rows)


RAW_WARNING = (
    r"X holds non-integer values \(max [\d.]+ in a sample of rows, as after normalize_total \+ log1p\), not raw "
    r"counts, and there is no layers\['counts'\]; using the integer counts in adata.raw \(50 genes\) instead\. "
    r"Pass use_raw=True to silence this warning"
)


@pytest.mark.parametrize("kwargs", [{"use_raw": True}, {"layer": "raw"}, {}], ids=["use_raw", "layer_raw", "auto"])
def test_counts_from_raw_summed_exactly(kwargs):
    adata, counts = _scanpy_processed()
    assert adata.n_vars == 40 and adata.raw.n_vars == 50
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pb = dp.pp.pseudobulk(adata, min_cells=0, **kwargs)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if kwargs:
        assert messages == []  # asked for explicitly: silent
    else:
        assert len(messages) == 1 and re.search(RAW_WARNING, messages[0]), messages
    np.testing.assert_array_equal(pb.X, _manual_sums(counts, pb))
    assert pb.X.sum() == counts.X.sum() == 12_139  # every count of every raw gene, none of the log values
    assert list(pb.var_names) == list(counts.var_names)  # all 50 raw genes, not X's 40
    pd.testing.assert_frame_equal(pb.var, counts.var)
    assert pb.uns["pseudobulk"]["layer"] == "raw" and pb.uns["pseudobulk"]["use_raw"] is True


def test_mudata_modality_keeps_its_raw():
    """A modality rebuilt to join global obs columns keeps .raw, so use_raw=True works on a MuData."""
    from mudata import MuData

    adata, counts = _scanpy_processed()
    mdata = MuData({"rna": adata})
    mdata.obs["batch"] = "b1"
    pb = dp.pp.pseudobulk(mdata, use_raw=True, min_cells=0)
    np.testing.assert_array_equal(pb.X, _manual_sums(counts, pb))


def test_auto_raw_warning_text():
    adata, _ = _scanpy_processed()
    with pytest.warns(UserWarning, match=RAW_WARNING):
        dp.pp.pseudobulk(adata, min_cells=0)


def test_raw_arguments_errors_name_the_argument():
    adata, _ = _scanpy_processed()
    with pytest.raises(ValueError, match=r"use_raw=True and layer='counts' both say where the counts are"):
        dp.pp.pseudobulk(adata, layer="counts", use_raw=True)
    plain = _cells()
    with pytest.raises(KeyError, match=r"use_raw=True asks for adata.raw, but adata.raw is None.*Pass layer="):
        dp.pp.pseudobulk(plain, use_raw=True)
    with pytest.raises(KeyError, match=r"layer='raw' asks for adata.raw, but adata.raw is None.*layers has no 'raw'"):
        dp.pp.pseudobulk(plain, layer="raw")
    with pytest.raises(KeyError, match=r"layers has no 'raw'"):  # use_raw=False: never adata.raw
        dp.pp.pseudobulk(adata, layer="raw", use_raw=False)


def test_use_raw_false_sums_x_and_warns():
    adata, _ = _scanpy_processed()
    with pytest.warns(UserWarning, match=r"^X holds non-integer values .*not non-negative integers.*use_raw=True"):
        pb = dp.pp.pseudobulk(adata, use_raw=False, min_cells=0)
    assert pb.n_vars == 40 and pb.uns["pseudobulk"]["use_raw"] is False and pb.uns["pseudobulk"]["layer"] == "X"
    np.testing.assert_allclose(pb.X.sum(), adata.X.sum())


def test_log_normalised_without_counts_warns():
    adata, _ = _scanpy_processed()
    del adata.raw
    top = adata.X.max()
    with pytest.warns(UserWarning, match="^X holds") as record:
        pb = dp.pp.pseudobulk(adata, min_cells=0)
    (message,) = [str(w.message) for w in record]
    assert message.startswith(f"X holds non-integer values (max {top:.3g} in a sample of rows, as after normalize_")
    assert "not non-negative integers" in message and "layer=" in message and "use_raw=True" in message
    assert pb.uns["pseudobulk"]["layer"] == "X"


def test_scaled_values_warning_names_them():
    adata, _ = _scanpy_processed()
    del adata.raw
    adata.X = adata.X.toarray()
    sc.pp.scale(adata)
    with pytest.warns(UserWarning, match=r"^X holds negative/non-integer values \(max [\d.]+ in a sample of rows\)"):
        dp.pp.pseudobulk(adata, min_cells=0)


def test_raw_without_counts_is_not_used():
    """Neither X nor .raw holds counts (raw stored after log1p): X is summed, with the warning about X."""
    adata, _ = _scanpy_processed()
    adata.raw = adata
    with pytest.warns(UserWarning, match=r"^X holds non-integer values") as record:
        pb = dp.pp.pseudobulk(adata, min_cells=0)
    assert len(record) == 1 and pb.n_vars == 40 and pb.uns["pseudobulk"]["use_raw"] is False


def test_counts_in_x_or_layers_win_over_raw():
    adata, counts = _scanpy_processed()
    adata.layers["counts"] = counts[:, :40].X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pb = dp.pp.pseudobulk(adata, min_cells=0)
        assert pb.uns["pseudobulk"]["layer"] == "counts" and pb.n_vars == 40
        np.testing.assert_array_equal(pb.X, _manual_sums(counts, pb)[:, :40])
        plain = _cells()
        plain.raw = _scanpy_processed()[0]  # X holds counts: .raw is not looked at
        pb = dp.pp.pseudobulk(plain, min_cells=0)
    assert pb.uns["pseudobulk"]["use_raw"] is False
    np.testing.assert_array_equal(pb.X, _manual_sums(plain, pb))


def test_layer_named_raw_is_a_layer():
    adata, counts = _scanpy_processed()
    adata.layers["raw"] = counts[:, :40].X * 2
    pb = dp.pp.pseudobulk(adata, layer="raw", min_cells=0)
    assert pb.uns["pseudobulk"] == pb.uns["pseudobulk"] | {"layer": "raw", "use_raw": False}
    np.testing.assert_array_equal(pb.X, 2 * _manual_sums(counts, pb)[:, :40])
    assert dp.pp.pseudobulk(adata, use_raw=True, min_cells=0).n_vars == 50


def test_raw_input_not_mutated():
    adata, _ = _scanpy_processed()
    before = copy.deepcopy(adata)
    with pytest.warns(UserWarning, match="adata.raw"):
        dp.pp.pseudobulk(adata, min_cells=0)
    dp.pp.pseudobulk(adata, use_raw=True, min_cells=0)
    np.testing.assert_array_equal(adata.X.toarray(), before.X.toarray())
    assert (adata.raw.X != before.raw.X).nnz == 0
    pd.testing.assert_frame_equal(adata.raw.var, before.raw.var)
    assert list(adata.layers) == [] and adata.uns == before.uns


def test_dask_log_normalised_x_falls_back_to_raw():
    da = pytest.importorskip("dask.array")
    adata, counts = _scanpy_processed()
    lazy = AnnData(X=da.from_array(adata.X.toarray(), chunks=(70, -1)), obs=adata.obs, var=adata.var)
    lazy.raw = counts
    with pytest.warns(UserWarning, match=RAW_WARNING):
        pb = dp.pp.pseudobulk(lazy, min_cells=0)
    np.testing.assert_array_equal(pb.X, _manual_sums(counts, pb))


def test_kang2018_scanpy_processed_equals_counts():
    """Real PBMCs processed the scanpy way (.raw = counts; X = normalize_total + log1p of the variable genes):
    the default pseudobulk finds the counts in .raw and gives the pseudobulk of the counts exactly."""
    from tests.conftest import kang_cells

    counts = kang_cells()
    adata = kang_cells(scanpy_processed=True)
    sc.pp.highly_variable_genes(adata, n_top_genes=1000, subset=True)
    keys = {"sample_key": "sample_id", "groupby": "cluster_id"}
    with pytest.warns(UserWarning, match=r"X holds non-integer values.*log1p.*adata.raw \(\d+ genes\)"):
        pb = dp.pp.pseudobulk(adata, **keys)
    ref = dp.pp.pseudobulk(counts, **keys)
    assert adata.n_vars == 1000 < pb.n_vars == counts.n_vars
    np.testing.assert_array_equal(pb.X, ref.X)
    pd.testing.assert_frame_equal(pb.obs, ref.obs)
    pd.testing.assert_frame_equal(pb.var, ref.var)
    assert pb.uns["pseudobulk"]["use_raw"] and not ref.uns["pseudobulk"]["use_raw"]


def test_cp10k_rounded_cells_are_refused():
    """Cells normalised to 10,000 counts (scanpy's normalize_total) and rounded back to integers look like counts
    cell by cell; their equal totals give them away: refused, naming the totals; allowed on request."""
    adata = _cells(n=400, g=300)
    raw = adata.X.toarray()
    normalised = np.rint(raw / raw.sum(axis=1, keepdims=True) * 1e4)
    adata.X = sparse.csr_matrix(normalised)
    with pytest.raises(ValueError, match=r"The cells' counts in X look normalised.*10,000.*CP10k"):
        dp.pp.pseudobulk(adata, min_cells=1)
    pdata = dp.pp.pseudobulk(adata, min_cells=1, allow_normalized=True)
    assert pdata.uns["pseudobulk"]["allow_normalized"]
    with pytest.raises(ValueError, match=r"The cells summed into X look normalised"):  # and dp.tl.de refuses the sums
        dp.tl.de(pdata, condition_key="drug", control="DMSO", covariates=[], verbose=False)


@pytest.mark.parametrize("target_sum", [1e4, None])
def test_kang2018_rounded_normalised_cells_are_refused(target_sum):
    """Real cells (Kang et al. 2018) normalised (to 10,000, or scanpy's default, the median depth) and rounded back
    to integers are refused; their raw counts pass."""
    from tests.conftest import kang_cells

    adata = kang_cells()
    normalised = adata.copy()
    sc.pp.normalize_total(normalised, target_sum=target_sum)
    normalised.X.data = np.rint(normalised.X.data)
    with pytest.raises(ValueError, match="look normalised"):
        dp.pp.pseudobulk(normalised, sample_key="sample_id", groupby="cluster_id")
    assert dp.pp.pseudobulk(adata, sample_key="sample_id", groupby="cluster_id").n_obs == 20


def test_columns_that_vary_within_samples_are_recorded_and_named_by_de():
    """A sample key that mixes conditions (donor, with ctrl and stim cells): the condition column cannot be kept;
    pseudobulk records it, and dp.tl.de says why it is missing instead of only that it is."""
    from tests.conftest import kang_cells

    cells = kang_cells()
    cells.obs["donor"] = cells.obs["sample_id"].str[-3:]
    mixed = dp.pp.pseudobulk(cells, sample_key="donor", groupby="cluster_id")
    varying = mixed.uns["pseudobulk"]["varying"].set_index("column")["n_profiles"]
    assert varying.to_dict() == {"sample_id": 10, "group_id": 10}
    with pytest.raises(
        KeyError,
        match=r"obs\['group_id'\] is not in the profiles: dp.pp.pseudobulk left it out because "
        r"it varies within 10 of 10 profiles, i.e. sample_key='donor' mixes its values",
    ):
        dp.tl.de(mixed, condition_key="group_id", control="ctrl", verbose=False)
    assert dp.pp.pseudobulk(cells, sample_key="sample_id", groupby="cluster_id").uns["pseudobulk"]["varying"].empty
