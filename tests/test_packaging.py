"""The built distributions: the wheel carries data/ as drugprint/data/ and works from a fresh install; the sdist
carries data/.

The wheel and sdist are built with hatchling's PEP 517 hooks (the ``test`` extra installs hatchling; no build
isolation, so no network). The wheel is then installed with ``pip install --no-deps --target DIR``: a fresh venv
would have none of drugprint's dependencies and tests cannot download them, so a new interpreter runs with
``DIR`` first on ``sys.path`` and takes the dependencies from the test environment. It must import drugprint
from ``DIR``, not from the editable source, and read the shipped gene sets from there.
"""

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import drugprint as dp

ROOT = Path(__file__).resolve().parents[1]
DATA = [
    "h.all.v2023.1.Hs.symbols.gmt",
    "progeny_human_top500.csv",
    "hcop_mouse_human.tsv.xz",
    "human_genes.tsv.xz",
    "README.md",
]

pytest.importorskip("hatchling", reason="building the wheel needs hatchling (the test extra installs it)")


def _build(kind: str, root: Path, out: Path) -> Path:
    """Build a wheel or an sdist of the project at ``root`` into ``out`` with hatchling, in a subprocess."""
    code = f"import sys, hatchling.build as b; print(b.build_{kind}(sys.argv[1]))"
    res = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0, res.stderr
    return out / res.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _build("wheel", ROOT, tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    return _build("sdist", ROOT, tmp_path_factory.mktemp("sdist"))


def test_wheel_contents(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        dist_info = f"drugprint-{dp.__version__}.dist-info"
        metadata = zf.read(f"{dist_info}/METADATA").decode()
    for name in DATA:
        assert f"drugprint/data/{name}" in names
    assert {"drugprint/__init__.py", "drugprint/py.typed", f"{dist_info}/licenses/LICENSE"} <= names
    assert not any(n.startswith(("data/", "src/", "tests/")) for n in names)
    assert "License-Expression: BSD-3-Clause" in metadata and "License-File: LICENSE" in metadata
    extras = {line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Provides-Extra: ")}
    assert {"protein", "cluster", "dask", "all", "test", "dev"} <= extras
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: ")]
    for optional in ("muon", "leidenalg", "igraph", "dask"):  # heavy parts only through their extra
        assert all("extra ==" in r for r in requires if r.split()[1].startswith(optional)), optional


def test_fresh_install_from_the_wheel_reads_the_shipped_data(wheel, tmp_path):
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", "--quiet"]
    res = subprocess.run([*pip, "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    code = """
import json, sys
sys.path.insert(0, sys.argv[1])
import drugprint as dp
from drugprint.resources._files import data_dir
hm, pg = dp.resources.genesets("hallmark"), dp.resources.genesets("progeny", top=500)
print(json.dumps({
    "file": dp.__file__, "data": str(data_dir()),
    "hallmark": int(hm["source"].nunique()), "progeny": int(pg["source"].nunique()),
    "progeny_genes": int(pg.groupby("source").size().min()),
    "go_bp": int(dp.resources.genesets("go_bp")["source"].nunique()),
    "sha256": [hm.attrs["sha256"], pg.attrs["sha256"]],
    "human_genes": dp.resources.gene_table().attrs["sha256"],
}))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # -I: no PYTHONPATH, no user site, no script directory; run from an empty directory (not the checkout)
    res = subprocess.run(
        [sys.executable, "-I", "-c", code, str(target)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert Path(out["file"]).is_relative_to(target), out["file"]  # not the editable src/
    assert Path(out["data"]) == target / "drugprint" / "data"
    assert (out["hallmark"], out["progeny"], out["progeny_genes"], out["go_bp"]) == (50, 14, 500, 15975)
    assert out["sha256"] == [dp.resources.COLLECTIONS[k]["sha256"] for k in ("hallmark", "progeny")]
    assert out["human_genes"] == dp.resources.gene_table().attrs["sha256"]


def test_sdist_carries_data_and_builds_the_same_wheel(sdist, tmp_path):
    with tarfile.open(sdist) as tf:
        top = f"drugprint-{dp.__version__}"
        names = set(tf.getnames())
        for name in [*(f"data/{n}" for n in DATA), "LICENSE", "pyproject.toml", "src/drugprint/__init__.py"]:
            assert f"{top}/{name}" in names, name
        assert not any(n.startswith(f"{top}/src/drugprint/data/") for n in names)
        assert not any(n.startswith(f"{top}/.venv/") for n in names)
        tf.extractall(tmp_path, filter="data")
    rebuilt = _build("wheel", tmp_path / top, tmp_path)  # what pip does with the sdist
    with zipfile.ZipFile(rebuilt) as zf:
        assert {f"drugprint/data/{n}" for n in DATA} <= set(zf.namelist())
