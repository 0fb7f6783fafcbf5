"""Bad input gets a clear answer: the error type and a message naming the key, value or set at fault."""

import warnings

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import drugprint as dp


@pytest.fixture(scope="module")
def nk(pdata):
    return pdata[pdata.obs["cell_type"] == "NK"].copy()


def test_missing_obs_keys(screen, pdata):
    with pytest.raises(KeyError, match=r"'patient'.*Columns present: 'donor'"):
        dp.pp.pseudobulk(screen, sample_key="patient")
    with pytest.raises(KeyError, match="'celltype'"):
        dp.pp.pseudobulk(screen, groupby="celltype")
    with pytest.raises(KeyError, match=r"'batch' \(covariates=\).*Pass the column that holds it to that argument"):
        dp.tl.de(pdata, covariates=["donor", "batch"], verbose=False)


def test_control_and_covariates_come_from_the_data(pdata):
    """control=None finds the one vehicle-like level; covariates=None uses 'donor' only when the data has it."""
    nk = pdata[pdata.obs["cell_type"] == "NK"].copy()
    sig = dp.tl.de(nk, method="voom", verbose=False)
    assert sig.uns["de"]["control"] == "DMSO" and sig.uns["de"]["covariates"] == ["donor"]
    renamed = nk.copy()
    renamed.obs["drug"] = renamed.obs["drug"].cat.rename_categories({"DMSO": "Vehicle"})
    renamed.obs = renamed.obs.drop(columns="donor")
    other = dp.tl.de(renamed, method="voom", verbose=False)
    assert other.uns["de"]["control"] == "Vehicle" and other.uns["de"]["covariates"] == []
    assert other.uns["de"]["fits"]["design"].iloc[0] == "~ drug"
    assert other.obs_names[0] == "NK|thalidomide vs Vehicle"
    two = renamed.copy()
    two.obs["drug"] = two.obs["drug"].cat.rename_categories({"thalidomide": "untreated"})
    with pytest.raises(ValueError, match=r"No single level of obs\['drug'\] reads like the control.*untreated"):
        dp.tl.de(two, method="voom", verbose=False)


def test_single_cells_are_refused_with_the_fix(screen):
    """Cells passed to de (pseudobulk forgotten) are pseudoreplicates: refused, naming the fix and the override."""
    nk = screen[screen.obs["cell_type"] == "NK"]
    cells = nk[nk.obs["drug"].isin(["DMSO", "lenalidomide"])].copy()
    cells.obs["drug"] = cells.obs["drug"].astype(str)
    with pytest.raises(ValueError, match=r"single cells.*of the values are zero.*pseudobulk"):
        dp.tl.de(cells, method="ttest", verbose=False)
    barcodes = cells[:40].copy()
    rng = np.random.default_rng(0)
    barcodes.obs_names = ["".join(rng.choice(list("ACGT"), 16)) + "-1" for _ in range(barcodes.n_obs)]
    with pytest.raises(ValueError, match="row names look like cell barcodes"):
        dp.tl.de(barcodes, method="ttest", verbose=False)
    sig = dp.tl.de(cells, method="ttest", allow_single_cells=True, verbose=False)
    assert sig.uns["de"]["allow_single_cells"] is True and sig.n_obs == 1


@pytest.mark.parametrize("key", ["drug", "cell_type"])
def test_missing_labels_are_refused_not_made_a_level(pdata, key):
    bad = pdata.copy()
    bad.obs[key] = bad.obs[key].astype(object)
    bad.obs.iloc[[0, 5, 9], bad.obs.columns.get_loc(key)] = np.nan
    with pytest.raises(ValueError, match=rf"obs\['{key}'\] has 3 missing value\(s\) in {pdata.n_obs} profiles"):
        dp.tl.de(bad, method="voom", verbose=False)


def test_unknown_control_lists_labels(pdata):
    with pytest.raises(ValueError, match=r"'vehicle'.*levels present: DMSO, thalidomide"):
        dp.tl.de(pdata, control="vehicle", verbose=False)


