"""A screen's report: chosen for a group of more than 30 conditions, an overview of hits, clusters and every
compound (sortable, searchable, self-contained), the details of the strongest hits only, and a bounded size;
a small study keeps the study's report."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

import drugprint as dp
from drugprint.report import _screen
from drugprint.report._config import RunConfig

#: report.html of the small screen below stays under this (at 1,000 compounds it is ~2 MB; see the statistics page).
MAX_BYTES = 1_500_000


@pytest.fixture(scope="module")
def screen_run(tmp_path_factory):
    pdata = dp.datasets.screen(36, cell_lines=2, n_genes=1200, random_state=3)
    out = tmp_path_factory.mktemp("screen") / "res"
    cohort = dp.datasets.survival_cohort(n_patients=120, hazard_ratio=1.0, random_state=3)  # a null cohort
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 1,200 genes hold part of each Hallmark set
        mp.setattr(_screen, "MAX_MAP", 12)  # the map shows a part of the hits: its caption says so
        res = dp.report.run(
            pdata,
            out,
            groupby="cell_line",
            condition_key="compound",
            covariates=["replicate"],
            method="voom",
            detail=3,
            skip=("rank",),
            cohort=cohort,
            time_key="os_time",
            event_key="os_event",
            cohort_groups=[str(pdata.obs["cell_line"].iloc[0])],
            verbose=False,
        )
    return pdata, res, (out / "report.html").read_text(encoding="utf-8")


def test_a_screen_gets_the_screen_layout(screen_run):
    _, res, html = screen_run
    assert res["layout"] == "screen"
    anchors = re.findall(r"<h2 id='([^']+)'", html)
    assert anchors == ["summary", "design", "clusters", "compounds", "detail", "cohort", "provenance"]
    stages = res["stages"]
    assert stages["hits"] == stages["clusters"] == stages["screen_figures"] == "done"
    for name in ("figures", "panels", "enrich"):
        assert stages[name].startswith("skipped: "), stages[name]
    assert "skipped: a volcano per line" in html  # the reasons are in the report


def test_hits_per_line_agree_with_the_table(screen_run):
    _, res, html = screen_run
    hits = pd.read_csv(res["paths"]["tables"] / "screen_hits.csv")
    summary = html[html.index("<div class='summary'>") :]
    summary = summary[: summary.index("</div>")]
    for line, rows in hits.groupby("group"):
        row = re.search(rf"<th>{line}</th>\s*<td>(\d+)</td>\s*<td>(\d+)</td>", summary)
        assert row is not None and (int(row[1]), int(row[2])) == (len(rows), int(rows["hit"].sum()))
    n_hit = int(pd.read_csv(res["paths"]["tables"] / "screen_hits_per_compound.csv")["hit"].sum())
    assert f"<b>{n_hit}</b> compounds are hits" in summary


def test_clusters_map_and_pathways(screen_run):
    _, res, html = screen_run
    clusters = pd.read_csv(res["paths"]["tables"] / "clusters.csv")
    assert f"into <b>{clusters['cluster'].nunique()}</b> families" in html
    shown = re.search(r"(\d+) of the (\d+) hits are shown: the strongest of each cluster", html)
    n_clusters = clusters["cluster"].nunique()
    assert shown is not None and int(shown[1]) <= 12 + n_clusters and int(shown[1]) < int(shown[2]) == len(clusters)
    assert (res["paths"]["figures"] / "screen_map.png").exists()
    section = html[html.index("<h2 id='clusters'>") : html.index("<h2 id='compounds'>")]
    assert all(f"<td>{c}</td>" in section for c in clusters["cluster"].unique())
    assert "strongest pathways" in section and "<th>family</th>" in section


def test_every_compound_in_a_sortable_searchable_table(screen_run):
    _, res, html = screen_run
    compounds = pd.read_csv(res["paths"]["tables"] / "screen_compounds.csv")
    assert len(compounds) == 36 and {"cluster", "n_hit", "top pathways"} <= set(compounds.columns)
    table = html[html.index('id="compound-table"') :]
    table = table[: table.index("</table>")]
    assert table.count("</tr>") == 36 + 1  # the header and a row per compound
    assert "id='compound-table-filter'" in html
    script = html[html.index("<script>") : html.index("</script>")]
    assert "table.sortable" in script and "onclick" in script and "oninput" in script
    assert not re.search(r"(src|href)=['\"]https?://", html)  # self-contained: nothing fetched


def test_details_only_for_the_strongest_hits_and_a_bounded_size(screen_run):
    _, res, html = screen_run
    compounds = pd.read_csv(res["paths"]["tables"] / "screen_compounds.csv")
    detail = html[html.index("<h2 id='detail'>") : html.index("<h2 id='provenance'>")]
    shown = re.findall(r"<h3>([^<]+)</h3>", detail)
    assert shown == compounds.loc[compounds["hit"], "compound"].head(3).tolist()
    assert len(list(res["paths"]["figures"].glob("volcano_*.png"))) == 3
    assert len((res["paths"]["report"]).read_bytes()) < MAX_BYTES


def test_a_small_study_keeps_the_study_layout(tmp_path):
    pdata = dp.datasets.screen(6, cell_lines=1, n_genes=600, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = dp.report.run(
            pdata,
            tmp_path,
            groupby="cell_line",
            condition_key="compound",
            covariates=["replicate"],
            method="voom",
            skip=("rank", "compare", "enrich", "panels"),
            verbose=False,
        )
    html = res["paths"]["report"].read_text(encoding="utf-8")
    assert res["layout"] == "study"
    assert re.findall(r"<h2 id='([^']+)'", html)[:3] == ["summary", "design", "qc"]
    assert "<script>" not in html and "hits" not in res["stages"] and res["stages"]["figures"] == "done"


def test_layout_and_detail_options():
    assert RunConfig().layout == "auto" and RunConfig().detail == 10
    assert RunConfig(detail=["5"]).detail == 5 and RunConfig(detail="cmpd-0001").detail == ["cmpd-0001"]
    assert RunConfig(detail=("a", "b")).detail == ["a", "b"]
    with pytest.raises(ValueError, match="detail"):
        RunConfig(detail=-1)
    with pytest.raises(ValueError, match="Unknown layout 'scren'"):
        RunConfig(layout="scren")
    from drugprint.cli import _parser

    args = _parser().parse_args(["run", "x.h5ad", "--layout", "screen", "--detail", "cmpd-0001", "cmpd-0002"])
    assert args.layout == "screen" and RunConfig(detail=args.detail).detail == ["cmpd-0001", "cmpd-0002"]
    assert RunConfig(detail=_parser().parse_args(["run", "x.h5ad", "--detail", "4"]).detail).detail == 4


def test_a_screen_with_a_cohort_scores_the_chosen_line(screen_run):
    pdata, res, html = screen_run
    line = str(pdata.obs["cell_line"].iloc[0])
    survival = pd.read_csv(res["paths"]["tables"] / "cohort_survival.csv")
    assert survival["score"].str.startswith(f"{line}|").all() and len(survival) > 20  # the line's compounds
    assert res["stages"]["cohort_survival"] == res["stages"]["cohort_figures"] == "done"
    section = html[html.index("<h2 id='cohort'>") : html.index("<h2 id='provenance'>")]
    assert "not a causal effect of the drug" in section
    called = (survival["padj"] < 0.05).any()  # a null cohort: usually nothing, then what it could have detected
    assert ("score × endpoint tests reached padj &lt; 0.05" in section) == called
    assert ("with 80 % power" in section) != called


def test_unknown_detail_compound_fails_at_the_hit_calls(tmp_path):
    """A misspelt detail= name stops the run when the compounds are first known, not after every stage."""
    pdata = dp.datasets.screen(32, cell_lines=1, n_genes=600, random_state=1)
    with pytest.raises(KeyError, match=r"detail= names compounds that are not in the screen: \['cmpd-9999'\]"):
        dp.report.run(
            pdata,
            tmp_path / "res",
            groupby="cell_line",
            condition_key="compound",
            covariates=["replicate"],
            method="voom",
            detail=["cmpd-9999"],
            verbose=False,
        )
    assert not (tmp_path / "res" / "tables" / "screen_hits.csv").exists()
