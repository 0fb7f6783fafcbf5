"""The report's figures: which to draw for the data at hand, and drawing them into ``figures/``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .. import pl
from .._anndata import categories
from ..resources import KEY_PATHWAYS, compounds, key_genes, resolve_compound

#: At most this many pathways in the heatmap and each tier table.
MAX_SOURCES = 16


def slug(text: str) -> str:
    """A file-name-safe form of a label."""
    return "".join(c if c.isalnum() else "_" for c in text).strip("_").lower()


def is_imid_study(conditions) -> bool:
    """Whether any condition is a compound of the registry (thalidomide and its progeny)."""
    known = set(compounds().index)
    return any(resolve_compound(str(c).split(" @ ")[0]) in known for c in conditions)


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


def draw_all(
    figs: Path,
    *,
    sig,
    groupby: str,
    pathway_table: pd.DataFrame,
    potency: pd.DataFrame | None,
    rank: pd.DataFrame | None,
    compare: pd.DataFrame | None,
    de_summary: pd.DataFrame,
    dose_fits: pd.DataFrame | None,
    time_table: pd.DataFrame | None,
    imid: bool,
    composition=None,
    extra_tables: dict[str, pd.DataFrame] | None = None,
    responsive: Sequence[str] = (),
) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, str]]:
    """Draw the report's figures; return the overview figures, each group's figures and similarity metrics.

    ``extra_tables``: :func:`drugprint.get.pathway_table` of each further collection, by its ``obsm`` key.
    Similarity matrices are drawn for the ``responsive`` groups only (where a pathway or panel moved).
    ``composition``: cells with the result of :func:`drugprint.tl.composition` (its two figures), or ``None``.
    """
    import matplotlib.pyplot as plt

    for old in figs.glob("*.png"):  # a rerun into the same folder must not show stale figures
        old.unlink()

    def draw(name: str, plot, *args, **kwargs) -> str:
        plt.close(plot(*args, save=figs / f"{name}.png", **kwargs))
        return name

    overview: dict[str, str] = {
        "heatmap": draw("pathway_heatmap", pl.pathway_heatmap, sig, sources=shown_sources(pathway_table))
    }
    for key, table in (extra_tables or {}).items():  # further collections (e.g. PROGENy): one heatmap each
        overview[f"heatmap_{key}"] = draw(f"heatmap_{key}", pl.pathway_heatmap, sig, key, sources=shown_sources(table))
    if composition is not None:
        overview["composition"] = draw("composition", pl.composition, composition)
        overview["composition_heatmap"] = draw("composition_heatmap", pl.composition_heatmap, composition)
    if "panels" in sig.obsm and "cytotoxicity" in sig.obsm["panels"]:
        moved = sig.obs.loc[sig.obsm["panels_padj"]["cytotoxicity"] < 0.05, groupby].astype(str).unique()
        if len(moved):  # the cell types where the panel moved, whatever they are called
            overview["cytotoxicity"] = draw(
                "cytotoxicity_dotplot", pl.panel_dotplot, sig, "cytotoxicity", groups=list(moved)
            )
    groups = [str(g) for g in categories(sig.obs[groupby])]
    per_group: dict[str, dict[str, str]] = {g: {} for g in groups}
    metrics: dict[str, str] = {}
    for g in groups:
        made, name = per_group[g], slug(g)
        rows = de_summary[de_summary["group"] == g]
        best = rows.sort_values("n_deg", ascending=False).iloc[0]
        made["volcano"] = draw(
            f"volcano_{name}", pl.volcano, sig, best["signature"], highlight=highlight_genes(g, imid)
        )
        mine = pathway_table[pathway_table[groupby] == g]
        srcs = shown_sources(mine) if (mine["padj"] < 0.05).any() else []  # what moved here, key pathways first
        if potency is not None and srcs:
            made["tiers"] = draw(f"tiers_{name}", pl.potency_tiers, potency, g, sources=srcs)
        if rank is not None and (rank["group"] == g).sum() >= 2 and rank.loc[rank["group"] == g, "n_sources"].max() > 0:
            made["rank"] = draw(f"rank_{name}", pl.potency_rank, rank, g)
        if compare is not None and (compare["group"] == g).any() and g in responsive:  # noise elsewhere
            sub = compare[compare["group"] == g]
            metrics[g] = "effect_r" if "effect_r" in sub and sub["effect_r"].notna().any() else "spearman"
            made["similarity"] = draw(f"similarity_{name}", pl.similarity, sig, g, metric=metrics[g])
        src = srcs[0] if srcs else None
        if (
            dose_fits is not None
            and src is not None
            and ((dose_fits["group"] == g) & (dose_fits["source"] == src)).any()
        ):
            made["dose"] = draw(f"dose_{name}", pl.dose_response, sig, g, src)
        if (
            time_table is not None
            and src is not None
            and ((time_table["group"] == g) & (time_table["source"] == src)).any()
        ):
            made["time"] = draw(f"time_{name}", pl.time_course, time_table, g, src)
    return overview, per_group, metrics
