"""``dp.tl.de(..., client=...)``: each group's fit a task on a dask.distributed cluster, same results as serial."""

import numpy as np
import pandas as pd
import pytest

import drugprint as dp
from drugprint.tl._de import tool as _de

distributed = pytest.importorskip("distributed")

GROUPS = ["B", "NK"]


@pytest.fixture(scope="module")
def client():
    """Two single-threaded workers in this process: no worker start-up or imports (seconds on 2 cores).

    Threads of one process share its BLAS thread limit, which each fit sets to 1 for its duration: with the limit
    already 1 for the whole module, one fit ending cannot lift it under another still running. Pickling, which
    worker processes would add, is checked on its own below.
    """
    from threadpoolctl import threadpool_limits

    with (
        threadpool_limits(limits=1),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def two(pdata):
    return pdata[pdata.obs["cell_type"].isin(GROUPS)].copy()


def _assert_same(a, b):
    assert list(a.obs_names) == list(b.obs_names)
    assert a.layers.keys() == b.layers.keys()
    for layer in a.layers:
        np.testing.assert_array_equal(a.layers[layer], b.layers[layer], err_msg=layer)
    np.testing.assert_array_equal(a.X, b.X)
    pd.testing.assert_frame_equal(a.obs, b.obs)


@pytest.mark.parametrize("method", ["voom", "deseq2"])
def test_cluster_fits_equal_serial(two, client, method):
    serial = dp.tl.de(two, method=method, verbose=False)
    on_cluster = dp.tl.de(two, method=method, client=client, verbose=False)
    assert sorted(on_cluster.obs["cell_type"].unique()) == sorted(GROUPS)
    _assert_same(serial, on_cluster)
    address = client.scheduler.address
    assert serial.uns["de"]["executor"] == "serial" and serial.uns["de"]["client"] == ""
    assert on_cluster.uns["de"]["executor"] == f"dask ({address})"
    assert on_cluster.uns["de"]["client"] == address
    fits = on_cluster.uns["de"]["fits"]
    assert list(fits["group"]) == list(serial.uns["de"]["fits"]["group"])  # job order kept


def test_n_jobs_ignored_with_client(two, client):
    with pytest.warns(UserWarning, match="n_jobs=2 is ignored"):
        sig = dp.tl.de(two, method="voom", groups=["B"], n_jobs=2, client=client, verbose=False)
    assert sig.uns["de"]["executor"].startswith("dask (")


def test_executor_recorded_without_client(two):
    one_group = dp.tl.de(two, method="voom", groups=["B"], n_jobs=2, verbose=False)
    assert one_group.uns["de"]["executor"] == "serial"  # a single group is fitted in this process
    assert one_group.uns["de"]["client"] == ""


@pytest.mark.parametrize("bad", ["tcp://127.0.0.1:8786", 2, object()])
def test_non_client_raises(two, bad):
    with pytest.raises(TypeError, match=rf"client must be a distributed\.Client.*{type(bad).__qualname__}"):
        dp.tl.de(two, method="voom", client=bad, verbose=False)


def test_jobs_round_trip_through_cloudpickle(two, monkeypatch):
    cloudpickle = pytest.importorskip("cloudpickle")
    seen = {}
    run_jobs = _de.run_jobs

    def spy(jobs, *args, **kwargs):
        seen["jobs"] = jobs
        return run_jobs(jobs, *args, **kwargs)

    monkeypatch.setattr(_de, "run_jobs", spy)
    dp.tl.de(two, method="voom", design="~ donor + drug", reduced="~ donor", verbose=False)
    from drugprint.tl._de.engines import FitOptions, run_engine

    for job in seen["jobs"]:
        copy = cloudpickle.loads(cloudpickle.dumps(job))
        copy.design._rows.clear()  # rebuild the level rows through the unpickled formulaic-contrasts object
        want = job.design.contrast("lenalidomide", "DMSO")
        np.testing.assert_array_equal(copy.design.contrast("lenalidomide", "DMSO"), want)
        options = FitOptions(is_counts=True, alpha=0.05, n_cpus=1)
        a, _, _ = run_engine("voom", job, options)
        b, _, _ = run_engine("voom", copy, options)
        assert a.keys() == b.keys()
        for key in a:
            pd.testing.assert_frame_equal(a[key], b[key], check_exact=True)


def test_screen_blocks_and_their_set_tests_on_the_cluster(client, compound_screen, compound_sig):
    """A screen's blocks are tasks too, and pathways' per-fit set tests run there with identical results."""
    fit = {"condition_key": "compound", "covariates": ["replicate"], "method": "voom", "verbose": False}
    on_cluster = dp.tl.de(compound_screen, client=client, **fit)
    assert on_cluster.uns["de"]["executor"].startswith("dask")
    _assert_same(on_cluster, compound_sig)  # compound_sig: the same call, serially
    dp.tl.pathways(on_cluster, client=client)
    in_processes = dp.tl.pathways(compound_sig, n_jobs=2, copy=True)
    assert on_cluster.uns["pathways"]["params"]["executor"].startswith("dask (")
    assert in_processes.uns["pathways"]["params"]["executor"] == "loky (n_jobs=2)"
    assert compound_sig.uns["pathways"]["params"]["executor"] == "serial"
    for key in ("pathways", "pathways_padj", "pathways_log2fc_lo", "pathways_log2fc_hi"):
        for other in (on_cluster, in_processes):
            pd.testing.assert_frame_equal(other.obsm[key], compound_sig.obsm[key], check_exact=True)
