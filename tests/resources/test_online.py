import time

import pandas as pd
import pytest

import drugprint as dp
from drugprint.resources import _online


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(_online, "cache_dir", lambda: tmp_path / "genesets")
    return tmp_path / "genesets"


def test_offline_default_never_touches_network(no_network):
    for name in ("hallmark", "progeny", "imid"):
        assert len(dp.resources.genesets(name)) > 0
    with pytest.raises(ValueError, match="only available online"):
        dp.resources.genesets("collectri")


def test_online_failure_falls_back_to_shipped_copy(no_network, cache):
    with pytest.warns(UserWarning, match="using the shipped copy of 'hallmark'"):
        net = dp.resources.genesets("hallmark", online=True, timeout=5)
    assert net.attrs["version"] == "MSigDB v2023.1.Hs"
    with pytest.raises(ConnectionError, match="only available online"):
        dp.resources.genesets("collectri", online=True, timeout=5)
    assert not cache.exists()


def test_online_success_is_cached(cache, monkeypatch):
    import decoupler as dc

    calls = []

    def fake_collectri(organism="human", **kwargs):
        calls.append(organism)
        return pd.DataFrame({"source": ["MYC", "MYC"], "target": ["CDK4", "NCL"], "weight": [1.0, 1.0]})

    monkeypatch.setattr(dc.op, "collectri", fake_collectri)
    net = dp.resources.genesets("collectri", online=True)
    assert net.attrs["name"] == "collectri" and len(net.attrs["sha256"]) == 64
    assert (cache / "collectri.csv.gz").exists()
    again = dp.resources.genesets("collectri", online=True)
    assert calls == ["human"]  # the second call is served from the cache
    pd.testing.assert_frame_equal(net, again)
    dp.resources.genesets("collectri", online=True, refresh=True)
    assert len(calls) == 2


def test_online_hallmark_names_match_shipped(cache, monkeypatch):
    import decoupler as dc

    monkeypatch.setattr(
        dc.op,
        "hallmark",
        lambda organism="human", **kw: pd.DataFrame({"source": ["P53_PATHWAY"], "target": ["CDKN1A"]}),
    )
    net = dp.resources.genesets("hallmark", online=True)
    assert net["source"].tolist() == ["HALLMARK_P53_PATHWAY"]


def test_online_timeout(cache, monkeypatch):
    import decoupler as dc

    def slow(organism="human", **kwargs):
        time.sleep(3)
        return pd.DataFrame({"source": ["x"], "target": ["y"]})

    monkeypatch.setattr(dc.op, "dorothea", slow)
    t0 = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"longer than 0\.2 s"):
        dp.resources.genesets("dorothea", online=True, timeout=0.2)
    assert time.perf_counter() - t0 < 2
