"""No public function changes its input beyond what it documents."""

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import drugprint as dp


def snapshot(adata):
    return {
        "X": adata.X.copy(),
        "layers": {k: v.copy() for k, v in adata.layers.items()},
        "obs": adata.obs.copy(),
        "var": adata.var.copy(),
        "obsm": {k: v.copy() for k, v in adata.obsm.items()},
        "uns": copy.deepcopy(dict(adata.uns)),
    }


def _equal(a, b):
    if sparse.issparse(a):
        return sparse.issparse(b) and a.shape == b.shape and (a != b).nnz == 0
    if isinstance(a, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(a, b)
            return True
        except AssertionError:
            return False
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a != a and b != b)


def assert_unchanged(before, adata, *, obsm_added=(), uns_added=(), obs_added=()):
    after = snapshot(adata)
    assert _equal(before["X"], after["X"])
    assert before["layers"].keys() == after["layers"].keys()
    assert all(_equal(before["layers"][k], after["layers"][k]) for k in before["layers"])
    assert list(after["obs"].columns) == [*before["obs"].columns, *obs_added]
    assert _equal(before["obs"], after["obs"][list(before["obs"].columns)])
    assert _equal(before["var"], after["var"])
    assert set(after["obsm"]) == set(before["obsm"]) | set(obsm_added)
    assert all(_equal(before["obsm"][k], after["obsm"][k]) for k in before["obsm"] if k not in obsm_added)
    assert set(after["uns"]) == set(before["uns"]) | set(uns_added)
    assert all(_equal(before["uns"][k], after["uns"][k]) for k in before["uns"] if k not in uns_added)


def test_cell_level_functions(screen):
    adata = screen[:1500].copy()
    before = snapshot(adata)
    dp.pp.pseudobulk(adata)
    dp.pp.pseudobulk(adata, func="mean", groupby=None, min_cells=0)
    assert_unchanged(before, adata)
    dp.tl.score_cells(adata, {"cyto": ["NKG7", "GZMB", "PRF1"]})
    assert_unchanged(before, adata, obs_added=["panel_cyto"])


def test_profile_level_functions(pdata):
    before = snapshot(pdata)
    dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    dp.tl.de(pdata, groups=["NK"], method="voom", match="time", verbose=False)
    assert_unchanged(before, pdata)


def test_signature_functions_add_only_their_keys(sig_all, pdata):
    sig = sig_all.copy()
    before = snapshot(sig)
    dp.tl.pathways(sig, "imid", key_added="imid")
    added = ["imid", "imid_padj", "imid_log2fc", "imid_log2fc_lo", "imid_log2fc_hi"]
    assert_unchanged(before, sig, obsm_added=added, uns_added=["imid"])
    before = snapshot(sig)
    out = dp.tl.pathways(sig, "progeny", key_added="pg", copy=True)
    assert "pg" in out.obsm
    dp.tl.panels(sig, copy=True)
    assert_unchanged(before, sig)
    for fn, key in (
        (lambda s: dp.tl.potency(s), "potency"),
        (lambda s: dp.tl.potency_rank(s, n_draws=20), "potency_rank"),
        (lambda s: dp.tl.compare(s, n_boot=10), "compare"),
        (lambda s: dp.tl.deg_overlap(s), "deg_overlap"),
    ):
        before = snapshot(sig)
        fn(sig)
        assert_unchanged(before, sig, uns_added=[key])
    before = snapshot(sig)
    dp.tl.compare(sig, n_boot=10, key_added=None, pdata=pdata)
    dp.tl.summary_table(sig, "pair", drugs=("thalidomide", "lenalidomide"))
    dp.tl.summary_table(sig, "tiers")
    dp.tl.summary_table(sig, "degs")
    dp.get.de_table(sig)
    dp.get.pathway_table(sig)
    assert_unchanged(before, sig)
    pdata_before = snapshot(pdata)
    dp.tl.compare(sig, n_boot=10, key_added=None, pdata=pdata)
    assert_unchanged(pdata_before, pdata)


def test_plots_do_not_touch_inputs(sig_all):
    import matplotlib.pyplot as plt

    sig = sig_all.copy()
    dp.tl.compare(sig, n_boot=10)
    dp.tl.deg_overlap(sig)
    table = dp.tl.potency(sig)
    before, table_before = snapshot(sig), table.copy()
    dp.pl.pathway_heatmap(sig)
    dp.pl.panel_dotplot(sig)
    dp.pl.volcano(sig, "NK|mezigdomide vs DMSO")
    dp.pl.potency_tiers(table, "Myeloma")
    dp.pl.similarity(sig, "Myeloma")
    dp.pl.deg_upset(sig, "Myeloma")
    plt.close("all")
    assert_unchanged(before, sig)
    pd.testing.assert_frame_equal(table, table_before)


def test_concat_and_readers_leave_inputs(sig_all):
    a = sig_all[sig_all.obs["cell_type"] == "NK"].copy()
    b = sig_all[sig_all.obs["cell_type"] == "B"].copy()
    ba, bb = snapshot(a), snapshot(b)
    dp.tl.concat_signatures([a, b], study=["x", "y"])
    assert_unchanged(ba, a)
    assert_unchanged(bb, b)
    tab = pd.DataFrame({"g": ["A", "B"], "lfc": [1.0, -1.0], "p": [0.01, 0.5]})
    before = tab.copy()
    dp.io.read_de_table(tab, "g", "lfc", pvalue_col="p")
    pd.testing.assert_frame_equal(tab, before)


@pytest.mark.parametrize("fn", ["genesets", "panels", "compounds", "markers"])
def test_resources_return_fresh_objects(fn):
    f = getattr(dp.resources, fn)
    first = f() if fn != "genesets" else f("imid")
    if isinstance(first, dict):
        first[next(iter(first))].append("MUTATED")
    else:
        first.iloc[0, 0] = "MUTATED"
    second = f() if fn != "genesets" else f("imid")
    flat = str(second)
    assert "MUTATED" not in flat
