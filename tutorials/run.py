"""Execute every tutorial notebook top to bottom in a fresh kernel; fail on the first error.

Usage: ``python tutorials/run.py [--out DIR] [NOTEBOOK ...]``. The notebooks here stay stripped: outputs are
never written back. ``--out DIR`` writes each executed copy, outputs included, to ``DIR/<name>.ipynb`` (the
documentation renders ``docs/tutorials``, which ``make tutorials`` fills); a notebook that fails leaves no copy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    """Run the notebooks named in ``argv`` (default: every numbered one here) and print each one's wall time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: tutorials/[0-9][0-9]_*)")
    parser.add_argument("--out", type=Path, default=None, help="directory for the executed copies (with outputs)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
        print(f"{path.name}: ran in {time.perf_counter() - t0:.0f} s", flush=True)
        if args.out is not None:
            target = args.out / path.name
            partial = target.with_name(f".{target.name}.partial")
            nbformat.write(nb, partial)
            os.replace(partial, target)  # a reader never sees half a notebook
    return 0


if __name__ == "__main__":
    sys.exit(main())