@pytest.mark.parametrize(("bad", "what"), [(0.5, "non-integer"), (-3.0, "negative"), (np.nan, r"missing \(NaN\)")])
def test_count_models_refuse_non_counts(nk, bad, what):
    x = nk.X.copy()
    x[0, 0] = bad
    data = AnnData(x, obs=nk.obs, var=nk.var)
    for method in ("deseq2", "voom"):
        with pytest.raises(ValueError, match=rf"method='{method}' needs raw counts, but X holds 1 {what}"):
            dp.tl.de(data, method=method, verbose=False)


def test_one_replicate_per_condition_is_not_testable(nk):
    one = nk[nk.obs["donor"] == "D1"].copy()
    with pytest.raises(
        ValueError,
        match=r"No group could be tested\. No condition has 2 profiles in any group: each "
        r"was measured 1 time\(s\) per group \(1 donor: D1\)\. Differential expression compares",
    ):
        dp.tl.de(one, verbose=False)


def test_no_residual_degrees_of_freedom(nk):
    two = nk[nk.obs["drug"].isin(["DMSO", "pomalidomide"]) & nk.obs["donor"].isin(["D1", "D2"])].copy()
    # 4 profiles, a batch per profile: confounded with the drug
    two.obs["batch"] = [f"b{i}" for i in range(two.n_obs)]
    with pytest.raises(ValueError, match=r"No group could be tested.*confounded with covariate 'batch'"):
        dp.tl.de(two, covariates=["batch"], method="voom", verbose=False)


def test_untestable_group_is_skipped_and_recorded(pdata):
    sub = pdata.copy()
    drop = (sub.obs["cell_type"] == "B") & (sub.obs["drug"] == "DMSO") & (sub.obs["donor"] != "D1")
    sub = sub[~drop.to_numpy()].copy()
    with pytest.warns(
        UserWarning, match=r"Not tested: control 'DMSO' has fewer than 2 profiles — the whole group left out in B\."
    ):
        sig = dp.tl.de(sub, method="voom", verbose=False)
    assert "B" not in set(sig.obs["cell_type"]) and "NK" in set(sig.obs["cell_type"])
    skipped = sig.uns["de"]["skipped"]
    assert (skipped["group"] == "B").any()


def test_confounded_condition(nk):
    nk = nk.copy()
    nk.obs["site"] = np.where(nk.obs["drug"] == "DMSO", "A", "B")
    with pytest.raises(ValueError, match=r"No group could be tested.*confounded with covariate 'site'"):
        dp.tl.de(nk, covariates=["site"], method="voom", verbose=False)


def test_empty_inputs(screen, pdata):
    with pytest.raises(ValueError, match="empty"):
        dp.pp.pseudobulk(screen[:0].copy())
    with pytest.raises(ValueError, match="empty"):
        dp.tl.de(pdata[:, :0].copy(), verbose=False)


def test_duplicated_gene_names(screen, pdata, sig_all):
    dup = screen[:200].copy()
    dup.var_names = ["IKZF1"] * 2 + list(dup.var_names[2:])
    with pytest.raises(ValueError, match=r"duplicated \(e\.g\. \['IKZF1'\]\).*var_names_make_unique"):
        dp.pp.pseudobulk(dup)
    p = pdata.copy()
    p.var_names = ["MYC"] * 2 + list(p.var_names[2:])
    with pytest.raises(ValueError, match="duplicated"):
        dp.tl.de(p, verbose=False)
    s = sig_all.copy()
    s.var_names = ["MYC"] * 2 + list(s.var_names[2:])
    with pytest.raises(ValueError, match="duplicated"):
        dp.tl.pathways(s)


