import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import drugprint as dp

FC_HEADER = '# Program:featureCounts v2.0.3; Command:"featureCounts" "-a" "gencode.v44.gtf" "-o" "counts.txt" ...\n'


def _featurecounts(path):
    rows = [
        ("ENSG00000185811.21", "chr7;chr7", "50304068;50309000", "50344377;50405101", "+;+", 5913, 120, 80, 95),
        ("ENSG00000161405.17", "chr17", "39757715", "39864188", "-", 4461, 40, 44, 39),
        ("ENSG00000136997.22", "chr8", "127735434", "127742951", "+", 3721, 300, 150, 290),
        ("ENSG00000137265.15", "chr6", "391739", "411443", "+", 5298, 9, 11, 14),
    ]
    cols = [
        "Geneid",
        "Chr",
        "Start",
        "End",
        "Strand",
        "Length",
        "/data/bam/S1.bam",
        "/data/bam/S2.bam",
        "/data/bam/S3.bam",
    ]
    with open(path, "w") as fh:
        fh.write(FC_HEADER)
        fh.write("\t".join(cols) + "\n")
        for r in rows:
            fh.write("\t".join(map(str, r)) + "\n")


def test_featurecounts_with_sheet_and_symbol_map(tmp_path):
    _featurecounts(tmp_path / "counts.txt")
    sheet = pd.DataFrame(
        {
            "sample": ["S1", "S2", "S3", "S4"],
            "drug": ["DMSO", "lenalidomide", "DMSO", "pom"],
            "dose": ["0", "1", "0", "1"],
        }
    )
    sheet.to_csv(tmp_path / "samples.csv", index=False)
    gmap = pd.DataFrame(
        {
            "gene_id": ["ENSG00000185811.21", "ENSG00000161405.17", "ENSG00000136997.22"],
            "symbol": ["IKZF1", "IKZF3", "MYC"],
        }
    )
    with pytest.warns(UserWarning, match="S4"), pytest.warns(UserWarning, match="keep their ID"):
        # a sheet row without data; an Ensembl ID without a symbol
        adata = dp.io.read_counts(tmp_path / "counts.txt", samples=tmp_path / "samples.csv", gene_map=gmap)
    assert list(adata.obs_names) == ["S1", "S2", "S3"]
    assert adata.obs["drug"].tolist() == ["DMSO", "lenalidomide", "DMSO"]
    assert adata.obs["dose"].tolist() == [0, 1, 0]  # a sheet file gets pandas' own type inference
    assert adata.obs["dose"].dtype == np.int64
    assert list(adata.var_names[:3]) == ["IKZF1", "IKZF3", "MYC"]
    assert adata["S2", "MYC"].X.item() == 150
    assert adata.X.dtype == np.int64 and (adata.layers["counts"] == adata.X).all()
    assert adata.uns["io"]["format"] == "featurecounts"


def test_featurecounts_annotation_kept(tmp_path):
    _featurecounts(tmp_path / "counts.txt")
    adata = dp.io.read_counts(tmp_path / "counts.txt", map_ids=False)
    assert adata.var.loc["ENSG00000185811.21", "length"] == 5913
    assert adata.var.loc["ENSG00000185811.21", "chr"] == "chr7"
    assert adata.var.loc["ENSG00000185811.21", ["start", "end", "strand"]].tolist() == [50304068, 50405101, "+"]
    assert "gene_ids" not in adata.uns and "gene_ids" not in adata.var


