"""The HTML pieces the report's sections share: escaped text, embedded figures, grids, tables, intervals."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd


def e(x) -> str:
    """``x`` as text, HTML-escaped."""
    return html.escape(str(x))


def img(path: Path, caption: str, *, wide: bool = False) -> str:
    """A figure embedded as base64 PNG, with its caption (click: the figure opens in place at full width)."""
    data = base64.b64encode(path.read_bytes()).decode()
    cls = " class='wide'" if wide else ""
    return (
        f'<figure{cls}><img alt="{e(caption)}" src="data:image/png;base64,{data}" '
        f'onclick="this.parentNode.classList.toggle(&quot;open&quot;)"><figcaption>{e(caption)}</figcaption></figure>'
    )


def grid(items: list[str]) -> str:
    """Figures side by side, as many per row as fit."""
    return f"<div class='grid'>{''.join(items)}</div>" if items else ""


def table(df: pd.DataFrame, index: bool = False, *, scroll: bool = False, **to_html) -> str:
    """A table, numbers to 3 significant digits; ``scroll``: in a box of limited height.

    ``to_html``: further options of :meth:`pandas.DataFrame.to_html` (``table_id``, ``classes``, ``na_rep`` …).
    """
    html_ = df.to_html(index=index, border=0, float_format=lambda v: f"{v:.3g}", escape=True, **to_html)
    return f"<div class='scroll'>{html_}</div>" if scroll else html_


def interval(lo, hi) -> str:
    """``" [lo, hi]"``, or why there is none."""
    return f" [{lo:+.2f}, {hi:+.2f}]" if np.isfinite(lo) and np.isfinite(hi) else " (no interval: no replicates)"


def group_figs(figs: Path, groups, per_group, kinds: dict[str, str]) -> str:
    """One grid of the groups' figures of these kinds (captions name the group)."""
    items = [
        img(figs / f"{per_group[g][kind]}.png", f"{g}: {cap}.")
        for g in groups
        for kind, cap in kinds.items()
        if kind in per_group.get(g, {})
    ]
    return grid(items)
