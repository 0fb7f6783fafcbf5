import gzip

import numpy as np
import pandas as pd
import pytest

import drugprint as dp

SERIES = """!Series_title\t"Lenalidomide in myeloma cell lines"
!Series_geo_accession\t"GSE00001"
!Series_platform_id\t"GPL570"
!Sample_title\t"MM1S_DMSO_rep1"\t"MM1S_DMSO_rep2"\t"MM1S_len_rep1"\t"MM1S_len_rep2"
!Sample_geo_accession\t"GSM1"\t"GSM2"\t"GSM3"\t"GSM4"
!Sample_source_name_ch1\t"MM.1S"\t"MM.1S"\t"MM.1S"\t"MM.1S"
!Sample_characteristics_ch1\t"treatment: DMSO"\t"treatment: DMSO"\t"treatment: lenalidomide"\t"treatment: lenalidomide"
!Sample_characteristics_ch1\t"time: 24h"\t"time: 24h"\t"time: 24h"\t"time: 24h"
!Sample_data_processing\t"RMA, log2"\t"RMA, log2"\t"RMA, log2"\t"RMA, log2"
!series_matrix_table_begin
"ID_REF"\t"GSM1"\t"GSM2"\t"GSM3"\t"GSM4"
"1552256_a_at"\t7.1\t7.3\t6.1\t6.0
"202716_at"\t9.5\t9.4\t8.2\t8.4
"202717_s_at"\t5.0\t5.1\t4.9\t5.2
"204562_at"\t11.2\t11.0\t10.1\t10.0
"AFFX-BioB-5_at"\t8.0\t8.0\t8.0\t8.0
!series_matrix_table_end
"""

GPL = pd.DataFrame(
    {
        "ID": ["1552256_a_at", "202716_at", "202717_s_at", "204562_at", "AFFX-BioB-5_at"],
        "Gene Symbol": ["IKZF1", "MYC", "MYC", "IRF4 /// DUSP22", "---"],
    }
)


@pytest.fixture
def series(tmp_path):
    path = tmp_path / "GSE00001_series_matrix.txt.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(SERIES)
    return path


def test_geo_series_matrix(series):
    adata = dp.io.read_microarray(series, annotation=GPL)
    assert list(adata.obs_names) == ["GSM1", "GSM2", "GSM3", "GSM4"]
    assert adata.obs["treatment"].tolist() == ["DMSO", "DMSO", "lenalidomide", "lenalidomide"]
    assert adata.obs["time"].iloc[0] == "24h"
    assert adata.obs["title"].iloc[2] == "MM1S_len_rep1"
    assert sorted(adata.var_names) == ["IKZF1", "IRF4", "MYC"]  # '---' dropped, 'IRF4 /// DUSP22' → IRF4
    assert adata.var.loc["MYC", "probe"] == "202716_at"  # the higher-mean probe
    assert adata.var.loc["MYC", "n_probes"] == 2
    assert adata.uns["io"]["format"] == "GEO series matrix" and not adata.uns["io"]["log2_applied"]


def test_mean_collapse_and_probes(series):
    mean = dp.io.read_microarray(series, annotation=GPL, collapse="mean")
    np.testing.assert_allclose(mean[:, "MYC"].X.ravel(), [7.25, 7.25, 6.55, 6.8])
    probes = dp.io.read_microarray(series, annotation=GPL, collapse=None)
    assert probes.n_vars == 5 and probes.var.loc["202717_s_at", "symbol"] == "MYC"


def test_unlogged_table_and_sheet(tmp_path):
    df = pd.DataFrame({"probe": ["p1", "p2"], "A": [1024.0, 32.0], "B": [2048.0, 0.5]})
    df.to_csv(tmp_path / "mas5.csv", index=False)
    with pytest.warns(UserWarning, match="look unlogged"):
        adata = dp.io.read_microarray(
            tmp_path / "mas5.csv", samples=pd.DataFrame({"drug": ["x", "y"]}, index=["A", "B"])
        )
    np.testing.assert_allclose(adata.X, [[10, 5], [11, 0]])
    assert adata.obs["drug"].tolist() == ["x", "y"]


def test_microarray_errors(tmp_path):
    (tmp_path / "x.txt").write_text('!Series_title\t"x"\n!Sample_title\t"a"\n')
    with pytest.raises(ValueError, match="series_matrix_table_begin"):
        dp.io.read_microarray(tmp_path / "x.txt")
    pd.DataFrame({"probe": ["p1"], "A": ["high"]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError, match="not numeric"):
        dp.io.read_microarray(tmp_path / "t.csv")
    pd.DataFrame({"probe": ["p1"], "A": [5.0]}).to_csv(tmp_path / "ok.csv", index=False)
    with pytest.raises(ValueError, match="No probe has a gene symbol"):
        dp.io.read_microarray(tmp_path / "ok.csv", annotation=pd.DataFrame({"ID": ["zz"], "symbol": ["A"]}))
    with pytest.raises(ValueError, match="Unknown collapse"):
        dp.io.read_microarray(tmp_path / "ok.csv", collapse="median")


def test_probe_with_two_symbols_is_an_error(series):
    gpl = pd.concat([GPL, pd.DataFrame({"ID": ["202716_at", "1552256_a_at"], "Gene Symbol": ["MYC", "IKZF3"]})])
    with pytest.raises(ValueError, match=r"annotation maps 1 identifier\(s\) .* \['1552256_a_at'\]"):
        dp.io.read_microarray(series, annotation=gpl)
    # a repeated identical row (202716_at → MYC) is harmless
    adata = dp.io.read_microarray(series, annotation=gpl.iloc[:-1])
    assert adata.var.loc["MYC", "n_probes"] == 2 and adata.var.loc["MYC", "probe"] == "202716_at"