def _salmon(path, names, reads):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["Name\tLength\tEffectiveLength\tTPM\tNumReads"]
    lines += [f"{n}\t2000\t1850.5\t{r / 10:.3f}\t{r}" for n, r in zip(names, reads, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_salmon_per_sample_files_rounded_and_tx2gene(tmp_path):
    tx = ["ENST01", "ENST02", "ENST03"]
    _salmon(tmp_path / "S1" / "quant.sf", tx, [10.4, 5.5, 2.0])
    _salmon(tmp_path / "S2" / "quant.sf", tx, [20.0, 0.0, 7.6])
    tx2gene = {"ENST01": "IKZF1", "ENST02": "IKZF1", "ENST03": "MYC"}
    adata = dp.io.read_counts([tmp_path / "S1" / "quant.sf", tmp_path / "S2" / "quant.sf"], gene_map=tx2gene)
    assert list(adata.obs_names) == ["S1", "S2"]
    assert adata.to_df().loc["S1"].tolist() == [10 + 6, 2]  # 10.4 → 10, 5.5 → 6 (round half to even: 6)
    assert adata.uns["io"]["rounded"]
    assert adata.var.loc["IKZF1", "gene_ids"] == "ENST01;ENST02"


def test_kallisto(tmp_path):
    p = tmp_path / "K1" / "abundance.tsv"
    p.parent.mkdir()
    p.write_text(
        "target_id\tlength\teff_length\test_counts\ttpm\nENST01\t2000\t1800\t12\t3.1\nENST02\t900\t700\t3\t1\n"
    )
    adata = dp.io.read_counts({"K1": p}, gene_map={"ENST01": "A", "ENST02": "B"})
    assert adata.to_df().loc["K1"].tolist() == [12, 3]


@pytest.mark.parametrize("orientation", ["genes_x_samples", "samples_x_genes"])
def test_plain_tables_either_orientation(tmp_path, orientation):
    counts = pd.DataFrame({"S1": [1, 2, 3], "S2": [4, 5, 6]}, index=pd.Index(["IKZF1", "MYC", "IRF4"], name="gene"))
    table = counts if orientation == "genes_x_samples" else counts.T.rename_axis("sample")
    path = tmp_path / "c.tsv.gz"
    with gzip.open(path, "wt") as fh:
        table.to_csv(fh, sep="\t")
    sheet = pd.DataFrame({"drug": ["DMSO", "len"]}, index=["S1", "S2"])
    for how in ("auto", orientation):
        adata = dp.io.read_counts(path, samples=sheet, orientation=how)
        assert adata.to_df().loc["S2", "MYC"] == 5
        assert adata.shape == (2, 3)
        assert list(adata.var_names) == ["IKZF1", "MYC", "IRF4"]


@pytest.mark.parametrize("orientation", ["auto", "samples_x_genes"])
def test_samples_x_genes_metadata_columns_go_to_obs(tmp_path, orientation):
    table = pd.DataFrame(
        {"sample": ["S1", "S2"], "drug": ["DMSO", "len"], "IKZF1": [1, 4], "MYC": [2, 5], "IRF4": [3, 6]}
    )
    table.to_csv(tmp_path / "c.csv", index=False)
    adata = dp.io.read_counts(tmp_path / "c.csv", orientation=orientation)
    assert adata.obs["drug"].tolist() == ["DMSO", "len"]
    assert list(adata.var_names) == ["IKZF1", "MYC", "IRF4"] and adata.var.shape[1] == 0
    assert adata.to_df().loc["S2", "MYC"] == 5
    # the sheet's columns come first and win; the table's other columns are added
    sheet = pd.DataFrame({"drug": ["DMSO", "lenalidomide"], "donor": ["D1", "D2"]}, index=["S1", "S2"])
    adata = dp.io.read_counts(tmp_path / "c.csv", samples=sheet, orientation=orientation)
    assert adata.obs.columns.tolist() == ["drug", "donor"]
    assert adata.obs["drug"].tolist() == ["DMSO", "lenalidomide"]
    table.assign(batch=["b1", "b2"]).to_csv(tmp_path / "c.csv", index=False)
    adata = dp.io.read_counts(tmp_path / "c.csv", samples=sheet, orientation=orientation)
    assert adata.obs.columns.tolist() == ["drug", "donor", "batch"]
    assert adata.obs["batch"].tolist() == ["b1", "b2"]


def test_genes_x_samples_annotation_columns_go_to_var(tmp_path):
    table = pd.DataFrame({"gene": ["IKZF1", "MYC", "IRF4"], "biotype": ["pc", "pc", "lnc"], "S1": [1, 2, 3]})
    table["S2"] = [4, 5, 6]
    table.to_csv(tmp_path / "c.csv", index=False)
    adata = dp.io.read_counts(tmp_path / "c.csv", orientation="genes_x_samples")
    assert adata.var["biotype"].tolist() == ["pc", "pc", "lnc"]
    assert adata.obs.shape == (2, 0) and adata.to_df().loc["S2", "MYC"] == 5


def test_salmon_files_named_by_file_when_folders_repeat(tmp_path):
    _salmon(tmp_path / "q" / "S1.sf", ["ENST01", "ENST02"], [1, 2])
    _salmon(tmp_path / "q" / "S2.sf", ["ENST01", "ENST02"], [3, 4])
    adata = dp.io.read_counts([tmp_path / "q" / "S1.sf", tmp_path / "q" / "S2.sf"], format="salmon")
    assert list(adata.obs_names) == ["S1", "S2"]
    assert adata.to_df().loc["S2"].tolist() == [3, 4]
    _salmon(tmp_path / "a" / "quant.sf", ["ENST01"], [1])
    _salmon(tmp_path / "b" / "quant.sf", ["ENST01"], [2])
    _salmon(tmp_path / "x" / "a" / "quant.sf", ["ENST01"], [3])
    with pytest.raises(ValueError, match=r"named \['quant'\].*mapping"):
        dp.io.read_counts([tmp_path / "a" / "quant.sf", tmp_path / "x" / "a" / "quant.sf"])
    adata = dp.io.read_counts([tmp_path / "a" / "quant.sf", tmp_path / "b" / "quant.sf"])
    assert list(adata.obs_names) == ["a", "b"]


def test_sheet_keeps_text_ids_and_dataframe_dtypes(tmp_path):
    pd.DataFrame({"gene": ["A", "B"], "01": [1, 2], "02": [3, 4]}).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame({"sample": ["01", "02"], "dose": [0.5, 1]}).to_csv(tmp_path / "s.csv", index=False)
    adata = dp.io.read_counts(tmp_path / "c.csv", samples=tmp_path / "s.csv")
    assert list(adata.obs_names) == ["01", "02"]
    assert adata.obs["dose"].tolist() == [0.5, 1.0]
    sheet = pd.DataFrame({"batch": ["01", "02"], "dose": ["1", "2"]}, index=["01", "02"])
    adata = dp.io.read_counts(tmp_path / "c.csv", samples=sheet)
    assert adata.obs["batch"].tolist() == ["01", "02"]
    assert adata.obs["dose"].tolist() == ["1", "2"]


def test_duplicated_ids_in_mapping(tmp_path):
    pd.DataFrame({"gene": ["E1", "E2"], "S1": [1, 2]}).to_csv(tmp_path / "c.csv", index=False)
    gmap = pd.DataFrame({"id": ["E1", "E1", "E2", "E2"], "symbol": ["A", "B", "C", "C"]})
    with pytest.raises(ValueError, match=r"gene_map maps 1 identifier\(s\) to more than one value \(e.g. \['E1'\]\)"):
        dp.io.read_counts(tmp_path / "c.csv", gene_map=gmap)
    adata = dp.io.read_counts(tmp_path / "c.csv", gene_map=gmap.iloc[[0, 2, 3]])  # repeated identical pair: fine
    assert list(adata.var_names) == ["A", "C"] and adata.X.ravel().tolist() == [1, 2]


def test_symbol_column_sums_duplicates(tmp_path):
    df = pd.DataFrame(
        {"gene_id": ["E1", "E2", "E3"], "gene_name": ["IKZF1", "IKZF1", "MYC"], "S1": [1, 2, 3], "S2": [4, 5, 6]}
    )
    df.to_csv(tmp_path / "c.csv", index=False)
    adata = dp.io.read_counts(tmp_path / "c.csv", symbol_col="gene_name")
    assert adata.to_df()["IKZF1"].tolist() == [3, 9]
    assert adata.var.loc["IKZF1", "gene_ids"] == "E1;E2"


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([1.5, 2.0], "must be integers"),
        ([-1, 2], "Negative count"),
        ([np.nan, 2], "Missing count"),
    ],
)
def test_bad_counts(tmp_path, values, match):
    pd.DataFrame({"gene": ["A", "B"], "S1": values}).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(ValueError, match=match):
        dp.io.read_counts(tmp_path / "c.csv")


