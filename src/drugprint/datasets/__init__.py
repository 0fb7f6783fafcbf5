"""Bundled and simulated datasets (``dp.datasets``)."""

from ._baselines import CELL_TYPES
from ._imid_screen import DRUGS, activity, gene_universe, imid_screen

__all__ = ["CELL_TYPES", "DRUGS", "activity", "gene_universe", "imid_screen"]
