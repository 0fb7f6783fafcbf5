"""Tidy views of results (``dp.get``)."""

from ._tables import de_table, pathway_table

__all__ = ["de_table", "pathway_table"]
