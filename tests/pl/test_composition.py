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


def test_heatmap_shows_the_table(tested):
    fig, (_left, right) = plt.subplots(1, 2)
    out = dp.pl.composition_heatmap(tested, ax=right)
    assert out is fig
    image = right.images[0].get_array()
    table = dp.get.composition_table(tested)
    rows = list(dict.fromkeys(table["cell_type"]))  # the heatmap's rows: the table's order
    lfc = table.pivot(index="cell_type", columns="condition", values="log2fc").loc[rows]
    np.testing.assert_allclose(np.asarray(image), lfc.to_numpy(), rtol=1e-12)
    assert [t.get_text() for t in right.texts].count("*") == int((table["padj"] < 0.05).sum())
    plt.close(fig)


def test_without_the_tool_says_what_to_run():
    tab = pd.read_csv(DATA / "composition_counts.csv").set_index("sample")
    with pytest.raises(KeyError, match=r"dp\.tl\.composition"):
        dp.pl.composition(_cells(tab[TYPES], tab[["donor", "drug"]]))
