"""Offline gene sets, pathway weights, panels and the compound registry (``dp.resources``)."""

from ._compounds import VEHICLE_LABELS, compounds, find_vehicle, is_imid_study, resolve_compound
from ._genesets import (
    COLLECTIONS,
    GO_ONTOLOGIES,
    KEY_PATHWAYS,
    annotated_genes,
    genesets,
    go_annotated,
    provenance,
    read_gmt,
)
from ._harmonise import harmonise_net, match_net
from ._ids import gene_table
from ._online import ONLINE, cache_dir
from ._orthologs import ORTHOLOGY, orthologs
from ._panels import key_genes, markers, panels, panels_for

__all__ = [
    "COLLECTIONS",
    "GO_ONTOLOGIES",
    "KEY_PATHWAYS",
    "ONLINE",
    "ORTHOLOGY",
    "VEHICLE_LABELS",
    "annotated_genes",
    "cache_dir",
    "compounds",
    "find_vehicle",
    "gene_table",
    "genesets",
    "go_annotated",
    "harmonise_net",
    "is_imid_study",
    "key_genes",
    "markers",
    "match_net",
    "orthologs",
    "panels",
    "panels_for",
    "provenance",
    "read_gmt",
    "resolve_compound",
]
