import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import drugprint as dp


def _fake_sig():
    """Four conditions of one group, one pathway: the tiers none < modest < moderate < strong."""
    names = ["A|d1 vs C", "A|d2 vs C", "A|d3 vs C", "A|d4 vs C"]
    obs = pd.DataFrame({"grp": ["A"] * 4, "condition": pd.Categorical(["d1", "d2", "d3", "d4"])}, index=names)
    sig = AnnData(np.zeros((4, 3)), obs=obs)
    sig.uns["de"] = {"groupby": "grp"}
    sig.obsm["pathways"] = pd.DataFrame({"P": [1.0, 3.0, 6.0, -9.0]}, index=names)
    sig.obsm["pathways_padj"] = pd.DataFrame({"P": [0.5, 0.01, 0.01, 1e-6]}, index=names)
    sig.obsm["pathways_log2fc"] = pd.DataFrame({"P": [0.05, 0.1, 0.3, -0.9]}, index=names)
    return sig


def test_tiers_follow_documented_thresholds():
    sig = _fake_sig()
    assert dp.tl.potency(sig) is None
    t = dp.get.potency_table(sig).set_index("condition")
    assert list(t.loc[["d1", "d2", "d3", "d4"], "tier"]) == ["none", "modest", "moderate", "strong"]
    assert list(t.loc[["d4", "d3", "d2", "d1"], "rank"]) == [1, 2, 3, 4]
    assert t.loc["d4", "direction"] == "down"
    assert sig.uns["potency"]["params"]["thresholds"] == [0.25, 0.5]
    t2 = dp.get.potency_table(dp.tl.potency(sig, thresholds=(0.05, 0.2), alpha=0.001, copy=True))
    t2 = t2.set_index("condition")
    assert list(t2.loc[["d2", "d3", "d4"], "tier"]) == ["none", "none", "strong"]


def test_potency_errors():
    sig = _fake_sig()
    with pytest.raises(KeyError, match=r"run dp\.tl\.pathways"):
        dp.tl.potency(sig, "panels")
    with pytest.raises(ValueError, match="thresholds"):
        dp.tl.potency(sig, thresholds=(0.5, 0.1))
    with pytest.raises(KeyError, match="not scored"):
        dp.tl.potency(sig, sources=["Q"])


def test_significant_score_without_effect_size_is_none():
    sig = _fake_sig()
    sig.obsm["pathways_log2fc"].loc["A|d4 vs C", "P"] = np.nan  # significant (padj 1e-6) but no log2FC
    dp.tl.potency(sig)
    t = dp.get.potency_table(sig).set_index("condition")
    assert list(t.loc[["d1", "d2", "d3", "d4"], "tier"]) == ["none", "modest", "moderate", "none"]


def test_potency_rank_across_blocks_of_a_screen(compound_screen, compound_sig):
    """A screen fitted in blocks: every compound gets its interval from its block's replicates."""
    sig = compound_sig.copy()
    assert (sig.uns["de"]["fits"]["part"] != "").all()
    dp.tl.potency_rank(sig, keys=["pathways"], n_draws=400)
    tab = dp.get.potency_rank_table(sig)
    assert (tab["basis"] == "replicates").all()
    assert tab[["score_lo", "score_hi", "rank_lo", "rank_hi"]].notna().all().all()
    assert (tab["score_lo"] <= tab["score_hi"]).all() and (tab["rank_lo"] <= tab["rank_hi"]).all()
    truth = compound_screen.uns["screen_truth"]["compounds"]
    for _, t in tab.groupby("group"):
        inactive = t["condition"].astype(str).map(~truth["active"]).to_numpy(dtype=bool)
        # planted inactive compounds sit in the lower half of the ranking, strong ones in the upper
        assert np.median(t["rank"].to_numpy()[inactive]) > len(t) / 2
        strong = t["condition"].astype(str).map(truth["tier"]).eq("strong").to_numpy()
        assert np.median(t["rank"].to_numpy()[strong]) < len(t) / 2
