"""Statistics that add results (``dp.tl``)."""

from ._annotate import annotate
from ._compare import compare
from ._composition import composition
from ._concat import concat_signatures
from ._de import de, de_methods
from ._dose import dose_response, hill, time_course
from ._enrich import enrich
from ._gsea import gsea
from ._neosubstrates import call_degradation, neosubstrates
from ._overlap import deg_overlap
from ._panels import panels, score_cells
from ._pathways import pathways
from ._potency import potency
from ._query import query
from ._rank import potency_rank
from ._screen import cluster_signatures, screen_hits
from ._sets import set_methods
from ._signature_score import signature_score
from ._summary import summary_table
from ._survival import survival

__all__ = [
    "annotate",
    "call_degradation",
    "cluster_signatures",
    "compare",
    "composition",
    "concat_signatures",
    "de",
    "de_methods",
    "deg_overlap",
    "dose_response",
    "enrich",
    "gsea",
    "hill",
    "neosubstrates",
    "panels",
    "pathways",
    "potency",
    "potency_rank",
    "query",
    "score_cells",
    "screen_hits",
    "set_methods",
    "signature_score",
    "summary_table",
    "survival",
    "time_course",
]
