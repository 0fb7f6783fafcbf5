"""Preranked GSEA: ES and leading edge by hand, ES equal to decoupler's, the planted programmes found, a calibrated
null, and the stored table."""

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import drugprint as dp
from drugprint.tl._stats import gsea as stats

DATA = Path(__file__).resolve().parents[1] / "data"
MEZ = "Myeloma|mezigdomide vs DMSO"

# --- (a) by hand ------------------------------------------------------------------------------------------------
# Ten genes ranked by their statistic, G01 first: 3, 2.5, 2, 1.5, 1, -0.5, -1, -1.5, -2, -3.
RANKED = np.array([3, 2.5, 2, 1.5, 1, -0.5, -1, -1.5, -2, -3])
GENES = [f"G{i:02d}" for i in range(1, 11)]
# UP = {G01, G03, G07}: |stat| 3 + 2 + 1 = 6, so its genes add 3/6, 2/6, 1/6; the 7 others subtract 1/7 each.
# Running sum: .5, .357, .690 (G03), .548, .405, .262, .429 (G07), .286, .143, 0.
# ES = 1/2 + 1/3 - 1/7 = 29/42 at rank 3 (G03); leading edge G01, G03.
UP, ES_UP, LE_UP = {"G01", "G03", "G07"}, 29 / 42, "G01;G03"
# DOWN = {G04, G08, G10}: |stat| 1.5 + 1.5 + 3 = 6 → +1/4, +1/4, +1/2; the others -1/7.
# Running sum: -.143, -.286, -.429, -.179 (G04), -.321, -.464, -.607, -.357 (G08), -.5, 0 (G10).
# ES = 1/4 - 6/7 = -17/28 at rank 7 (G07, a gene not in the set); leading edge: the set's genes at or after it,
# G08 and G10.
DOWN, ES_DOWN, LE_DOWN = {"G04", "G08", "G10"}, -17 / 28, "G08;G10"


def _hand_sig() -> ad.AnnData:
    """The ten genes out of rank order, and an eleventh whose statistic is NaN (not ranked)."""
    order = [4, 0, 9, 2, 7, 1, 5, 8, 3, 6]
    stat = np.append(RANKED[order], np.nan)[None, :]
    var = pd.DataFrame(index=[GENES[i] for i in order] + ["G11"])
    obs = pd.DataFrame({"condition": ["drug"]}, index=["all|drug vs ctrl"])
    return ad.AnnData(np.nan_to_num(stat), obs=obs, var=var, layers={"stat": stat, "log2fc": stat / 2})


def _net(sets: dict[str, set[str]]) -> pd.DataFrame:
    return pd.DataFrame([(s, g) for s, genes in sets.items() for g in sorted(genes)], columns=["source", "target"])


def test_es_and_leading_edge_by_hand():
    sig = _hand_sig()
    dp.tl.gsea(sig, _net({"UP": UP | {"G11"}, "DOWN": DOWN}), min_size=3, n_perm=200)
    tab = dp.get.gsea_table(sig).set_index("source")
    assert tab.loc["UP", "n_set"] == 3  # G11 is in the set but not ranked
    np.testing.assert_allclose(tab.loc[["UP", "DOWN"], "es"], [ES_UP, ES_DOWN], rtol=0, atol=1e-14)
    assert tab.loc["UP", "leading_edge"] == LE_UP and tab.loc["DOWN", "leading_edge"] == LE_DOWN
    assert tab.loc["UP", "n_leading_edge"] == 2 and tab.loc["DOWN", "n_leading_edge"] == 2
    assert tab.loc["UP", "nes"] > 0 > tab.loc["DOWN", "nes"] and tab["pvalue"].between(1 / 201, 1).all()
    # the full running sum of the plot and the position-only computation agree
    hits = np.isin(GENES, sorted(UP))
    curve = stats.running_sum(np.abs(RANKED), hits)
    np.testing.assert_allclose(curve[[0, 2, 6, 9]], [1 / 2, ES_UP, ES_UP - 3 / 7 + 1 / 6, 0], atol=1e-14)
    res = stats.enrichment(np.abs(RANKED), np.array([[0, 2, 6], [3, 7, 9]]))
    assert res["peak"].tolist() == [2, 6] and res["n_leading_edge"].tolist() == [2, 2]


