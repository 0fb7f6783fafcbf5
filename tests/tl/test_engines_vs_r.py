"""drugprint's DE engines against R (limma 3.54, edgeR 3.40, DESeq2 1.38), from tests/data/make_reference.R."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import drugprint as dp
from drugprint.tl._stats.filter import filter_by_expr as _filter_genes
from drugprint.tl._stats.voom import tmm_factors

DATA = Path(__file__).parents[1] / "data"


def _ref(name):
    return pd.read_csv(DATA / f"{name}.csv.gz", index_col=0)


def _row(sig, name):
    return pd.DataFrame(
        {k: sig[name].layers[k][0] for k in ("log2fc", "stat", "pvalue", "padj", "base_mean")}, index=sig.var_names
    )


@pytest.fixture(scope="module")
def all_microarray():
    """ALL (Chiaretti et al. 2004): 1,000 probes, B-lineage NEG / BCR-ABL / ALL1-AF4, sex recorded."""
    return dp.io.read_microarray(DATA / "all_expr.csv.gz", samples=DATA / "all_samples.csv", collapse=None)


@pytest.fixture(scope="module")
def screen_counts():
    return dp.io.read_counts(DATA / "screen_myeloma_counts.csv.gz", samples=DATA / "screen_myeloma_samples.csv")


def test_limma_equals_r_on_all(all_microarray):
    sig = dp.tl.de(
        all_microarray,
        condition_key="mol_biol",
        control="NEG",
        groupby=None,
        covariates=["sex"],
        method="limma",
        contrasts=[("BCR/ABL", "NEG"), ("BCR/ABL", "ALL1/AF4")],
        reduced="~ sex",  # moderated F over both subtypes, tests/data/make_designs_reference.R
        verbose=False,
    )
    assert sig.uns["de"]["fits"]["design"].iloc[0] == "~ sex + mol_biol"
    for name, ref in (
        ("all|BCR/ABL vs NEG", "limma_all_bcrabl_vs_neg"),
        ("all|BCR/ABL vs ALL1/AF4", "limma_all_bcrabl_vs_all1af4"),
    ):
        r = _ref(ref)
        ours = _row(sig, name).loc[r.index]
        assert np.abs(ours["log2fc"] - r["logFC"]).max() < 1e-6
        assert np.corrcoef(ours["stat"], r["t"])[0, 1] > 0.999
        np.testing.assert_allclose(ours["stat"], r["t"], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ours["pvalue"], r["P.Value"], rtol=1e-8, atol=1e-14)
        np.testing.assert_allclose(ours["padj"], r["adj.P.Val"], rtol=1e-8, atol=1e-14)
        np.testing.assert_allclose(ours["base_mean"], r["AveExpr"], rtol=1e-10)
    r = _ref("designs_limma_all_f")  # written to 8 significant digits
    ours = _row(sig, "all|~ sex + mol_biol vs ~ sex").loc[r.index]
    np.testing.assert_allclose(ours["stat"], r["F"], rtol=1e-7)
    np.testing.assert_allclose(ours["pvalue"], r["P.Value"], rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(ours["padj"], r["adj.P.Val"], rtol=1e-6, atol=1e-14)


def test_filter_and_tmm_equal_edger(screen_counts):
    kept = (DATA / "edger_filterbyexpr_kept.txt").read_text().split()
    mask = _filter_genes(screen_counts.to_df(), screen_counts.obs["drug"])
    assert set(screen_counts.var_names[mask]) == set(kept)
    ref = pd.read_csv(DATA / "edger_tmm_factors.csv")
    ours = tmm_factors(screen_counts[:, kept].X.T.astype(float))
    np.testing.assert_allclose(ours, ref["norm_factor"], rtol=1e-10)


def test_voom_equals_r(screen_counts):
    sig = dp.tl.de(
        screen_counts,
        groupby=None,
        method="voom",
        verbose=False,
        contrasts=[("mezigdomide", "DMSO"), ("pomalidomide", "lenalidomide")],
    )
    for name, ref in (
        ("all|mezigdomide vs DMSO", "voom_mezigdomide_vs_dmso"),
        ("all|pomalidomide vs lenalidomide", "voom_pomalidomide_vs_lenalidomide"),
    ):
        r = _ref(ref)
        ours = _row(sig, name).loc[r.index]
        assert ours["stat"].notna().all() and len(r) == sig.obs.loc[name, "n_genes_tested"]
        np.testing.assert_allclose(ours["log2fc"], r["logFC"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(ours["stat"], r["t"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(ours["padj"], r["adj.P.Val"], rtol=1e-5, atol=1e-12)


@pytest.fixture(scope="module")
def deseq2_sig(screen_counts):
    return dp.tl.de(screen_counts, groupby=None, method="deseq2", verbose=False)


@pytest.mark.parametrize("drug", ["lenalidomide", "mezigdomide"])
def test_deseq2_agrees_with_r(deseq2_sig, drug):
    sig = deseq2_sig
    r = _ref(f"deseq2_{drug}_vs_dmso")
    ours = _row(sig, f"all|{drug} vs DMSO").loc[r.index]
    assert np.corrcoef(ours["log2fc"], r["log2FoldChange"])[0, 1] > 0.99
    ours_called, r_called = set(r.index[ours["padj"] < 0.05]), set(r.index[r["padj"] < 0.05])
    assert len(r_called) > 20
    assert len(ours_called & r_called) / len(ours_called | r_called) > 0.95  # identical today; slack for BLAS
    expressed = r["baseMean"] > 10
    assert (ours.loc[expressed, "log2fc"] - r.loc[expressed, "log2FoldChange"]).abs().median() < 0.01


def test_ttest_is_welch_on_log_cpm(screen_counts):
    """Counts get edgeR's filter; each kept gene is Welch's t on log-CPM (library sizes of the kept genes)."""
    from scipy import stats

    sig = dp.tl.de(screen_counts, groupby=None, method="ttest", verbose=False, contrasts=[("mezigdomide", "DMSO")])
    row = _row(sig, "all|mezigdomide vs DMSO")
    kept = (DATA / "edger_filterbyexpr_kept.txt").read_text().split()
    assert set(row.index[row["stat"].notna()]) == set(kept) and len(kept) < sig.n_vars
    x = screen_counts.to_df()
    all_zero = x.columns[x.sum(axis=0) == 0]
    assert len(all_zero) > 0 and row.loc[all_zero].isna().all().all()
    x = x[kept]
    lcpm = np.log2((x + 0.5).div(x.sum(axis=1) + 1, axis=0) * 1e6)
    a, b = lcpm[screen_counts.obs["drug"] == "mezigdomide"], lcpm[screen_counts.obs["drug"] == "DMSO"]
    t = stats.ttest_ind(a, b, equal_var=False, axis=0)
    ours = row.loc[kept]
    np.testing.assert_allclose(ours["stat"], t.statistic, rtol=1e-10)
    np.testing.assert_allclose(ours["pvalue"], t.pvalue, rtol=1e-10)
    np.testing.assert_allclose(ours["log2fc"], a.mean() - b.mean(), rtol=1e-10, atol=1e-12)
    assert ours.loc["MYC", "log2fc"] < 0  # MYC falls in myeloma cells


def test_log_scale_signatures_flow_into_pathways(screen, all_microarray):
    """A microarray-like log table (simulated myeloma profiles as log2-CPM) through limma and decoupler."""
    pb = dp.pp.pseudobulk(screen[screen.obs["cell_type"] == "Myeloma"].copy())
    lib = pb.X.sum(axis=1, keepdims=True)
    logged = pb.copy()
    logged.X = np.log2(pb.X / lib * 1e6 + 1)
    keep = (pb.X >= 10).mean(axis=0) > 0.7
    logged = logged[:, keep].copy()
    sig = dp.tl.de(logged, method="limma", verbose=False)
    assert sig.uns["de"]["scale"] == "log values"
    dp.tl.pathways(sig, "hallmark", min_fraction=0)
    ifn = sig.obsm["pathways"]["HALLMARK_INTERFERON_ALPHA_RESPONSE"]
    assert ifn["Myeloma|mezigdomide vs DMSO"] > ifn["Myeloma|thalidomide vs DMSO"] > 0


def test_engine_input_checks(all_microarray, screen_counts):
    with pytest.raises(ValueError, match="needs raw counts"):
        dp.tl.de(
            all_microarray,
            condition_key="mol_biol",
            control="NEG",
            groupby=None,
            covariates=[],
            method="voom",
            verbose=False,
        )
    with pytest.warns(UserWarning, match="looks like raw counts"):
        dp.tl.de(screen_counts, groupby=None, method="limma", verbose=False, contrasts=[("mezigdomide", "DMSO")])
