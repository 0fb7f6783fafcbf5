"""dp.tl.signature_score: the singscore formula, its independence of normalisation, gene selection and matching."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

import drugprint as dp


def _cohort(n=30, n_genes=40, seed=0) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 50.0, (n, n_genes))
    return ad.AnnData(x, obs=pd.DataFrame(index=[f"p{i}" for i in range(n)]), var=pd.DataFrame(index=_genes(n_genes)))


def _genes(n):
    return [f"G{i}" for i in range(n)]


def _by_hand(x: np.ndarray, up: list[int], down: list[int]) -> np.ndarray:
    """Foroutan et al. (2018), written out: rescaled mean ranks, centred, up + down."""
    n_genes = x.shape[1]
    out = []
    for row in x:
        r = rankdata(row)
        total = 0.0
        for idx, ranks in ((up, r), (down, n_genes + 1 - r)):
            n = len(idx)
            if not n:
                continue
            lo, hi = (n + 1) / 2, (2 * n_genes - n + 1) / 2
            total += (ranks[idx].mean() - lo) / (hi - lo) - 0.5
        out.append(total)
    return np.array(out)


def test_score_is_singscore_and_independent_of_normalisation():
    cohort = _cohort()
    up, down = [0, 3, 5, 7, 9], [1, 2, 4]
    sets = {"s": {"up": [f"G{i}" for i in up], "down": [f"G{i}" for i in down]}}
    dp.tl.signature_score(cohort, sets)
    np.testing.assert_allclose(cohort.obs["signature_score"], _by_hand(cohort.X, up, down), atol=1e-12)
    # library sizes, TPM-like scaling, log, a per-sample monotone transform: the ranks and so the score stay
    scaled = cohort.copy()
    scaled.X = np.log2(cohort.X * np.linspace(0.2, 5, cohort.n_obs)[:, None] + 1)
    dp.tl.signature_score(scaled, sets)
    np.testing.assert_allclose(scaled.obs["signature_score"], cohort.obs["signature_score"], atol=1e-12)


def test_extreme_samples_score_plus_and_minus_one():
    x = np.tile(np.arange(1.0, 21.0), (2, 1))
    x[1] = x[1][::-1]
    cohort = ad.AnnData(x, var=pd.DataFrame(index=_genes(20)))
    dp.tl.signature_score(cohort, {"s": {"up": ["G19", "G18"], "down": ["G0", "G1"]}}, min_genes=4)
    np.testing.assert_allclose(cohort.obs["signature_score"], [1.0, -1.0])


def test_counts_with_ties_and_sparse_matrices():
    from scipy import sparse

    cohort = _cohort()
    cohort.X = np.floor(cohort.X / 60)  # many zeros and ties
    sets = {"s": ["G1", "G2", "G3", "G4", "G5"]}
    dense = dp.tl.signature_score(cohort, sets, copy=True).obs["signature_score"]
    cohort.X = sparse.csr_matrix(cohort.X)
    np.testing.assert_allclose(dp.tl.signature_score(cohort, sets, copy=True).obs["signature_score"], dense)
    assert dense.between(-0.5, 0.5).all()  # up genes only


def _signatures() -> ad.AnnData:
    genes = _genes(40)
    lfc = np.zeros((2, 40))
    padj = np.ones((2, 40))
    lfc[0, :8], padj[0, :8] = 2.0, np.linspace(1e-6, 0.04, 8)  # 8 up, ordered by padj
    lfc[0, 8:12], padj[0, 8:12] = -1.5, 0.001  # 4 down
    lfc[0, 12], padj[0, 12] = 3.0, 0.2  # not significant
    lfc[1, 20:30], padj[1, 20:30] = 1.0, 0.01
    obs = pd.DataFrame({"condition": ["drugA", "drugB"], "reference": "DMSO"}, index=["A", "B"])
    return ad.AnnData(lfc, obs=obs, var=pd.DataFrame(index=genes), layers={"log2fc": lfc, "padj": padj})


def test_signatures_give_their_called_genes_most_significant_first():
    cohort, sig = _cohort(), _signatures()
    dp.tl.signature_score(cohort, sig, n_genes=5)
    assert list(cohort.obs.columns) == ["signature_score_A", "signature_score_B"]
    genes = dp.get.signature_score_table(cohort, genes=True)
    a = genes[genes["signature"] == "A"]
    assert a.loc[a["direction"] == "up", "gene"].tolist() == ["G0", "G1", "G2", "G3", "G4"]  # top 5 by padj
    assert sorted(a.loc[a["direction"] == "down", "gene"]) == ["G10", "G11", "G8", "G9"]
    np.testing.assert_allclose(cohort.obs["signature_score_A"], _by_hand(cohort.X, [0, 1, 2, 3, 4], [8, 9, 10, 11]))
    table = dp.get.signature_score_table(cohort)
    assert table[["n_up", "n_down"]].values.tolist() == [[5, 4], [5, 0]]


def test_missing_genes_recorded_and_too_few_skipped_with_a_warning():
    cohort = _cohort()
    sets = {"ok": ["G1", "G2", "G3", "G4", "G5", "NOPE1"], "few": ["G6", "G7", "NOPE2", "NOPE3"]}
    with pytest.warns(UserWarning, match=r"Not scored.*\['few'\]"):
        dp.tl.signature_score(cohort, sets, min_genes=5)
    table = dp.get.signature_score_table(cohort).set_index("signature")
    assert table.loc["ok", "n_up_missing"] == 1 and table.loc["ok", "column"] == "signature_score_ok"
    assert not table.loc["few", "scored"] and table.loc["few", "column"] == ""
    assert "signature_score_few" not in cohort.obs
    with pytest.raises(ValueError, match=r"No signature has 5 or more genes.*cohort's like \['G0', 'G1', 'G2'\]"):
        dp.tl.signature_score(cohort, {"x": ["A1", "A2"]})


def test_ensembl_cohort_meets_symbols_through_a_var_column():
    cohort = _cohort()
    symbols = cohort.var_names.tolist()
    cohort.var_names = [f"ENSG{i:011d}.3" for i in range(cohort.n_vars)]
    cohort.var["symbol"] = symbols
    dp.tl.signature_score(cohort, {"s": symbols[:6]})
    np.testing.assert_allclose(cohort.obs["signature_score"], _by_hand(cohort.X, list(range(6)), []))
    assert cohort.uns["signature_score"]["params"]["matched_by"] == "var['symbol']"


def test_nets_collections_and_bad_input():
    cohort = _cohort()
    net = pd.DataFrame({"source": "s", "target": ["G0", "G1", "G2", "G3"], "weight": [1.0, 1.0, -1.0, -2.0]})
    dp.tl.signature_score(cohort, net, min_genes=4)
    np.testing.assert_allclose(cohort.obs["signature_score"], _by_hand(cohort.X, [0, 1], [2, 3]))
    with pytest.raises(ValueError, match="both up and down"):
        dp.tl.signature_score(cohort, {"s": {"up": ["G0", "G1"], "down": ["G1"]}})
    with pytest.raises(KeyError, match="not in sig"):
        dp.tl.signature_score(cohort, net, signatures=["t"])
    bad = cohort.copy()
    bad.X[2, 5] = np.nan
    with pytest.raises(ValueError, match=r"1 missing or infinite values \(first: sample 'p2', gene 'G5'\)"):
        dp.tl.signature_score(bad, {"s": ["G0", "G1", "G2", "G3", "G4"]})
    with pytest.raises(TypeError, match="not the string"):
        dp.tl.signature_score(cohort, {"s": "G0"})


def test_hallmark_sets_by_name():
    genes = dp.datasets.gene_universe()
    rng = np.random.default_rng(0)
    cohort = ad.AnnData(rng.normal(8, 1, (20, len(genes))), var=pd.DataFrame(index=genes))
    dp.tl.signature_score(cohort, "hallmark", signatures=["HALLMARK_INTERFERON_ALPHA_RESPONSE"])
    table = dp.get.signature_score_table(cohort)
    assert table["n_up"].item() == 97 and table["n_up_missing"].item() == 0


def test_planted_cohort_score_equals_the_tool_on_a_de_signature(sig_all):
    name = "Myeloma|lenalidomide vs DMSO"
    cohort = dp.datasets.survival_cohort(sig_all, name, n_patients=40, random_state=3)
    out = dp.tl.signature_score(cohort, sig_all, signatures=[name], copy=True)
    np.testing.assert_allclose(out.obs["signature_score"], cohort.obs["planted_score"], atol=1e-12)
    assert "signature_score" not in cohort.obs  # copy=True left the input alone
