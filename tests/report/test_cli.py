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


@pytest.fixture(scope="module")
def cli_report(small_h5ad, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "res"
    args = [
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
    assert main(args) == 0
    return out


def test_cli_run_writes_report(cli_report):
    out = cli_report
    html = (out / "report.html").read_text()
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) >= 6
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in imgs)
    for section in (
        "Summary",
        "Inputs and design",
        "Quality control",
        "Differential expression",
        "Pathways",
        "Cytotoxicity",
        "Drug similarity",
        "Provenance",
    ):
        assert section in html
    assert "effect correlation" in html  # donors present: the split-donor similarity is reported
    for table in (
        "de_results",
        "pathways",
        "panels",
        "potency_pathways",
        "potency_rank",
        "similarity",
        "table2_tiers",
        "table3_degs",
        "de_summary",
        "qc_cells_per_group",
    ):
        assert (out / "tables" / f"{table}.csv").stat().st_size > 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["gene_sets"]["licence"] == "CC BY 4.0"
    assert prov["drugprint_run"]["control"] == "DMSO"
    assert prov["de"]["method"] == "voom"
    assert "replicates" not in prov["de"] and prov["pathways"]["method"] == "camera"
    assert list(prov["pathways"]["pvalue_basis"]) == ["replicates (camera)"]


def test_report_renders_in_headless_chromium(cli_report):
    """The report opens in Debian's Chromium and every embedded figure decodes (naturalWidth > 0)."""
    import shutil

    webdriver = pytest.importorskip("selenium.webdriver")
    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver_path:
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get((cli_report / "report.html").resolve().as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]);"
        )
        headings = driver.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent);")
    finally:
        driver.quit()
    assert len(images) == len(list((cli_report / "figures").glob("*.png"))) >= 6
    assert all(done and w > 100 and h > 100 for done, w, h in images)
    assert headings[0] == "Summary" and headings[-1] == "Provenance"


def test_cli_errors_are_clear(small_h5ad, tmp_path, capsys):
    code = main(["run", str(small_h5ad), "--out", str(tmp_path), "--control", "vehicle"])
    assert code == 1
    err = capsys.readouterr().err
    assert "'vehicle'" in err and "'DMSO'" in err and "levels present" in err
    assert main(["run", str(tmp_path / "missing.h5ad"), "--out", str(tmp_path)]) == 1
    assert "missing.h5ad" in capsys.readouterr().err
    assert main([]) == 2
    assert "usage: drugprint" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("drugprint ")


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
