"""Figures (``dp.pl``): each returns its matplotlib Figure and never calls ``plt.show()``."""

from ._base import KEY_PATHWAYS
from ._dotplot import panel_dotplot
from ._heatmap import pathway_heatmap
from ._tiers import potency_tiers
from ._volcano import volcano

__all__ = ["KEY_PATHWAYS", "panel_dotplot", "pathway_heatmap", "potency_tiers", "volcano"]
