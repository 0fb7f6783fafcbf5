"""Figures read as what was measured: effects in their units, tiers named for the design, saved at a reading size."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import drugprint as dp
from tests.tl.test_composition import DATA, TYPES, _cells

KEY = ["HALLMARK_INTERFERON_ALPHA_RESPONSE", "HALLMARK_P53_PATHWAY", "HALLMARK_E2F_TARGETS"]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _image(fig) -> np.ndarray:
    return np.asarray(fig.axes[0].images[0].get_array())


def _colour_bar_label(fig) -> str:
    return fig.axes[0].images[0].colorbar.ax.get_ylabel()


def test_pathway_heatmap_colours_by_mean_log2fc(sig_all):
    """By default the colour is the effect (the set's mean log2FC), the dots the set test's padj < alpha."""
    fig = dp.pl.pathway_heatmap(sig_all, sources=KEY)
    np.testing.assert_allclose(_image(fig), sig_all.obsm["pathways_log2fc"][KEY].to_numpy(), rtol=1e-12)
    assert _colour_bar_label(fig) == "mean log2FC of the set's genes"
    padj = sig_all.obsm["pathways_padj"][KEY].to_numpy()
    dots = fig.axes[0].collections[0].get_offsets()
    assert len(dots) == int((padj < 0.05).sum()) > 0
    assert all(padj[int(y), int(x)] < 0.05 for x, y in np.asarray(dots))


def test_pathway_heatmap_score_on_request(sig_all):
    fig = dp.pl.pathway_heatmap(sig_all, sources=KEY, color="score")
    np.testing.assert_allclose(_image(fig), sig_all.obsm["pathways"][KEY].to_numpy(), rtol=1e-12)
    method = sig_all.uns["pathways"]["params"]["method"]
    assert _colour_bar_label(fig) == f"{method} statistic (no units)"
    with pytest.raises(ValueError, match="Unknown color 'zscore'"):
        dp.pl.pathway_heatmap(sig_all, color="zscore")


def test_pathway_heatmap_without_log2fc_falls_back_to_score(sig_all):
    """Signatures scored before the effects were stored: the score, with a warning naming the missing key."""
    old = sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy()
    del old.obsm["pathways_log2fc"]
    with pytest.warns(UserWarning, match=r"no 'pathways_log2fc'"):
        fig = dp.pl.pathway_heatmap(old, sources=KEY)
    np.testing.assert_allclose(_image(fig), old.obsm["pathways"][KEY].to_numpy(), rtol=1e-12)
    assert _colour_bar_label(fig).endswith("statistic (no units)")


@pytest.fixture(scope="module")
def one_stimulus():
    """Cells of one drug against its vehicle (as Kang 2018's IFN-β against control), composition tested."""
    tab = pd.read_csv(DATA / "composition_counts.csv").set_index("sample")
    tab = tab[tab["drug"].isin(["DMSO", "mezigdomide"])]
    cells = _cells(tab[TYPES], tab[["donor", "drug"]])
    dp.tl.composition(cells)
    return cells


@pytest.fixture(scope="module")
def all_drugs():
    tab = pd.read_csv(DATA / "composition_counts.csv").set_index("sample")
    cells = _cells(tab[TYPES], tab[["donor", "drug"]])
    dp.tl.composition(cells)
    return cells


@pytest.fixture(scope="module")
def myeloma_potency(sig_all):
    return dp.tl.potency(sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy(), copy=True)


def _figures(sig_all, one_stimulus, all_drugs, myeloma_potency):
    """The report's figures at their default sizes: with many cell types and conditions, and with few."""
    one = myeloma_potency[myeloma_potency.obs["condition"] == "mezigdomide"].copy()
    return {
        "composition": lambda p: dp.pl.composition(all_drugs, save=p),
        "composition, 2 cell types": lambda p: dp.pl.composition(all_drugs, groups=["Myeloma", "NK"], save=p),
        "composition_heatmap": lambda p: dp.pl.composition_heatmap(all_drugs, save=p),
        "composition_heatmap, 1 condition": lambda p: dp.pl.composition_heatmap(one_stimulus, save=p),
        "potency_tiers": lambda p: dp.pl.potency_tiers(myeloma_potency, "Myeloma", save=p),
        "potency_tiers, 1 condition": lambda p: dp.pl.potency_tiers(dp.tl.potency(one, copy=True), "Myeloma", save=p),
        "pathway_heatmap": lambda p: dp.pl.pathway_heatmap(sig_all, save=p),
        "pathway_heatmap, 1 group, 2 sets": lambda p: dp.pl.pathway_heatmap(
            sig_all, groups=["NK"], sources=KEY[:2], save=p
        ),
    }


def test_saved_figures_are_800_px_wide(sig_all, one_stimulus, all_drugs, myeloma_potency, tmp_path):
    """Shown at 800 px or more, no figure is enlarged from a smaller image (narrow ones are saved finer)."""
    widths = {}
    for i, (name, draw) in enumerate(_figures(sig_all, one_stimulus, all_drugs, myeloma_potency).items()):
        path = tmp_path / f"{i}.png"
        fig = draw(path)
        widths[name] = plt.imread(path).shape[1]
        assert fig.dpi == 100.0 and fig.get_layout_engine() is not None  # saving leaves the figure as it was
    assert min(widths.values()) >= 800, widths


def test_potency_tiers_without_doses_say_effect(myeloma_potency):
    """One concentration per drug: tiers of effect, not of potency (which needs a dose series)."""
    title = dp.pl.potency_tiers(myeloma_potency, "Myeloma").axes[0].get_title()
    assert "effect at the tested concentration" in title and "potency" not in title
    table = dp.get.potency_table(myeloma_potency)
    assert "potency" not in dp.pl.potency_tiers(table, "Myeloma").axes[0].get_title()  # a table carries no doses
    assert "potency" in dp.pl.potency_tiers(table, "Myeloma", dose_series=True).axes[0].get_title()


def test_potency_tiers_across_doses_say_potency(myeloma_potency):
    sig = myeloma_potency.copy()
    sig.obs["drug"] = "pomalidomide"
    sig.obs["dose"] = [0.1, 1.0, 10.0, 100.0, 1000.0]  # one drug at five doses
    assert dp.pl.potency_tiers(sig, "Myeloma").axes[0].get_title() == "Myeloma: potency tiers"
    sig.obs["drug"] = ["a", "a", "b", "b", "c"]  # two doses at most: no series
    assert "effect at the tested concentration" in dp.pl.potency_tiers(sig, "Myeloma").axes[0].get_title()
