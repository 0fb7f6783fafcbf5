import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import drugprint as dp
from drugprint.datasets import DRUGS


def test_signatures_contract(sig_all, pdata):
    sig = sig_all
    assert sig.n_obs == 6 * 5
    assert sig.obs_names[0] == "CD4 T|thalidomide vs DMSO"
    for col in (
        "cell_type",
        "condition",
        "reference",
        "contrast",
        "n_profiles",
        "n_cells",
        "n_genes_tested",
        "dose",
        "time",
    ):
        assert col in sig.obs
    assert (sig.obs["reference"] == "DMSO").all()
    assert list(sig.obs["cell_type"].cat.categories) == list(pdata.obs["cell_type"].cat.categories)
    assert "donor" not in sig.obs  # varies within a contrast
    for layer in ("log2fc", "lfcse", "stat", "pvalue", "padj", "base_mean"):
        assert sig.layers[layer].shape == sig.shape
    assert (sig.var_names == pdata.var_names).all()
    stat = sig.layers["stat"]
    np.testing.assert_array_equal(sig.X, np.nan_to_num(stat))
    # genes filtered in a group are NaN there, and the count matches n_genes_tested
    tested = np.isfinite(sig.layers["log2fc"]).sum(axis=1)
    np.testing.assert_array_equal(tested, sig.obs["n_genes_tested"].to_numpy())
    assert (tested < sig.n_vars).all()
    rec = sig.uns["de"]
    assert rec["method"] == "deseq2" and rec["covariates"] == ["donor"]
    assert set(rec["fits"]["group"]) == set(pdata.obs["cell_type"])
    assert (rec["fits"]["design"] == "~ donor + drug").all()
    assert "pydeseq2" in rec["versions"]


