"""``dp.tl.de``: a call planned, fitted by the registered engines, and assembled into signatures.

Planning: ``specs`` (what is tested), ``call`` (the call resolved against the data), ``groups`` (each group's
fit), ``plan`` (all of it, before anything is fitted); fitting: ``engines`` (the registry), ``executors``
(serial, processes, dask); ``assemble`` (signatures and ``uns["de"]``); ``tool`` holds ``de`` itself.
"""

from .engines import de_methods
from .tool import de

__all__ = ["de", "de_methods"]
