import base64
import json
import re

import anndata
import numpy as np
import pandas as pd
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
        "Which cells are there",
        "Differential expression",
        "Pathways",
        "Cytotoxicity",
        "Drug similarity",
        "Provenance",
    ):
        assert section in html
    assert "effect correlation" in html  # donors present: the split-donor similarity is reported
    assert "<code>padj_global</code>" in html  # the global FDR is shown next to the per-cell-type one

    summary = pd.read_csv(out / "tables" / "de_summary.csv")
    assert (summary["n_deg_global"] >= 0).all() and summary["n_deg_global"].sum() > 0
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
        "composition",
        "composition_counts",
    ):
        assert (out / "tables" / f"{table}.csv").stat().st_size > 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["gene_sets"]["licence"] == "CC BY 4.0"
    assert prov["drugprint_run"]["control"] == "DMSO"
    assert prov["stages"]["composition"] == "done" and prov["composition"]["design"] == "~ donor + drug"
    assert prov["de"]["method"] == "voom"
    assert "replicates" not in prov["de"] and prov["pathways"]["params"]["method"] == "camera"
    assert list(prov["pathways"]["pvalue_basis"]) == ["replicates (camera)"]


def _browse(report):
    """Open a report in Debian's Chromium at 1440 × 900: each image's state, the h2 headings, the TOC targets, the
    page height, where the verdict and the headline table end, and the width of a figure opened in place."""
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
        "--hide-scrollbars",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        metrics = {"width": 1440, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # the page's viewport: 1440 × 900
        driver.get(report.resolve().as_uri())
        page = driver.execute_script(
            """const box = s => {
              const el = document.querySelector(s);
              return el ? el.getBoundingClientRect().bottom : null;
            };
            return {
              images: Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
              headings: Array.from(document.querySelectorAll('h2')).map(h => h.textContent),
              toc: Array.from(document.querySelectorAll('nav.toc a')).map(
                a => document.getElementById(a.getAttribute('href').slice(1)) !== null),
              height: document.body.scrollHeight,
              viewport: window.innerHeight,
              verdict_bottom: box('p.verdict'),
              headline_bottom: box('table.headline'),
            };"""
        )
        page["opened_width"] = driver.execute_script(
            """const img = document.querySelector('.grid figure img');
            if (!img) return null;
            img.click();
            return img.getBoundingClientRect().width;"""
        )
        return page
    finally:
        driver.quit()


def test_report_renders_in_headless_chromium(cli_report):
    """The report opens in Debian's Chromium, every embedded figure decodes and the page is a readable length."""
    page = _browse(cli_report / "report.html")
    images = page["images"]
    assert len(images) == len(list((cli_report / "figures").glob("*.png"))) >= 6
    assert all(done and w > 100 and h > 100 for done, w, h in images)
    assert page["headings"][0] == "Summary" and page["headings"][-1] == "Provenance"
    assert len(page["toc"]) == len(page["headings"]) and all(page["toc"])
    assert page["height"] < 12000  # per-cell-type figures in a grid, not one 26,000 px column
    # the answer above the fold: verdict and headline table visible at 1440 × 900 without scrolling
    assert page["viewport"] >= 850 and page["headline_bottom"] is not None
    assert page["verdict_bottom"] < page["headline_bottom"] <= page["viewport"]
    assert page["opened_width"] >= 800  # a thumbnail opens in place at reading size


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


@pytest.fixture(scope="module")
def kang_scanpy(tmp_path_factory):
    """The Kang 2018 IFN-β PBMCs as a scanpy user keeps them: counts only in .raw, X normalised and log1p."""
    from tests.conftest import kang_cells

    path = tmp_path_factory.mktemp("kang") / "kang.h5ad"
    kang_cells(scanpy_processed=True).write_h5ad(path)
    return path


@pytest.fixture(scope="module")
def kang_report(kang_scanpy, tmp_path_factory):
    out = tmp_path_factory.mktemp("kang_report") / "res"
    args = ["run", str(kang_scanpy), "--out", str(out), "--sample-key", "sample_id", "--groupby", "cluster_id"]
    with pytest.warns(UserWarning, match=r"adata\.raw"):  # X is log-normalised: the counts come from .raw, said so
        assert main([*args, "--condition-key", "group_id", "--method", "voom"]) == 0
    return out


def test_kang_one_arm_report(kang_report):
    """One treated arm, no donor column, counts in .raw, no --control: the run completes and says what it left out."""
    import anndata
    import numpy as np

    out = kang_report
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["drugprint_run"]["control"] == "ctrl" and prov["drugprint_run"]["covariates"] == []
    assert prov["stages"]["rank"].startswith("not run: each cell type has a single condition")
    assert "no two drugs to compare" in prov["stages"]["compare"]
    assert prov["stages"]["panels"] == "done"
    html = (out / "report.html").read_text()
    assert "there are no two drugs to compare" in html and "No covariate entered the design" in html
    assert "IMiD" not in html and "Neosubstrates" not in html  # no IMiD sections for an interferon study
    assert not (out / "tables" / "similarity.csv").exists() and not (out / "tables" / "potency_rank.csv").exists()
    paths = pd.read_csv(out / "tables" / "pathways.csv")
    ifn = paths[paths["source"] == "HALLMARK_INTERFERON_ALPHA_RESPONSE"].set_index("cluster_id")
    assert len(ifn) >= 4 and (ifn["log2fc_lo"] > 1).all()  # ISGs far up in every cell type, interval above 1
    rank = paths.groupby("cluster_id")["score"].rank(ascending=False)
    assert (rank[paths["source"] == "HALLMARK_INTERFERON_ALPHA_RESPONSE"] <= 3).all()
    de = pd.read_csv(out / "tables" / "de_results.csv")
    isg15 = de[(de["gene"] == "ISG15")]["log2fc"]
    assert np.all(isg15 > 4)
    back = anndata.read_h5ad(out / "signatures.h5ad")
    assert back.n_obs == len(ifn) and back.uns["de"]["control"] == "ctrl"
    # 2 samples per arm: camera calls no pathway, and the report says the study could not tell, with the replicates,
    # instead of "nothing moved"; the calibrated activity test calls interferon-alpha up in every cell type
    text = re.sub(r"<[^>]+>", "", html)
    assert "no pathway reached" not in text
    assert text.count(
        "could not tell which pathways moved — with 2 residual degree(s) of freedom (ctrl: 2, stim: 2 "
        "profiles), camera has almost no power"
    ) == len(ifn)
    assert "ctrl: 2, stim: 2 profiles, 2 residual degree(s) of freedom. With so few" in text
    low = back.uns["pathways"]["low_df"]
    assert len(low) == len(ifn) and (low["residual_df"] == 2).all() and (low["called"] == 0).all()
    assert low["activity_calls"].str.contains("HALLMARK_INTERFERON_ALPHA_RESPONSE up").all()


def test_demo_answer_above_the_fold(tmp_path):
    """The demo (small preset): the verdict names mezigdomide's effect in myeloma and the NK cytotoxicity rise, and
    the verdict and the whole headline table fit a 1440 × 900 screen without scrolling."""
    dp.report.demo(tmp_path / "demo", preset="small", verbose=False)
    page = (tmp_path / "demo" / "report.html").read_text()
    verdict = page[page.index("<p class='verdict'>") :]
    verdict = re.sub(r"<[^>]+>", "", verdict[: verdict.index("</p>")])
    assert verdict.startswith("The strongest response is in Myeloma under mezigdomide")
    assert "IRF4–MYC panel (2/2 genes) -" in verdict
    assert re.search(r"In NK the cytotoxicity panel \(\d/8 genes\) rose under mezigdomide", verdict)
    assert "Proportions: Myeloma fell under mezigdomide" in verdict
    shown = _browse(tmp_path / "demo" / "report.html")
    assert shown["verdict_bottom"] < shown["headline_bottom"] <= shown["viewport"] == 900
    assert shown["opened_width"] >= 800


def test_kang_verdict_with_donors(tmp_path):
    """Kang 2018 with its two donors (DESeq2, ~ donor + group_id): the verdict names the interferon response and
    its genes, states 2 donors and 1 residual df, and never says that nothing moved."""
    from tests.conftest import kang_cells

    cells = kang_cells()
    cells.obs["donor"] = cells.obs["sample_id"].str[-3:]  # ctrl101/stim101: donor 101
    out = tmp_path / "res"
    dp.report.run(cells, out, sample_key="sample_id", groupby="cluster_id", condition_key="group_id", verbose=False)
    page = (out / "report.html").read_text()
    verdict = page[page.index("<p class='verdict'>") :]
    verdict = re.sub(r"<[^>]+>", "", verdict[: verdict.index("</p>")])
    assert "Interferon α response" in verdict
    assert any(g in verdict for g in ("ISG15↑", "MX1↑", "IFI6↑", "ISG20↑", "CXCL10↑", "IFIT3↑"))
    assert "with 2 donors" in verdict and "each fit has 1 residual df" in verdict
    text = re.sub(r"<[^>]+>", "", page)
    assert "no pathway reached" not in text and "nothing moved" not in text.replace("evidence that nothing moved", "")
    de = pd.read_csv(out / "tables" / "de_summary.csv").sort_values("n_deg", ascending=False).iloc[0]
    assert verdict.startswith(f"The strongest response is in {de['group']} under stim: {de['n_deg']} genes")
    page = _browse(out / "report.html")
    assert page["verdict_bottom"] < page["headline_bottom"] <= page["viewport"]


def test_kang_report_renders(kang_report):
    page = _browse(kang_report / "report.html")
    assert all(done and w > 100 and h > 100 for done, w, h in page["images"])
    assert len(page["images"]) == len(list((kang_report / "figures").glob("*.png"))) >= 5
    assert "7. Drug similarity" in page["headings"] and all(page["toc"])
    assert page["height"] < 10000
    assert page["verdict_bottom"] < page["headline_bottom"] <= page["viewport"]
    assert page["opened_width"] >= 800


def test_nets_skip_and_slashed_labels(screen, tmp_path):
    """--nets adds a collection, --skip leaves stages out; labels with '/' survive h5ad, figures and tables."""
    import warnings

    import anndata as ad

    sub = screen[screen.obs["cell_type"].isin(["NK", "Myeloma"])].copy()
    sub.obs["cell_type"] = sub.obs["cell_type"].astype(str).replace({"NK": "NK/ILC"})
    sub.obs["drug"] = sub.obs["drug"].astype(str).replace({"lenalidomide": "len/dex"})
    path = tmp_path / "cells.h5ad"
    sub.write_h5ad(path)
    out = tmp_path / "res"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*'/'.*")  # anndata's warning about '/' in keys
        code = main(
            [
                "run",
                str(path),
                "--out",
                str(out),
                "--method",
                "voom",
                "--nets",
                "hallmark",
                "progeny",
                "--skip",
                "panels",
                "dose",
                "composition",
            ]
        )
    assert code == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["stages"]["panels"] == "skipped on request" and prov["stages"]["pathways_progeny"] == "done"
    assert prov["other_gene_sets"]["pathways_progeny"]["source"].startswith("PROGENy")
    assert (out / "figures" / "heatmap_pathways_progeny.png").exists()
    assert (out / "tables" / "pathways_progeny.csv").exists() and not (out / "tables" / "panels.csv").exists()
    assert (out / "figures" / "volcano_nk_ilc.png").exists()
    back = ad.read_h5ad(out / "signatures.h5ad")
    assert "NK/ILC|len/dex vs DMSO" in back.obs_names and "pathways_progeny" in back.obsm
    assert "Panels skipped on request" in (out / "report.html").read_text()
    assert "Composition skipped on request" in (out / "report.html").read_text()
    assert not (out / "tables" / "composition.csv").exists() and prov["composition"] is None


def test_report_composition_and_cells_a_drug_removed(screen, tmp_path):
    """The composition section, its summary line, and the profile mezigdomide emptied of myeloma cells."""
    res = dp.report.run(screen, tmp_path / "res", method="voom", skip=("rank", "compare"), verbose=False)
    comp = res["composition"].set_index(["cell_type", "condition"])
    assert comp.loc[("Myeloma", "mezigdomide"), "padj"] < 0.01 and comp.loc[("NK", "mezigdomide"), "log2fc"] > 0
    dropped = pd.read_csv(tmp_path / "res" / "tables" / "qc_dropped_profiles.csv")
    removed = dropped[dropped["removed_by_condition"]]
    assert removed[["sample", "cell_type", "condition"]].values.tolist() == [
        ["D1_mezigdomide", "Myeloma", "mezigdomide"]
    ]
    assert not dropped.loc[dropped["cell_type"] == "B", "removed_by_condition"].any()  # few B cells in D3: not a drug
    html = (tmp_path / "res" / "report.html").read_text()
    summary = html[html.index("<div class='summary'>") : html.index("id='design'")]
    assert "<b>Composition</b>" in summary and "Myeloma down under mezigdomide" in summary
    assert "mezigdomide left too few Myeloma cells in 1 sample(s) (D1_mezigdomide)" in summary
    for name in ("composition", "composition_heatmap"):
        assert (tmp_path / "res" / "figures" / f"{name}.png").exists()


def test_panels_are_optional(screen, tmp_path):
    """No panel gene measured: the panels stage is reported as not run, and the rest of the report is written."""
    sub = screen[screen.obs["cell_type"] == "Myeloma"].copy()
    genes = {g for v in dp.resources.panels().values() for g in v}
    sub = sub[:, ~sub.var_names.isin(list(genes))].copy()
    res = dp.report.run(sub, tmp_path / "res", method="voom", verbose=False)
    # a myeloma study of IMiDs: the panels that suit myeloma cells (IRF4–MYC, interferon, neosubstrate mRNA)
    assert res["stages"]["panels"].startswith("not run: No gene of the 3 sets (interferon, irf4_myc, neosubstrates")
    assert res["stages"]["rank"] == "done" and (tmp_path / "res" / "report.html").exists()
    assert res["stages"]["composition"] == "not run: a single cell_type (proportions need two or more)"


def test_cli_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for flag in ("--nets", "--skip", "--pathway-method", "--use-raw", "--control", "--covariates", "--method"):
        assert flag in text
    options = re.findall(r"^\s+(--[a-z-]+)", text, flags=re.M)
    assert len(options) >= 19
    import argparse

    from drugprint.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)).choices["run"]
    flags = [a for a in sub._actions if a.option_strings and a.dest != "help"]
    assert len(flags) == len(options) and all(a.help for a in flags)  # every option has a help text
    blocks = [b for b in re.split(r"\n(?=  -)", text) if b.lstrip().startswith("--")]
    assert len(blocks) == len(flags) and all("(default:" in b for b in blocks)  # each shows its default


