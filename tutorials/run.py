"""Execute every tutorial notebook top to bottom in a fresh kernel; fail on the first error.

Usage: ``python tutorials/run.py [NOTEBOOK ...]``. Outputs are not written back: the notebooks stay stripped.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent


def main(paths: list[str]) -> int:
    """Run ``paths`` (default: every numbered notebook here) and print each one's wall time."""
    notebooks = [Path(p) for p in paths] or sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
        print(f"{path.name}: ran in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
