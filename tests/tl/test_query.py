"""dp.tl.query: planted families are found, reversed signatures reverse, gene-shuffled queries find nothing."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from anndata import AnnData
from scipy import stats

import drugprint as dp
from drugprint.tl import _query
from drugprint.tl._stats import gsea

N_GENES = 2000
N_FAMILIES = 8


def _fingerprints(n_marker: int = 150, sd: float = 1.5, seed: int = 0) -> np.ndarray:
    """One fingerprint per family: ``n_marker`` genes moved (normal, sd ``sd``), the others 0."""
    rng = np.random.default_rng(seed)
    out = np.zeros((N_FAMILIES, N_GENES))
    for f in range(N_FAMILIES):
        out[f, rng.choice(N_GENES, n_marker, replace=False)] = rng.normal(0, sd, n_marker)
    return out


def _signatures(values: np.ndarray, names: list[str], groups=None) -> AnnData:
    """Signatures with ``values`` as their statistic, grouped by ``cell_line``."""
    obs = pd.DataFrame(
        {"cell_line": groups if groups is not None else "L1", "condition": names, "reference": "DMSO"}, index=names
    )
    sig = AnnData(
        np.nan_to_num(values),
        obs=obs,
        var=pd.DataFrame(index=[f"g{i}" for i in range(values.shape[1])]),
        layers={"stat": values.copy(), "log2fc": values / 3},
    )
    sig.uns["de"] = {"groupby": "cell_line"}
    return sig


def _members(fingerprints: np.ndarray, seed: int, n_members: int, prefix: str) -> AnnData:
    """Members of every family: the fingerprint at a random strength (0.5-1.5) plus unit noise of their own."""
    rng = np.random.default_rng(seed)
    rows, names = [], []
    for f, fp in enumerate(fingerprints):
        for j in range(n_members):
            rows.append(fp * rng.uniform(0.5, 1.5) + rng.normal(0, 1, fp.size))
            names.append(f"{prefix}{f}_{j}")
    return _signatures(np.array(rows), names)


def _family(names: pd.Series) -> pd.Series:
    return names.str.extract(r"(\d+)_\d+$", expand=False).astype(int)


@pytest.fixture(scope="module")
def planted():
    """An atlas of 8 families × 5 members, and one new member per family from an independent draw."""
    fp = _fingerprints()
    return _members(fp, 1, 5, "fam"), _members(fp, 2, 1, "new")


@pytest.mark.parametrize("method", ["spearman", "wks"])
def test_new_members_find_their_family(planted, method):
    atlas, queries = planted
    out = dp.tl.query(queries, atlas, method=method, verbose=False, copy=True)
    tab = dp.get.query_table(out)
    first = tab[tab["rank"] == 1]
    assert len(first) == N_FAMILIES
    hits = (_family(first["query"]).to_numpy() == _family(first["reference"]).to_numpy()).sum()
    assert hits >= 7  # measured: 8 of 8 with both methods
    own = tab[_family(tab["query"]) == _family(tab["reference"])]
    assert (own["padj"] < 0.05).mean() > 0.5  # most of the family is called (measured: 62 %, wks 85 %)
    assert (own["direction"] == "similar").all()
    assert tab.groupby("query", observed=True).size().eq(atlas.n_obs).all()
    assert (tab["n_genes"] == 200).all()


def test_spearman_and_wks_agree_on_the_family(planted):
    atlas, queries = planted
    best = {}
    for method in ("spearman", "wks"):
        out = dp.tl.query(queries, atlas, method=method, verbose=False, copy=True)
        tab = dp.get.query_table(out)
        mean = tab.assign(family=_family(tab["reference"])).groupby(["query", "family"])["score"].mean()
        best[method] = mean.groupby(level="query").idxmax().map(lambda k: k[1])
    pd.testing.assert_series_equal(best["spearman"], best["wks"])


def test_reversed_signature_reverses_its_family(planted):
    atlas, queries = planted
    names = [f"rev{f}_0" for f in range(N_FAMILIES)]
    rev = _signatures(-queries.layers["stat"], names)
    for method in ("spearman", "wks"):
        dp.tl.query(rev, atlas, method=method, verbose=False)
        tab = dp.get.query_table(rev)
        last = tab.loc[tab.groupby("query")["rank"].idxmax()]
        assert (_family(last["query"]).to_numpy() == _family(last["reference"]).to_numpy()).all()
        assert (last["direction"] == "reversing").all()
        assert (last["padj"] < 0.05).sum() >= 5  # measured: 6 of 8 (spearman), 8 of 8 (wks)


def _shuffled(atlas: AnnData, n: int, seed: int = 0) -> AnnData:
    """``n`` gene-shuffled signatures: members of the atlas with their values permuted over the genes."""
    rng = np.random.default_rng(seed)
    values = atlas.layers["stat"]
    rows = np.array([rng.permutation(values[s % atlas.n_obs]) for s in range(n)])
    return _signatures(rows, [f"null{s}_0" for s in range(n)])


def test_gene_shuffled_queries_find_nothing(planted):
    """The null the p-values rest on: gene-shuffled queries against the 40 entries. Under it (all entries null)
    Benjamini-Hochberg calls anything with probability at most 5 %, so "no call in >= 95 % of queries" holds on
    average, not in every sample of 100: 1,000 queries are measured (5.2 %; 4.4 % and 4.7 % with seeds 1 and 2),
    and their pooled p-values are uniform."""
    atlas, _ = planted
    null = _shuffled(atlas, 1000)
    dp.tl.query(null, atlas, verbose=False)
    tab = dp.get.query_table(null)
    called = tab.groupby("query")["padj"].min() < 0.05
    assert called.mean() <= 0.065  # 5 % + 2 binomial standard errors
    p = tab["pvalue"].to_numpy()
    assert 0.045 <= (p < 0.05).mean() <= 0.055  # measured 0.0497
    assert 0.007 <= (p < 0.01).mean() <= 0.013
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.9 < tab["score"].var() < 1.1  # z-scores: variance 1 under the gene permutation


def test_wks_null_is_calibrated(planted):
    atlas, _ = planted
    null = _shuffled(atlas, 100, seed=1)
    dp.tl.query(null, atlas, method="wks", n_perm=500, verbose=False)
    tab = dp.get.query_table(null)
    assert (tab.groupby("query")["padj"].min() < 0.05).sum() <= 7
    p = tab["pvalue"].to_numpy()
    assert 0.03 <= (p < 0.05).mean() <= 0.07
    assert p.min() >= 1 / 501  # bounded below by 1 / (n_perm + 1)


def test_normal_approximation_of_the_permutation_null():
    """Spearman over m = 200 genes of 4,000 random permutations of one query against one entry: the score has
    variance 1 and the normal p-values are uniform (slightly conservative in the tails)."""
    rng = np.random.default_rng(3)
    entry = _signatures(rng.normal(size=(1, 400)), ["e0_0"])
    base = rng.standard_t(3, 400)
    queries = _signatures(np.array([rng.permutation(base) for _ in range(4000)]), [f"q{i}_0" for i in range(4000)])
    dp.tl.query(queries, entry, verbose=False)
    tab = dp.get.query_table(queries)
    assert abs(tab["score"].var() - 1) < 0.06 and abs(tab["score"].mean()) < 0.05
    for level in (0.05, 0.01):
        assert abs((tab["pvalue"] < level).mean() - level) < 3.5 * np.sqrt(level * (1 - level) / 4000)


def test_spearman_equals_scipy_with_ties_and_untested_genes():
    rng = np.random.default_rng(4)
    values = np.round(rng.normal(size=(6, 300)), 1)  # many ties
    values[1:, rng.choice(300, 60, replace=False)] = np.nan  # genes some entries did not test
    values[3, :290] = np.nan  # an entry with too few genes left: not scored
    atlas = _signatures(values, [f"e{i}_0" for i in range(6)])
    query = _signatures(np.round(rng.normal(size=(1, 300)), 1), ["q0_0"])
    dp.tl.query(query, atlas, n_genes=40, verbose=False)
    tab = dp.get.query_table(query).set_index("reference")
    q = query.layers["stat"][0]
    up, down = _query._moving(q, 40)
    genes = np.concatenate([up, down])
    assert q[up].min() >= q[down].max() and up.size == down.size == 40
    assert "e3_0" not in tab.index
    for e in ("e0_0", "e1_0", "e2_0", "e4_0", "e5_0"):
        a = values[int(e[1])][genes]
        ok = np.isfinite(a)
        r = stats.spearmanr(q[genes][ok], a[ok])[0]
        assert tab.loc[e, "r"] == pytest.approx(r, abs=1e-12)
        assert tab.loc[e, "n_genes"] == ok.sum()
        z = r * np.sqrt(ok.sum() - 1)
        assert tab.loc[e, "score"] == pytest.approx(z) and tab.loc[e, "pvalue"] == pytest.approx(
            2 * stats.norm.sf(abs(z))
        )
    np.testing.assert_allclose(tab["padj"], stats.false_discovery_control(tab["pvalue"].to_numpy(), method="bh"))


def test_wks_scores_equal_gsea_enrichment():
    """ES of the up and down sets in each entry's ranked list equals the preranked GSEA kernel's, and WTCS
    follows CMap's rule."""
    rng = np.random.default_rng(5)
    values = rng.normal(size=(4, 500))
    values[2, rng.choice(500, 50, replace=False)] = np.nan
    prep = _query._prepare(values, "wks")
    q = rng.normal(size=500)
    up, down = _query._moving(q, 25)
    wtcs = _query._wtcs(prep, up[None, :], down[None, :], None)[0]
    for e in range(4):
        ranked = gsea.rank(values[e])
        where = {g: i for i, g in enumerate(ranked)}
        es = []
        for genes in (up, down):
            positions = np.sort([where[g] for g in genes if g in where])[None, :]
            es.append(gsea.enrichment(np.abs(values[e][ranked]), positions)["es"][0])
        expected = (es[0] - es[1]) / 2 if np.sign(es[0]) != np.sign(es[1]) else 0.0
        assert wtcs[e] == pytest.approx(expected, abs=1e-12)


