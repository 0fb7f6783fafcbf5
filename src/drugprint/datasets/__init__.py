"""Bundled and simulated datasets (``dp.datasets``)."""

from ._baselines import CELL_TYPES
from ._cohort import survival_cohort
from ._imid_screen import COMPOSITION, DRUGS, activity, gene_universe, imid_screen
from ._screen import screen

__all__ = [
    "CELL_TYPES",
    "COMPOSITION",
    "DRUGS",
    "activity",
    "gene_universe",
    "imid_screen",
    "screen",
    "survival_cohort",
]
