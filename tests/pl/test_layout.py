"""Figures stay legible: labels, legends and colour bars clear of each other, colour scales not washed out."""

from itertools import combinations

import matplotlib.pyplot as plt
import numpy as np
import pytest

import drugprint as dp


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _shared(a, b) -> float:
    """Area two display boxes share, as a fraction of the smaller one."""
    w, h = min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0) * max(h, 0) / min(a.width * a.height, b.width * b.height)


def _inside(box, outer, tol: float = 1.0) -> bool:
    outer = outer.padded(tol)
    return outer.x0 <= box.x0 and box.x1 <= outer.x1 and outer.y0 <= box.y0 and box.y1 <= outer.y1


def _drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _long_names(sig):
    """``sig`` with names as long as other studies have them (``CD14+ Monocytes``, ``… @ time=24h``)."""
    sig = sig.copy()
    names = {"NK": "CD56bright NK cells", "Myeloma": "CD14+ Monocytes"}
    sig.obs["cell_type"] = sig.obs["cell_type"].astype(str).map(lambda g: names.get(g, g))
    sig.obs["condition"] = sig.obs["condition"].astype(str) + " @ time=24h"
    return sig


def test_volcano_labels_do_not_overlap(sig_all):
    name = "NK|mezigdomide vs DMSO"
    i = sig_all.obs_names.get_loc(name)
    padj, lfc = sig_all.layers["padj"][i], sig_all.layers["log2fc"][i]
    ok = np.flatnonzero(np.isfinite(padj) & np.isfinite(lfc))
    by_padj = sig_all.var_names[ok[np.argsort(padj[ok], kind="stable")]]
    untested = sig_all.var_names[np.isnan(padj)][0]
    highlight = ["NKG7", "GZMB", by_padj[-1], untested]  # in the top 30, the least significant, not tested
    fig = dp.pl.volcano(sig_all, name, top=30, highlight=highlight)
    ax, renderer = fig.axes[0], _drawn(fig)
    labels = [t.get_text() for t in ax.texts]
    assert sorted(labels) == sorted({*by_padj[:30], by_padj[-1]})  # many labels, most of them close together
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert max(_shared(a, b) for a, b in combinations(boxes, 2)) < 0.05
    assert all(_inside(b, ax.get_window_extent(renderer)) for b in boxes)
    assert ax.patches  # labels moved away from their points are joined to them by a line


def test_pathway_heatmap_colour_scale_not_washed_out(sig_all):
    sig = sig_all[sig_all.obs["cell_type"].isin(["CD4 T", "CD8 T", "NK"])].copy()
    lfc = sig.obsm["pathways_log2fc"]  # what colours the cells
    lfc.iloc[0, lfc.columns.get_loc("HALLMARK_P53_PATHWAY")] = 100.0

    def others(fig):  # normalised colours of the signatures that are not extreme
        im = fig.axes[0].images[0]
        return im.norm(im.get_array())[1:]

    fig = dp.pl.pathway_heatmap(sig)
    assert np.ptp(others(fig)) > 0.3
    assert fig.axes[0].images[0].colorbar.extend in ("max", "both")  # saturated cells: arrows on the colour bar
    assert np.ptp(others(dp.pl.pathway_heatmap(sig, robust=False))) < 0.1  # limits at the maximum: all near white

    fig = dp.pl.pathway_heatmap(sig_all, scale="group")  # Myeloma responds far more strongly than the rest
    im, groups = fig.axes[0].images[0], sig_all.obs["cell_type"].astype(str).to_numpy()
    colours = im.norm(im.get_array())
    assert all(np.ptp(colours[groups == g]) > 0.3 for g in set(groups))
    assert all("±" in t.get_text() for t in fig.axes[0].texts)  # each group's own limit is shown


