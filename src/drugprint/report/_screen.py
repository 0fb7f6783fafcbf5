"""The stages of a screen's report: hit calls, clusters of the hit compounds, the table of every compound, figures.

A study is a screen when a group (cell line) holds more than ``SCREEN_FROM`` conditions (``layout="auto"``). Every
step here costs time linear in the compounds: tables are built by group-bys over the signatures, the similarity map
is drawn from the clustering's components (at most ``MAX_MAP`` compounds), and the details are drawn for the
``detail`` strongest hits only.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import get, pl, tl
from .._anndata import categories
from .._labels import pretty
from ._config import SCREEN_FROM
from ._figures import _drawer, slug

#: The similarity map shows at most this many compounds (beyond: the strongest of each cluster, in proportion).
MAX_MAP = 300
#: Pathways named per compound in the table of every compound, and per cluster.
N_PATHWAYS = 2
#: ``obs`` columns that annotate compounds with a known mechanism or family, shown beside the clusters when present.
ANNOTATIONS = ("family", "moa", "mechanism", "target")


def choose_layout(r) -> dict:
    """``"screen"`` when asked, or (``"auto"``) when a group has more than ``SCREEN_FROM`` signatures."""
    c = r.config
    if c.layout != "auto":
        return {"layout": c.layout}
    per_group = r["sig"].obs.groupby(c.groupby, observed=True).size()
    return {"layout": "screen" if len(per_group) and per_group.max() > SCREEN_FROM else "study"}


def hits(r) -> dict:
    """:func:`~drugprint.tl.screen_hits` at the run's level: the calls per signature and per compound.

    Compounds named by ``detail=`` are checked here, before the long stages.
    """
    if isinstance(r.config.detail, list):
        known = set(r["sig"].obs["condition"].astype(str))
        unknown = [d for d in r.config.detail if d not in known]
        if unknown:
            raise KeyError(f"detail= names compounds that are not in the screen: {unknown[:5]}.")
    tl.screen_hits(r["sig"], alpha=r.config.alpha, groupby=r.config.groupby)
    return {
        "hits": get.screen_hits_table(r["sig"]),
        "hit_conditions": get.screen_hits_table(r["sig"], level="condition"),
    }


def no_clusters(r) -> str | None:
    """Why the hit compounds cannot be clustered: igraph missing, or fewer than three hits."""
    if importlib.util.find_spec("igraph") is None:
        return "igraph is not installed (pip install 'drugprint[cluster]'): no Leiden clustering"
    n = int(r["hit_conditions"]["hit"].sum())
    return f"{n} compound(s) are hits: too few to cluster" if n < 3 else None


def clusters(r) -> dict:
    """:func:`~drugprint.tl.cluster_signatures` of the hits, and the pathways called most often in each cluster."""
    sig = r["sig"]
    tl.cluster_signatures(sig, groupby=r.config.groupby, alpha=r.config.alpha, random_state=r.config.random_state)
    paths = get.cluster_pathways(sig, n=3) if "pathways_padj" in sig.obsm else None
    return {"clusters": get.cluster_table(sig), "cluster_pathways": paths}


def annotation(sig) -> str | None:
    """The ``obs`` column that annotates the compounds (one value per condition), if the data carry one."""
    for col in ANNOTATIONS:
        if col in sig.obs and sig.obs.groupby("condition", observed=True)[col].nunique().max() <= 1:
            return col
    return None


def compound_table(r) -> dict:
    """One row per compound: its hits per line, cluster, annotation, top pathways and potency score."""
    c, sig, per = r.config, r["sig"], r["hit_conditions"]
    sig_hits = r["hits"]
    lines = [str(g) for g in categories(sig.obs[c.groupby])]
    wide = sig_hits.pivot_table(index="condition", columns="group", values="n_deg", aggfunc="max", observed=True)
    out = per.set_index("condition")[["hit", "n_hit", "n_groups", "n_deg"]].rename(columns={"n_groups": "n_lines"})
    for line in lines:
        out[f"DE genes {line}"] = wide[line].reindex(out.index) if line in wide else np.nan
    found = r.get("clusters")
    cluster = found.set_index("condition")["cluster"].astype(str) if found is not None else pd.Series(dtype=str)
    out.insert(1, "cluster", cluster.reindex(out.index).fillna(""))
    col = annotation(sig)
    if col is not None:
        names = sig.obs.groupby("condition", observed=True)[col].first().astype(str)
        out.insert(2, col, names.reindex(out.index).fillna(""))
    if "pathways_padj" in sig.obsm:
        out["top pathways"] = top_pathways(sig, sig_hits, c.alpha).reindex(out.index).fillna("")
    if r.get("rank") is not None:
        rank = r["rank"].assign(condition=lambda d: d["condition"].astype(str))
        out["effect score (max)"] = rank.groupby("condition")["score"].max().reindex(out.index)
    if r.get("compare") is not None:
        alike, metric = most_alike(r["compare"])
        if metric:
            out[f"most alike ({metric})"] = alike.reindex(out.index).fillna("")
    out = out.sort_values(["n_hit", "n_deg"], ascending=False, kind="stable")
    return {"compounds": out.rename_axis("compound").reset_index()}


def top_pathways(sig, sig_hits: pd.DataFrame, alpha: float, n: int = N_PATHWAYS) -> pd.Series:
    """Per compound, the pathways called in most of its hit signatures, with their direction (``"P53 ↑"``)."""
    rows = sig_hits["hit"].to_numpy(bool)
    cond = sig_hits["condition"].to_numpy()[rows]
    padj = sig.obsm["pathways_padj"].iloc[rows]
    lfc = sig.obsm["pathways_log2fc"].iloc[rows].reindex(columns=padj.columns)
    called = (padj < alpha).groupby(cond).sum()
    sign = lfc.groupby(cond).median()
    counts = called.to_numpy()
    order = np.argsort(-counts, axis=1, kind="stable")[:, :n]
    names = [pretty(s) for s in called.columns]
    out = []
    for i, cols in enumerate(order):
        picked = [j for j in cols if counts[i, j] > 0]
        arrows = ["↑" if sign.iat[i, j] > 0 else "↓" for j in picked]
        out.append(", ".join(f"{names[j]} {a}" for j, a in zip(picked, arrows, strict=True)))
    return pd.Series(out, index=called.index, dtype=object)


def most_alike(compare: pd.DataFrame) -> tuple[pd.Series, str | None]:
    """Per compound, the compound most alike in any line in the comparison table as it is, and the metric."""
    metrics = [m for m in ("effect_r", "spearman", "pearson", "cosine") if m in compare and compare[m].notna().any()]
    if not metrics:
        return pd.Series(dtype=object), None
    metric = metrics[0]
    pairs = compare[["a", "b", metric]].astype({"a": str, "b": str})
    both = pd.concat([pairs, pairs.rename(columns={"a": "b", "b": "a"})]).dropna(subset=[metric])
    best = both.sort_values(metric, ascending=False, kind="stable").drop_duplicates("a")
    text = [f"{b} ({v:.2f})" for b, v in zip(best["b"], best[metric], strict=True)]
    return pd.Series(text, index=best["a"].to_numpy(), dtype=object), metric


@dataclass(frozen=True)
class MapData:
    """What the similarity map shows: compounds in cluster order, their similarity, clusters, annotation.

    ``n_hits``: the hit compounds in all (more than are shown beyond ``MAX_MAP``).
    """

    names: list[str]
    similarity: np.ndarray
    clusters: list[str]
    annotation: list[str] | None
    n_hits: int


def map_data(sig, table: pd.DataFrame, limit: int | None = None) -> MapData:
    """The compounds of the map and their similarity; beyond ``limit``, the strongest of each cluster, in proportion.

    The similarity is the correlation of the components the clusters were built on (``uns["clusters"]["embedding"]``).
    """
    limit = MAX_MAP if limit is None else limit
    emb = sig.uns["clusters"]["embedding"]
    table = table.assign(_c=table["cluster"].cat.codes, cluster=table["cluster"].astype(str))
    if len(table) > limit:
        quota = np.maximum(1, np.floor(table["cluster"].map(table["cluster"].value_counts()) * limit / len(table)))
        strongest = table.sort_values("n_deg", ascending=False, kind="stable")
        strongest = strongest[strongest.groupby("cluster").cumcount() < quota.reindex(strongest.index)]
        shown = table.loc[table.index.isin(strongest.index)]
    else:
        shown = table
    shown = shown.sort_values(["_c", "n_deg"], ascending=[True, False])
    names = shown["condition"].astype(str).tolist()
    x = np.asarray(emb.loc[names], dtype=float) if emb.shape[1] else np.eye(len(names))
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    col = annotation(sig)
    labels = None
    if col is not None:
        labels = sig.obs.groupby("condition", observed=True)[col].first().astype(str).reindex(names).tolist()
    return MapData(names, x @ x.T, shown["cluster"].tolist(), labels, len(table))


def draw_map(data: MapData, path: Path, annotation_name: str | None) -> None:
    """The clustered similarity map: compounds in cluster order, bars of their cluster (and annotation) above."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    n = len(data.names)
    bars = [("cluster", data.clusters)] + (
        [(annotation_name or "annotation", data.annotation)] if data.annotation else []
    )
    fig = plt.figure(figsize=(9.0, 8.4))
    grid = fig.add_gridspec(len(bars) + 1, 2, height_ratios=[0.35] * len(bars) + [8], width_ratios=[30, 1])
    grid.update(hspace=0.05, wspace=0.03)
    ax = fig.add_subplot(grid[len(bars), 0])
    image = ax.imshow(data.similarity, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks(range(n) if n <= 60 else [])
    if n <= 60:
        ax.set_yticklabels(data.names, fontsize=6)
    ax.set_xlabel(f"{n} compounds, by cluster")
    fig.colorbar(image, cax=fig.add_subplot(grid[len(bars), 1]), label="correlation (fingerprints' components)")
    palette = plt.get_cmap("tab20").colors
    for k, (name, values) in enumerate(bars):
        levels = list(dict.fromkeys(values))
        codes = np.array([levels.index(v) for v in values])[None, :]
        bar = fig.add_subplot(grid[k, 0], sharex=ax)
        colours = [palette[i % len(palette)] for i in range(len(levels))]
        bar.imshow(
            codes,
            cmap=ListedColormap(colours),
            aspect="auto",
            interpolation="nearest",
            vmin=-0.5,
            vmax=len(levels) - 0.5,
        )
        bar.set_yticks([0])
        bar.set_yticklabels([name], fontsize=8)
        bar.tick_params(labelbottom=False, bottom=False)
        for i, level in enumerate(levels):  # name each level once, at the middle of its first run
            where = np.flatnonzero(codes[0] == i)
            run = np.split(where, np.flatnonzero(np.diff(where) > 1) + 1)[0]
            if len(run) >= max(2, n // 40) and len(levels) <= 20:
                bar.text(run.mean(), 0, level, ha="center", va="center", fontsize=6)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def detail_compounds(r) -> list[str]:
    """The compounds given a detail section: the ``detail`` strongest hits by DE genes, or those named."""
    detail, table = r.config.detail, r["compounds"]
    if isinstance(detail, int):
        return table.loc[table["hit"].astype(bool), "compound"].astype(str).head(detail).tolist()
    return list(detail)  # checked by hits()


def figures(r) -> dict:
    """The similarity map of the hit compounds and, for each detail compound, the volcano of its strongest line."""
    sig, out = r["sig"], r.out / "figures"
    draw = _drawer(out)
    made: dict = {"map": None, "detail": {}}
    if r.get("clusters") is not None and len(r["clusters"]):
        data = map_data(sig, r["clusters"])
        draw_map(data, out / "screen_map.png", annotation(sig))
        made["map"] = {"file": "screen_map", "shown": len(data.names), "n_hits": data.n_hits}
    hits = r["hits"]
    for compound in detail_compounds(r):
        rows = hits[hits["condition"] == compound].sort_values("n_deg", ascending=False)
        best = rows.iloc[0]
        name = draw(f"volcano_{slug(compound)}", pl.volcano, sig, best["signature"], alpha=r.config.alpha)
        made["detail"][compound] = {"file": name, "group": best["group"], "signature": best["signature"]}
    return {"screen_figures": made}
