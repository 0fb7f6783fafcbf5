"""The result contract of ``dp.tl`` (results in ``uns[key_added]``, read back with ``dp.get``), the signatures
contract of ``drugprint._signatures``, and plots that fill the place of a given ``ax``."""

from __future__ import annotations

import anndata as ad
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from anndata import AnnData
from mudata import MuData

import drugprint as dp
from drugprint import _signatures
from drugprint._results import TIERS
from tests.tl.test_potency import _fake_sig as _potency_sig

GETTERS = [
    (dp.get.compare_table, "compare", "compare"),
    (dp.get.potency_table, "potency", "potency"),
    (dp.get.potency_rank_table, "potency_rank", "potency_rank"),
    (dp.get.overlap_table, "deg_overlap", "deg_overlap"),
    (dp.get.dose_table, "dose_response", "dose_response"),
    (dp.get.time_course_table, "time_course", "time_course"),
]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _signatures_of(groups, conditions, *, seed=0, n_genes=30, groupby="grp", names=None):
    """Tiny signatures: one row per (group, condition), ``padj`` and ``log2fc`` drawn so some genes are called."""
    rng = np.random.default_rng(seed)
    n = len(groups)
    names = names or [f"{g}|{c} vs C" for g, c in zip(groups, conditions, strict=True)]
    obs = pd.DataFrame({"condition": list(conditions), "reference": "C"}, index=names)
    if groupby:
        obs.insert(0, groupby, list(groups))
    lfc = rng.normal(0, 1, (n, n_genes))
    padj = np.where(np.abs(lfc) > 0.8, 0.001, 0.5)
    padj[:, :3] = 0.001  # a few genes every signature calls
    lfc[:, :3] = 2.0
    sig = AnnData(
        lfc.copy(),
        obs=obs,
        var=pd.DataFrame(index=[f"g{i}" for i in range(n_genes)]),
        layers={"log2fc": lfc, "stat": lfc * 3, "padj": padj, "pvalue": padj / 10},
    )
    if groupby:
        sig.uns["de"] = {"groupby": groupby}
    return sig


# --- dp.get: where the tables come from ------------------------------------------------------------------------


@pytest.mark.parametrize(("get", "key", "tool"), GETTERS)
def test_getter_names_the_tool_to_run(get, key, tool):
    sig = _signatures_of(["A", "A"], ["d1", "d2"])
    with pytest.raises(KeyError, match=rf"uns\['{key}'\].*it is absent.*run dp\.tl\.{tool}\(sig\) first"):
        get(sig)
    with pytest.raises(KeyError, match=rf"uns\['mine'\].*run dp\.tl\.{tool}\(sig\) first.*key_added"):
        get(sig, key="mine")
    sig.uns["mine"] = {"params": {}}  # another tool's record, or one without a table
    with pytest.raises(KeyError, match=r"uns\['mine'\] has no 'table' \(it holds \['params'\]\)"):
        get(sig, key="mine")


def test_neosubstrate_and_comparison_getters_name_their_tool():
    mdata = MuData({"rna": AnnData(np.zeros((2, 2)))})
    with pytest.raises(KeyError, match=r"mdata\.uns\['neosubstrates'\].*run dp\.tl\.neosubstrates\(mdata\) first"):
        dp.get.neosubstrate_table(mdata)
    sig = _signatures_of(["A", "A"], ["d1", "d2"])
    with pytest.raises(KeyError, match=r"run dp\.tl\.compare\(sig\) first"):
        dp.get.comparison(sig, "A")
    with pytest.raises(KeyError, match=r"run dp\.tl\.compare\(sig\) first"):
        dp.get.similarity_matrix(sig, "A")
    with pytest.raises(KeyError, match=r"run dp\.tl\.deg_overlap\(sig\) first"):
        dp.pl.deg_upset(sig, "A")


def test_key_added_names_the_slot():
    sig = _potency_sig()
    assert dp.tl.potency(sig, key_added="mine") is None
    assert "potency" not in sig.uns and set(sig.uns["mine"]) == {"table", "params"}
    table = dp.get.potency_table(sig, key="mine")
    assert len(table) == 4
    with pytest.raises(KeyError, match=r"run dp\.tl\.potency"):
        dp.get.potency_table(sig)
    for bad in ("", 3):
        with pytest.raises(TypeError, match="key_added must be a non-empty string"):
            dp.tl.potency(sig, key_added=bad)


def test_tables_are_copies():
    sig = _potency_sig()
    dp.tl.potency(sig)
    stored = sig.uns["potency"]["table"].copy()
    first = dp.get.potency_table(sig)
    first.loc[:, "source"] = "changed"
    pd.testing.assert_frame_equal(sig.uns["potency"]["table"], stored)
    assert (dp.get.potency_table(sig)["source"] == "P").all()


