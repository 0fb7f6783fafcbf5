"""Statistics that add results (``dp.tl``)."""

from ._de import de
from ._panels import panels, score_cells
from ._pathways import pathways
from ._potency import potency

__all__ = ["de", "panels", "pathways", "potency", "score_cells"]
