"""The main job end to end and its HTML report (``dp.report``)."""

from ._pipeline import OPTIONAL_STAGES, de_summary, demo, dropped_profiles, run

__all__ = ["OPTIONAL_STAGES", "de_summary", "demo", "dropped_profiles", "run"]