def _assert_equals_pydeseq2(sig, name, sub, meta, design, drug):
    """Row ``name`` of ``sig`` is the engine's fit of pydeseq2's own formula interface on the genes ``sig`` tested.

    pydeseq2 builds the design matrix from the formula and the contrast vector from the levels; both go through the
    same DESeq2 fit (:func:`~drugprint.tl._stats.deseq2.fit_deseq2`), so this checks our design matrix and contrast
    vectors.
    """
    import contextlib
    import io

    from pydeseq2.dds import DeseqDataSet

    from drugprint.tl._stats.deseq2 import fit_deseq2
    from drugprint.tl._stats.design import Design

    genes = sig.var_names[np.isfinite(sig[name].layers["log2fc"][0])]
    counts = pd.DataFrame(sub[:, genes].X.astype(int), index=sub.obs_names, columns=genes)
    with contextlib.redirect_stdout(io.StringIO()):
        dds = DeseqDataSet(counts=counts, metadata=meta, design=design, quiet=True)
    contrast = np.asarray(dds.contrast("drug", "DMSO", drug), dtype=float)  # (column, baseline, level)
    tables, _ = fit_deseq2(counts, Design(dds.obsm["design_matrix"].astype(float), design), {"t": contrast})
    ours = sig[name, genes]
    np.testing.assert_allclose(ours.layers["log2fc"].ravel(), tables["t"]["log2fc"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.layers["pvalue"].ravel(), tables["t"]["pvalue"], rtol=1e-5, atol=1e-12)


def test_one_fit_equals_pydeseq2_formula_api(pdata):
    """Our design matrix + contrast vectors give what pydeseq2's own formula interface gives."""
    sig = dp.tl.de(pdata, groups=["NK"], verbose=False)
    sub = pdata[pdata.obs["cell_type"] == "NK"]
    meta = sub.obs[["donor", "drug"]].astype(str)
    _assert_equals_pydeseq2(sig, "NK|pomalidomide vs DMSO", sub, meta, "~donor + drug", "pomalidomide")


def test_recovers_planted_gene_effects(sig_all, screen):
    truth = screen.uns["truth"]["gene_effects"]
    te = truth[(truth.cell_type == "Myeloma") & (truth.drug == "mezigdomide")].set_index("gene")["log2fc"]
    est = pd.Series(sig_all["Myeloma|mezigdomide vs DMSO"].layers["log2fc"][0], index=sig_all.var_names)
    common = te.index.intersection(est.dropna().index)
    assert len(common) > 200
    assert np.corrcoef(te[common], est[common])[0, 1] > 0.95
    # planted genes dominate the calls; unplanted genes are rarely called (FDR)
    padj = pd.Series(sig_all["Myeloma|mezigdomide vs DMSO"].layers["padj"][0], index=sig_all.var_names)
    called = padj[padj < 0.05].index
    assert len(called.intersection(te.index)) / len(called) > 0.9


def test_null_cell_type_has_few_calls(sig_all):
    b = sig_all[sig_all.obs["cell_type"] == "B"]
    n_called = (b.layers["padj"] < 0.05).sum(axis=1)
    assert n_called.max() <= 5  # no planted effect in B cells


def test_cytotoxicity_genes_called_in_nk(sig_all):
    row = sig_all["NK|mezigdomide vs DMSO"]
    for g in ("NKG7", "GZMB", "GZMA", "PRF1"):
        j = sig_all.var_names.get_loc(g)
        assert row.layers["padj"][0, j] < 0.05 and row.layers["log2fc"][0, j] > 0.5


def test_drug_vs_drug_contrast_from_same_fit(pdata):
    sig = dp.tl.de(
        pdata,
        groups=["Myeloma"],
        verbose=False,
        contrasts=[("pomalidomide", "DMSO"), ("lenalidomide", "DMSO"), ("pomalidomide", "lenalidomide")],
    )
    assert list(sig.obs["contrast"]) == ["pomalidomide vs DMSO", "lenalidomide vs DMSO", "pomalidomide vs lenalidomide"]
    lfc = sig.layers["log2fc"]
    np.testing.assert_allclose(lfc[2], lfc[0] - lfc[1], atol=1e-8, equal_nan=True)
    assert sig.obs["reference"].iloc[2] == "lenalidomide"


def test_continuous_covariate_and_no_groupby(pdata):
    sub = pdata[pdata.obs["cell_type"] == "NK", :2000].copy()  # 2,000 genes keep the two fits fast
    sub.obs["depth"] = np.log(sub.obs["n_cells"].to_numpy().astype(float))
    sig = dp.tl.de(sub, groupby=None, covariates=["donor", "depth"], verbose=False)
    assert sig.n_obs == len(DRUGS)
    assert sig.uns["de"]["fits"]["design"].iloc[0] == "~ donor + depth + drug"
    assert sig.obs_names[0] == "all|thalidomide vs DMSO"
    meta = sub.obs[["donor", "drug"]].astype(str).assign(depth=sub.obs["depth"])
    _assert_equals_pydeseq2(sig, "all|mezigdomide vs DMSO", sub, meta, "~donor + depth + drug", "mezigdomide")


def test_integer_group_categories(pdata):
    """Integer clusters as groupby: labelled as strings in their declared order, numbers as by name."""
    sub = pdata[pdata.obs["cell_type"].isin(["NK", "B"])].copy()
    codes = sub.obs["cell_type"].astype(str).map({"NK": 3, "B": 10}).astype(int)
    sub.obs["cluster"] = pd.Categorical(codes, categories=[3, 10])
    by_int = dp.tl.de(sub, groupby="cluster", method="voom", verbose=False)
    by_name = dp.tl.de(sub, groupby="cell_type", method="voom", verbose=False)
    assert list(by_int.obs["cluster"]) == ["3"] * len(DRUGS) + ["10"] * len(DRUGS)
    assert list(by_int.obs["cluster"].cat.categories) == ["3", "10"]
    assert by_int.obs_names[0] == "3|thalidomide vs DMSO"
    for code, name in (("3", "NK"), ("10", "B")):
        np.testing.assert_array_equal(
            by_int[by_int.obs["cluster"] == code].layers["log2fc"],
            by_name[by_name.obs["cell_type"] == name].layers["log2fc"],
        )


def test_match_values_with_slash(pdata):
    """match values containing "/" label rows correctly; uns records the user's pairs; numbers are per value."""
    from scipy import stats

    sub = pdata[pdata.obs["cell_type"] == "CD4 T"].copy()  # every condition × donor present
    sub.obs["time"] = np.where(sub.obs["donor"].isin(["D1", "D2"]), "6/h", "24/h")
    sig = dp.tl.de(sub, groupby=None, covariates=[], match="time", method="ttest", filter_genes=False, verbose=False)
    assert sig.uns["de"]["contrasts"] == [[d, "DMSO"] for d in DRUGS]
    assert sig.n_obs == 2 * len(DRUGS)
    name = "all|mezigdomide vs DMSO @ time=6/h"
    assert sig.obs.loc[name, "time"] == "6/h" and sig.obs.loc[name, "condition"] == "mezigdomide"
    assert "all|mezigdomide vs DMSO @ time=24/h" in sig.obs_names
    x = sub.to_df()
    lcpm = np.log2((x + 0.5).div(x.sum(axis=1) + 1, axis=0) * 1e6)
    drug, six = sub.obs["drug"], sub.obs["time"] == "6/h"
    t = stats.ttest_ind(lcpm[six & (drug == "mezigdomide")], lcpm[six & (drug == "DMSO")], equal_var=False, axis=0)
    nonzero = (x.sum(axis=0) > 0).to_numpy()
    stat = sig[name].layers["stat"][0]
    assert np.isnan(stat[~nonzero]).all() and (~nonzero).any()
    np.testing.assert_allclose(stat[nonzero], t.statistic[nonzero], rtol=1e-10)


def test_confounding_names_the_exact_covariate():
    """Only the confounded covariate is named, not those whose column names share its prefix (cov1 / cov10)."""
    from drugprint.tl._stats.design import DesignError, build_design

    meta = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 11)), columns=[f"c{i}" for i in range(11)])
    meta["drug"] = np.repeat(["DMSO", "x"], 15)
    meta["c10"] = (meta["drug"] == "x") * 2.0
    with pytest.raises(DesignError, match="confounded with covariate 'c10': "):
        build_design(meta, "~ " + " + ".join([*(f"c{i}" for i in range(11)), "drug"]), factor="drug", reference="DMSO")