def test_self_matches_are_left_out(planted):
    atlas, _ = planted
    renamed = atlas[:3].copy()
    renamed.obs_names = [f"other:{n}" for n in renamed.obs_names]  # the same signatures under another name
    both = ad.concat([atlas, renamed], merge="same")
    both.uns["de"] = {"groupby": "cell_line"}
    out = dp.tl.query(atlas, both, verbose=False, copy=True)  # every atlas row is itself in ``both``
    tab = dp.get.query_table(out)
    assert not (tab["query"] == tab["reference"]).any()
    assert not ((tab["query"] == "fam0_0") & (tab["reference"] == "other:fam0_0")).any()
    summary = out.uns["query"]["queries"].set_index("query")
    assert summary.loc["fam0_0", "n_self"] == 2 and summary.loc["fam1_0", "n_self"] == 1
    assert summary.loc["fam0_0", "n_compared"] == both.n_obs - 2
    assert (tab.groupby("query")["r"].max() < 0.99).all()


def test_same_group_and_n_top(planted):
    atlas, queries = planted
    lines = np.where(np.arange(atlas.n_obs) % 2 == 0, "A", "B")
    atlas = atlas.copy()
    atlas.obs["cell_line"] = lines
    queries = queries.copy()
    queries.obs["cell_line"] = "A"
    full = dp.tl.query(queries, atlas, verbose=False, copy=True)
    same = dp.tl.query(queries, atlas, same_group=True, verbose=False, copy=True)
    tab = dp.get.query_table(same)
    assert set(tab["group"]) == {"A"} and tab.groupby("query").size().eq(20).all()
    assert set(dp.get.query_table(full)["group"]) == {"A", "B"}
    queries.obs["cell_line"] = ["A"] * 7 + ["C"]
    with pytest.warns(UserWarning, match=r"1 query without an atlas entry.*\['new7_0'\]"):
        lonely = dp.tl.query(queries, atlas, same_group=True, verbose=False, copy=True)
    assert set(dp.get.query_table(lonely)["query"]) == {f"new{f}_0" for f in range(7)}
    top = dp.tl.query(queries, atlas, n_top=3, verbose=False, copy=True)
    small, everything = dp.get.query_table(top), dp.get.query_table(full)
    assert small.groupby("query").size().eq(6).all()
    assert set(small["rank"]) == {1, 2, 3, 38, 39, 40}
    merged = small.merge(everything, on=["query", "reference"], suffixes=("", "_all"))
    assert len(merged) == len(small)
    np.testing.assert_allclose(merged["padj"], merged["padj_all"])  # adjusted over every entry
    np.testing.assert_array_equal(merged["rank"], merged["rank_all"])