def test_cli_errors_name_the_flag(small_h5ad, tmp_path, capsys):
    assert main(["run", str(small_h5ad), "--out", str(tmp_path), "--covariates", "batch", "--method", "voom"]) == 1
    err = capsys.readouterr().err
    assert "'batch' (--covariates)" in err and "to that flag" in err and "covariates=" not in err
    assert main(["run", str(small_h5ad), "--out", str(tmp_path), "--control", "vehicle"]) == 1
    err = capsys.readouterr().err
    assert "Pass --control ..." in err and "control=" not in err


def test_cli_robust(small_h5ad, tmp_path, capsys):
    """--robust: limma's robust empirical Bayes in the DE fits, said in the report; refused with DESeq2."""
    out = tmp_path / "res"
    args = ["run", str(small_h5ad), "--out", str(out), "--method", "voom", "--robust", "--skip", "rank", "compare"]
    assert main(args) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["drugprint_run"]["robust"] is True and prov["de"]["robust"] is True
    assert "limma's robust empirical Bayes" in (out / "report.html").read_text()
    assert main(["run", str(small_h5ad), "--out", str(out), "--robust"]) == 1
    err = capsys.readouterr().err
    assert "--robust True is limma's robust empirical Bayes: use --method 'voom' or 'limma', not 'deseq2'" in err


