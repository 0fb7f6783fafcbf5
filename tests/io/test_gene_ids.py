"""Ensembl and Entrez gene IDs named by symbol on read, featureCounts' BAM-path sample names and annotation, and
microarray tables in either orientation."""

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import drugprint as dp

FC_HEADER = '# Program:featureCounts v2.0.3; Command:"featureCounts" "-a" "gencode.v44.gtf" "-o" "counts.txt" ...\n'
FC_COLS = ["Geneid", "Chr", "Start", "End", "Strand", "Length"]
#: Geneid, Chr, Start, End, Strand, Length, then the counts of S1, S2, S3
FC_ROWS = [
    ("ENSG00000141510.17", "chr17;chr17", "7661779;7668000", "7667000;7687538", "-;-", 2579, 310, 120, 95),
    ("ENSG00000185811.21", "chr7;chr7", "50304068;50309000", "50344377;50405101", "+;+", 5913, 120, 80, 95),
    ("ENSG00000136997.22", "chr8", "127735434", "127742951", "+", 3721, 300, 150, 290),
    ("ENSG00000182378.14", "chrX", "192991", "220023", "+", 3306, 50, 60, 70),  # PLCXD1 on X …
    ("ENSG00000182378.14_PAR_Y", "chrY", "192991", "220023", "+", 3306, 0, 1, 0),  # … and its PAR copy on Y
    ("ENSG00000999999.1", "chr1", "1000", "2000", "+", 1001, 7, 8, 9),  # not a gene of the table
]


def _featurecounts(path, columns, rows=FC_ROWS):
    with open(path, "w") as fh:
        fh.write(FC_HEADER)
        fh.write("\t".join(FC_COLS + list(columns)) + "\n")
        for r in rows:
            fh.write("\t".join(map(str, r)) + "\n")
    return path


def test_featurecounts_ensembl_ids_bam_paths_and_annotation(tmp_path):
    bams = [f"/data/run1/star/{s}.Aligned.sortedByCoord.out.bam" for s in ("S1", "S2", "S3")]
    path = _featurecounts(tmp_path / "counts.txt", bams)
    sheet = pd.DataFrame({"sample": ["S1", "S2", "S3"], "drug": ["DMSO", "lenalidomide", "DMSO"]})
    sheet.to_csv(tmp_path / "samples.csv", index=False)
    with pytest.warns(UserWarning, match=r"Ensembl \(ENSG…\) IDs: 4 renamed.*1 without a symbol and 1 sharing") as rec:
        adata = dp.io.read_counts(path, samples=tmp_path / "samples.csv")
    assert len(rec) == 1  # one warning, nothing about the sheet
    assert list(adata.obs_names) == ["S1", "S2", "S3"]
    assert adata.obs["drug"].tolist() == ["DMSO", "lenalidomide", "DMSO"]
    assert list(adata.var_names) == [
        "TP53",
        "IKZF1",
        "MYC",
        "PLCXD1",  # the X copy: 180 reads against 1
        "ENSG00000182378.14_PAR_Y",  # shares PLCXD1 with a higher-count ID: keeps its ID, not summed
        "ENSG00000999999.1",  # no symbol: keeps its ID
    ]
    assert adata.var["gene_ids"].tolist() == [r[0] for r in FC_ROWS]
    assert adata.var.loc["ENSG00000182378.14_PAR_Y", "symbol"] == "PLCXD1"
    assert pd.isna(adata.var.loc["ENSG00000999999.1", "symbol"])
    assert adata.var.loc["TP53", "length"] == 2579 and adata.var.loc["IKZF1", "length"] == 5913
    assert adata.var.loc["TP53", ["chr", "start", "end", "strand"]].tolist() == ["chr17", 7661779, 7687538, "-"]
    assert adata.to_df().loc[:, "TP53"].tolist() == [310, 120, 95]
    assert adata.to_df().loc["S2", "PLCXD1"] == 60 and adata.to_df().loc["S2", "ENSG00000182378.14_PAR_Y"] == 1
    rec = adata.uns["gene_ids"]
    assert (rec["kind"], rec["n_genes"], rec["n_ids"], rec["n_mapped"]) == ("ensembl", 6, 6, 4)
    assert (rec["n_no_symbol"], rec["n_duplicates"], rec["n_not_ids"]) == (1, 1, 0)
    assert "highest total count" in rec["rule"] and rec["table"] == "human_genes.tsv.xz"
    back = ad.read_h5ad(adata.write_h5ad(tmp_path / "a.h5ad") or tmp_path / "a.h5ad")  # the record writes
    assert back.uns["gene_ids"]["n_mapped"] == 4 and back.var_names.equals(adata.var_names)

    kept = dp.io.read_counts(path, samples=tmp_path / "samples.csv", map_ids=False)
    assert list(kept.var_names) == [r[0] for r in FC_ROWS] and "gene_ids" not in kept.uns
    np.testing.assert_array_equal(kept.X, adata.X)