def test_table_contract_and_round_trip(planted, tmp_path):
    atlas, queries = planted
    out = dp.tl.query(queries, atlas, key_added="cmap", copy=True, verbose=False)
    assert "cmap" not in queries.uns and set(out.uns["cmap"]) == {"table", "queries", "params"}
    params = out.uns["cmap"]["params"]
    assert params["method"] == "spearman" and params["n_genes"] == 100 and "gene-shuffled" in params["null"]
    tab = dp.get.query_table(out, key="cmap")
    for col in ("query", "reference", "group", "condition", "score", "r", "n_genes", "pvalue", "padj", "direction"):
        assert col in tab
    assert tab["rank"].dtype == np.int32 and tab["query"].dtype == object
    one = dp.get.query_table(out, key="cmap", query="new3_0")
    assert set(one["query"]) == {"new3_0"} and list(one["rank"]) == list(range(1, atlas.n_obs + 1))
    assert one["score"].is_monotonic_decreasing
    with pytest.raises(KeyError, match=r"query 'nope' is not in sig.uns\['cmap'\]"):
        dp.get.query_table(out, key="cmap", query="nope")
    with pytest.raises(KeyError, match=r"uns\['query'\].*run dp\.tl\.query\(sig\) first"):
        dp.get.query_table(_signatures(np.zeros((1, 20)), ["x0_0"]))
    out.write_h5ad(tmp_path / "q.h5ad")
    back = dp.get.query_table(ad.read_h5ad(tmp_path / "q.h5ad"), key="cmap")
    pd.testing.assert_frame_equal(back, tab)


