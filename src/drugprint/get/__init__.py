"""Tidy views of results (``dp.get``), as ``sc.get``: each tool's table, read from where the tool stored it."""

from .._signatures import conditions, groups
from ._results import (
    compare_table,
    comparison,
    composition_table,
    dose_table,
    enrich_table,
    gsea_table,
    neosubstrate_table,
    overlap_table,
    potency_rank_table,
    potency_table,
    time_course_table,
)
from ._summary import summary_table
from ._survival import signature_score_table, survival_curves, survival_table
from ._tables import (
    cluster_pathways,
    cluster_table,
    de_table,
    pathway_table,
    query_table,
    screen_hits_table,
    similarity_matrix,
)

__all__ = [
    "cluster_pathways",
    "cluster_table",
    "compare_table",
    "comparison",
    "composition_table",
    "conditions",
    "de_table",
    "dose_table",
    "enrich_table",
    "groups",
    "gsea_table",
    "neosubstrate_table",
    "overlap_table",
    "pathway_table",
    "potency_rank_table",
    "potency_table",
    "query_table",
    "screen_hits_table",
    "signature_score_table",
    "similarity_matrix",
    "summary_table",
    "survival_curves",
    "survival_table",
    "time_course_table",
]