def test_report_composition_with_time_points(tmp_path):
    """match="time": the composition design takes the time point as a covariate, beside the donor."""
    cells = dp.datasets.imid_screen("small", random_state=4, timepoints=[6, 24], n_donors=3, cells_per_sample=120)
    cells = cells[cells.obs["cell_type"].isin(["NK", "Myeloma"])].copy()
    res = dp.report.run(
        cells, tmp_path / "res", method="voom", match="time", skip=("rank", "compare", "time"), verbose=False
    )
    prov = json.loads((tmp_path / "res" / "provenance.json").read_text())
    assert prov["composition"]["design"] == "~ donor + time + drug" and prov["composition"]["covariates"] == [
        "donor",
        "time",
    ]
    comp = res["composition"].set_index(["cell_type", "condition"])
    assert comp.loc[("Myeloma", "mezigdomide"), "log2fc"] < 0 and comp.loc[("NK", "mezigdomide"), "log2fc"] > 0


def test_cli_design_flags(small_h5ad, tmp_path, capsys):
    """--design/--contrast/--coef/--reduced/--block reach dp.tl.de: the CLI fits any design the API fits."""
    fast = ["--method", "voom", "--skip", "rank", "compare", "composition", "panels"]

    def cli(name, *args):
        out = tmp_path / name
        assert main(["run", str(small_h5ad), "--out", str(out), *args, *fast]) == 0
        return pd.read_csv(out / "tables" / "de_results.csv"), json.loads((out / "provenance.json").read_text())

    table, _ = cli("pair", "--contrast", "pomalidomide", "lenalidomide")
    pdata = dp.pp.pseudobulk(anndata.read_h5ad(small_h5ad))
    api = dp.get.de_table(dp.tl.de(pdata, method="voom", contrasts=[("pomalidomide", "lenalidomide")], verbose=False))
    assert set(table["reference"]) == {"lenalidomide"} and len(table) == len(api)
    np.testing.assert_allclose(table["pvalue"], api["pvalue"], rtol=1e-9)

    celmod = "CELMoD vs IMiD=iberdomide:.5,mezigdomide:.5,lenalidomide:-.5,pomalidomide:-.5"
    table, _ = cli("weights", "--contrast", celmod)
    assert set(table["condition"]) == {"CELMoD vs IMiD"}

    coefs = ["drug[T.mezigdomide]", "drug[T.iberdomide]"]
    table, prov = cli("coef", "--design", "~ donor + drug", "--coef", *coefs)
    assert prov["de"]["design"] == "~ donor + drug" and prov["de"]["coef"] == coefs
    assert prov["stages"]["pathways"] == "done" and set(table["condition"]) == set(coefs)

    _, prov = cli("block", "--design", "~ drug", "--block", "donor")
    assert prov["de"]["block"] == "donor" and prov["drugprint_run"]["block"] == "donor"

    table, prov = cli("omnibus", "--design", "~ donor + drug", "--reduced", "~ donor")
    assert prov["de"]["reduced"] == "~ donor" and len(table) > 0
    assert prov["stages"]["pathways"].startswith("not run: every test is an omnibus test")
    assert prov["stages"]["potency"] == "not run: needs pathways, which no earlier stage produced"
    assert (tmp_path / "omnibus" / "report.html").exists()

    assert main(["run", str(small_h5ad), "--out", str(tmp_path), "--contrast", "pomalidomide"]) == 1
    assert "--contrast 'pomalidomide': give 'CONDITION REFERENCE'" in capsys.readouterr().err
    assert main(["run", str(small_h5ad), "--out", str(tmp_path), "--design", "~ drug", "--block", "donor"]) == 1
    assert "--block" in capsys.readouterr().err


