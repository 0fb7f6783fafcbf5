import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import drugprint as dp


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_pathway_heatmap(sig_all, tmp_path):
    fig = dp.pl.pathway_heatmap(sig_all, save=tmp_path / "h.png")
    assert isinstance(fig, Figure) and (tmp_path / "h.png").stat().st_size > 10_000
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == sig_all.n_obs
    assert ax.get_xticklabels()[0].get_text() == "Interferon α response"
    fig2 = dp.pl.pathway_heatmap(sig_all, color="score", groups=["Myeloma"], sources=["HALLMARK_P53_PATHWAY"])
    assert len(fig2.axes[0].get_yticklabels()) == 5
    with pytest.raises(KeyError, match="were not scored"):
        dp.pl.pathway_heatmap(sig_all, sources=["NOPE"])
    with pytest.raises(KeyError, match=r"\['Nk'\] are not in these signatures.*'NK'"):
        dp.pl.pathway_heatmap(sig_all, groups=["Nk"])
    flat = sig_all[sig_all.obs["cell_type"] == "B"].copy()
    flat.obsm["pathways_log2fc"].loc[:, :] = 0.0  # an all-zero matrix still gets a usable symmetric colour scale
    fig3, ax = plt.subplots()
    assert dp.pl.pathway_heatmap(flat, ax=ax) is fig3
    assert fig3.axes[0].images[0].norm.vmax == pytest.approx(0.1)


def test_panel_dotplot(sig_all):
    fig = dp.pl.panel_dotplot(sig_all, "cytotoxicity", groups=["NK", "CD8 T"])
    assert len(fig.axes[0].get_yticklabels()) == 10
    fig = dp.pl.panel_dotplot(sig_all, ["IL2", "IL2RA"], groups=["CD4 T"])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["IL2", "IL2RA"]
    with pytest.raises(ValueError, match="Unknown panel"):
        dp.pl.panel_dotplot(sig_all, "nope")
    fig = dp.pl.panel_dotplot(sig_all, "cytotoxicity", groups=["NK", "Platelets"])  # absent groups are skipped
    assert len(fig.axes[0].get_yticklabels()) == 5
    with pytest.raises(KeyError, match="Platelets"):
        dp.pl.panel_dotplot(sig_all, "cytotoxicity", groups=["Platelets"])


def test_volcano(sig_all):
    fig = dp.pl.volcano(sig_all, "NK|mezigdomide vs DMSO", highlight=["NKG7"])
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert "NKG7" in labels
    with pytest.raises(KeyError, match="No signature"):
        dp.pl.volcano(sig_all, "NK|aspirin vs DMSO")


def test_potency_tiers(sig_all):
    sig = dp.tl.potency(sig_all, copy=True)
    table = dp.get.potency_table(sig)
    fig = dp.pl.potency_tiers(sig, "Myeloma")  # reads the stored table
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(dp.datasets.DRUGS)
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("strong") for t in texts)
    called = table[(table["group"] == "Myeloma") & (table["tier"].astype(str) != "none")]
    row = called.iloc[0]
    shown = f"{row['log2fc']:+.2f} [{row['log2fc_lo']:+.2f}, {row['log2fc_hi']:+.2f}]"
    assert any(t.endswith(shown) for t in texts)  # every called tier carries its effect and interval
    assert all("[" in t for t in texts if not t.startswith("none"))
    from_table = dp.pl.potency_tiers(table, "Myeloma")  # the table itself draws the same
    assert [t.get_text() for t in from_table.axes[0].texts] == texts
    with pytest.raises(ValueError, match="No rows"):
        dp.pl.potency_tiers(table, "Platelets")
    with pytest.raises(ValueError, match="No rows"):
        dp.pl.potency_tiers(sig, "Platelets")
    with pytest.raises(KeyError, match=r"run dp\.tl\.potency"):
        dp.pl.potency_tiers(sig_all, "Myeloma")


