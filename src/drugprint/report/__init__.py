"""The main job end to end and its HTML report (``dp.report``)."""

from ._pipeline import de_summary, demo, run

__all__ = ["de_summary", "demo", "run"]
