"""The shipped data files: found from a checkout and from a wheel, listed in data/README.md with their checksums."""

import hashlib
import importlib.resources
import re
from pathlib import Path

import pytest

import drugprint as dp
from drugprint.resources import _files
from drugprint.resources._files import data_dir, data_file
from drugprint.resources._ids import GENE_TABLE

ROOT = Path(__file__).resolve().parents[2]


def _readme_rows() -> dict[str, str]:
    """``file → sha256`` from the table in data/README.md."""
    rows = {}
    for line in (ROOT / "data" / "README.md").read_text().splitlines():
        m = re.match(r"\| `([^`/]+)` \|.*\| ([0-9a-f]{64}) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_data_dir_is_the_package_data_or_the_checkout_data():
    d = Path(str(data_dir()))
    packaged = Path(str(importlib.resources.files("drugprint"))) / "data"
    assert d == (packaged if packaged.is_dir() else ROOT / "data")
    assert (d / "README.md").is_file()


def test_every_shipped_file_is_listed_with_its_checksum():
    rows = _readme_rows()
    shipped = {p.name for p in (ROOT / "data").iterdir() if p.is_file() and p.name != "README.md"}
    assert set(rows) == shipped
    for name, sha in rows.items():
        assert hashlib.sha256((ROOT / "data" / name).read_bytes()).hexdigest() == sha, name
    recorded = {m["file"]: m["sha256"] for m in dp.resources.COLLECTIONS.values() if m["file"]}
    recorded |= {m["file"]: m["sha256"] for m in dp.resources.ORTHOLOGY.values()}  # mouse orthologues
    recorded[GENE_TABLE["file"]] = GENE_TABLE["sha256"]  # the human gene identifiers
    assert recorded == rows


def test_missing_data_names_the_paths_looked_at(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    monkeypatch.setattr(_files.importlib.resources, "files", lambda _name: pkg)
    monkeypatch.setattr(_files, "_REPO_DATA", tmp_path / "checkout" / "data")
    with pytest.raises(FileNotFoundError, match="data files are missing") as err:
        data_dir()
    assert str(pkg / "data") in str(err.value) and str(tmp_path / "checkout" / "data") in str(err.value)

    monkeypatch.setattr(_files, "_REPO_DATA", None)  # an installed wheel: only the package is looked in
    with pytest.raises(FileNotFoundError, match=r"looked in .*installed package\); reinstall drugprint") as err:
        data_dir()
    assert "checkout" not in str(err.value)

    (pkg / "data").mkdir()
    (pkg / "data" / "other.csv").write_text("x\n")
    assert data_dir() == pkg / "data"  # the packaged copy wins over the checkout
    with pytest.raises(FileNotFoundError, match=r"'progeny_human_top500.csv' is missing .*present: other.csv"):
        dp.resources.genesets("progeny")


def test_data_file_reads_shipped_files():
    assert data_file("h.all.v2023.1.Hs.symbols.gmt").read_text().startswith("HALLMARK_")
