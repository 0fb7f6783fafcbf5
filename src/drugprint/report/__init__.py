"""The main job end to end and its HTML report (``dp.report``)."""

from ._config import OPTIONAL_STAGES
from ._pipeline import demo, run
from ._summaries import de_summary, dropped_profiles

__all__ = ["OPTIONAL_STAGES", "de_summary", "demo", "dropped_profiles", "run"]
