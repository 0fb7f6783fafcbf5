"""A patient cohort in the report: the signatures scored in each patient and tested for survival, in a section that
names what predicts survival (with its hazard ratio and interval) or what the cohort could have detected, and always
says that an association is not a causal effect of the drug."""

from __future__ import annotations

import html
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import drugprint as dp
from drugprint.cli import _parser, main
from drugprint.report._config import RunConfig
from drugprint.tl._survival import CAUSAL_NOTE

PLANTED = "Myeloma|lenalidomide vs DMSO"
SKIP = ("rank", "compare", "enrich", "panels", "composition", "dose", "time")
TITLE = "Patient cohort: does the signature predict survival?"


def _text(page: str) -> str:
    """The page as text: tags removed, entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _section(page: str) -> str:
    start = page.index("<h2 id='cohort'>")
    return page[start : page.index("<h2 id='provenance'>")]


@pytest.fixture(scope="module")
def cells(screen):
    return screen[screen.obs["cell_type"].isin(["Myeloma", "NK"])].copy()


@pytest.fixture(scope="module")
def signatures(cells):
    """The run's signatures as the report fits them (voom, ~ donor + drug), to plant one in the cohorts."""
    return dp.tl.de(dp.pp.pseudobulk(cells), method="voom", verbose=False)


@pytest.fixture(scope="module")
def planted_run(cells, signatures, tmp_path_factory):
    """A cohort of 200 patients whose hazard doubles per SD of the lenalidomide signature's score in myeloma."""
    folder = tmp_path_factory.mktemp("cohort")
    cohort = dp.datasets.survival_cohort(signatures, PLANTED, hazard_ratio=2, n_patients=200)
    cohort.write_h5ad(folder / "cohort.h5ad")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # signatures with too few genes to score are named, not scored
        res = dp.report.run(
            cells,
            folder / "res",
            method="voom",
            skip=SKIP,
            cohort=str(folder / "cohort.h5ad"),
            time_key=["efs_time", "os_time"],
            event_key=["efs_event", "os_event"],
            endpoints=["EFS", "OS"],
            cohort_covariates=["age", "stage"],
            cohort_groups=["Myeloma"],
            verbose=False,
        )
    return res, folder / "res", (folder / "res" / "report.html").read_text(encoding="utf-8")


def test_section_names_the_planted_signature(planted_run):
    res, out, page = planted_run
    assert res["stages"]["cohort"] == res["stages"]["cohort_survival"] == res["stages"]["cohort_figures"] == "done"
    assert re.findall(r"<h2 id='([^']+)'", page)[-2:] == ["cohort", "provenance"]
    assert f"<h2 id='cohort'>{TITLE}</h2>" in page
    tab = pd.read_csv(out / "tables" / "cohort_survival.csv").set_index(["score", "endpoint"])
    row = tab.loc[(PLANTED, "EFS")]
    assert row["padj"] < 0.05 and 1 < row["hr_lo"] < 2 < row["hr_hi"] < 3  # the planted HR of 2 in its interval
    text = _text(_section(page))
    interval = f"{row['hr']:.2f} [{row['hr_lo']:.2f}, {row['hr_hi']:.2f}]"
    called = int((tab["padj"] < 0.05).sum())
    assert f"{called} of {len(tab)} score × endpoint tests reached padj < 0.05" in text
    assert f"{PLANTED} → EFS: HR per SD {interval}, padj {row['padj']:.2g}" in text  # the strongest, named
    table_row = re.search(rf"<td>{re.escape(PLANTED)}</td>\s*<td>EFS</td>(.*?)</tr>", _section(page), flags=re.S)
    assert table_row is not None and f"<td>{interval}</td>" in table_row[1]  # and in the table, with its interval
    assert "No score reached padj" not in text
    assert CAUSAL_NOTE in text and "adjusted for age and stage" in text
    assert "200 patients × " in text and f"EFS {int(row['n_events'])} of 200" in text
    summary = _text(page[page.index("<h2 id='summary'>") : page.index("<h2 id='design'>")])
    assert "Patient cohort (200 patients" in summary and "not a causal effect of the drug" in summary


