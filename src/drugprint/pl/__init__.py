"""Figures (``dp.pl``): each returns its matplotlib Figure and never calls ``plt.show()``."""

from ._base import KEY_PATHWAYS
from ._compare import deg_upset, similarity
from ._composition import composition, composition_heatmap
from ._curves import dose_response, neosubstrates, time_course
from ._dotplot import panel_dotplot
from ._heatmap import pathway_heatmap
from ._tiers import potency_rank, potency_tiers
from ._volcano import volcano

__all__ = [
    "KEY_PATHWAYS",
    "composition",
    "composition_heatmap",
    "deg_upset",
    "dose_response",
    "neosubstrates",
    "panel_dotplot",
    "pathway_heatmap",
    "potency_rank",
    "potency_tiers",
    "similarity",
    "time_course",
    "volcano",
]