def test_sheet_errors(tmp_path):
    pd.DataFrame({"gene": ["A", "B"], "S1": [1, 2], "S9": [3, 4]}).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(ValueError, match=r"not in the sample sheet: \['S9'\]"):
        dp.io.read_counts(tmp_path / "c.csv", samples=pd.DataFrame({"drug": ["x"]}, index=["S1"]))
    with pytest.raises(ValueError, match="more than once"):
        dp.io.read_counts(tmp_path / "c.csv", samples=pd.DataFrame({"sample": ["S1", "S1"], "d": [1, 2]}))
    with pytest.raises(FileNotFoundError):
        dp.io.read_counts(tmp_path / "nope.csv")
    (tmp_path / "bad.csv").write_text('gene,S1\n"A,1\n')
    with pytest.raises(ValueError, match="Could not parse"):
        dp.io.read_counts(tmp_path / "bad.csv")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(0, 10_000), min_size=3, max_size=3), min_size=2, max_size=6))
def test_roundtrip_property(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("h") / "c.csv"
    genes = [f"G{i}" for i in range(len(rows))]
    df = pd.DataFrame(rows, index=pd.Index(genes, name="gene"), columns=["S1", "S2", "S3"])
    df.to_csv(path)
    adata = dp.io.read_counts(path, orientation="genes_x_samples", allow_normalized=True)  # any integers, parsed
    np.testing.assert_array_equal(adata.X, df.T.to_numpy())


@pytest.mark.parametrize("kind", ["tpm_rounded", "tpm_fractional", "cpm_integers"])
def test_normalised_tables_are_refused(tmp_path, kind):
    """A TPM table read with round_counts=True, an integer-rounded TPM table and integer CPM all sum to 1e6 per sample:
    refused with the totals named; allow_normalized=True reads them (the override for equal-depth raw counts)."""
    rng = np.random.default_rng(1)
    raw = rng.negative_binomial(2, 0.01, size=(2000, 4)).astype(float)
    tpm = raw / raw.sum(axis=0) * 1e6
    values = {"tpm_rounded": np.rint(tpm), "tpm_fractional": tpm, "cpm_integers": np.floor(tpm + 0.5)}[kind]
    path = tmp_path / "table.csv"
    pd.DataFrame(values, index=[f"G{i}" for i in range(2000)], columns=["S1", "S2", "S3", "S4"]).to_csv(path)
    with pytest.raises(ValueError, match=r"The samples of table.csv look normalised.*sums to 1,000,000.*CPM or TPM"):
        dp.io.read_counts(path, round_counts=True)
    adata = dp.io.read_counts(path, round_counts=True, allow_normalized=True)
    assert adata.shape == (4, 2000)
    assert dp.io.read_counts(_raw_table(tmp_path, raw)).shape == (4, 2000)  # raw counts of the same genes pass


def _raw_table(tmp_path, raw):
    path = tmp_path / "raw.csv"
    pd.DataFrame(raw.astype(int), index=[f"G{i}" for i in range(len(raw))], columns=["S1", "S2", "S3", "S4"]).to_csv(
        path
    )
    return path