def test_errors(planted):
    atlas, queries = planted
    with pytest.raises(KeyError, match=r"sig\.layers has no 'zscore'"):
        dp.tl.query(queries, atlas, layer="zscore")
    bad = atlas.copy()
    del bad.layers["log2fc"]
    with pytest.raises(KeyError, match=r"atlas\.layers has no 'log2fc'"):
        dp.tl.query(queries, bad, layer="log2fc")
    other = atlas.copy()
    other.var_names = [f"ENSG{i}" for i in range(other.n_vars)]
    with pytest.raises(ValueError, match=r"share 0 gene\(s\) by var_names.*at least 10"):
        dp.tl.query(queries, other)
    with pytest.raises(ValueError, match=r"atlas holds no signature \(0 rows\)"):
        dp.tl.query(queries, atlas[:0].copy())
    with pytest.raises(ValueError, match="Unknown method 'cosine'"):
        dp.tl.query(queries, atlas, method="cosine")
    for bad in (2, 40_000, 7.5):
        with pytest.raises(ValueError, match="n_genes must be an integer from 5 to 32767"):
            dp.tl.query(queries, atlas, n_genes=bad)
    with pytest.raises(ValueError, match="n_top must be None or a positive integer"):
        dp.tl.query(queries, atlas, n_top=0)
    sparse_query = queries[:2].copy()
    sparse_query.layers["stat"][0, 5:] = np.nan  # five finite genes: too few to score
    with pytest.warns(UserWarning, match=r"1 query with fewer than 10 finite values.*not scored: \['new0_0'\]"):
        dp.tl.query(sparse_query, atlas, verbose=False)
    assert set(dp.get.query_table(sparse_query)["query"]) == {"new1_0"}
    sparse_query.layers["stat"][1, 5:] = np.nan
    with pytest.raises(ValueError, match="No query has 10 finite values"):
        dp.tl.query(sparse_query, atlas, verbose=False)


