"""drugprint: compare the transcriptomic fingerprints of drugs, cell type by cell type."""

from importlib.metadata import PackageNotFoundError, version

from . import datasets, get, io, pl, pp, report, resources, tl

try:
    __version__ = version("drugprint")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["datasets", "get", "io", "pl", "pp", "report", "resources", "tl"]
