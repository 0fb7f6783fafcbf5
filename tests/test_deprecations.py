"""Deprecated names and behaviours keep working until drugprint 0.3, with a DeprecationWarning.

The only tests that use them (besides ``tests/test_contract.py``, which compares ``dp.get.overlap_table`` with
what ``dp.tl.deg_overlap(key_added=None)`` returns); delete these when the deprecations are removed. Each old
name must give the same result as the new one.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import drugprint as dp
from tests.test_contract import _potency_sig, _signatures_of


@pytest.fixture(scope="module")
def myeloma(sig_all):
    """One group of the session's signatures, pathways scored: quick to rank and compare."""
    return sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy()


def _dose_sig():
    from drugprint.tl._dose import hill

    doses = np.array([0.001, 0.01, 0.1, 1, 10, 100])
    obs = pd.DataFrame(
        [(k, d) for k in ("a", "b") for d in doses], columns=["drug", "dose"], index=[f"s{i}" for i in range(12)]
    )
    y = np.r_[hill(doses, 0, 1.0, np.log10(0.5), 1.0), hill(doses, 0, 0.6, np.log10(5.0), 1.0)]
    y = y + np.random.default_rng(0).normal(0, 0.03, 12)
    return AnnData(np.zeros((12, 1)), obs=obs, obsm={"pathways_log2fc": pd.DataFrame({"P": y}, index=obs.index)})


@pytest.fixture
def mdata(rna_prot):
    """A small RNA + protein screen (the RNA signatures are passed in: only the protein is tested)."""
    return rna_prot.copy()


def _case(name, request):
    """(tool, its input, keyword arguments, getter) for each tool that returned its table in drugprint 0.1."""
    if name == "neosubstrates":
        sig_all = request.getfixturevalue("sig_all")
        return dp.tl.neosubstrates, request.getfixturevalue("mdata"), {"sig": sig_all}, dp.get.neosubstrate_table
    cases = {
        "compare": (dp.tl.compare, _signatures_of(["A"] * 3, ["d1", "d2", "d3"]), {"n_boot": 20}, dp.get.compare_table),
        "potency": (dp.tl.potency, _potency_sig(), {}, dp.get.potency_table),
        "potency_rank": (dp.tl.potency_rank, "myeloma", {"n_draws": 20}, dp.get.potency_rank_table),
        "deg_overlap": (dp.tl.deg_overlap, _signatures_of(["A"] * 3, ["d1", "d2", "d3"]), {}, dp.get.overlap_table),
        "dose_response": (dp.tl.dose_response, _dose_sig(), {}, dp.get.dose_table),
        "time_course": (dp.tl.time_course, "myeloma", {}, dp.get.time_course_table),
    }
    tool, data, kwargs, get = cases[name]
    if isinstance(data, str):
        data = request.getfixturevalue(data).copy()
    return tool, data, kwargs, get


TOOLS = ["compare", "potency", "potency_rank", "deg_overlap", "dose_response", "time_course", "neosubstrates"]


@pytest.fixture(params=TOOLS)
def case(request):
    return request.param, *_case(request.param, request)


def test_key_added_none_returns_the_table(case):
    """key_added=None returns the table (what the getter reads after the new call) and stores nothing."""
    name, tool, data, kwargs, get = case
    keys = set(data.uns)
    with pytest.warns(DeprecationWarning, match=rf"dp\.tl\.{name}\(key_added=None\).*dp\.get\.{get.__name__}"):
        old = tool(data, key_added=None, **kwargs)
    assert set(data.uns) == keys
    new = get(tool(data, copy=True, **kwargs))
    pd.testing.assert_frame_equal(old, new)


@pytest.mark.parametrize("name", TOOLS)
def test_key_added_none_warning_points_at_the_caller(request, name):
    """The warning is attributed to the line that called the tool, so that Python's default filters show it
    (DeprecationWarning is shown by default only when triggered by code in ``__main__``)."""
    tool, data, kwargs, _ = _case(name, request)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tool(data, key_added=None, **kwargs)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1 and deprecations[0].filename == __file__