def test_wks_pvalues_stay_in_range_for_strong_matches(planted):
    """A query far beyond every null score (an entry with a little noise) gets the smallest p-value the
    permutations allow, 1 / (n_perm + 1), and no more."""
    atlas, _ = planted
    rng = np.random.default_rng(6)
    twins = _signatures(atlas.layers["stat"][:3] + rng.normal(0, 0.05, (3, N_GENES)), ["t0_0", "t1_0", "t2_0"])
    dp.tl.query(twins, atlas, method="wks", n_perm=200, verbose=False)
    tab = dp.get.query_table(twins)
    assert tab["pvalue"].between(1 / 201, 1).all() and tab["padj"].between(1 / 201, 1).all()
    first = tab[tab["rank"] == 1]
    assert list(first["reference"]) == ["fam0_0", "fam0_1", "fam0_2"]
    assert (first["pvalue"] == 1 / 201).all()


@pytest.mark.parametrize("method", ["spearman", "wks"])
def test_kang2018_interferon_response_is_shared_across_cell_types(method):
    """Real PBMCs, IFN-β vs control (Kang et al. 2018, 2 donors): the interferon response is shared by every cell
    type, so each cell type's signature resembles every other's; the two monocyte subsets are each other's
    closest match."""
    from tests.conftest import kang_cells

    adata = kang_cells()
    adata.obs["donor"] = adata.obs["sample_id"].str[-3:]
    pdata = dp.pp.pseudobulk(adata, sample_key="sample_id", groupby="cluster_id")
    sig = dp.tl.de(pdata, "group_id", "ctrl", "cluster_id", ["donor"], method="voom", verbose=False)
    dp.tl.query(sig, sig, method=method, verbose=False)
    tab = dp.get.query_table(sig)
    assert len(tab) == sig.n_obs * (sig.n_obs - 1)  # every other cell type, never itself
    assert (tab["direction"] == "similar").all() and (tab["padj"] < (1e-10 if method == "spearman" else 0.01)).all()
    first = tab[tab["rank"] == 1].set_index("query")["reference"]
    assert first["CD14+ Monocytes|stim vs ctrl"] == "FCGR3A+ Monocytes|stim vs ctrl"
    assert first["FCGR3A+ Monocytes|stim vs ctrl"] == "CD14+ Monocytes|stim vs ctrl"


def test_new_family_members_find_their_family_in_a_screen_atlas():
    """The issue's check on the simulated screen: new members of each family (an independent screen) against an
    atlas of the first screen's signatures rank a member of their own family first in at least 6 of 8 families."""
    kw = {"n_genes": 1500, "cell_lines": 2, "random_state": 5}
    fit = {"condition_key": "compound", "covariates": ["replicate"], "method": "voom", "verbose": False}
    first = dp.datasets.screen(40, **kw)
    new = dp.datasets.screen(40, new_members=1, **kw)
    atlas = dp.tl.de(first, **fit)
    queries = dp.tl.de(new, **fit)
    dp.tl.query(queries, atlas, same_group=True, verbose=False)
    tab = dp.get.query_table(queries)
    family = first.uns["screen_truth"]["compounds"]["family"]
    new_family = new.uns["screen_truth"]["compounds"]["family"]
    hits = {}
    for q, rows in tab.groupby("query", sort=False):
        top = rows.sort_values("score", ascending=False).iloc[0]
        compound = str(q).split("|")[1].split(" vs ")[0]
        hits.setdefault(new_family[compound], []).append(family[str(top["condition"])] == new_family[compound])
    per_family = {f: np.mean(v) >= 0.5 for f, v in hits.items()}
    assert len(per_family) == 8
    assert sum(per_family.values()) >= 6


