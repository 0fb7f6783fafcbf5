"""The report's figures: which to draw for the data at hand, and drawing them into ``figures/``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from anndata import AnnData

from .. import pl
from .._anndata import categories
from ..resources import KEY_PATHWAYS, key_genes

#: At most this many pathways in the heatmap and each tier table.
MAX_SOURCES = 16


def slug(text: str) -> str:
    """A file-name-safe form of a label."""
    return "".join(c if c.isalnum() else "_" for c in text).strip("_").lower()


def shown_sources(table: pd.DataFrame, alpha: float = 0.05, n: int = MAX_SOURCES) -> list[str]:
    """Pathways to show: the key pathways that responded, then the others that responded most often.

    ``table`` is :func:`drugprint.get.pathway_table` (or a part of it). When nothing responded, the key
    pathways scored (else the first ``n`` scored) are shown, so the figure still says "nothing moved".
    """
    hits = table[table["padj"] < alpha]
    often = hits.groupby("source")["padj"].agg(["size", "min"]).sort_values(["size", "min"], ascending=[False, True])
    key = [s for s in KEY_PATHWAYS if s in often.index]
    order = key + [s for s in often.index if s not in key]
    if not order:
        scored = list(dict.fromkeys(table["source"]))
        order = [s for s in KEY_PATHWAYS if s in scored] or scored
    return order[:n]


def highlight_genes(group: str, imid: bool) -> list[str]:
    """Genes ringed on a volcano: those to point out in the cell type in IMiD studies; none otherwise."""
    return key_genes(group) if imid else []


@dataclass(frozen=True, kw_only=True)
class FigureInputs:
    """What the figures are drawn from: the signatures and the tables the stages produced (``None``: not run).

    ``pathway_table``: :func:`drugprint.get.pathway_table`; ``extra_tables``: the same for each further
    collection, by its ``obsm`` key; ``composition``: the cells with :func:`drugprint.tl.composition`'s result;
    ``responsive``: the groups where a pathway or panel moved (only they get a similarity matrix); ``imid``:
    whether the conditions are IMiDs/CELMoDs (their key genes are ringed on the volcanoes).
    """

    sig: AnnData
    groupby: str
    alpha: float
    de_summary: pd.DataFrame
    imid: bool
    pathway_table: pd.DataFrame | None = None
    potency: pd.DataFrame | None = None
    rank: pd.DataFrame | None = None
    compare: pd.DataFrame | None = None
    dose_fits: pd.DataFrame | None = None
    time_table: pd.DataFrame | None = None
    composition: AnnData | None = None
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    responsive: Sequence[str] = ()
    volcanoes: str = "best"
    doses: bool = False  # a dose series backs the word "potency"
    enrich: bool = False  # the up and down genes' over-representation was tested (dp.tl.enrich)


def draw_all(figs: Path, inputs: FigureInputs) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, str]]:
    """Draw the figures into ``figs``; return the overview figures, each group's, and each similarity metric."""
    draw = _drawer(figs)
    overview = _overview(draw, inputs)
    per_group: dict[str, dict[str, str]] = {}
    metrics: dict[str, str] = {}
    for g in (str(g) for g in categories(inputs.sig.obs[inputs.groupby])):
        per_group[g] = _group_figures(draw, g, inputs, metrics)
    return overview, per_group, metrics


