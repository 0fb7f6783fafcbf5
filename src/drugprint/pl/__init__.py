"""Figures (``dp.pl``): each returns its matplotlib Figure and never calls ``plt.show()``."""

from ._compare import deg_upset, similarity
from ._composition import composition, composition_heatmap
from ._curves import dose_response, neosubstrates, time_course
from ._dotplot import panel_dotplot
from ._enrich import enrich_dotplot
from ._gsea import gsea_plot
from ._heatmap import pathway_heatmap
from ._query import query
from ._survival import hazard_ratios, kaplan_meier
from ._tiers import potency_rank, potency_tiers
from ._volcano import volcano

__all__ = [
    "composition",
    "composition_heatmap",
    "deg_upset",
    "dose_response",
    "enrich_dotplot",
    "gsea_plot",
    "hazard_ratios",
    "kaplan_meier",
    "neosubstrates",
    "panel_dotplot",
    "pathway_heatmap",
    "potency_rank",
    "potency_tiers",
    "query",
    "similarity",
    "time_course",
    "volcano",
]


def __getattr__(name: str):
    """``dp.pl.KEY_PATHWAYS`` moved to :data:`drugprint.resources.KEY_PATHWAYS` (a domain fact, not a plot)."""
    if name == "KEY_PATHWAYS":
        import warnings

        from .._results import REMOVED_IN, caller_stacklevel
        from ..resources import KEY_PATHWAYS

        warnings.warn(
            f"dp.pl.KEY_PATHWAYS is deprecated and will be removed in drugprint {REMOVED_IN}; use "
            "dp.resources.KEY_PATHWAYS.",
            DeprecationWarning,
            stacklevel=caller_stacklevel(),
        )
        return KEY_PATHWAYS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
