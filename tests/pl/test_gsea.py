import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import drugprint as dp

MEZ = "Myeloma|mezigdomide vs DMSO"


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def ranked(pdata):
    sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    dp.tl.gsea(sig, "hallmark", n_perm=200)
    return sig


@pytest.mark.parametrize("source", ["HALLMARK_INTERFERON_ALPHA_RESPONSE", "HALLMARK_G2M_CHECKPOINT"])
def test_gsea_plot_marks_the_es_and_the_leading_edge(ranked, source, tmp_path):
    row = dp.get.gsea_table(ranked).query("signature == @MEZ and source == @source").iloc[0]
    fig = dp.pl.gsea_plot(ranked, MEZ, source, save=tmp_path / "gsea.png")
    assert (tmp_path / "gsea.png").stat().st_size > 0
    assert len(fig.axes) == 3
    top, bar, low = fig.axes
    curve, peak = top.lines[0].get_ydata(), top.lines[-1]
    n = int(np.isfinite(ranked[MEZ].layers["stat"]).sum())
    assert curve.size == n and abs(curve[-1]) < 1e-12
    assert peak.get_marker() == "o" and np.isclose(peak.get_ydata()[0], row["es"], atol=1e-12)
    x = int(peak.get_xdata()[0])
    assert curve[x] == pytest.approx(row["es"]) and abs(curve).max() == pytest.approx(abs(row["es"]))
    assert len(bar.collections[0].get_segments()) == row["n_set"]  # one bar per gene of the set
    # the shaded leading edge holds exactly the leading-edge genes' bars
    shade = top.patches[0].get_x(), top.patches[0].get_x() + top.patches[0].get_width()
    bars = np.array([s[0, 0] for s in bar.collections[0].get_segments()])
    assert ((bars >= shade[0]) & (bars <= shade[1])).sum() == row["n_leading_edge"]
    assert f"NES {row['nes']:.2f}" in top.get_title() and f"padj {row['padj']:.2g}" in top.get_title()
    assert low.get_ylabel() == "stat" and low.get_xlim() == (0, n - 1)


def test_gsea_plot_fills_a_given_ax_and_checks_its_net(ranked):
    fig, ax = plt.subplots(1, 2)
    out = dp.pl.gsea_plot(ranked, MEZ, "HALLMARK_G2M_CHECKPOINT", ax=ax[1])
    assert out is fig and len(fig.axes) == 4  # ax[0] and the three panels in the place of ax[1]
    with pytest.raises(KeyError, match="No result for signature"):
        dp.pl.gsea_plot(ranked, MEZ, "NOT_A_SET")
    net = dp.resources.genesets("hallmark")
    swap = {"HALLMARK_G2M_CHECKPOINT": "X", "HALLMARK_E2F_TARGETS": "HALLMARK_G2M_CHECKPOINT"}
    other = net.assign(source=net["source"].replace(swap))  # E2F drawn as if it were G2M
    with pytest.warns(UserWarning, match="not at the stored ES"):
        dp.pl.gsea_plot(ranked, MEZ, "HALLMARK_G2M_CHECKPOINT", net=other)


def test_gsea_plot_of_a_user_net_needs_it_again(ranked):
    sig = ranked.copy()
    net = dp.resources.genesets("hallmark")
    own = pd.DataFrame({"source": net["source"].to_numpy(), "target": net["target"].to_numpy()})  # no attrs
    dp.tl.gsea(sig, own, n_perm=50)
    with pytest.raises(ValueError, match="pass it as net="):
        dp.pl.gsea_plot(sig, MEZ, "HALLMARK_G2M_CHECKPOINT")
    assert len(dp.pl.gsea_plot(sig, MEZ, "HALLMARK_G2M_CHECKPOINT", net=net).axes) == 3