def test_condition_with_one_replicate_is_skipped(pdata):
    sub = pdata[pdata.obs["cell_type"] == "NK"].copy()
    keep = ~((sub.obs["drug"] == "thalidomide") & (sub.obs["donor"] != "D1"))
    sub = sub[keep.to_numpy()].copy()
    sig = dp.tl.de(sub, verbose=False)
    assert "thalidomide" not in set(sig.obs["condition"])
    sk = sig.uns["de"]["skipped"]
    assert ((sk["what"] == "thalidomide") & sk["reason"].str.contains("min_replicates")).any()


def test_confounded_covariate_is_reported(pdata):
    sub = pdata[pdata.obs["cell_type"] == "NK"].copy()
    sub.obs["batch"] = np.where(sub.obs["drug"] == "DMSO", "b1", "b2")
    with pytest.raises(ValueError, match=r"No group could be tested.*confounded with covariate 'batch'"):
        dp.tl.de(sub, covariates=["donor", "batch"], verbose=False)


def test_bad_inputs(pdata):
    with pytest.raises(ValueError, match="levels present: DMSO"):
        dp.tl.de(pdata, control="vehicle", verbose=False)
    with pytest.raises(KeyError, match="'treatment'"):
        dp.tl.de(pdata, condition_key="treatment", verbose=False)
    with pytest.raises(ValueError, match="Unknown method 'edger'"):
        dp.tl.de(pdata, method="edger", verbose=False)
    with pytest.raises(ValueError, match="not a level"):
        dp.tl.de(pdata, contrasts=[("aspirin", "DMSO")], verbose=False)
    logged = AnnData(np.log1p(pdata.X), obs=pdata.obs, var=pdata.var)
    with pytest.raises(ValueError, match="needs raw counts"):
        dp.tl.de(logged, verbose=False)
    with pytest.raises(ValueError, match="groups"):
        dp.tl.de(pdata, groups=["Neutrophil"], verbose=False)
    with pytest.raises(KeyError, match="no column 'hour'"):
        dp.tl.de(pdata, match="hour", verbose=False)


