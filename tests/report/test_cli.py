import base64
import json
import re

import pytest

import drugprint as dp
from drugprint.cli import main


@pytest.fixture(scope="module")
def small_h5ad(tmp_path_factory, screen):
    sub = screen[screen.obs["cell_type"].isin(["NK", "Myeloma"])].copy()
    path = tmp_path_factory.mktemp("in") / "cells.h5ad"
    sub.write_h5ad(path)
    return path


def test_cli_run_writes_report(small_h5ad, tmp_path, capsys):
    out = tmp_path / "res"
    code = main(
        [
            "run",
            str(small_h5ad),
            "--out",
            str(out),
            "--sample-key",
            "sample",
            "--groupby",
            "cell_type",
            "--condition-key",
            "drug",
            "--control",
            "DMSO",
            "--covariates",
            "donor",
            "--method",
            "voom",
        ]
    )
    assert code == 0
    assert "report.html" in capsys.readouterr().out
    html = (out / "report.html").read_text()
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) >= 4
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in imgs)
    for section in (
        "Inputs and design",
        "Quality control",
        "Differential expression",
        "Pathways",
        "Cytotoxicity",
        "Provenance",
    ):
        assert section in html
    for table in ("de_results", "pathways", "panels", "potency_pathways", "de_summary", "qc_cells_per_group"):
        assert (out / "tables" / f"{table}.csv").stat().st_size > 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["gene_sets"]["licence"] == "CC BY 4.0"
    assert prov["drugprint_run"]["control"] == "DMSO"
    assert prov["de"]["method"] == "voom"
    assert "pydeseq2" in prov["versions"]


def test_cli_errors_are_clear(small_h5ad, tmp_path, capsys):
    code = main(["run", str(small_h5ad), "--out", str(tmp_path), "--control", "vehicle"])
    assert code == 1
    assert "levels present" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.h5ad"), "--out", str(tmp_path)]) == 1
    assert main([]) == 2


def test_io_read_h5mu(tmp_path, screen):
    import mudata as md

    sub = screen[:200].copy()
    mdata = md.MuData({"rna": sub})
    path = tmp_path / "x.h5mu"
    mdata.write(path)
    back = dp.io.read(path, mod="rna")
    assert back.n_obs == 200 and "drug" in back.obs
    with pytest.raises(KeyError, match="modality"):
        dp.io.read(path, mod="prot")
