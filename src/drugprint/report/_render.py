"""A self-contained HTML report that reads like a short results section: every figure embedded.

:func:`render` takes the :class:`~drugprint.report._stages.Results` of a run and writes one section per function of
:mod:`drugprint.report._sections` into one page.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from . import _screen_sections as screen
from ._html import e
from ._sections import SECTIONS

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1400px;margin:1em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.5em;margin:.2em 0 0}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h2#summary{margin-top:.6em}
h3{font-size:1.05em}.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .55em;
text-align:right}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
.scroll{max-height:420px;overflow:auto;display:inline-block;max-width:100%}
figure{margin:.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:.8em 1.2em;align-items:start}
.grid figure img{width:100%;height:auto;cursor:zoom-in}
figure.wide img{max-height:900px;width:auto}
nav.toc{background:#fafafa;border:1px solid #eee;padding:.3em 1em;font-size:.85em;display:flex;flex-wrap:wrap;
gap:.1em 1.2em}
.verdict{font-size:1.02em;margin:.2em 0 .5em}
table.headline{font-size:.78em;margin:.3em 0;line-height:1.25}
table.headline td,table.headline th{padding:.05em .5em;white-space:nowrap}
table.headline th.group{text-align:left;vertical-align:top;background:#fff}table.headline td.readout{color:#444}
table.headline tr.first td,table.headline tr.first th{border-top:2px solid #bbb}
table.headline td.up{background:#e3f4e3}table.headline td.down{background:#fbe4e4}
table.headline td.called{font-weight:600}table.headline td.na{color:#aaa}
table.headline sup{line-height:0;font-size:.85em}
.legend{font-size:.8em;color:#555;margin:.2em 0 .8em}
figure.open{grid-column:1/-1}figure.open img{width:100%;max-width:1400px;min-width:min(800px,100%);cursor:zoom-out}
.note{background:#fff8e6;border-left:4px solid #f0b429;padding:.5em 1em;font-size:.9em}
.summary{background:#f3f7fb;border-left:4px solid #2e6da4;padding:.6em 1em}
code{background:#f4f4f4;padding:0 .25em}
table.sortable th{position:sticky;top:0}table.sortable td{white-space:nowrap}
"""


def render(results) -> Path:
    """Write ``report.html`` into the run's folder from its :class:`~drugprint.report._stages.Results`."""
    is_screen = results.get("layout") == "screen"
    parts = [section(results) for section in (screen.SECTIONS if is_screen else SECTIONS)]
    parts = [p for p in parts if p is not None]
    body = [f"<h2 id='{anchor}'>{e(title)}</h2>{content}" for anchor, title, content in parts]
    nav = "<nav class='toc'>" + "".join(f"<a href='#{a}'>{e(t)}</a>" for a, t, _ in parts) + "</nav>"
    title = results.config.title
    head = [
        f"<h1>{e(title)}</h1>",
        f"<p class='meta'>drugprint {e(results.provenance['versions'].get('drugprint', ''))} · "
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC</p>",
        nav,
    ]
    doc = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(head + body)}"
        + (f"<script>{screen.SCRIPT}</script>" if is_screen else "")
        + "</body></html>"
    )
    path = results.out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path
