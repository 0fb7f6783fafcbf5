"""``summary_table``: the seed's three tables (two-drug comparison, tier matrix, DEG counts) from stored results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._checks import check_choice
from .._signatures import condition_labels, deg_counts, group_key
from .._signatures import groups as groups_of
from ._results import compare_table, enrich_table, potency_table

#: pathways whose fall is reported as impairment of the cell cycle (Table 2's wording)
CELL_CYCLE = ("HALLMARK_G2M_CHECKPOINT", "HALLMARK_E2F_TARGETS", "HALLMARK_MITOTIC_SPINDLE", "IMID_PROLIFERATION")


def _call(r: float, lo: float) -> str:
    if not np.isfinite(r):
        return "no reproducible effect to compare"
    if lo >= 0.7:
        return "qualitatively similar"
    if lo >= 0.4:
        return "partly similar"
    if r <= 0.2:
        return "distinct"
    return "weakly related"


def _pair(sig: AnnData, drugs: tuple[str, str], groups, potency_key: str, compare_key: str) -> pd.DataFrame:
    a, b = drugs
    tab = compare_table(sig, compare_key)
    pot = potency_table(sig, potency_key)
    pot = pot[pot["condition"].astype(str).isin([a, b])]
    rows = []
    for group, sub in pot.groupby("group", sort=False, observed=True):
        if groups is not None and group not in groups:
            continue
        ta = sub[sub["condition"].astype(str) == a].set_index("source")
        tb = sub[sub["condition"].astype(str) == b].set_index("source")
        if ta.empty or tb.empty:
            continue
        hit_a = set(ta.index[ta["tier"] != "none"])
        hit_b = set(tb.index[tb["tier"] != "none"])
        same_dir = {s for s in hit_a & hit_b if ta.loc[s, "direction"] == tb.loc[s, "direction"]}
        pair = tab[(tab["group"] == group) & (((tab.a == a) & (tab.b == b)) | ((tab.a == b) & (tab.b == a)))]
        if pair.empty:
            continue
        p = pair.iloc[0]
        use_effect = all(np.isfinite(p.get(k, np.nan)) for k in ("reliability_a", "reliability_b"))
        r, lo, hi = (
            (p["effect_r"], p["effect_r_lo"], p["effect_r_hi"])
            if use_effect
            else (p["spearman"], p.get("spearman_lo", np.nan), p.get("spearman_hi", np.nan))
        )
        call = _call(r, lo if np.isfinite(lo) else r)
        if not hit_a or not hit_b:
            call = "no reproducible effect to compare"
        elif not use_effect and bool(p.get("shared_reference", False)):
            call += " (signatures share a control, which inflates their similarity; pass pdata)"
        sa = ta["log2fc"].abs().reindex(sorted(same_dir)).mean()
        sb = tb["log2fc"].abs().reindex(sorted(same_dir)).mean()
        rows.append(
            {
                "group": group,
                "a": a,
                "b": b,
                "similarity": r,
                "similarity_lo": lo,
                "similarity_hi": hi,
                "similarity_measure": "effect correlation (split donors)" if use_effect else "signature Spearman",
                "shared_pathways": "; ".join(sorted(same_dir)),
                "n_shared": len(same_dir),
                f"only_{a}": "; ".join(sorted(hit_a - hit_b)),
                f"only_{b}": "; ".join(sorted(hit_b - hit_a)),
                "jaccard_degs": p.get("jaccard", np.nan),
                "call": call,
                "stronger": (a if sa > sb else b) if same_dir else "",
            }
        )
    return pd.DataFrame(rows)


def _tiers(sig: AnnData, groups, potency_key: str, sources) -> pd.DataFrame:
    pot = potency_table(sig, potency_key)
    if sources is not None:
        missing = sorted(set(sources) - set(pot["source"]))
        if missing:
            scored = sorted(set(pot["source"]))[:8]
            raise KeyError(f"{missing} have no potency in uns[{potency_key!r}]; present: {scored} …")
        pot = pot[pot["source"].isin(list(sources))].reset_index(drop=True)
    label = pot["tier"].astype(str).to_numpy(dtype=object)
    cyc = pot["source"].isin(CELL_CYCLE).to_numpy() & (pot["direction"] == "down").to_numpy() & (label != "none")
    label[cyc] = np.where(pot.loc[cyc, "tier"].astype(str) == "strong", "more significantly impaired", "impaired")
    called = (label != "none") & np.isfinite(pot["log2fc_lo"].to_numpy(dtype=float))
    label[called] = [
        f"{t} ({m:+.2f} [{lo:+.2f}, {hi:+.2f}])"
        for t, m, lo, hi in zip(
            label[called], *(pot.loc[called, c] for c in ("log2fc", "log2fc_lo", "log2fc_hi")), strict=True
        )
    ]
    pot = pot.assign(label=label)
    if groups is not None:
        pot = pot[pot["group"].isin(list(groups))]
    wide = pot.pivot_table(
        index=["group", "source"], columns="condition", values="label", aggfunc="first", observed=True
    )
    conds = [c for c in pot["condition"].cat.categories if c in wide.columns]
    return wide[conds]


def _top_terms(sig: AnnData, enrich_key: str, alpha: float, n: int) -> dict[tuple[str, str], str]:
    """(signature, direction) → its ``n`` most over-represented terms at ``padj < alpha``, as ``term (ID)``."""
    rec = sig.uns.get(enrich_key)
    if not isinstance(rec, dict) or "table" not in rec:
        return {}
    tab = enrich_table(sig, enrich_key)
    tab = tab[tab["padj"] < alpha].sort_values(["pvalue", "source"], kind="stable")
    return {
        (s, d): "; ".join(f"{t} ({src})" for t, src in zip(rows["term"][:n], rows["source"][:n], strict=True))
        for (s, d), rows in tab.groupby(["signature", "direction"], sort=False)
    }


def _degs(sig: AnnData, groups, alpha: float, key: str, n_pathways: int, enrich_key: str) -> pd.DataFrame:
    gk = group_key(sig)
    n_up, n_down = deg_counts(sig, alpha)
    has = key in sig.obsm
    terms = _top_terms(sig, enrich_key, alpha, n_pathways)
    rows = []
    for i in range(sig.n_obs):
        group = str(sig.obs[gk].iloc[i]) if gk else "all"
        if groups is not None and group not in groups:
            continue
        row = {
            "group": group,
            "condition": str(sig.obs["condition"].iloc[i]),
            "n_up": int(n_up[i]),
            "n_down": int(n_down[i]),
            "n_total": int(n_up[i] + n_down[i]),
        }
        if has:
            sc = sig.obsm[key].iloc[i]
            q = sig.obsm[f"{key}_padj"].iloc[i]
            up = sc[(q < alpha) & (sc > 0)].sort_values(ascending=False).index[:n_pathways]
            down = sc[(q < alpha) & (sc < 0)].sort_values().index[:n_pathways]
            row["top_pathways_up"] = "; ".join(up)
            row["top_pathways_down"] = "; ".join(down)
        if terms or enrich_key in sig.uns:
            name = sig.obs_names[i]
            row["top_terms_up"], row["top_terms_down"] = terms.get((name, "up"), ""), terms.get((name, "down"), "")
        rows.append(row)
    return pd.DataFrame(rows)


def summary_table(
    sig: AnnData,
    kind: Literal["pair", "tiers", "degs"] = "tiers",
    *,
    drugs: tuple[str, str] | None = None,
    groups: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    alpha: float = 0.05,
    key: str = "pathways",
    n_pathways: int = 3,
    potency_key: str = "potency",
    compare_key: str = "compare",
    enrich_key: str = "enrich",
) -> pd.DataFrame:
    """Summary tables in the form of the seed's Tables 1–3, from the results the tools stored.

    - ``"pair"`` (Table 1, after :func:`drugprint.tl.potency` and :func:`drugprint.tl.compare`): for two
      ``drugs`` per group, the pathways both move in the same direction and those only one moves, their
      similarity with its interval (the split-donor effect correlation when ``compare`` had ``pdata``, else the
      signature Spearman, flagged when the two share a control), DEG Jaccard, which is stronger on the shared
      pathways, and a call: ``"qualitatively similar"`` (interval's lower bound ≥ 0.7), ``"partly similar"``
      (≥ 0.4), ``"weakly related"``, ``"distinct"`` (estimate ≤ 0.2).
    - ``"tiers"`` (Table 2, after :func:`drugprint.tl.potency`): pathway × drug tiers per group, each called tier
      with its mean log2FC and interval from the replicates, e.g. ``"strong (+0.81 [+0.66, +0.96])"``; falling
      cell-cycle pathways read ``"impaired"`` or, when strong, ``"more significantly impaired"``.
    - ``"degs"`` (Table 3): up, down and total DEG counts per group × drug (``padj < alpha``) with the top
      ``n_pathways`` pathways of ``obsm[key]`` each way and, after :func:`drugprint.tl.enrich`, the top
      ``n_pathways`` over-represented terms of the up and of the down genes (``top_terms_up``,
      ``top_terms_down``: ``"term (GO:…)"``, ``padj < alpha``).

    Parameters
    ----------
    sig
        Signatures holding the results named above.
    kind
        Which table.
    drugs
        The two conditions compared by ``kind="pair"``.
    groups, sources
        Restrict groups; restrict pathways (``"tiers"``).
    alpha, key, n_pathways
        Significance level, scores and pathways listed per direction (``"degs"``).
    potency_key, compare_key, enrich_key
        ``key_added`` of :func:`drugprint.tl.potency`, :func:`drugprint.tl.compare` and :func:`drugprint.tl.enrich`.

    Returns
    -------
    A DataFrame (wide for ``"tiers"``, indexed by group and pathway).

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.potency(sig)
    >>> t2 = dp.get.summary_table(sig, "tiers", sources=["HALLMARK_G2M_CHECKPOINT"])
    >>> t2.loc[("Myeloma", "HALLMARK_G2M_CHECKPOINT"), "mezigdomide"].split(" (")[0]
    'more significantly impaired'
    """
    check_choice(kind, ["pair", "tiers", "degs"], name="kind")
    if groups is not None:
        unknown = sorted(set(groups) - set(groups_of(sig)))
        if unknown:
            raise ValueError(f"groups {unknown} are not in these signatures; present: {groups_of(sig)}.")
    if kind == "pair":
        if drugs is None or len(drugs) != 2:
            raise ValueError("kind='pair' needs drugs=(a, b), two conditions of the signatures.")
        present = set(condition_labels(sig))
        missing = [d for d in drugs if d not in present]
        if missing:
            raise ValueError(f"{missing} are not conditions of these signatures; present: {sorted(present)}.")
        return _pair(sig, tuple(drugs), groups, potency_key, compare_key)
    if kind == "tiers":
        return _tiers(sig, groups, potency_key, sources)
    return _degs(sig, groups, alpha, key, n_pathways, enrich_key)