def test_potency_tier_is_ordered_after_h5ad_round_trip(tmp_path):
    sig = dp.tl.potency(_potency_sig(), copy=True)
    before = dp.get.potency_table(sig)
    sig.write_h5ad(tmp_path / "sig.h5ad")
    back = ad.read_h5ad(tmp_path / "sig.h5ad")
    table = dp.get.potency_table(back)
    tier = table["tier"]
    assert isinstance(tier.dtype, pd.CategoricalDtype) and tier.cat.ordered
    assert list(tier.cat.categories) == list(TIERS) == ["none", "modest", "moderate", "strong"]
    assert list(table.set_index("condition").loc[["d1", "d2", "d3", "d4"], "tier"]) == list(TIERS)
    assert (tier >= "moderate").sum() == 2  # ordered: comparisons and sorting follow the tiers
    assert list(table.sort_values("tier")["condition"].astype(str)) == ["d1", "d2", "d3", "d4"]
    pd.testing.assert_frame_equal(table, before, check_dtype=False)
    pd.testing.assert_series_equal(table["tier"], before["tier"])


def _odd_labels():
    """Two groups with labels h5ad refuses as keys, and one drug at two doses in a group (named by signature)."""
    groups = ["CD4/CD8 T", "CD4/CD8 T", "CD4/CD8 T", ".", ".", "."]
    conds = ["len/dex", " pom ", "mezi", "len/dex", "mezi", "mezi"]
    names = [f"{g}|{c} vs C" for g, c in zip(groups[:4], conds[:4], strict=True)] + [".|mezi @ 1", ".|mezi @ 10"]
    return _signatures_of(groups, conds, seed=1, names=names)


@pytest.mark.parametrize("which", ["screen", "odd labels", "ungrouped", "nothing called"])
def test_overlap_table_equals_the_wide_table_deg_overlap_returned(sig_all, tmp_path, which):
    """dp.get.overlap_table rebuilds, from the long stored table, the wide one deg_overlap(key_added=None) returns
    (until drugprint 0.3), also after an h5ad round trip."""
    if which == "screen":
        sig = sig_all
    elif which == "odd labels":
        sig = _odd_labels()
    elif which == "ungrouped":
        sig = _signatures_of(["A"] * 3, ["d1", "d2", "d3"], groupby=None)
    else:
        sig = _signatures_of(["A", "A"], ["d1", "d2"])
        sig.layers["padj"] = np.ones_like(sig.layers["padj"])
    with pytest.warns(DeprecationWarning, match=r"dp\.get\.overlap_table"):
        wide = dp.tl.deg_overlap(sig, key_added=None)
    done = dp.tl.deg_overlap(sig, copy=True)
    got = dp.get.overlap_table(done)
    if which == "nothing called":
        assert wide.empty and got.empty
        assert list(got.columns) == list(wide.columns)
        return
    pd.testing.assert_frame_equal(got, wide)
    if which == "odd labels":
        assert {"len/dex", " pom ", ".|mezi @ 1", ".|mezi @ 10"} <= set(got.columns)
        assert set(got["group"]) == {"CD4/CD8 T", "."}
    if which == "ungrouped":
        assert set(got["group"]) == {"all"}
    done.write_h5ad(tmp_path / "sig.h5ad")
    back = dp.get.overlap_table(ad.read_h5ad(tmp_path / "sig.h5ad"))
    pd.testing.assert_frame_equal(back, wide, check_dtype=False)


def test_comparison_matches_the_similarity_matrix():
    sig = _signatures_of(["A"] * 3 + ["B"] * 3, ["d1", "d2", "d3"] * 2)
    dp.tl.compare(sig, metrics=["spearman", "cosine"], ci="none")
    rec = dp.get.comparison(sig, "B")
    assert rec["names"] == ["d1", "d2", "d3"] and sorted(rec["order"]) == rec["names"]
    assert rec["linkage"].shape == (2, 4)
    for metric in ("spearman", "cosine"):
        pd.testing.assert_frame_equal(rec["matrices"][metric], dp.get.similarity_matrix(sig, "B", metric))
    table = dp.get.compare_table(sig)
    assert list(table["group"].unique()) == ["A", "B"] and len(table) == 6
    assert dp.get.comparison(sig, "C") is None


# --- the signatures contract on ungrouped signatures -------------------------------------------------------------


@pytest.mark.parametrize("how", ["no uns['de']", "groupby ''", "groupby column absent"])
def test_ungrouped_signatures_are_one_group_all(how):
    sig = _signatures_of(["A"] * 3, ["d1", "d2", "d3"], groupby=None)
    if how == "groupby ''":
        sig.uns["de"] = {"groupby": ""}
    elif how == "groupby column absent":
        sig.uns["de"] = {"groupby": "cell_type"}
    assert _signatures.group_key(sig) is None
    labels = _signatures.group_labels(sig)
    assert (labels == "all").all() and list(labels.index) == list(sig.obs_names)
    assert _signatures.groups(sig) == dp.get.groups(sig) == ["all"]
    np.testing.assert_array_equal(_signatures.select_rows(sig), [0, 1, 2])
    np.testing.assert_array_equal(_signatures.select_rows(sig, ["all"]), [0, 1, 2])
    np.testing.assert_array_equal(_signatures.select_rows(sig, ["all"], ["d3", "d1"]), [0, 2])
    np.testing.assert_array_equal(_signatures.select_rows(sig, None, ["d2"]), [1])
    with pytest.raises(KeyError, match=r"no group column; leave groups=None \(got \['A'\]\)"):
        _signatures.select_rows(sig, ["A"])
    with pytest.raises(KeyError, match=r"conditions \['zz'\] are not in these signatures"):
        _signatures.select_rows(sig, conditions=["zz"])
    dp.tl.compare(sig, metrics=["cosine"], ci="none")  # tools compare them as the one group "all"
    assert set(dp.get.compare_table(sig)["group"]) == {"all"}
    assert dp.get.similarity_matrix(sig, "all", "cosine").shape == (3, 3)


