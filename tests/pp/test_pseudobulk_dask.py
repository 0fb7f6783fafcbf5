"""Out-of-core pseudobulk: Dask arrays read lazily from zarr give the in-memory result exactly."""

import warnings

import numpy as np
import pandas as pd
import pytest

import drugprint as dp

dask = pytest.importorskip("dask")
zarr = pytest.importorskip("zarr")
ad = pytest.importorskip("anndata")


@pytest.fixture(scope="module")
def store(tmp_path_factory, screen):
    path = tmp_path_factory.mktemp("zarr") / "screen.zarr"
    screen.write_zarr(path)
    return path


def _lazy(store, chunk=500, layer=True):
    g = zarr.open(store, mode="r")
    x = ad.experimental.read_elem_lazy(g["layers"]["counts"] if layer else g["X"], chunks=(chunk, -1))
    return ad.AnnData(X=x, obs=ad.io.read_elem(g["obs"]), var=ad.io.read_elem(g["var"]))


@pytest.mark.parametrize("chunk", [333, 1000, 5000])
def test_dask_equals_in_memory(store, pdata, chunk):
    out = dp.pp.pseudobulk(_lazy(store, chunk))
    np.testing.assert_array_equal(out.X, pdata.X)
    pd.testing.assert_frame_equal(out.obs, pdata.obs)
    assert out.uns["pseudobulk"]["n_profiles"] == pdata.n_obs


def test_dask_dense_chunks(screen, pdata):
    import dask.array as da

    x = da.from_array(screen.layers["counts"].toarray(), chunks=(700, 2000))  # chunked along genes too
    lazy = ad.AnnData(X=x, obs=screen.obs, var=screen.var)
    np.testing.assert_array_equal(dp.pp.pseudobulk(lazy).X, pdata.X)


def test_read_lazy_store(store, pdata):
    pytest.importorskip("xarray")
    lazy = ad.experimental.read_lazy(store)
    out = dp.pp.pseudobulk(lazy, layer="counts")
    np.testing.assert_array_equal(out.X, pdata.X)


def test_distributed_local_cluster(store, pdata):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        distributed.Client(cluster),
    ):
        out = dp.pp.pseudobulk(_lazy(store, 800))
    np.testing.assert_array_equal(out.X, pdata.X)


def test_integer_check_covers_every_chunk():
    import dask.array as da

    x = np.random.default_rng(0).poisson(2.0, size=(400, 30)).astype(np.float64)
    obs = pd.DataFrame({"sample": np.repeat(["s1", "s2"], 200)}, index=[f"c{i}" for i in range(400)])
    lazy = ad.AnnData(X=da.from_array(x, chunks=(100, -1)), obs=obs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dp.pp.pseudobulk(lazy, groupby=None, min_cells=0).X.sum() == x.sum()
    x[350, 3] = 0.5  # only the last chunk holds a non-integer value
    lazy = ad.AnnData(X=da.from_array(x, chunks=(100, -1)), obs=obs)
    with pytest.warns(UserWarning, match="not non-negative integers"):
        dp.pp.pseudobulk(lazy, groupby=None, min_cells=0)
