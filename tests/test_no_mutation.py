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
    # copy=True: the input as it was, and a copy that differs from it only in what score_cells documents
    out = dp.tl.score_cells(adata, {"cyto": ["NKG7", "GZMB", "PRF1"]}, copy=True)
    assert_unchanged(before, adata)
    assert_unchanged(before, out, obs_added=["panel_cyto"], uns_added=["panel"])
    assert dp.tl.score_cells(adata, {"cyto": ["NKG7", "GZMB", "PRF1"]}) is None
    assert_unchanged(before, adata, obs_added=["panel_cyto"], uns_added=["panel"])
    np.testing.assert_array_equal(adata.obs["panel_cyto"], out.obs["panel_cyto"])
    before = snapshot(adata)
    dp.tl.score_cells(adata, {"cyto": ["NKG7", "GZMB", "PRF1"]}, key_added="cells")
    assert_unchanged(before, adata, obs_added=["cells_cyto"], uns_added=["cells"])
    np.testing.assert_array_equal(adata.obs["cells_cyto"], adata.obs["panel_cyto"])


def test_annotate_changes_only_its_columns_and_key(screen):
    adata = screen[:600].copy()
    before = snapshot(adata)
    added = ["predicted", "predicted_cluster", "predicted_confidence"]
    out = dp.tl.annotate(adata, key_added="predicted", copy=True)
    assert_unchanged(before, adata)
    assert_unchanged(before, out, obs_added=added, uns_added=["predicted"])
    assert dp.tl.annotate(adata, key_added="predicted") is None
    assert_unchanged(before, adata, obs_added=added, uns_added=["predicted"])
    pd.testing.assert_frame_equal(adata.obs, out.obs)
    pd.testing.assert_frame_equal(adata.uns["predicted"]["clusters"], out.uns["predicted"]["clusters"])


def test_profile_level_functions(pdata):
    before = snapshot(pdata)
    dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    dp.tl.de(pdata, groups=["NK"], method="voom", match="time", verbose=False)
    assert_unchanged(before, pdata)


def _scores_added(key):
    return [key, f"{key}_padj", f"{key}_log2fc", f"{key}_log2fc_lo", f"{key}_log2fc_hi"]


def test_signature_functions_add_only_their_keys(sig_all, pdata):
    sig = sig_all.copy()
    before = snapshot(sig)
    assert dp.tl.pathways(sig, "imid", key_added="imid") is None
    assert_unchanged(before, sig, obsm_added=_scores_added("imid"), uns_added=["imid"])
    before = snapshot(sig)
    out = dp.tl.pathways(sig, "progeny", key_added="pg", copy=True)
    assert_unchanged(before, out, obsm_added=_scores_added("pg"), uns_added=["pg"])
    out = dp.tl.panels(sig, key_added="pn", copy=True)
    assert_unchanged(before, out, obsm_added=_scores_added("pn"), uns_added=["pn"])
    assert_unchanged(before, sig)
    for tool, kwargs, key, get in (
        (dp.tl.potency, {}, "potency", dp.get.potency_table),
        (dp.tl.potency_rank, {"n_draws": 20}, "potency_rank", dp.get.potency_rank_table),
        (dp.tl.compare, {"n_boot": 10}, "compare", dp.get.compare_table),
        (dp.tl.deg_overlap, {}, "deg_overlap", dp.get.overlap_table),
        (dp.tl.time_course, {}, "time_course", dp.get.time_course_table),
    ):
        before = snapshot(sig)
        out = tool(sig, copy=True, **kwargs)
        assert_unchanged(before, sig)  # copy=True leaves the input as it was ...
        assert out is not sig
        assert_unchanged(before, out, uns_added=[key])  # ... and returns it with the results added
        assert {"table", "params"} <= set(out.uns[key])
        assert tool(sig, **kwargs) is None
        assert_unchanged(before, sig, uns_added=[key])
        pd.testing.assert_frame_equal(get(sig), get(out), obj=key)  # the same results either way
    before = snapshot(sig)
    dp.tl.compare(sig, n_boot=10, pdata=pdata, copy=True)
    dp.get.summary_table(sig, "pair", drugs=("thalidomide", "lenalidomide"))
    dp.get.summary_table(sig, "tiers")
    dp.get.summary_table(sig, "degs")
    dp.get.de_table(sig)
    dp.get.pathway_table(sig)
    dp.get.similarity_matrix(sig, "Myeloma")
    dp.get.comparison(sig, "Myeloma")
    for get in (
        dp.get.compare_table,
        dp.get.potency_table,
        dp.get.potency_rank_table,
        dp.get.overlap_table,
        dp.get.time_course_table,
    ):
        get(sig).iloc[0, 0] = None  # the tables are copies: changing them leaves the stored ones
    assert_unchanged(before, sig)
    pdata_before = snapshot(pdata)
    dp.tl.compare(sig, n_boot=10, pdata=pdata)
    assert_unchanged(pdata_before, pdata)


