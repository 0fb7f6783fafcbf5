"""Gene-set scoring behind :func:`drugprint.tl.pathways` and :func:`drugprint.tl.panels`.

``methods`` (the registry of set tests), ``net`` (a net made ready), ``replicate`` (tests over each fit's
samples), ``genes`` (decoupler's gene-level methods, effect sizes) and ``score`` (all of it for one net).
"""

from .methods import SET_METHODS, set_methods
from .score import score_sets

__all__ = ["SET_METHODS", "score_sets", "set_methods"]