def test_null_of_the_hand_example_is_exact():
    """All 120 three-gene sets of the ten: 65 have ES >= 0, 17 of them ES >= 29/42; the permutation p-value of UP
    converges on 17/65."""
    from itertools import combinations

    weights = np.abs(RANKED)
    every = stats.enrichment(weights, np.array(list(combinations(range(10), 3))))["es"]
    exact = np.mean(every[every >= 0] >= ES_UP - 1e-12)
    assert (every >= 0).sum() == 65 and exact == 17 / 65
    sig = _hand_sig()
    dp.tl.gsea(sig, _net({"UP": UP}), min_size=3, n_perm=20000, random_state=1)
    p = dp.get.gsea_table(sig)["pvalue"].iloc[0]
    assert abs(p - exact) < 3 * np.sqrt(exact * (1 - exact) / 10000)


# --- (b) decoupler -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published():
    """R DESeq2's mezigdomide table read as a published one (its own Wald statistic)."""
    de = pd.read_csv(DATA / "deseq2_mezigdomide_vs_dmso.csv.gz").rename(columns={"Unnamed: 0": "gene"})
    return dp.io.read_de_table(
        de, "gene", "log2FoldChange", "pvalue", "padj", "stat", group="Myeloma", condition="mezigdomide"
    )


def test_es_equals_decouplers_and_nes_agrees(published):
    """decoupler 2.2's gsea gives ES with ``times=0`` (no permutation), NES from its own random draws otherwise."""
    dc = pytest.importorskip("decoupler")
    sig = published.copy()
    dp.tl.gsea(sig, "hallmark")
    tab = dp.get.gsea_table(sig).set_index("source")
    stat = sig.layers["stat"][0]
    keep = np.isfinite(stat)
    assert np.all(stat[keep] != 0)  # decoupler drops features that are exactly 0 ("empty")
    mat = pd.DataFrame(stat[keep][None, :], index=["s"], columns=sig.var_names[keep])
    net = dp.resources.genesets("hallmark")
    es, _ = dc.mt.gsea(mat, net, tmin=15, times=0)
    assert len(tab) == 50 and set(tab.index) <= set(es.columns)
    np.testing.assert_allclose(tab["es"], es.iloc[0].reindex(tab.index), rtol=0, atol=1e-10)
    nes, padj = dc.mt.gsea(mat, net, tmin=15, times=1000, seed=42)
    nes, padj = nes.iloc[0].reindex(tab.index), padj.iloc[0].reindex(tab.index)
    # Two Monte-Carlo estimates of the mean null ES from 1000 draws each: measured 0.7 % apart (median), at most 3.1 %.
    np.testing.assert_allclose(tab["nes"], nes, rtol=0.06)
    # Its p-values have no +1 (they can be 0) and come from other draws: measured at most 0.077 apart after BH; the
    # 13 sets it calls at padj < 0.05 are called here too, with one more (14).
    assert np.abs(tab["padj"] - padj).max() < 0.1
    assert (tab.loc[padj < 0.05, "padj"] < 0.05).all() and abs((tab["padj"] < 0.05).sum() - (padj < 0.05).sum()) <= 2


# --- (c) the planted programmes ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def screened(pdata):
    sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    dp.tl.gsea(sig, "hallmark")
    return sig


@pytest.mark.parametrize(
    ("source", "sign"), [("HALLMARK_INTERFERON_ALPHA_RESPONSE", 1), ("HALLMARK_G2M_CHECKPOINT", -1)]
)
def test_planted_programmes_and_their_leading_edge(screened, source, sign):
    tab = dp.get.gsea_table(screened)
    row = tab[(tab["signature"] == MEZ) & (tab["source"] == source)].iloc[0]
    assert np.sign(row["nes"]) == sign and row["padj"] < 0.05 and np.sign(row["es"]) == sign
    stat = pd.Series(screened[MEZ].layers["stat"][0], index=screened.var_names).dropna()
    net = dp.resources.genesets("hallmark")
    members = stat[stat.index.isin(net.loc[net["source"] == source, "target"])]
    assert row["n_set"] == len(members)
    edge = row["leading_edge"].split(";")
    assert len(edge) == row["n_leading_edge"] > 5 and set(edge) <= set(members.index)
    # the set's most extreme genes in the signature's direction, listed in rank order (largest statistic first)
    extreme = members.sort_values(ascending=sign < 0, kind="stable").index[: len(edge)]
    assert edge == list(members.loc[extreme].sort_values(ascending=False).index)


