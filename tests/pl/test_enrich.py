import numpy as np
import pytest

import drugprint as dp


@pytest.fixture(scope="module")
def enriched(pdata):
    sig = dp.tl.de(pdata, groups=["Myeloma", "NK"], method="voom", verbose=False)
    dp.tl.enrich(sig, "go_bp")
    return sig


def test_enrich_dotplot_shows_the_strongest_terms(enriched):
    fig = dp.pl.enrich_dotplot(enriched, n_terms=6)
    up, down = fig.axes[:2]  # then their colour bars
    tab = dp.get.enrich_table(enriched)
    for ax, direction in ((up, "up"), (down, "down")):
        shown = [t.get_text().rsplit("(", 1)[1].rstrip(")") for t in ax.get_yticklabels()]
        best = tab[tab["direction"] == direction].groupby("source")["padj"].min().sort_values(kind="stable")
        assert shown == list(best.index[:6]) and (best.iloc[:6] < 0.05).all()
        dots = ax.collections[0]
        tested = tab[(tab["direction"] == direction) & tab["source"].isin(shown)]
        assert len(dots.get_offsets()) == len(tested)  # a dot wherever the term was tested
        assert np.isclose(dots.get_array().max(), min(20, -np.log10(best.iloc[0] + 1e-300)))
    assert [ax.get_title() for ax in (up, down)] == ["up genes", "down genes"]


def test_enrich_dotplot_errors(enriched):
    with pytest.raises(KeyError, match=r"run dp\.tl\.enrich"):
        dp.pl.enrich_dotplot(enriched, "missing")
