"""Property-based tests of pseudobulk and the DE-table reader (hypothesis)."""

import numpy as np
import pandas as pd
from anndata import AnnData
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import sparse

import drugprint as dp

cells = st.integers(min_value=2, max_value=60)


@st.composite
def screens(draw):
    n = draw(cells)
    g = draw(st.integers(min_value=1, max_value=8))
    x = draw(hnp.arrays(np.int64, (n, g), elements=st.integers(0, 50)))
    samples = draw(st.lists(st.sampled_from(["s1", "s2", "s3"]), min_size=n, max_size=n))
    groups = draw(st.lists(st.sampled_from(["T", "B"]), min_size=n, max_size=n))
    obs = pd.DataFrame({"sample": samples, "cell_type": groups}, index=[f"c{i}" for i in range(n)])
    return AnnData(
        sparse.csr_matrix(x.astype(np.float32)), obs=obs, var=pd.DataFrame(index=[f"G{i}" for i in range(g)])
    )


@settings(max_examples=60, deadline=None)
@given(screens())
def test_sums_preserved(adata):
    pb = dp.pp.pseudobulk(adata, min_cells=0, allow_normalized=True)
    assert pb.X.sum() == adata.X.sum()
    np.testing.assert_array_equal(pb.X.sum(axis=0), np.asarray(adata.X.sum(axis=0)).ravel())
    assert pb.obs["n_cells"].sum() == adata.n_obs


@settings(max_examples=60, deadline=None)
@given(screens(), st.randoms(use_true_random=False))
def test_order_invariant(adata, rnd):
    order = list(range(adata.n_obs))
    rnd.shuffle(order)
    a = dp.pp.pseudobulk(adata, min_cells=0, allow_normalized=True)
    b = dp.pp.pseudobulk(adata[order].copy(), min_cells=0, allow_normalized=True)
    b = b[a.obs_names]
    np.testing.assert_array_equal(a.X, b.X)
    assert (a.obs["n_cells"].to_numpy() == b.obs["n_cells"].to_numpy()).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-8, 8, allow_nan=False), st.floats(1e-12, 1.0)), min_size=1, max_size=30))
def test_read_de_table_statistic_follows_fold_change(rows):
    tab = pd.DataFrame(
        {"gene": [f"G{i}" for i in range(len(rows))], "lfc": [r[0] for r in rows], "p": [r[1] for r in rows]}
    )
    sig = dp.io.read_de_table(tab, "gene", "lfc", pvalue_col="p")
    stat = sig.layers["stat"][0]
    lfc = sig.layers["log2fc"][0]
    moved = (lfc != 0) & (stat != 0)  # p = 1 gives a statistic of 0
    assert np.all(np.sign(stat[moved]) == np.sign(lfc[moved]))
    nonzero = np.flatnonzero(lfc != 0)
    by_p = nonzero[np.argsort(tab["p"].to_numpy()[nonzero], kind="stable")]
    assert np.all(np.diff(np.abs(stat[by_p])) <= 1e-9)  # smaller p-value, larger |statistic|