def test_table_is_sorted_and_stored(screened):
    tab = dp.get.gsea_table(screened)
    assert tab.columns.tolist() == [
        "signature", "group", "condition", "source", "term", "n_set", "es", "nes", "pvalue", "padj",
        "n_leading_edge", "leading_edge",
    ]  # fmt: skip
    assert tab.groupby("signature", sort=False)["pvalue"].apply(lambda p: p.is_monotonic_increasing).all()
    assert (tab["term"] == tab["source"]).all() and tab["n_set"].between(15, 500).all()
    assert screened.uns["gsea"]["params"]["layer"] == "stat" and screened.uns["gsea"]["net"]["name"] == "hallmark"
    assert (tab["nes"] * tab["es"] >= 0).all()


# --- (d) the null ------------------------------------------------------------------------------------------------


def test_random_rankings_give_uniform_pvalues(screened):
    """Ten random permutations of the mezigdomide statistic over the genes: 500 set tests, p-values uniform.

    Measured: 1.0 % at p < 0.01, 5.4 % at p < 0.05, 10.4 % at p < 0.1, 24.4 % at p < 0.25, 51 % at p < 0.5.
    """
    stat = np.asarray(screened[MEZ].layers["stat"][0], dtype=float)
    finite = np.flatnonzero(np.isfinite(stat))
    rows = []
    for seed in range(10):
        row = np.full(stat.size, np.nan)
        row[finite] = np.random.default_rng(100 + seed).permutation(stat[finite])
        rows.append(row)
    obs = pd.DataFrame({"condition": [f"shuffled {s}" for s in range(10)]}, index=[f"s{s}" for s in range(10)])
    null = ad.AnnData(np.nan_to_num(rows), obs=obs, var=pd.DataFrame(index=screened.var_names))
    null.layers["stat"] = np.array(rows)
    dp.tl.gsea(null, "hallmark")
    p = dp.get.gsea_table(null)["pvalue"].to_numpy()
    assert p.size == 500
    assert 0.05 < np.mean(p < 0.1) < 0.15 and np.mean(p < 0.05) < 0.1 and 0.4 < np.mean(p < 0.5) < 0.6


# --- the contract ------------------------------------------------------------------------------------------------


def test_copy_seed_and_layer():
    sig = _hand_sig()
    net = _net({"UP": UP, "DOWN": DOWN})
    out = dp.tl.gsea(sig, net, min_size=3, n_perm=100, copy=True)
    assert "gsea" not in sig.uns and "gsea" in out.uns
    again = dp.tl.gsea(sig, net, min_size=3, n_perm=100, copy=True)
    pd.testing.assert_frame_equal(dp.get.gsea_table(out), dp.get.gsea_table(again))
    other = dp.tl.gsea(sig, net, min_size=3, n_perm=100, random_state=3, copy=True)
    assert not np.array_equal(dp.get.gsea_table(other)["pvalue"], dp.get.gsea_table(out)["pvalue"])
    lfc = dp.tl.gsea(sig, net, layer="log2fc", min_size=3, n_perm=100, copy=True)  # log2fc = stat / 2: same ES
    np.testing.assert_allclose(dp.get.gsea_table(lfc)["es"], dp.get.gsea_table(out)["es"])
    assert dp.tl.gsea(sig, net, min_size=3, n_perm=100, key_added="mine") is None
    assert dp.get.gsea_table(sig, key="mine").shape[0] == 2


def test_errors():
    sig = _hand_sig()
    net = _net({"UP": UP})
    with pytest.raises(ValueError, match="Unknown layer 'pvalue'"):
        dp.tl.gsea(sig, net, layer="pvalue")
    with pytest.raises(ValueError, match="No set has 15 to 500 genes"):
        dp.tl.gsea(sig, net)
    with pytest.raises(ValueError, match=r"No gene of the \d+ sets .* is among the data.s \d+ genes"):
        dp.tl.gsea(sig, _net({"X": {"A", "B"}}), min_size=1)
    with pytest.raises(ValueError, match="min_size <= max_size"):
        dp.tl.gsea(sig, net, min_size=5, max_size=4)
    with pytest.raises(TypeError, match="n_perm must be an integer"):
        dp.tl.gsea(sig, net, n_perm=10.5)
    with pytest.raises(KeyError, match=r"run dp\.tl\.gsea\(sig\) first"):
        dp.get.gsea_table(sig)
