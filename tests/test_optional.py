"""Heavy optional parts (muon, leidenalg/igraph, dask): a missing one raises an ImportError naming its extra.

``sys.modules[name] = None`` makes ``import name`` fail as if the package were not installed.
"""

import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from anndata import AnnData

import drugprint as dp
from drugprint._env import optional_import

ROOT = Path(__file__).resolve().parents[1]


def _hide(monkeypatch, *names):
    for name in names:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, loaded)
        monkeypatch.setitem(sys.modules, name, None)


def test_optional_import_returns_the_module_or_names_the_extra(monkeypatch):
    assert optional_import("json", "all", "a test").__name__ == "json"
    _hide(monkeypatch, "leidenalg")
    with pytest.raises(ImportError) as err:
        optional_import("leidenalg", "cluster", "dp.tl.annotate (Leiden clustering)")
    assert str(err.value) == (
        "dp.tl.annotate (Leiden clustering) needs leidenalg; install it with: pip install 'drugprint[cluster]'"
    )
    assert isinstance(err.value.__cause__, ImportError)


def test_failing_dependency_of_the_module_is_named(monkeypatch):
    """leidenalg present but igraph missing: the message still names the extra, and the real cause."""
    _hide(monkeypatch, "igraph", "leidenalg")
    monkeypatch.delitem(sys.modules, "leidenalg")
    with pytest.raises(ImportError, match=r"needs leidenalg \(importing it failed: .*igraph.*drugprint\[cluster\]"):
        optional_import("leidenalg", "cluster", "dp.tl.annotate (Leiden clustering)")


def test_annotate_without_leidenalg(monkeypatch):
    rng = np.random.default_rng(0)
    adata = AnnData(rng.poisson(1.0, (60, 40)).astype(np.float32))
    adata.var_names = [f"G{i}" for i in range(40)]
    _hide(monkeypatch, "leidenalg")
    with pytest.raises(ImportError, match=r"dp\.tl\.annotate .*leidenalg.*pip install 'drugprint\[cluster\]'"):
        dp.tl.annotate(adata, {"A": ["G1", "G2"], "B": ["G3", "G4"]}, n_top_genes=20, n_pcs=5, n_neighbors=5)


def test_neosubstrates_clr_without_muon(monkeypatch):
    from drugprint.tl._neosubstrates import _clr

    _hide(monkeypatch, "muon")
    with pytest.raises(ImportError, match=r"dp\.tl\.neosubstrates .*muon.*pip install 'drugprint\[protein\]'"):
        _clr(AnnData(np.ones((3, 2), dtype=np.float32)))


def test_dask_parts_without_dask(monkeypatch):
    from drugprint.tl._parallel import check_client

    _hide(monkeypatch, "distributed")
    with pytest.raises(ImportError, match=r"client= .*distributed.*pip install 'drugprint\[dask\]'"):
        check_client(object())
    from drugprint.pp._aggregate import aggregate_sum

    fake = type("Array", (), {"__module__": "dask.array.core"})()  # looks like a Dask array to is_dask
    _hide(monkeypatch, "dask")
    with pytest.raises(ImportError, match=r"dp\.pp\.pseudobulk on a Dask array needs dask.*drugprint\[dask\]"):
        aggregate_sum(fake, np.zeros(3, dtype=np.int64), 1)


def test_extras_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    core = " ".join(project["dependencies"])
    for extra, packages in {
        "protein": ["muon"],
        "cluster": ["leidenalg", "igraph"],
        "dask": ["dask[array]", "distributed", "zarr", "xarray"],
    }.items():
        assert [p.split(">")[0] for p in extras[extra]] == packages
        assert not any(p.split("[")[0] in core for p in packages)
    assert extras["all"] == ["drugprint[protein,cluster,dask]"]
    assert "mudata" in core and "numba" in core