def test_duplicate_rule_follows_the_counts_not_the_table_order(tmp_path):
    # Entrez 7006 and 100124696 are both TEC; the second has more reads, so it takes the symbol
    table = pd.DataFrame(
        {"entrez": [7157, 10320, 7006, 100124696], "S1": [5, 6, 2, 40], "S2": [7, 8, 3, 50], "S3": [1, 1, 0, 9]}
    )
    table.to_csv(tmp_path / "entrez.csv", index=False)
    with pytest.warns(UserWarning, match=r"Entrez \(NCBI Gene\) IDs: 3 renamed.*0 without a symbol and 1 sharing"):
        adata = dp.io.read_counts(tmp_path / "entrez.csv")
    assert list(adata.var_names) == ["TP53", "IKZF1", "7006", "TEC"]
    assert adata.var.loc["TEC", "gene_ids"] == "100124696" and adata.var.loc["7006", "symbol"] == "TEC"
    assert adata.to_df()["TEC"].tolist() == [40, 50, 9]  # not 42, 53, 9: nothing summed
    assert adata.to_df()["TP53"].tolist() == [5, 7, 1]
    assert adata.uns["gene_ids"]["n_duplicates"] == 1
    table.loc[2, ["S1", "S2", "S3"]] = [40, 50, 9]  # a tie: the first in the file wins
    table.to_csv(tmp_path / "entrez.csv", index=False)
    with pytest.warns(UserWarning, match="1 sharing"):
        tie = dp.io.read_counts(tmp_path / "entrez.csv")
    assert list(tie.var_names) == ["TP53", "IKZF1", "TEC", "100124696"]