def test_compare_seed():
    sig = _signatures_of(["A"] * 3, ["d1", "d2", "d3"])
    with pytest.warns(DeprecationWarning, match=r"compare\(seed=\) is deprecated.*use random_state="):
        old = dp.tl.compare(sig, n_boot=20, seed=3, copy=True)
    new = dp.tl.compare(sig, n_boot=20, random_state=3, copy=True)
    other = dp.tl.compare(sig, n_boot=20, random_state=4, copy=True)
    pd.testing.assert_frame_equal(dp.get.compare_table(old), dp.get.compare_table(new))
    assert not dp.get.compare_table(other).equals(dp.get.compare_table(new))  # the seed reached the resampling
    assert old.uns["compare"]["params"] == new.uns["compare"]["params"]
    with pytest.raises(TypeError, match=r"got seed= \(deprecated\) and random_state=; pass only random_state="):
        dp.tl.compare(sig, seed=3, random_state=3)


def test_imid_screen_seed():
    kwargs = {"n_donors": 2, "cells_per_sample": 20}
    with pytest.warns(DeprecationWarning, match=r"imid_screen\(seed=\).*random_state="):
        old = dp.datasets.imid_screen("small", seed=3, **kwargs)
    new = dp.datasets.imid_screen("small", random_state=3, **kwargs)
    assert (old.layers["counts"] != new.layers["counts"]).nnz == 0
    pd.testing.assert_frame_equal(old.obs, new.obs)


def test_call_degradation_min_log2fc():
    args = ([-0.4, -0.2, 0.5, np.nan], [0.01, 0.01, 0.01, np.nan], [0.1, -2.0, 0.0, 1.0], [0.5, 1e-6, 0.9, 0.01])
    with pytest.warns(DeprecationWarning, match=r"call_degradation\(min_log2fc=\).*lfc_threshold="):
        old = dp.tl.call_degradation(*args, min_log2fc=0.3)
    assert old == dp.tl.call_degradation(*args, lfc_threshold=0.3)
    assert old[0] == ["degraded", "no protein change", "protein up", "protein not tested"]
    assert dp.tl.call_degradation(*args, lfc_threshold=0.1)[0][1] == "degraded"  # the threshold is used


def test_neosubstrates_min_log2fc(mdata, sig_all):
    with pytest.warns(DeprecationWarning, match=r"neosubstrates\(min_log2fc=\).*lfc_threshold="):
        old = dp.tl.neosubstrates(mdata, sig=sig_all, min_log2fc=5.0, copy=True)
    new = dp.tl.neosubstrates(mdata, sig=sig_all, lfc_threshold=5.0, copy=True)
    pd.testing.assert_frame_equal(dp.get.neosubstrate_table(old), dp.get.neosubstrate_table(new))
    assert old.uns["neosubstrates"]["params"]["lfc_threshold"] == 5.0
    default = dp.get.neosubstrate_table(dp.tl.neosubstrates(mdata, sig=sig_all, copy=True))
    assert not default["call"].equals(dp.get.neosubstrate_table(new)["call"])  # the threshold is used


def test_score_cells_key_prefix(screen):
    panels = {"cyto": ["NKG7", "GZMB", "PRF1"]}
    cells = screen[screen.obs["cell_type"] == "NK"][:300]
    old, new = cells.copy(), cells.copy()
    with pytest.warns(DeprecationWarning, match=r"score_cells\(key_prefix=\).*key_added="):
        dp.tl.score_cells(old, panels, key_prefix="panel_")
    dp.tl.score_cells(new, panels, key_added="panel")
    assert list(old.obs.columns) == list(new.obs.columns)  # panel_cyto, as drugprint 0.1 named it
    pd.testing.assert_frame_equal(old.obs, new.obs)
    assert set(old.uns) == set(new.uns)


