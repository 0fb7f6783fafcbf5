import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from anndata import AnnData
from matplotlib.figure import Figure

import drugprint as dp


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def queried():
    """Twelve signatures: three families of four (a shared fingerprint plus noise), the third reversed."""
    rng = np.random.default_rng(0)
    fingerprint = rng.normal(0, 2, (2, 500)) * (rng.random((2, 500)) < 0.2)
    rows = [
        sign * fingerprint[f % 2] + rng.normal(0, 1, 500) for f, sign in ((0, 1), (1, 1), (0, -1)) for _ in range(4)
    ]
    names = [f"{fam}{i}" for fam in ("a", "b", "r") for i in range(4)]
    obs = pd.DataFrame({"cell_line": "L", "condition": names, "reference": "DMSO"}, index=names)
    values = np.array(rows)
    sig = AnnData(values, obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(500)]), layers={"stat": values})
    sig.uns["de"] = {"groupby": "cell_line"}
    dp.tl.query(sig, sig, verbose=False)
    return sig


def test_query_plot_shows_similar_and_reversing(queried, tmp_path):
    fig = dp.pl.query(queried, "a0", n_top=3, save=tmp_path / "q.png")
    assert isinstance(fig, Figure) and (tmp_path / "q.png").stat().st_size > 5_000
    ax = fig.axes[0]
    assert ax.get_title() == "a0"  # labels the query
    labels = [t.get_text() for t in ax.get_yticklabels()]
    tab = dp.get.query_table(queried, query="a0")
    assert labels[:3] == tab["reference"].head(3).tolist() and set(labels[:3]) == {"a1", "a2", "a3"}  # its family
    assert labels[3:] == tab["reference"].tail(3).tolist() and {x[0] for x in labels[3:]} == {"r"}  # reversed family
    assert labels[-1] == tab["reference"].iloc[-1]  # most reversing last
    widths = [p.get_width() for p in ax.patches]
    assert widths[:3] == sorted(widths[:3], reverse=True) and all(w < 0 for w in widths[3:])
    assert sum(t.get_text() == "*" for t in ax.texts) == 6  # all six at padj < 0.05
    assert "score" in ax.get_xlabel()


def test_query_plot_draws_into_ax_and_errors(queried):
    fig, ax = plt.subplots()
    assert dp.pl.query(queried, "b1", n_top=2, ax=ax) is fig
    assert len(ax.patches) >= 2
    fig, ax = plt.subplots()
    ax.bar([0, 1], [1, 2])  # bars already there are left as they were
    dp.pl.query(queried, "b1", n_top=2, ax=ax)
    assert [p.get_alpha() for p in ax.patches[:2]] == [None, None]
    with pytest.raises(KeyError, match=r"query 'zz' is not in sig.uns\['query'\]"):
        dp.pl.query(queried, "zz")
    with pytest.raises(KeyError, match=r"run dp\.tl\.query"):
        dp.pl.query(queried, "a0", key="missing")
    with pytest.raises(ValueError, match="n_top must be a positive integer"):
        dp.pl.query(queried, "a0", n_top=0)