def test_gene_sets_without_overlap_report_counts(sig_all):
    net = pd.DataFrame({"source": ["A", "A", "B"], "target": ["ENSG1", "ENSG2", "ENSG3"]})
    with pytest.raises(ValueError, match=r"No gene of the 2 sets \(A, B"):
        dp.tl.pathways(sig_all.copy(), net)
    few = pd.DataFrame({"source": ["A"] * 3, "target": ["ISG15", "MX1", "OAS1"]})
    with pytest.raises(ValueError, match=r"tmin=5.*\{'A': 3\}"):
        dp.tl.pathways(sig_all.copy(), few, tmin=5)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda p, s: dp.tl.de(p, method="edger", verbose=False), r"'edger'.*'deseq2', 'voom', 'limma', 'ttest'"),
        (lambda p, s: dp.tl.pathways(s.copy(), method="fgsea"), r"'fgsea'.*'ulm', 'mlm'"),
        (lambda p, s: dp.tl.compare(s, metrics=["kendall"]), r"'kendall'.*'spearman'"),
        (lambda p, s: dp.pp.pseudobulk(p, func="median"), r"'median'.*'sum', 'mean'"),
        (lambda p, s: dp.get.summary_table(s, "table4"), r"'table4'.*'pair', 'tiers', 'degs'"),
    ],
)
def test_unknown_method_names_list_valid_ones(pdata, sig_all, call, match):
    with pytest.raises(ValueError, match=match):
        call(pdata, sig_all)


def test_malformed_files(tmp_path):
    (tmp_path / "x.gmt").write_text("SET_ONLY\n")
    with pytest.raises(ValueError, match=r"x\.gmt, line 1"):
        dp.resources.read_gmt(tmp_path / "x.gmt")
    (tmp_path / "c.csv").write_text("gene,S1\nA,1.5\n")
    with pytest.raises(ValueError, match=r"'A' in sample 'S1' has 1\.5"):
        dp.io.read_counts(tmp_path / "c.csv")
    (tmp_path / "m.txt").write_text('!Series_title\t"no table"\n')
    with pytest.raises(ValueError, match="series_matrix_table_begin"):
        dp.io.read_microarray(tmp_path / "m.txt")
    (tmp_path / "de.csv").write_text("gene,lfc\nA,1\n")
    with pytest.raises(KeyError, match="'pval'"):
        dp.io.read_de_table(tmp_path / "de.csv", "gene", "lfc", pvalue_col="pval")
    (tmp_path / "x.loom").write_text("")
    with pytest.raises(ValueError, match=r"Cannot read 'x\.loom'"):
        dp.io.read(tmp_path / "x.loom")


def test_wrong_types(screen, sig_all):
    with pytest.raises(TypeError, match="AnnData or a MuData"):
        dp.pp.pseudobulk(screen.to_df())
    with pytest.raises(TypeError, match="signatures AnnData"):
        dp.tl.pathways(sig_all.to_df())


def test_deterministic_results(pdata):
    a = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    b = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    np.testing.assert_array_equal(a.layers["stat"], b.layers["stat"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = dp.get.potency_rank_table(dp.tl.potency_rank(dp.tl.pathways(a, copy=True), random_state=4, copy=True))
        y = dp.get.potency_rank_table(dp.tl.potency_rank(dp.tl.pathways(b, copy=True), random_state=4, copy=True))
    pd.testing.assert_frame_equal(x, y)


def test_provenance_names_every_parameter(pdata, sig_all):
    import inspect

    sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    params = set(inspect.signature(dp.tl.de).parameters) - {"pdata", "verbose"}
    assert params <= set(sig.uns["de"]), params - set(sig.uns["de"])
    pb = set(inspect.signature(dp.pp.pseudobulk).parameters) - {"adata"}
    assert pb <= set(pdata.uns["pseudobulk"])
    rec = sig_all.uns["pathways"]
    for k in ("method", "layer", "tmin", "level", "inter_gene_cor", "min_fraction", "id_column"):
        assert k in rec["params"]
    for k in ("null", "net", "matched_by", "overlap", "basis", "replicates"):
        assert k in rec
