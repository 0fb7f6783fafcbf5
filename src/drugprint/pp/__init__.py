"""Cell- and profile-level preparation (``dp.pp``)."""

from ._pseudobulk import pseudobulk

__all__ = ["pseudobulk"]
