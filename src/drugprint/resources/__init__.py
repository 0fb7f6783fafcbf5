"""Offline gene sets, pathway weights, panels and the compound registry (``dp.resources``)."""

from ._compounds import VEHICLE_LABELS, compounds, resolve_compound
from ._genesets import COLLECTIONS, genesets, provenance, read_gmt
from ._harmonise import match_net
from ._panels import panels

__all__ = [
    "COLLECTIONS",
    "VEHICLE_LABELS",
    "compounds",
    "genesets",
    "match_net",
    "panels",
    "provenance",
    "read_gmt",
    "resolve_compound",
]