def test_input_not_mutated(pdata):
    before = pdata.copy()
    dp.tl.de(pdata, groups=["B"], verbose=False)
    np.testing.assert_array_equal(pdata.X, before.X)
    pd.testing.assert_frame_equal(pdata.obs, before.obs)
    assert pdata.uns.keys() == before.uns.keys()


def test_parallel_groups_give_identical_results(pdata):
    one = dp.tl.de(pdata, method="voom", verbose=False)
    two = dp.tl.de(pdata, method="voom", n_jobs=2, verbose=False)
    for layer in one.layers:
        np.testing.assert_array_equal(one.layers[layer], two.layers[layer])
    assert list(one.obs_names) == list(two.obs_names)
    assert two.uns["de"]["n_jobs"] == 2


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg written out (R's p.adjust(method = "BH")), independent of the package's call."""
    order = np.argsort(p)
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1)
    out = np.empty_like(adj)
    out[order] = adj
    return out


def test_global_fdr_across_cell_types(sig_all):
    """padj_global: BH over every cell type's p-values of one contrast (muscat's p_adj.glb), on the genes each
    cell type's own filtering kept; with one cell type it is that cell type's padj."""
    from drugprint.tl._de.assemble import global_padj

    glob, p, padj = (np.asarray(sig_all.layers[k], dtype=float) for k in ("padj_global", "pvalue", "padj"))
    assert (np.isfinite(glob) == np.isfinite(padj)).all()
    for cond in ("lenalidomide", "mezigdomide"):
        rows = np.flatnonzero(sig_all.obs["condition"] == cond)
        assert rows.size == 6
        kept = np.isfinite(padj[rows])
        np.testing.assert_allclose(glob[rows][kept], _bh(p[rows][kept]), rtol=1e-12)
    b_cells = np.flatnonzero(sig_all.obs["cell_type"] == "B")  # nothing planted; programme noise, donor effects
    n_tests = np.isfinite(glob[b_cells]).sum()
    assert n_tests > 5000 and (glob[b_cells] < 0.05).sum() <= 0.001 * n_tests  # pooling does not pull in the null
    nk = sig_all[sig_all.obs["cell_type"] == "NK"]
    one = global_padj(nk)
    np.testing.assert_allclose(one[np.isfinite(one)], np.asarray(nk.layers["padj"])[np.isfinite(one)], rtol=1e-10)
    long = dp.get.de_table(sig_all, conditions=["mezigdomide"])
    hits = dp.get.de_table(sig_all, conditions=["mezigdomide"], alpha=0.05, padj="global")
    assert len(hits) == (long["padj_global"] < 0.05).sum() > 0
    with pytest.raises(ValueError, match="padj"):
        dp.get.de_table(sig_all, alpha=0.05, padj="cluster")


def test_rounded_normalised_profiles_are_refused(pdata):
    """Profiles scaled to 1e6 counts (CPM) and rounded: integers, but not counts; the count engines refuse them."""
    sub = pdata[pdata.obs["cell_type"] == "NK"].copy()
    x = np.asarray(sub.X)
    sub.X = np.rint(x / x.sum(axis=1, keepdims=True) * 1e6)
    del sub.obs["n_cells"]
    for method in ("deseq2", "voom"):
        with pytest.raises(ValueError, match=r"The profiles in X look normalised.*1,000,000.*method='limma'"):
            dp.tl.de(sub, method=method, verbose=False)
    sig = dp.tl.de(sub, method="voom", allow_normalized=True, verbose=False)
    assert sig.uns["de"]["allow_normalized"]


def test_integer_donor_codes_enter_as_a_factor(pdata):
    """Donors coded 1–4 (integers, as a sample sheet keeps 101/107) enter the short form as a factor, noted: the
    same fit as with their names. With design= the formula decides: a number, or a factor with C(donor)."""
    sub = pdata[pdata.obs["cell_type"] == "CD8 T"].copy()
    named = dp.tl.de(sub, verbose=False)
    unfiltered = dp.tl.de(sub, filter_genes=False, verbose=False)  # a formula filters by its design's leverages
    sub.obs["donor"] = sub.obs["donor"].astype(str).str[1:].astype(int)
    coded = dp.tl.de(sub, verbose=False)
    np.testing.assert_array_equal(coded.layers["stat"], named.layers["stat"])
    assert any("obs['donor'] holds integers (4 values) and names a grouping" in n for n in coded.uns["de"]["notes"])
    as_number = dp.tl.de(sub, design="~ donor + drug", verbose=False)
    assert not np.allclose(np.nan_to_num(as_number.layers["stat"]), np.nan_to_num(named.layers["stat"]))
    as_factor = dp.tl.de(sub, design="~ C(donor) + drug", filter_genes=False, verbose=False)
    np.testing.assert_allclose(as_factor.layers["stat"], unfiltered.layers["stat"], rtol=1e-8)
    sub.obs["day"] = np.resize([1, 2, 3, 4], sub.n_obs + 1)[1:]  # integers that name no grouping: a number, noted
    day = dp.tl.de(sub, covariates=["donor", "day"], method="voom", verbose=False)
    assert any(
        "obs['day'] holds 4 integer values and enters the design as a number" in n for n in day.uns["de"]["notes"]
    )


def test_control_as_the_data_shows_it(pdata):
    """An integer-coded condition: control=0 and control="0" name the same level."""
    sub = pdata[pdata.obs["cell_type"] == "NK"].copy()
    sub.obs["arm"] = sub.obs["drug"].map({d: i for i, d in enumerate(["DMSO", *DRUGS])}).astype(int)
    as_int = dp.tl.de(sub, condition_key="arm", control=0, method="voom", verbose=False)
    as_text = dp.tl.de(sub, condition_key="arm", control="0", method="voom", verbose=False)
    assert as_int.obs_names[0] == "NK|1 vs 0"
    np.testing.assert_array_equal(as_int.layers["stat"], as_text.layers["stat"])


def test_groups_from_the_pseudobulk_and_bulk_as_one_group(screen):
    """groupby defaults to the column pseudobulk grouped by; data without one (bulk) are one group, noted."""
    cells = screen.copy()
    cells.obs["cluster"] = cells.obs["cell_type"]
    pdata = dp.pp.pseudobulk(cells, sample_key="sample", groupby="cluster")
    sig = dp.tl.de(pdata[:, :800].copy(), method="voom", verbose=False)
    assert sig.uns["de"]["groupby"] == "cluster" and set(sig.obs["cluster"]) == set(cells.obs["cluster"])
    assert any("dp.pp.pseudobulk grouped" in n for n in sig.uns["de"]["notes"])
    bulk = dp.pp.pseudobulk(cells, sample_key="sample", groupby=None)  # one profile per sample: a bulk study
    bulk = AnnData(bulk.X[:, :800], obs=bulk.obs[["donor", "drug"]].copy(), var=bulk.var.iloc[:800].copy())
    one = dp.tl.de(bulk, method="voom", verbose=False)
    assert one.obs_names[0] == "all|thalidomide vs DMSO" and one.uns["de"]["groupby"] == ""
    assert any("fitted as one group" in n for n in one.uns["de"]["notes"])