def test_tables_figures_and_provenance(planted_run, signatures):
    res, out, page = planted_run
    tab = pd.read_csv(out / "tables" / "cohort_survival.csv")
    sigs = pd.read_csv(out / "tables" / "cohort_signatures.csv")
    myeloma = [n for n in signatures.obs_names if n.startswith("Myeloma|")]
    assert sorted(sigs["signature"]) == sorted(myeloma)  # the chosen group only, scored or not
    scored = sigs.loc[sigs["scored"], "signature"]
    assert PLANTED in set(scored) and len(tab) == 2 * len(scored)  # every scored signature × both endpoints
    assert set(tab["endpoint"]) == {"EFS", "OS"} and set(tab["score"]) == set(scored)
    for col in ("n", "n_events", "hr", "hr_lo", "hr_hi", "pvalue", "padj", "lr_pvalue", "hr_detectable"):
        assert tab[col].notna().all(), col
    assert {"ph_pvalue", "logrank_pvalue", "logrank_padj", "covariates", "note"} <= set(tab.columns)
    assert (tab["covariates"] == "age, stage").all()
    for name in ("cohort_hazard_ratios", "cohort_kaplan_meier"):
        assert (out / "figures" / f"{name}.png").exists()
    section = _section(page)
    assert section.count("<img") == 2
    assert f"EFS of the patients above and at-or-below the median score of {PLANTED}" in _text(section)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["drugprint_run"]["cohort"].endswith("cohort.h5ad") and prov["drugprint_run"]["split"] == "median"
    assert prov["cohort"]["n_patients"] == 200 and prov["cohort"]["survival"]["endpoints"] == ["EFS", "OS"]
    assert res["cohort"].uns["survival"]["params"]["score_keys"] == list(scored)


