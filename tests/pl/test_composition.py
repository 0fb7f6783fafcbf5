"""dp.pl.composition and composition_heatmap draw what dp.tl.composition stored."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import drugprint as dp
from tests.tl.test_composition import DATA, TYPES, _cells


@pytest.fixture(scope="module")
def tested():
    tab = pd.read_csv(DATA / "composition_counts.csv").set_index("sample")
    cells = _cells(tab[TYPES], tab[["donor", "drug"]])
    dp.tl.composition(cells)
    return cells


def test_points_are_the_samples_proportions(tested):
    fig = dp.pl.composition(tested, groups=["Myeloma", "NK"])
    panels = [a for a in fig.axes if a.get_title() in ("Myeloma", "NK")]
    assert [a.get_title() for a in panels] == ["Myeloma", "NK"]
    points = panels[0].collections[0].get_offsets()
    assert len(points) == 18  # 6 donors × 3 conditions
    counts = pd.read_csv(DATA / "composition_counts.csv").set_index("sample")[TYPES]
    expected = np.sort((counts["Myeloma"] / counts.sum(axis=1)).to_numpy())
    np.testing.assert_allclose(np.sort(np.asarray(points)[:, 1]), expected)
    marks = [t.get_text() for t in panels[0].texts]
    assert marks.count("*") == 2  # myeloma falls under both drugs
    plt.close(fig)


def _image_and_label(fig, ax):
    cbar = ax.images[0].colorbar
    return np.asarray(ax.images[0].get_array()), cbar.ax.get_ylabel()


def test_heatmap_shows_the_fitted_differences(tested):
    """Coloured by the fitted, covariate-adjusted difference the test called, not the ratio of mean proportions."""
    fig, (_left, right) = plt.subplots(1, 2)
    out = dp.pl.composition_heatmap(tested, ax=right)
    assert out is fig
    image, label = _image_and_label(fig, right)
    table = dp.get.composition_table(tested)
    rows = list(dict.fromkeys(table["cell_type"]))  # the heatmap's rows: the table's order
    fitted = table.pivot(index="cell_type", columns="condition", values="logit_diff").loc[rows]
    np.testing.assert_allclose(image, fitted.to_numpy(), rtol=1e-12)
    assert label == "fitted log odds ratio (adjusted for covariates)"
    assert [t.get_text() for t in right.texts].count("*") == int((table["padj"] < 0.05).sum())
    plt.close(fig)


def test_heatmap_raw_ratio_on_request(tested):
    fig = dp.pl.composition_heatmap(tested, value="raw")
    image, label = _image_and_label(fig, fig.axes[0])
    table = dp.get.composition_table(tested)
    rows = list(dict.fromkeys(table["cell_type"]))
    lfc = table.pivot(index="cell_type", columns="condition", values="log2fc").loc[rows]
    np.testing.assert_allclose(image, lfc.to_numpy(), rtol=1e-12)
    assert label == "log2 ratio of mean proportions (unadjusted)"
    assert [t.get_text() for t in fig.axes[0].texts].count("*") == int((table["padj"] < 0.05).sum())
    with pytest.raises(ValueError, match="Unknown value 'log2fc'"):
        dp.pl.composition_heatmap(tested, value="log2fc")
    plt.close("all")


def test_heatmap_of_arcsine_fits(tested):
    cells = dp.tl.composition(tested, transform="asin", copy=True)
    fig = dp.pl.composition_heatmap(cells)
    image, label = _image_and_label(fig, fig.axes[0])
    table = dp.get.composition_table(cells)
    fitted = table.pivot(index="cell_type", columns="condition", values="asin_diff")
    np.testing.assert_allclose(image, fitted.loc[list(dict.fromkeys(table["cell_type"]))].to_numpy(), rtol=1e-12)
    assert label.startswith("fitted difference of arcsine") and "adjusted for covariates" in label
    plt.close(fig)


def test_panels_wrap_in_rows(tested):
    """Six cell types: two rows of three panels, about 7 inches wide (legible when shown at 800 px)."""
    fig = dp.pl.composition(tested)
    panels = [a for a in fig.axes if a.get_title() in TYPES]
    assert sorted(a.get_title() for a in panels) == sorted(TYPES)
    assert fig.get_figwidth() < 7.5
    rows = sorted({round(a.get_position().y0, 3) for a in panels})
    assert len(rows) == 2
    one_row = dp.pl.composition(tested, ncols=6)
    assert len(one_row.axes) == 6 and len({round(a.get_position().y0, 3) for a in one_row.axes}) == 1
    five = dp.pl.composition(tested, groups=TYPES[:5])  # the sixth place of the grid stays empty
    assert len(five.axes) == 5
    plt.close("all")


def test_without_the_tool_says_what_to_run():
    tab = pd.read_csv(DATA / "composition_counts.csv").set_index("sample")
    with pytest.raises(KeyError, match=r"dp\.tl\.composition"):
        dp.pl.composition(_cells(tab[TYPES], tab[["donor", "drug"]]))
