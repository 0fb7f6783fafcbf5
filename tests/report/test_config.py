"""The run's options are described once (RunConfig): run()'s signature and the CLI's flags follow them."""

import argparse
import inspect
from dataclasses import fields

import pytest

import drugprint as dp
from drugprint.cli import _parser, contrasts, flags
from drugprint.report._config import OPTIONAL_STAGES, RunConfig, defaults
from drugprint.tl._de.engines import ENGINES
from drugprint.tl._sets.methods import SET_METHODS


def _run_parser() -> argparse.ArgumentParser:
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


def test_run_signature_is_the_config():
    params = inspect.signature(dp.report.run).parameters
    options = [p for name, p in params.items() if name not in ("adata", "out")]
    assert {p.name for p in options} == {f.name for f in fields(RunConfig)}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in options)
    assert {p.name: p.default for p in options} == defaults()


def test_cli_flags_are_generated_from_the_config():
    parser = _run_parser()
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    for f in fields(RunConfig):
        if not f.metadata.get("cli", True):
            assert f.name not in actions
            continue
        action = actions[f.name]
        assert action.option_strings[0] == flags()[f.name]
        expected = f.metadata.get("cli_default", f.default)
        assert action.default == (list(expected) if isinstance(expected, tuple) else expected), f.name
    assert tuple(actions["method"].choices) == tuple(ENGINES)
    assert tuple(actions["pathway_method"].choices) == tuple(SET_METHODS)
    assert tuple(actions["skip"].choices) == OPTIONAL_STAGES
    assert flags()["contrasts"] == "--contrast"


def test_cli_choices_follow_the_registries(monkeypatch):
    """A newly registered engine or set method is a choice of the CLI without touching it."""
    monkeypatch.setitem(ENGINES, "welch", ENGINES["ttest"])
    monkeypatch.setitem(SET_METHODS, "camera2", SET_METHODS["camera"])
    actions = {a.dest: a for a in _run_parser()._actions if a.option_strings}
    assert "welch" in actions["method"].choices and "camera2" in actions["pathway_method"].choices
    assert "camera, fry, activity, camera2: samples as replicates" in actions["pathway_method"].help


def test_config_checks_its_values():
    assert RunConfig(nets="hallmark").nets == ["hallmark"] and RunConfig(skip="rank").skip == ["rank"]
    with pytest.raises(ValueError, match=r"skip= names unknown stage\(s\) \['figures'\]"):
        RunConfig(skip=("figures",))
    with pytest.raises(ValueError, match="nets is empty"):
        RunConfig(nets=())
    with pytest.raises(TypeError):
        RunConfig(not_an_option=1)


def test_contrast_flag_values():
    assert contrasts(None) is None
    assert contrasts([["pomalidomide", "lenalidomide"], ["iberdomide", "DMSO"]]) == [
        ("pomalidomide", "lenalidomide"),
        ("iberdomide", "DMSO"),
    ]
    assert contrasts([["CELMoD vs IMiD=iberdomide:.5, mezigdomide:.5,lenalidomide:-1"]]) == {
        "CELMoD vs IMiD": {"iberdomide": 0.5, "mezigdomide": 0.5, "lenalidomide": -1.0}
    }
    with pytest.raises(ValueError, match="give 'CONDITION REFERENCE'"):
        contrasts([["a", "b", "c"]])
    with pytest.raises(ValueError, match="pairs or named weightings in one run, not both"):
        contrasts([["a", "b"], ["x=a:1,b:-1"]])
    with pytest.raises(ValueError, match="each weight is 'level:number'"):
        contrasts([["x=a:one,b:-1"]])
