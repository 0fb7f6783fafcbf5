"""Engines and set tests are registered once: adding one is one registry entry plus its implementation."""

from dataclasses import replace
from typing import get_args

import numpy as np
import pandas as pd

import drugprint as dp
from drugprint.tl._de.engines import ENGINES, EngineName, FitJob, FitOptions
from drugprint.tl._sets.methods import SET_METHODS, SetMethod, SetMethodName


def test_names_and_tables_follow_the_registries():
    assert get_args(EngineName) == tuple(ENGINES)
    assert get_args(SetMethodName) == tuple(SET_METHODS)
    assert dp.tl.de_methods().index.tolist() == list(ENGINES)
    assert dp.tl.set_methods().index.tolist() == list(SET_METHODS)


def test_a_new_engine_is_one_entry(monkeypatch, pdata):
    """The worked example of the contributing page: Welch's t on log-CPM, registered under a new name."""
    from drugprint.tl._stats.ttest import fit_ttest
    from drugprint.tl._stats.voom import log_cpm

    def fit_welch(job: FitJob, options: FitOptions):
        values = log_cpm(job.data.T).T if options.is_counts else job.data
        res = fit_ttest(values, job.meta[job.design.factor], list(job.pairs.values()))
        return {key: res[pair] for key, pair in job.pairs.items()}, {}

    welch = replace(ENGINES["ttest"], name="welch", label="Welch (example)", fit=fit_welch)
    monkeypatch.setitem(ENGINES, "welch", welch)
    assert "welch" in dp.tl.de_methods().index
    sub = pdata[pdata.obs["cell_type"] == "NK"].copy()
    new = dp.tl.de(sub, method="welch", verbose=False)
    old = dp.tl.de(sub, method="ttest", verbose=False)
    assert new.uns["de"]["method"] == "welch"
    pd.testing.assert_frame_equal(dp.get.de_table(new), dp.get.de_table(old))


def test_a_new_set_method_is_one_entry(monkeypatch, sig):
    """A replicate-level set test registered under a new name runs through pathways and panels as camera does."""
    calls = []

    def camera_again(fit, sets, contrast, activity, inter_gene_cor):
        calls.append(len(sets))
        return SET_METHODS["camera"].test(fit, sets, contrast, activity, inter_gene_cor)

    entry = replace(SET_METHODS["camera"], name="camera_again", test=camera_again)
    assert isinstance(entry, SetMethod)
    monkeypatch.setitem(SET_METHODS, "camera_again", entry)
    new = dp.tl.pathways(sig, method="camera_again", copy=True)
    old = dp.tl.pathways(sig, method="camera", copy=True)
    assert calls and new.uns["pathways"]["params"]["method"] == "camera_again"
    for key in ("pathways", "pathways_padj", "pathways_log2fc"):
        np.testing.assert_array_equal(new.obsm[key].to_numpy(), old.obsm[key].to_numpy())
    assert new.uns["pathways"]["null"] == old.uns["pathways"]["null"]