def test_wks_pvalue_equals_its_definition_and_does_not_depend_on_other_queries():
    """p = (1 + #{|null NCS| >= |NCS|}) / (n_perm + 1) per entry, with the null redrawn here by hand (random up and
    down sets of the query's sizes, NCS normalised by the entry's mean null WTCS of each sign); a query scores the
    same alone and among queries with other set sizes."""
    rng = np.random.default_rng(0)
    atlas = _signatures(rng.normal(size=(6, 300)), [f"e{i}" for i in range(6)])
    values = rng.normal(size=(3, 300))
    values[1, :250] = np.nan  # 50 finite genes: sets of 20, not 25
    queries = _signatures(values, ["q0", "q1", "q2"])
    kw = {"method": "wks", "n_perm": 200, "n_genes": 25, "random_state": 1, "verbose": False}
    dp.tl.query(queries, atlas, **kw)
    tab = dp.get.query_table(queries)
    prep = _query._prepare(atlas.layers["stat"], "wks")
    draws = np.random.default_rng([1, 25, 25])
    drawn = np.stack([draws.choice(300, 50, replace=False) for _ in range(200)])
    null = _query._wtcs(prep, drawn[:, :25], drawn[:, 25:], None)
    pos = np.array([null[:, e][null[:, e] > 0].mean() for e in range(6)])
    neg = np.array([-null[:, e][null[:, e] < 0].mean() for e in range(6)])
    null_ncs = np.abs(_query._normalise(null, pos, neg))
    for name in ("q0", "q2"):
        up, down = _query._moving(queries[name].layers["stat"][0], 25)
        ncs = _query._normalise(_query._wtcs(prep, up[None], down[None], None)[0], pos, neg)
        p = (1 + (null_ncs >= np.abs(ncs)[None]).sum(axis=0)) / 201
        got = tab[tab["query"] == name].set_index("reference").loc[[f"e{i}" for i in range(6)]]
        np.testing.assert_allclose(got["score"], ncs, rtol=1e-12)
        np.testing.assert_allclose(got["pvalue"], p, rtol=1e-12)
    alone = queries[["q1"]].copy()  # in the batch, its null (sets of 20) is drawn after that of q0 (25)
    dp.tl.query(alone, atlas, **kw)
    pd.testing.assert_frame_equal(
        dp.get.query_table(alone).drop(columns="query"),
        tab[tab["query"] == "q1"].drop(columns="query").reset_index(drop=True),
        check_categorical=False,
    )


def test_shared_control_is_flagged_and_independent_experiments_hold_the_rate():
    """Inactive compounds of a simulated screen (co-varying gene modules, plate and replicate effects): against
    each other, tested against the same DMSO, nearly every pair is 'similar' — flagged and warned about; against
    the inactive compounds of an independent screen, p < 0.05 in about 5 % of pairs."""
    fit = {"condition_key": "compound", "covariates": ["replicate", "plate"], "method": "voom", "verbose": False}
    kw = {"cell_lines": 1, "n_genes": 1200}

    def inactive(random_state: int) -> AnnData:
        pdata = dp.datasets.screen(60, random_state=random_state, **kw)
        compounds = pdata.uns["screen_truth"]["compounds"]
        sig = dp.tl.de(pdata, **fit)
        keep = sig.obs["condition"].astype(str).isin(compounds.index[~compounds["active"].astype(bool)])
        return sig[keep.to_numpy()].copy()

    first, second = inactive(0), inactive(1)
    second.obs_names = "other:" + second.obs_names
    with pytest.warns(UserWarning, match=r"same control in the same study"):
        dp.tl.query(first, first, verbose=False)
    within = dp.get.query_table(first)
    assert len(within) > 100 and within["shared_control"].all()
    assert (within["padj"] < 0.05).mean() > 0.9  # what the flag is for
    dp.tl.query(second, first, verbose=False)
    across = dp.get.query_table(second)
    assert len(across) > 200 and not across["shared_control"].any()
    assert (across["pvalue"] < 0.05).mean() < 0.1
