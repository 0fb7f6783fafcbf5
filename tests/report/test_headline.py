"""The headline says what the tables say: every mark, effect and sentence checked against the run's own tables."""

import html as html_lib
import re

import numpy as np
import pandas as pd
import pytest

import drugprint as dp

CELL = re.compile(
    r"<td class='(?P<cls>[a-z]*)' data-signature='(?P<sig>[^']*)' data-source='(?P<src>[^']*)'>"
    r"(?P<text>[^<]*)(?:<sup>(?P<mark>[^<]*)</sup>)?</td>"
)


def _cells(report_html: str) -> pd.DataFrame:
    table = report_html[report_html.index("<table class='headline'>") :]
    table = table[: table.index("</table>")]
    rows = [{k: html_lib.unescape(v or "") for k, v in m.groupdict().items()} for m in CELL.finditer(table)]
    return pd.DataFrame(rows)


def _verdict(report_html: str) -> str:
    text = report_html[report_html.index("<p class='verdict'>") :]
    return html_lib.unescape(re.sub(r"<[^>]+>", "", text[: text.index("</p>")]))


@pytest.fixture(scope="module")
def screen_report(screen, tmp_path_factory):
    cells = screen[screen.obs["cell_type"].isin(["NK", "Myeloma", "CD8 T"])].copy()
    out = tmp_path_factory.mktemp("headline") / "res"
    dp.report.run(cells, out, method="voom", skip=("rank", "compare"), verbose=False)
    return out


def test_marks_agree_with_the_tables(screen_report):
    out = screen_report
    cells = _cells((out / "report.html").read_text())
    assert len(cells) > 20
    tables = {
        "pathway": pd.read_csv(out / "tables" / "pathways.csv"),
        "panel": pd.read_csv(out / "tables" / "panels.csv"),
    }
    both = pd.concat(tables.values()).set_index(["signature", "source"])
    comp = pd.read_csv(out / "tables" / "composition.csv")
    comp["signature"] = comp["cell_type"] + "|" + comp["condition"] + " vs DMSO"
    comp = comp.set_index("signature")
    checked = 0
    for _, c in cells.iterrows():
        if c["src"] == "de":
            continue
        row = comp.loc[c["sig"]] if c["src"] == "composition" else both.loc[(c["sig"], c["src"])]
        effect = row["logit_diff"] if c["src"] == "composition" else row["log2fc"]
        assert c["text"].startswith(f"{effect:+.2f}")
        assert bool(c["mark"]) == (row["padj"] < 0.05), (c.to_dict(), row["padj"])
        assert (c["cls"] in ("up", "down")) == (row["padj"] < 0.05)
        checked += 1
    assert checked > 15
    summary = pd.read_csv(out / "tables" / "de_summary.csv").set_index("signature")
    for _, c in cells[cells["src"] == "de"].iterrows():
        assert c["text"] == f"{summary.loc[c['sig'], 'n_up']}↑ {summary.loc[c['sig'], 'n_down']}↓"


def test_headline_shows_the_panels_that_suit_each_cell_type(screen_report):
    cells = _cells((screen_report / "report.html").read_text())
    panels = cells[~cells["src"].isin(["de", "composition"]) & ~cells["src"].str.startswith("HALLMARK")]
    by_group = panels.assign(group=panels["sig"].str.split("|").str[0]).groupby("group")["src"].unique()
    assert list(by_group["NK"]) == ["cytotoxicity"] and list(by_group["CD8 T"]) == ["cytotoxicity"]
    assert list(by_group["Myeloma"]) == ["irf4_myc"]


def test_verdict_names_the_strongest_response(screen_report):
    out = screen_report
    verdict = _verdict((out / "report.html").read_text())
    summary = pd.read_csv(out / "tables" / "de_summary.csv")
    top = summary.sort_values("n_deg", ascending=False).iloc[0]
    assert (top["group"], top["condition"]) == ("Myeloma", "mezigdomide")
    assert verdict.startswith(f"The strongest response is in Myeloma under mezigdomide: {top['n_deg']} genes")
    de = pd.read_csv(out / "tables" / "de_results.csv")
    mine = de[(de["signature"] == top["signature"]) & (de["padj"] < 0.05)]
    first = mine.sort_values("padj").iloc[0]
    assert f"{first['gene']}{'↑' if first['log2fc'] > 0 else '↓'}" in verdict
    panels = pd.read_csv(out / "tables" / "panels.csv").set_index(["signature", "source"])
    nk = panels.loc[("NK|mezigdomide vs DMSO", "cytotoxicity")]
    assert nk["padj"] < 0.05 and nk["log2fc"] > 0
    assert re.search(r"In NK the cytotoxicity panel \(\d/8 genes\) rose under mezigdomide \(", verdict)
    assert "Power" not in verdict  # 4 donors per arm: the set tests have power
    assert "Proportions: Myeloma fell under mezigdomide" in verdict


def test_power_stated_exactly_when_fits_have_few_df(tmp_path):
    """Two donors, one drug: the verdict says what the replicates allow; † marks the activity test's calls."""
    cells = dp.datasets.imid_screen("small", random_state=1, n_donors=2, cells_per_sample=120)
    keep = cells.obs["cell_type"].isin(["NK", "Myeloma"]) & cells.obs["drug"].isin(["DMSO", "mezigdomide"])
    cells = cells[keep.to_numpy()].copy()
    res = dp.report.run(cells, tmp_path / "res", method="voom", skip=("rank", "compare"), verbose=False)
    low = res["sig"].uns["pathways"]["low_df"]
    assert len(low) and (low["residual_df"] <= 3).all()
    page = (tmp_path / "res" / "report.html").read_text()
    verdict = _verdict(page)
    df = int(low["residual_df"].min())
    assert "Power: with 2 donors" in verdict and f"each fit has {df} residual df" in verdict
    assert "no pathway reached" not in re.sub(r"<[^>]+>", "", page)
    cells_ = _cells(page)
    called = set()  # what the activity test calls at padj < 0.05 in each fit, from the fits' own records
    for key in ("pathways", "panels"):
        for rec in res["sig"].uns[key]["replicates"].values():
            rows, cols = np.nonzero(np.asarray(rec["activity_padj"]) < 0.05)
            called |= {(str(rec["signatures"][i]), str(rec["sources"][j])) for i, j in zip(rows, cols, strict=True)}
    sets = cells_[~cells_["src"].isin(["de", "composition"])]
    daggers = sets[sets["mark"] == "†"]
    assert len(daggers) >= 2  # the planted interferon and IRF4–MYC responses, at least
    assert {(s, c) for s, c in zip(daggers["sig"], daggers["src"], strict=True)} <= called
    unmarked = sets[sets["mark"] == ""]  # and every called cell that camera left unmarked carries its †
    assert not {(s, c) for s, c in zip(unmarked["sig"], unmarked["src"], strict=True)} & called
