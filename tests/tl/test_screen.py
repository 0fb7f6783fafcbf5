"""Screen summaries: hit calls that hold their error rate, clusters that find the planted families, and the
pathways each cluster moves (``dp.tl.screen_hits``, ``dp.tl.cluster_signatures``, ``dp.get.cluster_pathways``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

import drugprint as dp

#: A screen that runs in seconds and still has families of 5–7 hit compounds: 60 compounds, 6 families, 3 lines.
PRESET = {"n_families": 6, "n_genes": 1500}


@pytest.fixture(scope="module")
def screen():
    pdata = dp.datasets.screen(60, **PRESET, random_state=0)
    sig = dp.tl.de(pdata, condition_key="compound", covariates=["replicate"], method="voom", verbose=False)
    dp.tl.screen_hits(sig)
    dp.tl.cluster_signatures(sig)
    with warnings.catch_warnings():  # 1,500 genes hold part of each Hallmark set
        warnings.filterwarnings("ignore", ".*gene set", UserWarning)
        dp.tl.pathways(sig)
    return pdata.uns["screen_truth"], sig


@pytest.fixture(scope="module")
def null_screen():
    """Mostly inactive compounds: 3 × 60 × 0.6 inactive signatures to count false hits on."""
    out = []
    for seed in (1, 2):
        pdata = dp.datasets.screen(60, inactive=0.6, n_genes=1500, random_state=seed)
        sig = dp.tl.de(pdata, condition_key="compound", covariates=["replicate"], method="voom", verbose=False)
        dp.tl.screen_hits(sig)
        tab = dp.get.screen_hits_table(sig)
        compounds = pdata.uns["screen_truth"]["compounds"]
        out.append(tab.assign(tier=compounds.loc[tab["condition"], "tier"].to_numpy()))
    return pd.concat(out, ignore_index=True)


def test_inactive_compounds_are_rarely_hits(null_screen):
    inactive = null_screen[null_screen["tier"] == "inactive"]
    assert len(inactive) >= 200
    assert inactive["hit"].mean() <= 0.05, inactive["n_deg"].value_counts()


def test_strong_compounds_are_hits(null_screen):
    strong = null_screen[null_screen["tier"].isin(["strong", "moderate"])]
    assert len(strong) >= 30
    assert strong["hit"].mean() >= 0.9  # a line ignores one family: its signatures are rightly not hits


def test_hit_table_columns_and_counts(screen):
    _, sig = screen
    tab = dp.get.screen_hits_table(sig)
    cols = ["signature", "group", "condition", "hit", "n_up", "n_down", "n_deg", "n_tested", "top_genes"]
    assert tab.columns.tolist() == cols and len(tab) == sig.n_obs
    assert tab["hit"].dtype == bool
    assert (tab["n_deg"] == tab["n_up"] + tab["n_down"]).all()
    assert (tab["hit"] == (tab["n_deg"] >= dp.tl._screen.MIN_GENES)).all()
    first = tab[tab["n_deg"] > 0].iloc[0]
    genes = [g[:-1] for g in first["top_genes"].split(", ")]
    i = sig.obs_names.get_loc(first["signature"])
    assert (sig.layers["padj"][i, sig.var_names.get_indexer(genes)] < 0.05).all()
    per = dp.get.screen_hits_table(sig, level="condition")
    assert per.columns.tolist() == ["condition", "hit", "n_groups", "n_hit", "hit_in", "n_deg", "n_deg_max"]
    assert per["condition"].tolist() == dp.get.conditions(sig)
    counts = tab.groupby("condition")["hit"].sum()
    assert (per.set_index("condition")["n_hit"] == counts.reindex(per["condition"])).all()
    assert sig.uns["screen_hits"]["params"]["min_genes"] == dp.tl._screen.MIN_GENES


def test_clusters_find_the_families(screen):
    truth, sig = screen
    tab = dp.get.cluster_table(sig)
    assert tab.columns.tolist() == ["condition", "cluster", "n_hit", "n_deg"]
    hits = dp.get.screen_hits_table(sig, level="condition")
    assert set(tab["condition"]) == set(hits.loc[hits["hit"], "condition"])
    family = truth["compounds"].loc[tab["condition"], "family"].to_numpy()
    active = family != "none"
    assert adjusted_rand_score(family[active], tab["cluster"].astype(str).to_numpy()[active]) >= 0.8
    cluster = sig.obs["clusters"]
    assert cluster.isna().sum() == sig.n_obs - sig.obs["condition"].isin(tab["condition"]).sum()
    assert list(cluster.cat.categories) == [f"C{i + 1}" for i in range(tab["cluster"].nunique())]
    sizes = tab["cluster"].value_counts().reindex(cluster.cat.categories)
    assert sizes.is_monotonic_decreasing


def test_top_pathway_of_each_cluster_is_the_planted_one(screen):
    truth, sig = screen
    tab = dp.get.cluster_table(sig)
    family = truth["compounds"].loc[tab["condition"], "family"].to_numpy()
    majority = pd.Series(family).groupby(tab["cluster"].astype(str).to_numpy()).agg(lambda s: s.mode().iloc[0])
    top = dp.get.cluster_pathways(sig, n=1).set_index("cluster")
    planted = truth["family_pathways"]
    found = [
        top.loc[c, "source"] == planted.loc[f, "pathway"] and top.loc[c, "direction"] == planted.loc[f, "direction"]
        for c, f in majority.items()
        if f != "none"
    ]
    assert np.mean(found) >= 0.8, (top, majority)
    full = dp.get.cluster_pathways(sig, n=None)
    cols = ["cluster", "rank", "source", "n_signatures", "n_called", "share_called", "median_log2fc", "direction"]
    assert full.columns.tolist() == cols
    assert (full.groupby("cluster")["n_called"].apply(lambda s: s.is_monotonic_decreasing)).all()


def test_results_contract(screen):
    _, sig = screen
    small = sig[:, :300].copy()
    for key in ("screen_hits", "clusters"):
        del small.uns[key]
    del small.obs["clusters"]
    before = small.copy()
    out = dp.tl.screen_hits(small, min_genes=1, key_added="mine", copy=True)
    assert "mine" not in small.uns and out.uns["mine"]["params"]["min_genes"] == 1
    assert set(small.uns) == set(before.uns) and np.array_equal(small.layers["padj"], before.layers["padj"])
    dp.tl.cluster_signatures(out, hits_key="mine", key_added="fam", n_neighbors=5)
    assert "fam" in out.obs and out.uns["fam"]["params"]["n_neighbors"] == 5
    assert dp.get.cluster_table(out, key="fam")["cluster"].cat.ordered


def test_errors_name_the_key(screen):
    _, sig = screen
    bare = sig[:, :200].copy()
    bare.uns = {"de": sig.uns["de"]}
    for key in list(bare.obsm):
        del bare.obsm[key]
    with pytest.raises(KeyError, match=r"uns\['screen_hits'\].*run dp\.tl\.screen_hits\(sig\) first"):
        dp.get.screen_hits_table(bare)
    with pytest.raises(KeyError, match=r"uns\['screen_hits'\].*run dp\.tl\.screen_hits\(sig\) first"):
        dp.tl.cluster_signatures(bare)
    with pytest.raises(KeyError, match=r"uns\['clusters'\].*run dp\.tl\.cluster_signatures\(sig\) first"):
        dp.get.cluster_table(bare)
    with pytest.raises(KeyError, match=r"uns\['clusters'\].*run dp\.tl\.cluster_signatures"):
        dp.get.cluster_pathways(bare)
    dp.tl.screen_hits(bare)
    dp.tl.cluster_signatures(bare)
    with pytest.raises(KeyError, match=r"obsm has no 'pathways_padj'.*dp\.tl\.pathways"):
        dp.get.cluster_pathways(bare)
    with pytest.raises(KeyError, match=r"layers has no 'padj'"):
        dp.tl.screen_hits(_without(bare, "padj"))
    for bad in ({"alpha": 1.5}, {"min_genes": 0}, {"n_genes": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            dp.tl.screen_hits(bare, **bad)
    with pytest.raises(ValueError, match="metric"):
        dp.tl.cluster_signatures(bare, metric="euclidean")
    with pytest.raises(ValueError, match="resolution"):
        dp.tl.cluster_signatures(bare, resolution=0)
    with pytest.raises(ValueError, match="level"):
        dp.get.screen_hits_table(bare, level="compound")


def _without(sig, layer):
    out = sig.copy()
    del out.layers[layer]
    return out


def test_no_hit_clusters_nothing(screen):
    _, sig = screen
    quiet = sig[:, :100].copy()
    quiet.layers["padj"] = np.ones_like(quiet.layers["padj"])
    dp.tl.screen_hits(quiet)
    dp.tl.cluster_signatures(quiet)
    assert len(dp.get.cluster_table(quiet)) == 0 and quiet.obs["clusters"].isna().all()
