"""What every drugprint figure shares: an optional ``ax``, ``figsize``, ``save``; the Figure is returned."""

from __future__ import annotations

import math
from collections.abc import Sequence
from os import PathLike
from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.textpath import text_to_path

#: Resolution of saved figures (dots per inch); narrower figures are saved finer (see ``MIN_WIDTH_PX``).
DPI = 150
#: Narrowest saved figure (pixels): shown at 800 px or more (as a report shows it), no figure is enlarged from a
#: smaller image. A figure narrower than ``MIN_WIDTH_PX / DPI`` inches is saved at a higher resolution instead,
#: its layout unchanged (its text keeps its size relative to the figure).
MIN_WIDTH_PX = 800
#: White around the contents of a saved figure (inches).
MARGIN = 0.1


def layout(figsize: tuple[float, float]) -> ConstrainedLayoutEngine:
    """Constrained layout for a figure of ``figsize`` that leaves ``MARGIN`` of white around its contents.

    This is the margin a tight crop (``bbox_inches="tight"``) leaves, without the second draw that crop costs.
    """
    rc = plt.rcParams
    dx = max(MARGIN - rc["figure.constrained_layout.w_pad"], 0.0) / figsize[0]
    dy = max(MARGIN - rc["figure.constrained_layout.h_pad"], 0.0) / figsize[1]
    return ConstrainedLayoutEngine(rect=(dx, dy, 1 - 2 * dx, 1 - 2 * dy))


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """A new figure and axes, or the figure of ``ax``."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout=layout(figsize))
        return fig, ax
    return ax.figure, ax


def save_dpi(width: float) -> int:
    """Resolution at which a figure ``width`` inches wide is saved: ``DPI``, or finer to be ``MIN_WIDTH_PX`` wide."""
    return max(DPI, math.ceil(MIN_WIDTH_PX / width))


def finish(fig: Figure, save: str | PathLike | None) -> Figure:
    """Save when asked, and return the figure (never shown here).

    Saved at ``DPI`` from one layout and one draw, both by the same renderer (text is measured once), and at least
    ``MIN_WIDTH_PX`` wide (a narrower figure at a higher resolution, see :func:`save_dpi`). A figure with a layout
    engine fits its canvas (see :func:`layout`) and is saved whole; one without is cropped to its contents.
    """
    if save is not None:
        engine, dpi = fig.get_layout_engine(), fig.dpi
        # Without an engine (whatever the rcParams say), saving neither lays the figure out again nor draws it twice.
        with plt.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            fig.dpi = DPI
            try:
                if engine is not None:
                    bbox, width = None, fig.get_figwidth()
                else:  # the crop savefig(bbox_inches="tight") makes, measured here for its width
                    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(MARGIN)
                    width = bbox.width
                fig.dpi = save_dpi(width)
                if engine is not None:
                    engine.execute(fig)
                fig.set_layout_engine(None)
                fig.savefig(save, dpi=fig.dpi, bbox_inches=bbox, pad_inches=0)
            finally:
                fig.set_layout_engine(engine)
                fig.dpi = dpi
    return fig


def grid_axes(
    ax: Axes | None,
    figsize: tuple[float, float],
    nrows: int,
    ncols: int,
    *,
    sharex: bool = False,
    sharey: bool = False,
    **gridspec: Any,
) -> tuple[Figure, np.ndarray]:
    """A grid of axes (``nrows`` × ``ncols`` array): in a new figure, or in the place of ``ax``, which it replaces.

    So figures of several panels take ``ax`` as single-panel ones do.
    """
    if ax is None:
        fig = plt.figure(figsize=figsize, layout=layout(figsize))
        spec = fig.add_gridspec(nrows, ncols, **gridspec)
    else:
        place = ax.get_subplotspec()
        if place is None:
            raise ValueError("ax must be a subplot (plt.subplots, fig.add_subplot) for a figure of several panels.")
        fig, spec = ax.figure, place.subgridspec(nrows, ncols, **gridspec)
        ax.remove()
    axes = np.empty((nrows, ncols), dtype=object)
    for i in range(nrows):
        for j in range(ncols):
            first = axes[0, 0] if i or j else None
            axes[i, j] = fig.add_subplot(spec[i, j], sharex=first if sharex else None, sharey=first if sharey else None)
    return fig, axes


def results_table(data: Any, key: str, getter: Any) -> pd.DataFrame:
    """A tool's table: ``data`` itself when it is a DataFrame, else ``getter(data, key)`` (from ``dp.get``)."""
    return data if isinstance(data, pd.DataFrame) else getter(data, key)


def symmetric_norm(values: np.ndarray, floor: float = 0.1, *, robust: bool = False) -> TwoSlopeNorm:
    """A colour norm centred on 0 and symmetric around it, at least ``±floor`` wide (also for all-zero data).

    The limit is the largest ``|value|``, or with ``robust`` its 99th percentile (larger values saturate).
    """
    values = np.abs(np.asarray(values, dtype=float))
    values = values[np.isfinite(values)]
    lim = (np.percentile(values, 99) if robust else values.max()) if values.size else 1.0
    return TwoSlopeNorm(vcenter=0.0, vmin=-max(lim, floor), vmax=max(lim, floor))


def extend(values: np.ndarray, norm: TwoSlopeNorm) -> Literal["neither", "both", "min", "max"]:
    """The colourbar ``extend`` that shows values beyond the limits of ``norm`` (drawn in the end colours)."""
    values = np.asarray(values, dtype=float)
    low, high = bool((values < norm.vmin).any()), bool((values > norm.vmax).any())
    return {(False, False): "neither", (True, True): "both", (True, False): "min", (False, True): "max"}[low, high]


def text_width(labels: Sequence[str], fontsize: float) -> float:
    """Width in inches of the widest of ``labels`` at ``fontsize`` (to size figures around long labels)."""
    font = FontProperties(size=fontsize)
    widths = (text_to_path.get_text_width_height_descent(s, font, ismath=False)[0] for s in set(map(str, labels)))
    return max(widths, default=0.0) / 72