def test_score_cells_key_prefix_warns_and_scores(screen):
    """What works despite the naming bug above: the warning, and the scores themselves."""
    panels = {"cyto": ["NKG7", "GZMB", "PRF1"]}
    cells = screen[screen.obs["cell_type"] == "NK"][:300]
    old, new = cells.copy(), cells.copy()
    with pytest.warns(DeprecationWarning, match=r"score_cells\(key_prefix=\).*key_added="):
        dp.tl.score_cells(old, panels, key_prefix="own")
    dp.tl.score_cells(new, panels, key_added="own")
    pd.testing.assert_frame_equal(old.obs, new.obs)


def test_demo_seed(monkeypatch, tmp_path):
    """demo(seed=) reaches the simulation and the run as random_state (both replaced by recorders: fast)."""
    import drugprint.report._pipeline as pipeline

    calls = []

    def simulate(preset, random_state=0, **kwargs):
        calls.append(("simulate", preset, random_state))
        return "cells"

    def run(adata, out, *, random_state, **kwargs):
        calls.append(("run", adata, random_state))
        return {"timings": {}}

    monkeypatch.setattr(dp.datasets, "imid_screen", simulate)
    monkeypatch.setattr(pipeline, "run", run)
    with pytest.warns(DeprecationWarning, match=r"demo\(seed=\).*random_state="):
        old = dp.report.demo(tmp_path, preset="small", seed=7, verbose=False)
    old_calls, calls[:] = list(calls), []
    new = dp.report.demo(tmp_path, preset="small", random_state=7, verbose=False)
    assert old_calls == calls == [("simulate", "small", 7), ("run", "cells", 7)]
    assert old.keys() == new.keys()


def test_summary_table_moved_to_get(myeloma):
    """dp.tl.summary_table ran the tools itself; dp.get.summary_table reads what they stored."""
    before = set(myeloma.uns)
    with pytest.warns(DeprecationWarning, match=r"dp\.tl\.summary_table is deprecated.*dp\.get\.summary_table"):
        tiers = dp.tl.summary_table(myeloma, "tiers")
    with pytest.warns(DeprecationWarning, match=r"dp\.tl\.summary_table"):
        degs = dp.tl.summary_table(myeloma, "degs")
    assert set(myeloma.uns) == before  # ran on a copy
    pd.testing.assert_frame_equal(tiers, dp.get.summary_table(dp.tl.potency(myeloma, copy=True), "tiers"))
    pd.testing.assert_frame_equal(degs, dp.get.summary_table(myeloma, "degs"))


def test_key_pathways_moved_to_resources():
    """KEY_PATHWAYS is a domain fact: dp.resources holds it, dp.pl's name warns and gives the same tuple."""
    with pytest.warns(DeprecationWarning, match=r"dp\.pl\.KEY_PATHWAYS is deprecated.*dp\.resources\.KEY_PATHWAYS"):
        old = dp.pl.KEY_PATHWAYS
    assert old is dp.resources.KEY_PATHWAYS
    with pytest.raises(AttributeError, match="no attribute 'NOT_A_NAME'"):
        dp.pl.NOT_A_NAME  # noqa: B018


def test_pathway_heatmap_value(myeloma):
    """value= chose what coloured the heatmap (default the score); color= does (default the mean log2FC)."""
    import matplotlib.pyplot as plt

    with pytest.warns(DeprecationWarning, match=r"pathway_heatmap\(value=\) is deprecated.*use color="):
        old = dp.pl.pathway_heatmap(myeloma, value="score")
    new = dp.pl.pathway_heatmap(myeloma, color="score")
    np.testing.assert_array_equal(old.axes[0].images[0].get_array(), new.axes[0].images[0].get_array())
    assert old.axes[0].images[0].colorbar.ax.get_ylabel() == new.axes[0].images[0].colorbar.ax.get_ylabel()
    with pytest.raises(TypeError, match=r"got value= \(deprecated\) and color=; pass only color="):
        dp.pl.pathway_heatmap(myeloma, value="score", color="log2fc")
    plt.close("all")
