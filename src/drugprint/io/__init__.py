"""Readers that turn files into AnnData (``dp.io``)."""

from ._counts import read_counts
from ._detable import read_de_table
from ._microarray import parse_series_matrix, read_microarray
from ._read import read

__all__ = ["parse_series_matrix", "read", "read_counts", "read_de_table", "read_microarray"]