def test_similarity_names_its_metric_and_leaves_gaps_unclustered(sig_all, pdata):
    sig = sig_all[sig_all.obs["cell_type"].isin(["Myeloma", "B"])].copy()
    dp.tl.compare(sig, pdata=pdata, n_boot=20)
    tab = dp.get.compare_table(sig)
    label = "effect correlation (split donors, capped at ±1)"
    fig = dp.pl.similarity(sig, "Myeloma", metric="effect_r")
    ax_d, ax, cax = fig.axes
    assert fig.get_suptitle() == f"Myeloma: {label}" and cax.get_ylabel() == label
    assert (ax.images[0].norm.vmin, ax.images[0].norm.vmax) == (-1, 1)  # the metric's range, whatever the data
    shown = [float(t.get_text()) for t in ax.texts]
    assert max(shown) == 1.0 and len(shown) == 25
    assert tab.loc[tab.group == "Myeloma", "effect_r"].max() == 1.0  # capped in the table, as drawn
    assert ax_d.collections  # clustered: a dendrogram
    # B cells: nothing planted, so no drug has an effect and every effect correlation is n/a
    assert tab.loc[tab.group == "B", "effect_r"].isna().all()
    fig = dp.pl.similarity(sig, "B", metric="effect_r")
    assert len(fig.axes) == 2 and not any(a.collections for a in fig.axes[:1])  # no dendrogram axes
    title = fig.get_suptitle()
    assert "not clustered (order as given): 10 of 10 pairs n/a" in title and "hatched: not comparable" in title
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(dp.get.similarity_matrix(sig, "B").index)
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("n/a") == 20 and texts.count("1.00") == 5
    assert sum(patch.get_hatch() == "///" for patch in ax.patches) == 20  # every pair: not comparable
    fig = dp.pl.similarity(sig, "B")  # its signatures correlate through the shared control: drawn, but hatched
    assert len(fig.axes) == 3 and fig.get_suptitle().startswith("B: Spearman of signatures\nhatched")
    assert fig.axes[2].get_ylabel() == "Spearman of signatures"
    table = sig.uns["compare"]["table"]  # one drug without values: the others are clustered, it is listed below
    table.loc[(table.group == "Myeloma") & table[["a", "b"]].eq("iberdomide").any(axis=1), "effect_r"] = np.nan
    fig = dp.pl.similarity(sig, "Myeloma", metric="effect_r")
    ax_d, ax, _ = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "iberdomide"
    assert fig.get_suptitle() == f"Myeloma: {label}\nnot clustered (no values): iberdomide"
    fig.canvas.draw()
    leaves = ax_d.transData.transform(np.c_[np.zeros(4), 5 + 10 * np.arange(4)])[:, 1]
    rows = ax.transData.transform(np.c_[np.zeros(4), np.arange(4)[::-1]])[:, 1]
    np.testing.assert_allclose(leaves, rows, atol=0.5)  # the clustered rows are level with their leaves


def test_comparison_figures(sig_all, tmp_path):
    sig = sig_all.copy()
    dp.tl.compare(sig, n_boot=20)
    fig = dp.pl.similarity(sig, "Myeloma", save=tmp_path / "s.png")
    assert (tmp_path / "s.png").exists() and len(fig.axes) == 3
    ax = fig.axes[1]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    spearman = dp.get.similarity_matrix(sig, "Myeloma", ordered=True)
    assert ticks == list(spearman.index)[::-1]  # drawn in dendrogram order
    assert ax.images[0].get_array()[0, -1] == pytest.approx(spearman.loc[ticks[0], ticks[-1]])
    with pytest.raises(ValueError, match="effect correlation"):
        dp.pl.similarity(sig, "Myeloma", metric="effect_r")
    dp.tl.deg_overlap(sig)
    fig = dp.pl.deg_upset(sig, "Myeloma", "down")
    inter = sig.uns["deg_overlap"]["intersections"]
    expected = inter[(inter["group"] == "Myeloma") & (inter["direction"] == "down")]["n_genes"]
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == sorted(expected, reverse=True)[: len(heights)] and len(heights) == min(15, len(expected))
    with pytest.raises(ValueError, match="No up-regulated"):
        dp.pl.deg_upset(sig, "B", "up")
    with pytest.raises(KeyError, match="Typo"):
        dp.pl.deg_upset(sig, "Typo", "up")
    dp.tl.potency_rank(sig, n_draws=100)
    fig = dp.pl.potency_rank(sig, "Myeloma")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == "mezigdomide"
    fig = dp.pl.potency_rank(dp.get.potency_rank_table(sig), "Myeloma")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == "mezigdomide"