def test_panel_dotplot_default_groups_and_layout(sig_all):
    sig = sig_all.copy()
    padj = np.array(sig.layers["padj"], dtype=float)
    padj[sig.obs["cell_type"].to_numpy() != "NK"] = 1.0  # the panel responds in NK only
    sig.layers["padj"] = padj
    fig = dp.pl.panel_dotplot(sig, "cytotoxicity")
    ax, renderer = fig.axes[0], _drawn(fig)
    assert {t.get_text().split(" · ")[0] for t in ax.get_yticklabels()} == {"NK"}
    boxes = {
        "plot": ax.get_window_extent(renderer),
        "colour bar": ax.child_axes[0].get_tightbbox(renderer),
        "size legend": ax.get_legend().get_window_extent(renderer),
    }
    for (a, box_a), (b, box_b) in combinations(boxes.items(), 2):
        assert _shared(box_a, box_b) == 0, f"{a} overlaps {b}"
    assert all(_inside(b, fig.bbox) for b in boxes.values())
    sig.layers["padj"] = np.ones_like(padj)  # no group responds: all are drawn
    assert len(dp.pl.panel_dotplot(sig, "cytotoxicity").axes[0].get_yticklabels()) == sig.n_obs


def test_long_names_stay_clear(sig_all):
    sig = _long_names(sig_all[sig_all.obs["cell_type"].isin(["NK", "Myeloma"])])
    fig = dp.pl.pathway_heatmap(sig)
    ax, renderer = fig.axes[0], _drawn(fig)
    groups = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(groups) == 2
    assert max(g.x1 for g in groups) < min(t.get_window_extent(renderer).x0 for t in ax.get_yticklabels())

    dp.tl.compare(sig, n_boot=10)
    fig = dp.pl.similarity(sig, "CD14+ Monocytes")
    ax_d, ax = fig.axes[:2]
    _drawn(fig)
    n = len(ax.get_yticks())
    leaves = ax_d.transData.transform(np.c_[np.zeros(n), 5 + 10 * np.arange(n)])[:, 1]
    rows = ax.transData.transform(np.c_[np.zeros(n), np.arange(n)[::-1]])[:, 1]
    np.testing.assert_allclose(leaves, rows, atol=0.5)  # the dendrogram's leaves are level with their rows

    ranked = dp.tl.potency_rank(sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy(), n_draws=50, copy=True)
    table = dp.get.potency_rank_table(ranked)
    table["group"], table["condition"] = "CD14+ Monocytes", table["condition"].astype(str) + " @ time=24h"
    fig = dp.pl.potency_rank(table, "CD14+ Monocytes")
    ax, renderer = fig.axes[0], _drawn(fig)
    texts = [ax.title, *ax.get_yticklabels(), *ax.child_axes[0].get_yticklabels()]
    assert all(_inside(t.get_window_extent(renderer), fig.bbox) for t in texts)
    assert min(t.get_window_extent(renderer).x0 for t in ax.child_axes[0].get_yticklabels()) > ax.bbox.x1


def test_volcano_legend_clear_of_data(sig_all):
    padj = np.asarray(sig_all.layers["padj"], dtype=float)
    quiet = sig_all.obs_names[np.argmin((padj < 0.05).sum(axis=1))]  # threshold line near the top
    for name in ("NK|mezigdomide vs DMSO", quiet):
        fig = dp.pl.volcano(sig_all, name)
        ax, renderer = fig.axes[0], _drawn(fig)
        legend = ax.get_legend().get_window_extent(renderer)
        i = sig_all.obs_names.get_loc(name)
        xy = np.c_[sig_all.layers["log2fc"][i], -np.log10(np.clip(padj[i], 1e-300, 1))]
        assert legend.count_contains(ax.transData.transform(xy[np.isfinite(xy).all(axis=1)])) == 0
        assert legend.count_overlaps([t.get_window_extent(renderer) for t in ax.texts]) == 0
        line = ax.transData.transform((0, -np.log10(0.05)))[1]
        assert not legend.y0 <= line <= legend.y1


def test_saved_figures_keep_layout_and_margins(sig_all, tmp_path):
    fig = dp.pl.pathway_heatmap(sig_all, save=tmp_path / "h.png")
    assert fig.get_layout_engine() is not None  # saving does not take the figure's layout away
    png = plt.imread(tmp_path / "h.png")
    ink = (png[..., :3] < 0.99).any(axis=-1)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    margins = rows[0], png.shape[0] - 1 - rows[-1], cols[0], png.shape[1] - 1 - cols[-1]
    assert min(margins) >= 10  # white around the contents, as a tight crop leaves: nothing cut at the edges
