"""The environment: the package's logger, progress bars, library versions and optional dependencies."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

#: The package's logger (``logging.getLogger("drugprint")``).
logger = logging.getLogger("drugprint")


def progress(iterable: Iterable, *, total: int | None = None, desc: str = "", verbose: bool = True):
    """Wrap ``iterable`` in a tqdm bar, shown only when ``verbose`` and stderr is a terminal."""
    from tqdm import tqdm

    disable = (not verbose) or not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=False)


def versions() -> dict[str, str]:
    """Versions of drugprint and the libraries whose numbers a result depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("drugprint", "anndata", "scanpy", "decoupler", "pydeseq2", "numpy", "scipy", "pandas"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - every listed package is a dependency
            out[pkg] = "not installed"
    return out


def optional_import(module: str, extra: str, purpose: str) -> Any:
    """Import an optional dependency, or raise an ``ImportError`` naming the extra that installs it.

    Parameters
    ----------
    module
        The module to import, e.g. ``"leidenalg"`` or ``"distributed"``.
    extra
        The drugprint extra that installs it: ``"protein"`` (muon), ``"cluster"`` (leidenalg, igraph) or
        ``"dask"`` (dask, distributed, zarr, xarray); ``"all"`` installs every one.
    purpose
        What needs it, e.g. ``"dp.tl.annotate (clustering)"``; the message reads
        ``"<purpose> needs <module>; install it with: pip install 'drugprint[<extra>]'"``.

    Returns
    -------
    The imported module.

    Examples
    --------
    >>> from drugprint._env import optional_import
    >>> optional_import("math", "all", "an example").sqrt(4.0)
    2.0
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        missing = isinstance(err, ModuleNotFoundError) and err.name in (module, module.split(".")[0])
        cause = "" if missing else f" (importing it failed: {err})"
        install = f"pip install 'drugprint[{extra}]'"
        raise ImportError(f"{purpose} needs {module}{cause}; install it with: {install}") from err