@pytest.fixture(scope="module")
def null_run(cells, signatures, tmp_path_factory):
    """A null cohort (hazard ratio 1) of 60 patients, through the command line, with tertiles."""
    folder = tmp_path_factory.mktemp("null")
    cells.write_h5ad(folder / "cells.h5ad")
    dp.datasets.survival_cohort(signatures, PLANTED, hazard_ratio=1, n_patients=60).write_h5ad(folder / "cohort.h5ad")
    args = ["run", str(folder / "cells.h5ad"), "--out", str(folder / "res"), "--method", "voom", "--skip", *SKIP]
    args += ["--cohort", str(folder / "cohort.h5ad"), "--time-key", "os_time", "--event-key", "os_event"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert main([*args, "--endpoints", "OS", "--split", "tertiles"]) == 0
    return folder / "res"


def test_nothing_significant_states_the_power(null_run):
    tab = pd.read_csv(null_run / "tables" / "cohort_survival.csv")
    assert (tab["padj"] >= 0.05).all() and set(tab["endpoint"]) == {"OS"}
    assert tab["score"].str.startswith("NK|").any()  # no --cohort-groups: every group's signatures
    events, hr = int(tab["n_events"].min()), tab["hr_detectable"].max()
    page = (null_run / "report.html").read_text(encoding="utf-8")
    text = _text(_section(page))
    assert (
        f"No score reached padj < 0.05; with {events} events (OS) the cohort detects hazard ratios of {hr:.2f} per SD "
        f"or more (or {1 / hr:.2f} or less) with 80 % power"
    ) in text
    assert "tests reached padj" not in text and CAUSAL_NOTE in text
    assert "No covariate was adjusted for" in text and "tertiles of the score" in text
    assert (tab["split"] == "tertiles").all()


def test_cohort_object_untouched_and_a_failed_test_reported(cells, signatures, tmp_path):
    """An AnnData cohort is not modified; too few events for the covariates: the section says why, the run goes on."""
    cohort = dp.datasets.survival_cohort(signatures, PLANTED, hazard_ratio=1, n_patients=30)
    before = cohort.obs.copy()
    with pytest.warns(UserWarning, match="cohort_survival not run: Endpoint 'os_time'"):
        res = dp.report.run(
            cells,
            tmp_path / "res",
            method="voom",
            skip=SKIP,
            cohort=cohort,
            time_key="os_time",
            event_key="os_event",
            cohort_covariates=["age", "stage"],
            cohort_groups=["Myeloma"],
            verbose=False,
        )
    pd.testing.assert_frame_equal(cohort.obs, before)
    assert set(cohort.uns) == {"survival_truth"}
    assert res["stages"]["cohort_survival"].startswith("not run: Endpoint 'os_time':")
    assert res["stages"]["cohort_figures"].startswith("not run: needs cohort_survival")
    text = _text(_section((tmp_path / "res" / "report.html").read_text(encoding="utf-8")))
    assert "Survival in the cohort not run: Endpoint 'os_time':" in text and CAUSAL_NOTE in text
    assert not (tmp_path / "res" / "tables" / "cohort_survival.csv").exists()
    prov = json.loads((tmp_path / "res" / "provenance.json").read_text())
    assert prov["drugprint_run"]["cohort"] == "AnnData of 30 × 5586 (given in Python)"
    assert prov["drugprint_run"]["time_key"] == ["os_time"]


def test_cli_parses_the_cohort_flags():
    args = _parser().parse_args(
        [
            "run",
            "cells.h5ad",
            "--cohort",
            "cohort.h5ad",
            "--time-key",
            "efs_time",
            "os_time",
            "--event-key",
            "efs_event",
            "os_event",
            "--endpoints",
            "EFS",
            "OS",
            "--cohort-covariates",
            "age",
            "stage",
            "--cohort-groups",
            "Myeloma",
            "--split",
            "tertiles",
        ]
    )
    assert args.cohort == "cohort.h5ad" and args.time_key == ["efs_time", "os_time"]
    assert args.event_key == ["efs_event", "os_event"] and args.endpoints == ["EFS", "OS"]
    assert args.cohort_covariates == ["age", "stage"] and args.cohort_groups == ["Myeloma"]
    assert args.split == "tertiles"
    defaults = _parser().parse_args(["run", "cells.h5ad"])
    assert defaults.cohort is None and defaults.time_key is None and defaults.split == "median"


def test_cli_cohort_errors_are_clear(tmp_path, capsys):
    """Each mistake fails before the input is read, naming the flags (the input file does not even exist)."""
    cells = str(tmp_path / "cells.h5ad")
    assert main(["run", cells, "--time-key", "os_time", "--event-key", "os_event"]) == 1
    err = capsys.readouterr().err
    assert "--time-key ..., --event-key ... given without --cohort ..." in err and "missing" not in err
    cohort = tmp_path / "cohort.h5ad"
    assert main(["run", cells, "--cohort", str(cohort), "--time-key", "os_time", "--event-key", "os_event"]) == 1
    assert f"The cohort file '{cohort}' (--cohort ...) does not exist." in capsys.readouterr().err
    cohort.write_bytes(b"")
    assert main(["run", cells, "--cohort", str(cohort), "--time-key", "a", "b", "--event-key", "c"]) == 1
    assert "--time-key ... names 2 column(s) and --event-key ... 1" in capsys.readouterr().err
    assert (
        main(["run", cells, "--cohort", str(cohort), "--time-key", "a", "--event-key", "c", "--endpoints", "x", "y"])
        == 1
    )
    assert "--endpoints ... must be 1 distinct name(s)" in capsys.readouterr().err
    assert main(["run", cells, "--cohort", str(cohort)]) == 1
    assert "--cohort ... needs its follow-up: --time-key ... and --event-key ..." in capsys.readouterr().err


def test_config_checks_the_cohort_options(tmp_path, cells):
    assert RunConfig().cohort is None and RunConfig().time_key is None
    config = RunConfig(cohort=cells, time_key="os_time", event_key="os_event", cohort_covariates="age")
    assert config.time_key == ["os_time"] and config.event_key == ["os_event"] and config.cohort_covariates == ["age"]
    assert config.record()["cohort"].startswith("AnnData of ")
    with pytest.raises(ValueError, match=r"cohort_groups=\.\.\., split=\.\.\. given without cohort="):
        RunConfig(cohort_groups=["Myeloma"], split="tertiles")
    with pytest.raises(ValueError, match="Unknown split 'quartiles'"):
        RunConfig(cohort=cells, time_key="t", event_key="e", split="quartiles")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        RunConfig(cohort=tmp_path / "none.h5ad", time_key="t", event_key="e")


def test_unknown_columns_and_groups_fail_before_the_fits(cells, signatures, tmp_path):
    cohort = dp.datasets.survival_cohort(signatures, PLANTED, n_patients=20)
    common = {"method": "voom", "skip": SKIP, "cohort": cohort, "verbose": False}
    with pytest.raises(KeyError, match=r"cohort.obs has no column 'OS' \(time_key=\)"):
        dp.report.run(cells, tmp_path / "a", time_key="OS", event_key="os_event", **common)
    with pytest.raises(ValueError, match=r"cohort_groups=\.\.\. names \['T cells'\]"):
        dp.report.run(
            cells, tmp_path / "b", time_key="os_time", event_key="os_event", cohort_groups=["T cells"], **common
        )
    assert np.all([not (tmp_path / d / "report.html").exists() for d in ("a", "b")])