def _overview(draw, f: FigureInputs) -> dict[str, str]:
    """The figures across groups: pathway heatmaps, composition, the cytotoxicity dot plot."""
    overview: dict[str, str] = {}
    sig, alpha = f.sig, f.alpha
    if f.pathway_table is not None:
        sources = shown_sources(f.pathway_table, alpha)
        overview["heatmap"] = draw("pathway_heatmap", pl.pathway_heatmap, sig, sources=sources, alpha=alpha)
    for key, table in f.extra_tables.items():  # further collections (e.g. PROGENy): one heatmap each
        sources = shown_sources(table, alpha)
        overview[f"heatmap_{key}"] = draw(f"heatmap_{key}", pl.pathway_heatmap, sig, key, sources=sources, alpha=alpha)
    if f.composition is not None:
        overview["composition"] = draw("composition", pl.composition, f.composition, alpha=alpha)
        overview["composition_heatmap"] = draw(
            "composition_heatmap", pl.composition_heatmap, f.composition, alpha=alpha
        )
    if f.enrich:
        overview["enrich"] = draw("enrich_dotplot", pl.enrich_dotplot, sig, n_terms=8, alpha=alpha)
    if "panels" in sig.obsm and "cytotoxicity" in sig.obsm["panels"]:
        moved = sig.obs.loc[sig.obsm["panels_padj"]["cytotoxicity"] < alpha, f.groupby].astype(str).unique()
        if len(moved):  # the cell types where the panel moved, whatever they are called
            overview["cytotoxicity"] = draw(
                "cytotoxicity_dotplot", pl.panel_dotplot, sig, "cytotoxicity", groups=list(moved), alpha=alpha
            )
    return overview


def _drawer(figs: Path):
    """``draw(name, plot, *args, **kwargs)``: the plot saved as ``figs / name.png`` and closed; returns ``name``."""
    import matplotlib.pyplot as plt

    def draw(name: str, plot, *args, **kwargs) -> str:
        plt.close(plot(*args, save=figs / f"{name}.png", **kwargs))
        return name

    return draw


def _has(table: pd.DataFrame | None, group: str, source: str | None) -> bool:
    """Whether ``table`` has rows of ``group`` (and ``source``, when given)."""
    if table is None or source is None:
        return False
    return bool(((table["group"] == group) & (table["source"] == source)).any())


def _group_figures(draw, g: str, f: FigureInputs, metrics: dict) -> dict[str, str]:
    """One group's figures: its volcano, and where something moved its tiers, rank, similarity, dose and time."""
    made, name, sig, alpha = {}, slug(g), f.sig, f.alpha
    rows = f.de_summary[f.de_summary["group"] == g]
    best = rows.sort_values("n_deg", ascending=False).iloc[0]
    made["volcano"] = draw(
        f"volcano_{name}", pl.volcano, sig, best["signature"], highlight=highlight_genes(g, f.imid), alpha=alpha
    )
    if f.volcanoes == "all":  # every condition's volcano as well, shown folded
        made["volcanoes"] = [
            (
                s["condition"],
                draw(
                    f"volcano_{name}_{slug(s['condition'])}",
                    pl.volcano,
                    sig,
                    s["signature"],
                    highlight=highlight_genes(g, f.imid),
                    alpha=alpha,
                ),
            )
            for _, s in rows.iterrows()
        ]
    srcs = []
    if f.pathway_table is not None:
        mine = f.pathway_table[f.pathway_table[f.groupby] == g]
        srcs = shown_sources(mine, alpha) if (mine["padj"] < alpha).any() else []  # what moved here, key first
    if f.potency is not None and srcs:
        made["tiers"] = draw(f"tiers_{name}", pl.potency_tiers, f.potency, g, sources=srcs, dose_series=f.doses)
    rank = f.rank
    if rank is not None and (rank["group"] == g).sum() >= 2 and rank.loc[rank["group"] == g, "n_sources"].max() > 0:
        made["rank"] = draw(f"rank_{name}", pl.potency_rank, rank, g)
    if f.compare is not None and (f.compare["group"] == g).any() and g in f.responsive:  # noise elsewhere
        sub = f.compare[f.compare["group"] == g]
        metrics[g] = "effect_r" if "effect_r" in sub and sub["effect_r"].notna().any() else "spearman"
        made["similarity"] = draw(f"similarity_{name}", pl.similarity, sig, g, metric=metrics[g])
    src = srcs[0] if srcs else None
    if _has(f.dose_fits, g, src):
        made["dose"] = draw(f"dose_{name}", pl.dose_response, sig, g, src)
    if _has(f.time_table, g, src):
        made["time"] = draw(f"time_{name}", pl.time_course, f.time_table, g, src)
    return made
