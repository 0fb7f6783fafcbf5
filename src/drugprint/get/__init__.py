"""Tidy views of results (``dp.get``)."""

from ._tables import de_table, pathway_table, similarity_matrix

__all__ = ["de_table", "pathway_table", "similarity_matrix"]