def test_report_enriches_the_up_and_down_genes(small_h5ad, tmp_path):
    """GO BP over-representation of each condition's up and down genes runs by default: Table 3 names the top
    terms, tables/enrich.csv holds every called term and each list's top 10; --skip enrich leaves it out."""
    out = tmp_path / "res"
    assert main(["run", str(small_h5ad), "--out", str(out), "--method", "voom", "--skip", "rank", "compare"]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["stages"]["enrich"] == "done"
    t3 = pd.read_csv(out / "tables" / "table3_degs.csv").set_index(["group", "condition"])
    enrich = pd.read_csv(out / "tables" / "enrich.csv")
    mez = enrich[(enrich["signature"] == "Myeloma|mezigdomide vs DMSO") & (enrich["padj"] < 0.05)]
    for direction in ("up", "down"):
        top = mez[mez["direction"] == direction].sort_values("pvalue").iloc[0]
        assert t3.loc[("Myeloma", "mezigdomide"), f"top_terms_{direction}"].startswith(
            f"{top['term']} ({top['source']})"
        )
    assert (t3["n_total"] == t3["n_up"] + t3["n_down"]).all()
    per_list = enrich.groupby(["signature", "direction"]).size()
    assert (per_list >= 10).all() and (
        (enrich["padj"] < 0.05) | (enrich.groupby(["signature", "direction"]).cumcount() < 10)
    ).all()
    html = (out / "report.html").read_text()
    assert "What the up and down genes do" in html and "Gene Ontology biological process" in html
    assert (out / "figures" / "enrich_dotplot.png").exists()
    assert main(["run", str(small_h5ad), "--out", str(out), "--method", "voom", "--skip", "enrich", "rank"]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["stages"]["enrich"] == "skipped on request" and not (out / "tables" / "enrich.csv").exists()


@pytest.fixture(scope="module")
def bulk_files(screen, tmp_path_factory):
    """The screen's myeloma profiles as a bulk study: a count table (genes × samples) and its sample sheet."""
    pdata = dp.pp.pseudobulk(screen[screen.obs["cell_type"] == "Myeloma"].copy())
    pdata = pdata[pdata.obs["drug"].isin(["DMSO", "lenalidomide", "mezigdomide"]).to_numpy()].copy()
    names = [f"S{i + 1:02d}" for i in range(pdata.n_obs)]
    folder = tmp_path_factory.mktemp("bulk")
    counts = pd.DataFrame(np.asarray(pdata.X, dtype=np.int64).T, index=pdata.var_names, columns=names)
    genes = dp.resources.gene_table()
    ensembl = genes[genes["ensembl"] != ""].drop_duplicates("symbol").set_index("symbol")["ensembl"]
    ids = counts.index.map(lambda g: f"{ensembl[g]}.7" if g in ensembl.index else g)  # versioned, as GENCODE
    counts.set_axis(ids).rename_axis("gene").to_csv(folder / "counts.csv")
    sheet = pdata.obs[["drug", "donor"]].astype(str).set_axis(names).rename_axis("sample")
    sheet.to_csv(folder / "samples.csv")
    logcpm = np.log2((counts + 0.5) / (counts.sum() + 1) * 1e6)
    logcpm.to_csv(folder / "array.csv")
    return folder


def test_cli_bulk_counts_through_the_report(bulk_files, tmp_path):
    """A count table with Ensembl IDs and a sample sheet: symbols again on read, one group of samples, DE,
    pathways, GO of the up and down genes, Table 3; the stages about cells are not run, and say why."""
    out = tmp_path / "bulk"
    args = ["run", str(bulk_files / "counts.csv"), "--samples", str(bulk_files / "samples.csv"), "--out", str(out)]
    assert main([*args, "--condition-key", "drug", "--method", "voom", "--skip", "rank"]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert (
        prov["stages"]["composition"] == "not run: the input is samples (bulk), not cells: there are no cells to count"
    )
    assert all(prov["stages"][s] == "done" for s in ("de", "pathways", "enrich", "summaries", "figures"))
    assert prov["de"]["covariates"] == ["donor"] and prov["pseudobulk"]["samples"] is True
    t3 = pd.read_csv(out / "tables" / "table3_degs.csv").set_index("condition")
    assert t3.loc["mezigdomide", "n_total"] > 50 and str(t3.loc["mezigdomide", "top_terms_down"]).count("(GO:") >= 1
    html = re.sub(r"<[^>]+>", "", (out / "report.html").read_text())
    assert "11 samples × 5,586 genes entered the fits as profiles, one per sample." in html  # one of 12 had <10 cells
    assert "Samples per condition" in html and "The strongest response is in all samples under mezigdomide" in html
    de = pd.read_csv(out / "tables" / "de_results.csv")
    assert {"IRF4", "MYC", "ISG15"} <= set(de["gene"])  # Ensembl IDs read back as symbols

    out = tmp_path / "nosets"  # genes no collection knows: pathways not run, the report still written
    probes = pd.read_csv(bulk_files / "counts.csv", index_col=0).set_axis([f"probe_{i}" for i in range(5586)])
    probes.rename_axis("gene").to_csv(tmp_path / "probes.csv")
    args = ["run", str(tmp_path / "probes.csv"), "--samples", str(bulk_files / "samples.csv"), "--out", str(out)]
    assert main([*args, "--condition-key", "drug", "--method", "voom"]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["stages"]["pathways"].startswith("not run: No gene") and prov["stages"]["de"] == "done"
    assert prov["stages"]["potency"] == "not run: needs pathways, which no earlier stage produced"


def test_cli_microarray_through_the_report(bulk_files, tmp_path):
    out = tmp_path / "array"
    args = ["run", str(bulk_files / "array.csv"), "--microarray", "--samples", str(bulk_files / "samples.csv")]
    assert main([*args, "--out", str(out), "--condition-key", "drug", "--skip", "rank", "compare"]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["de"]["method"] == "limma" and prov["stages"]["pathways"] == "done"
    de = pd.read_csv(out / "tables" / "de_summary.csv").set_index("condition")
    assert de.loc["mezigdomide", "n_deg"] > 20


def test_cli_salmon_folder(bulk_files, tmp_path):
    """A folder of salmon outputs (one subfolder per sample, transcript level) with a transcript → gene map."""
    counts = pd.read_csv(bulk_files / "counts.csv", index_col=0)
    counts = counts.iloc[:1500]
    tx = [f"{g}-tx{k}" for g in counts.index for k in (1, 2)]
    for sample in counts.columns:
        reads = np.repeat(counts[sample].to_numpy() / 2, 2)  # two transcripts per gene, half the reads each
        folder = tmp_path / "salmon" / sample
        folder.mkdir(parents=True)
        lines = ["Name\tLength\tEffectiveLength\tTPM\tNumReads"] + [
            f"{t}\t2000\t1850.5\t1.0\t{r:.1f}" for t, r in zip(tx, reads, strict=True)
        ]
        (folder / "quant.sf").write_text("\n".join(lines) + "\n")
    pd.DataFrame({"tx": tx, "gene": [t.rsplit("-tx", 1)[0] for t in tx]}).to_csv(tmp_path / "tx2gene.csv", index=False)
    out = tmp_path / "res"
    args = ["run", str(tmp_path / "salmon"), "--samples", str(bulk_files / "samples.csv"), "--out", str(out)]
    args += ["--gene-map", str(tmp_path / "tx2gene.csv"), "--condition-key", "drug", "--method", "voom"]
    assert main([*args, "--skip", "rank", "compare", "enrich"]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["input"]["n_genes"] <= 1500 and prov["stages"]["de"] == "done"
    de = pd.read_csv(out / "tables" / "de_results.csv")  # transcripts → versioned Ensembl genes → symbols
    assert de["gene"].str.startswith("ENSG").mean() < 0.01 and {"CDK4", "CDK1", "CDC6"} <= set(de["gene"])
    assert main(["run", str(tmp_path), "--samples", str(bulk_files / "samples.csv"), "--out", str(out)]) == 1


def test_panels_shown_when_pathways_are_skipped(small_h5ad, tmp_path):
    """--skip pathways: no tiers, but the panels section still lists the panels called, from the panels table."""
    out = tmp_path / "res"
    assert main(["run", str(small_h5ad), "--out", str(out), "--method", "voom", "--skip", "pathways", "enrich"]) == 0
    panels = pd.read_csv(out / "tables" / "panels.csv")
    called = panels[panels["padj"] < 0.05]
    html = (out / "report.html").read_text()
    section = html[html.index("6. Gene panels") :]
    assert len(called) > 0 and "Panels done" not in html
    assert all(f"<td>{src}</td>" in section for src in called["source"].unique())
