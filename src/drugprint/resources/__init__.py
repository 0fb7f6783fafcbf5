"""Offline gene sets, pathway weights, panels and the compound registry (``dp.resources``)."""

from ._compounds import VEHICLE_LABELS, compounds, find_vehicle, is_imid_study, resolve_compound
from ._genesets import COLLECTIONS, KEY_PATHWAYS, genesets, provenance, read_gmt
from ._harmonise import harmonise_net, match_net
from ._online import ONLINE, cache_dir
from ._panels import key_genes, markers, panels, panels_for

__all__ = [
    "COLLECTIONS",
    "KEY_PATHWAYS",
    "ONLINE",
    "VEHICLE_LABELS",
    "cache_dir",
    "compounds",
    "find_vehicle",
    "genesets",
    "harmonise_net",
    "is_imid_study",
    "key_genes",
    "markers",
    "match_net",
    "panels",
    "panels_for",
    "provenance",
    "read_gmt",
    "resolve_compound",
]