def test_select_rows_in_grouped_signatures():
    sig = _signatures_of(["A", "A", "B", "B"], ["d1", "d2", "d1", "d2"])
    assert _signatures.groups(sig) == ["A", "B"]
    np.testing.assert_array_equal(_signatures.select_rows(sig, ["B", "A"]), [2, 3, 0, 1])  # in the order given
    np.testing.assert_array_equal(_signatures.select_rows(sig, ["B"], ["d2"]), [3])
    with pytest.raises(KeyError, match=r"groups \['Z'\] are not in these signatures; groups present: \['A', 'B'\]"):
        _signatures.select_rows(sig, ["A", "Z"])
    np.testing.assert_array_equal(_signatures.select_rows(sig, ["A", "Z"], skip_missing=True), [0, 1])
    with pytest.raises(KeyError, match="not in these signatures"):
        _signatures.select_rows(sig, ["Z"], skip_missing=True)  # at least one must be present
    assert (_signatures.group_labels(sig, "none") == "all").all()
    with pytest.raises(KeyError, match=r"no column 'site' \(groupby=\)"):
        _signatures.group_labels(sig, "site")


def test_check_signatures():
    sig = _signatures_of(["A"], ["d1"])
    assert _signatures.check_signatures(sig, layers=("log2fc", "padj")) is sig
    with pytest.raises(TypeError, match=r"signatures AnnData.*got DataFrame"):
        _signatures.check_signatures(sig.to_df())
    with pytest.raises(KeyError, match=r"layers has no 'lfcse', 'base_mean'"):
        _signatures.check_signatures(sig, layers=("log2fc", "lfcse", "base_mean"))


# --- plots fill the place of ax ----------------------------------------------------------------------------------


def _fills(fig, place, before):
    """The axes ``fig`` gained since ``before`` (a list of axes) all lie within ``place`` (a Bbox)."""
    new = [a for a in fig.axes if a not in before]
    assert new
    for a in new:
        box = a.get_position()
        assert place.x0 - 1e-6 <= box.x0 and box.x1 <= place.x1 + 1e-6
        assert place.y0 - 1e-6 <= box.y0 and box.y1 <= place.y1 + 1e-6
    return new


@pytest.fixture(scope="module")
def compared(sig_all):
    sig = sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy()
    dp.tl.compare(sig, n_boot=10)
    dp.tl.deg_overlap(sig)
    return sig


@pytest.mark.parametrize(("plot", "n_axes"), [("similarity", 3), ("deg_upset", 2)])
def test_comparison_plots_fill_the_second_place(compared, plot, n_axes):
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    place = right.get_position()
    out = getattr(dp.pl, plot)(compared, "Myeloma", ax=right)
    assert out is fig
    assert left in fig.axes and right not in fig.axes  # right's place is taken by the plot's panels
    assert len(_fills(fig, place, [left])) == n_axes
    alone = getattr(dp.pl, plot)(compared, "Myeloma")
    assert alone is not fig and len(alone.axes) == n_axes


@pytest.fixture(scope="module")
def neo(rna_prot):
    return dp.tl.neosubstrates(rna_prot, genes=["IKZF1", "IKZF3"], copy=True)


@pytest.mark.filterwarnings("ignore:Not tested:UserWarning")
def test_neosubstrates_plot_fills_the_second_place(neo):
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    place = right.get_position()
    out = dp.pl.neosubstrates(neo, "Myeloma", ax=right)
    assert out is fig and left in fig.axes and right not in fig.axes
    panels = _fills(fig, place, [left])
    assert [a.get_title() for a in panels] == ["Myeloma: IKZF1 (ADT_Ikaros)", "IKZF3 (ADT_Aiolos)"]
    table = dp.get.neosubstrate_table(neo)
    assert len(dp.pl.neosubstrates(table, "Myeloma").axes) == 2  # the table itself draws the same panels
    with pytest.raises(ValueError, match="ax must be a subplot"):
        dp.pl.neosubstrates(neo, "Myeloma", ax=plt.figure().add_axes((0.1, 0.1, 0.8, 0.8)))


def test_deg_upset_rows_of_repeated_conditions():
    sig = _odd_labels()
    dp.tl.deg_overlap(sig)
    fig = dp.pl.deg_upset(sig, ".", "up")
    rows = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert {".|mezi @ 1", ".|mezi @ 10"} <= set(rows)
