"""Readers that turn files into AnnData (``dp.io``)."""

from ._read import read

__all__ = ["read"]