def test_symbols_and_row_numbers_are_left_alone(tmp_path):
    table = pd.DataFrame({"gene": ["IKZF1", "MYC", "IRF4"], "S1": [10, 0, 5], "S2": [12, 3, 7]})
    table.to_csv(tmp_path / "symbols.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto = dp.io.read_counts(tmp_path / "symbols.csv")
    off = dp.io.read_counts(tmp_path / "symbols.csv", map_ids=False)
    assert list(auto.var_names) == list(off.var_names) == ["IKZF1", "MYC", "IRF4"]
    assert auto.var.shape[1] == 0 and "gene_ids" not in auto.uns
    np.testing.assert_array_equal(auto.X, off.X)
    # whole numbers 1, 2, 3 … are row numbers, not Entrez IDs (1 is A1BG)
    pd.DataFrame({"row": [1, 2, 3, 4], "S1": [1, 2, 3, 4], "S2": [2, 2, 2, 2]}).to_csv(tmp_path / "n.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = dp.io.read_counts(tmp_path / "n.csv")
    assert list(rows.var_names) == ["1", "2", "3", "4"]
    with pytest.warns(UserWarning, match="3 renamed.*1 without a symbol"):  # unless asked for
        asked = dp.io.read_counts(tmp_path / "n.csv", map_ids=True)
    assert list(asked.var_names) == ["A1BG", "A2M", "A2MP1", "4"]  # there is no Entrez gene 4


def test_mixed_names_under_the_share_are_not_mapped(tmp_path):
    genes = ["ENSG00000141510", "ENSG00000185811", "MYC", "IRF4"]  # half IDs: not mapped by "auto"
    pd.DataFrame({"gene": genes, "S1": [1, 2, 3, 4], "S2": [4, 3, 2, 1]}).to_csv(tmp_path / "c.csv", index=False)
    assert list(dp.io.read_counts(tmp_path / "c.csv").var_names) == genes
    with pytest.warns(UserWarning, match="2 renamed.*2 other names unchanged"):
        adata = dp.io.read_counts(tmp_path / "c.csv", map_ids=True)
    assert list(adata.var_names) == ["TP53", "IKZF1", "MYC", "IRF4"]


def test_map_ids_arguments(tmp_path):
    pd.DataFrame({"gene": ["ENSG00000141510"], "S1": [1], "S2": [2]}).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(ValueError, match="map_ids must be True, False or 'auto'"):
        dp.io.read_counts(tmp_path / "c.csv", map_ids="yes")
    with pytest.raises(ValueError, match="without gene_map or symbol_col"):
        dp.io.read_counts(tmp_path / "c.csv", gene_map={"ENSG00000141510": "TP53"}, map_ids=True)
    pd.DataFrame({"gene": ["IKZF1", "MYC"], "S1": [1, 2], "S2": [2, 3]}).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(ValueError, match=r"no gene name is an Ensembl .* \['IKZF1', 'MYC'\]"):
        dp.io.read_counts(tmp_path / "s.csv", map_ids=True)


BAM_COLUMNS = [
    (["/data/S1.Aligned.sortedByCoord.out.bam", "/data/S2.Aligned.sortedByCoord.out.bam"], ["S1", "S2"]),
    (["S1.bam", "S2.bam"], ["S1", "S2"]),
    (["S1Aligned.sortedByCoord.out.bam", "S2Aligned.sortedByCoord.out.bam"], ["S1", "S2"]),
    (["bam/S1_Aligned.sortedByCoord.out.bam", "bam/S2_Aligned.sortedByCoord.out.bam"], ["S1", "S2"]),
    (["/x/S1.sorted.dedup.bam", "/x/S2.sorted.dedup.bam"], ["S1", "S2"]),
    (["C:\\bams\\S1.markdup.sorted.bam", "C:\\bams\\S2.markdup.sorted.bam"], ["S1", "S2"]),
    (["star/S1/Aligned.sortedByCoord.out.bam", "star/S2/Aligned.sortedByCoord.out.bam"], ["S1", "S2"]),
    (["S1.sorted.bam", "S2.bam"], ["S1.sorted", "S2"]),  # a suffix not common to all stays
]


def test_featurecounts_sample_names_from_bam_paths(tmp_path):
    rows = [("IKZF1", "chr7", "1", "10", "+", 10, 5, 6), ("MYC", "chr8", "1", "10", "+", 10, 7, 8)]
    for columns, expected in BAM_COLUMNS:
        path = _featurecounts(tmp_path / "counts.txt", columns, rows)
        sheet = pd.DataFrame({"drug": ["DMSO", "lenalidomide"]}, index=expected)
        adata = dp.io.read_counts(path, samples=sheet)
        assert list(adata.obs_names) == expected, columns
        assert adata.to_df().loc[expected[1], "MYC"] == 8


def test_featurecounts_annotation_kept_with_gene_map(tmp_path):
    path = _featurecounts(tmp_path / "counts.txt", ["S1.bam", "S2.bam", "S3.bam"])
    gmap = {"ENSG00000141510.17": "TP53", "ENSG00000182378.14": "PLCXD1", "ENSG00000182378.14_PAR_Y": "PLCXD1"}
    with pytest.warns(UserWarning, match="3 identifiers have no entry"):
        adata = dp.io.read_counts(path, gene_map=gmap)
    assert adata.var.loc["TP53", "length"] == 2579 and adata.var.loc["TP53", "chr"] == "chr17"
    assert adata.var.loc["PLCXD1", "length"] == 6612  # rows summed into one gene: their lengths summed
    assert adata.var.loc["PLCXD1", "gene_ids"] == "ENSG00000182378.14;ENSG00000182378.14_PAR_Y"
    assert adata.to_df()["PLCXD1"].tolist() == [50, 61, 70]  # gene_map sums, as documented
    assert adata.var.loc["ENSG00000185811.21", "start"] == 50304068


PROBES = pd.DataFrame(
    {"A": [7.1, 9.5, 5.0, 11.2, 8.0], "B": [7.3, 9.4, 5.1, 11.0, 8.0], "C": [6.1, 8.2, 4.9, 10.1, 8.0]},
    index=pd.Index(["1552256_a_at", "202716_at", "202717_s_at", "204562_at", "AFFX-BioB-5_at"], name="ID_REF"),
)
GPL = pd.DataFrame({"ID": list(PROBES.index), "Gene Symbol": ["IKZF1", "MYC", "MYC", "IRF4", "---"]})


@pytest.mark.parametrize("with_sheet", [True, False])
def test_microarray_samples_x_probes_equals_its_transpose(tmp_path, with_sheet):
    PROBES.to_csv(tmp_path / "probes_x_samples.csv")
    PROBES.T.rename_axis("sample").assign(batch=["b1", "b1", "b2"]).to_csv(tmp_path / "samples_x_probes.csv")
    sheet = pd.DataFrame({"drug": ["DMSO", "DMSO", "lenalidomide"]}, index=["A", "B", "C"]) if with_sheet else None
    wide = dp.io.read_microarray(tmp_path / "probes_x_samples.csv", samples=sheet, annotation=GPL)
    tall = dp.io.read_microarray(tmp_path / "samples_x_probes.csv", samples=sheet, annotation=GPL)
    assert list(tall.obs_names) == list(wide.obs_names) == ["A", "B", "C"]
    assert list(tall.var_names) == list(wide.var_names)
    np.testing.assert_array_equal(tall.X, wide.X)
    assert tall.var.equals(wide.var) and tall.var.loc["MYC", "probe"] == "202716_at"
    assert tall.obs["batch"].tolist() == ["b1", "b1", "b2"]
    assert float(tall[:, "IRF4"].X[2, 0]) == 10.1
    if with_sheet:
        assert tall.obs["drug"].tolist() == wide.obs["drug"].tolist() == ["DMSO", "DMSO", "lenalidomide"]
    forced = dp.io.read_microarray(tmp_path / "samples_x_probes.csv", annotation=GPL, orientation="samples_x_genes")
    np.testing.assert_array_equal(forced.X, wide.X)


def test_microarray_orientation_ambiguous_and_text_ids(tmp_path):
    square = pd.DataFrame([[7.0, 8.0], [6.0, 5.0]], index=["x1", "x2"], columns=["y1", "y2"])
    square.to_csv(tmp_path / "square.csv")
    with pytest.raises(
        ValueError, match=r"Cannot tell whether square.csv .* as many rows as columns \(2\).*orientation="
    ):
        dp.io.read_microarray(tmp_path / "square.csv")
    sheet = pd.DataFrame({"drug": ["a", "b"]}, index=["y1", "x1"])  # names one row and one column
    with pytest.raises(ValueError, match="the sample sheet names 1 of its rows and 1 of its columns"):
        dp.io.read_microarray(tmp_path / "square.csv", samples=sheet)
    adata = dp.io.read_microarray(tmp_path / "square.csv", orientation="samples_x_genes")
    assert list(adata.obs_names) == ["x1", "x2"] and adata.to_df().loc["x2", "y1"] == 6.0
    square.rename_axis("sample").to_csv(tmp_path / "named.csv")  # the header says which axis holds the samples
    assert list(dp.io.read_microarray(tmp_path / "named.csv").obs_names) == ["x1", "x2"]
    # samples × probes with sample IDs that look like numbers keep them as text
    table = pd.DataFrame({"sample": ["01005", "01010"], "p1": [7.0, 8.0], "p2": [6.0, 5.0], "p3": [1.0, 2.0]})
    table.to_csv(tmp_path / "ids.csv", index=False)
    sheet = pd.DataFrame({"sample": ["01005", "01010"], "drug": ["DMSO", "len"]})
    adata = dp.io.read_microarray(tmp_path / "ids.csv", samples=sheet)
    assert list(adata.obs_names) == ["01005", "01010"] and adata.obs["drug"].tolist() == ["DMSO", "len"]
    assert adata.to_df().loc["01010", "p2"] == 5.0


def test_microarray_ensembl_and_entrez_probe_sets(tmp_path):
    # Brainarray-style custom CDF probe sets: ENSG…_at; two Entrez probe sets of TEC, the higher-mean one takes it
    ens = pd.DataFrame(
        {"A": [7.0, 9.0, 5.0], "B": [7.5, 9.5, 4.0]},
        index=pd.Index(["ENSG00000141510_at", "ENSG00000185811_at", "ENSG00000136997_at"], name="ID"),
    )
    ens.to_csv(tmp_path / "ens.csv")
    with pytest.warns(UserWarning, match="3 renamed"):
        adata = dp.io.read_microarray(tmp_path / "ens.csv")
    assert list(adata.var_names) == ["TP53", "IKZF1", "MYC"]
    assert adata.var.loc["IKZF1", "gene_ids"] == "ENSG00000185811_at" and adata.to_df().loc["B", "IKZF1"] == 9.5
    ent = pd.DataFrame({"A": [7.0, 3.0, 6.0], "B": [7.5, 4.0, 6.5]}, index=pd.Index(["7157", "7006", "100124696"]))
    ent.rename_axis("probe").to_csv(tmp_path / "ent.csv")
    with pytest.warns(UserWarning, match=r"2 renamed.*1 sharing a symbol with a higher-intensity ID"):
        adata = dp.io.read_microarray(tmp_path / "ent.csv")
    assert list(adata.var_names) == ["TP53", "7006", "TEC"]
    assert "highest mean intensity" in adata.uns["gene_ids"]["rule"]
    assert list(dp.io.read_microarray(tmp_path / "ent.csv", map_ids=False).var_names) == ["7157", "7006", "100124696"]


def test_read_h5ad_maps_var_names_and_raw_alike(tmp_path):
    names = ["ENSG00000141510", "ENSG00000185811.21", "ENSG00000182378.14", "ENSG00000182378.14_PAR_Y"]
    counts = np.array([[1, 0, 3, 5], [2, 0, 1, 7]], dtype=float)
    full = ad.AnnData(X=counts, var=pd.DataFrame({"feature_type": ["Gene Expression"] * 4}, index=names))
    full.obs_names = ["c1", "c2"]
    adata = full[:, :3].copy()
    adata.raw = full
    adata.write_h5ad(tmp_path / "cells.h5ad")
    with pytest.warns(UserWarning, match="3 renamed.*1 sharing a symbol with a higher-expression ID"):
        back = dp.io.read(tmp_path / "cells.h5ad")
    # decided on .raw, which has both PLCXD1 copies: the PAR_Y one (12 against 4) takes the symbol
    assert list(back.raw.var_names) == ["TP53", "IKZF1", "ENSG00000182378.14", "PLCXD1"]
    assert list(back.var_names) == ["TP53", "IKZF1", "ENSG00000182378.14"]
    assert back.var["feature_type"].tolist() == ["Gene Expression"] * 3
    assert back.var.loc["IKZF1", "gene_ids"] == "ENSG00000185811.21" and back.uns["gene_ids"]["n_duplicates"] == 1
    np.testing.assert_array_equal(back.raw.X, counts)
    assert list(dp.io.read(tmp_path / "cells.h5ad", map_ids=False).var_names) == names[:3]


def test_featurecounts_extra_attributes(tmp_path):
    # featureCounts --extraAttributes gene_name,gene_type: text columns between Length and the counts
    rows = [
        ("ENSG00000141510.17", "chr17", "7661779", "7687538", "-", 2579, "TP53", "protein_coding", 310, 120),
        ("ENSG00000185811.21", "chr7", "50304068", "50405101", "+", 5913, "IKZF1", "protein_coding", 120, 80),
    ]
    path = _featurecounts(tmp_path / "counts.txt", ["gene_name", "gene_type", "S1.bam", "S2.bam"], rows)
    with pytest.warns(UserWarning, match="2 renamed"):
        adata = dp.io.read_counts(path)
    assert list(adata.obs_names) == ["S1", "S2"] and list(adata.var_names) == ["TP53", "IKZF1"]
    assert adata.var.loc["IKZF1", "gene_type"] == "protein_coding" and adata.to_df().loc["S2", "TP53"] == 120
    by_name = dp.io.read_counts(path, symbol_col="gene_name")
    assert list(by_name.var_names) == ["TP53", "IKZF1"] and by_name.var.loc["TP53", "length"] == 2579
    assert "gene_name" not in by_name.var and by_name.var.loc["TP53", "gene_ids"] == "ENSG00000141510.17"
    with pytest.raises(ValueError, match=r"no column 'symbol' \(its --extraAttributes: \['gene_name', 'gene_type'\]\)"):
        dp.io.read_counts(path, symbol_col="symbol")