def test_dose_response_adds_only_its_key():
    """A small dose series (two drugs × six doses, one score): cheap to fit."""
    from anndata import AnnData

    from drugprint.tl._dose import hill

    doses = np.array([0.001, 0.01, 0.1, 1, 10, 100])
    obs = pd.DataFrame(
        [(k, d) for k in ("a", "b") for d in doses], columns=["drug", "dose"], index=[f"s{i}" for i in range(12)]
    )
    y = np.r_[hill(doses, 0, 1.0, np.log10(0.5), 1.0), hill(doses, 0, 0.6, np.log10(5.0), 1.0)]
    y = y + np.random.default_rng(0).normal(0, 0.03, 12)
    sig = AnnData(np.zeros((12, 1)), obs=obs, obsm={"pathways_log2fc": pd.DataFrame({"P": y}, index=obs.index)})
    before = snapshot(sig)
    out = dp.tl.dose_response(sig, copy=True)
    assert_unchanged(before, sig)
    assert_unchanged(before, out, uns_added=["dose_response"])
    assert {"table", "points", "params"} <= set(out.uns["dose_response"])
    assert dp.tl.dose_response(sig) is None
    assert_unchanged(before, sig, uns_added=["dose_response"])
    pd.testing.assert_frame_equal(dp.get.dose_table(sig), dp.get.dose_table(out))


def test_plots_do_not_touch_inputs(sig_all):
    import matplotlib.pyplot as plt

    sig = sig_all.copy()
    dp.tl.compare(sig, n_boot=10)
    dp.tl.deg_overlap(sig)
    dp.tl.potency(sig)
    dp.tl.potency_rank(sig, n_draws=20)
    table = dp.get.potency_table(sig)
    before, table_before = snapshot(sig), table.copy()
    dp.pl.pathway_heatmap(sig)
    dp.pl.panel_dotplot(sig)
    dp.pl.volcano(sig, "NK|mezigdomide vs DMSO")
    dp.pl.potency_tiers(table, "Myeloma")
    dp.pl.potency_tiers(sig, "Myeloma")
    dp.pl.potency_rank(sig, "Myeloma")
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


def test_screen_functions_add_only_their_keys(compound_screen, compound_sig):
    before = snapshot(compound_screen)
    dp.tl.de(compound_screen, condition_key="compound", covariates=["replicate"], method="voom", verbose=False)
    assert_unchanged(before, compound_screen)
    sig = compound_sig.copy()
    before = snapshot(sig)
    out = dp.tl.screen_hits(sig, copy=True)
    assert_unchanged(before, sig)
    assert_unchanged(before, out, uns_added=["screen_hits"])
    dp.tl.screen_hits(sig)
    before = snapshot(sig)
    out = dp.tl.cluster_signatures(sig, copy=True)
    assert_unchanged(before, sig)
    assert_unchanged(before, out, obs_added=["clusters"], uns_added=["clusters"])
    out = dp.tl.query(sig, compound_sig, verbose=False, copy=True)
    assert_unchanged(before, sig)
    assert_unchanged(before, out, uns_added=["query"])


def test_cohort_functions_add_only_their_keys():
    cohort = dp.datasets.survival_cohort(n_patients=120, random_state=2)
    truth = cohort.uns["survival_truth"]
    sets = {"a": {"up": truth["up"], "down": truth["down"]}, "b": truth["up"][:10]}
    before = snapshot(cohort)
    out = dp.tl.signature_score(cohort, sets, copy=True)
    assert_unchanged(before, cohort)
    dp.tl.signature_score(cohort, sets)
    assert_unchanged(
        before, cohort, obs_added=("signature_score_a", "signature_score_b"), uns_added=("signature_score",)
    )
    assert _equal(out.obs, cohort.obs)
    before = snapshot(cohort)
    kw = {"time_key": "os_time", "event_key": "os_event", "covariates": ["age"], "verbose": False}
    dp.tl.survival(cohort, copy=True, **kw)
    assert_unchanged(before, cohort)
    dp.tl.survival(cohort, **kw)
    assert_unchanged(before, cohort, uns_added=("survival",))
    for get in (dp.get.survival_table, dp.get.survival_curves, dp.get.signature_score_table):
        get(cohort).iloc[:, 0] = 0  # tables are copies
    assert_unchanged(before, cohort, uns_added=("survival",))
