"""``potency_rank``: one potency ranking per group from many pathways and panels, with its uncertainty."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import doc_params, key_added
from .._results import store
from .._signatures import condition_labels, group_labels, resolve_groupby


@dataclass
class _Unit:
    """One fit's share of a group's signatures: their positions, ``L`` with ``L L' = K``, residuals, df."""

    rows: np.ndarray  # positions among the group's signatures
    chol: np.ndarray  # signatures × signatures
    resid: np.ndarray  # profiles × sources
    df: int


def _replicate_units(sig: AnnData, keys: list[str], group: str, names: list[str], sources: list[str]) -> list | None:
    """The fits holding a group's signatures, each with what its draws need; ``None`` when one is missing.

    Each key's record (``uns[key]["replicates"]``) holds the residuals of the set activities of one fit
    (profiles × sets) and ``K = C (X'X)^-1 C'`` of its signatures. A group fitted whole is one unit; a screen
    fitted in blocks of conditions (:func:`~drugprint.tl.de`) has one unit per block.
    """
    units: dict[tuple, dict] = {}  # the names a fit holds -> source -> (record, positions, column)
    for key in keys:
        recs = sig.uns[key].get("replicates", {}) if isinstance(sig.uns.get(key), dict) else {}
        for rec in recs.values():
            stored = [str(s) for s in np.asarray(rec["signatures"])]
            held = tuple(n for n in names if n in set(stored))
            if str(rec["group"]) != group or not held:
                continue
            pos = [stored.index(n) for n in held]
            for j, src in enumerate(str(s) for s in np.asarray(rec["sources"])):
                units.setdefault(held, {}).setdefault(src, (rec, pos, j))
    covered = [n for held in units for n in held]
    if sorted(covered) != sorted(names) or not all(set(sources) <= set(u) for u in units.values()):
        return None
    out = []
    for held, where in units.items():
        first, pos, _ = where[sources[0]]
        k_mat = np.asarray(first["k"], dtype=float)[np.ix_(pos, pos)]
        columns = []
        for source in sources:
            rec, pos, j = where[source]
            if not np.allclose(np.asarray(rec["k"], dtype=float)[np.ix_(pos, pos)], k_mat):
                return None  # sources from different fits cannot be drawn jointly
            columns.append(np.asarray(rec["residuals"], dtype=float)[:, j])
        w, v = np.linalg.eigh(k_mat)
        rows = np.asarray([names.index(n) for n in held])
        out.append(_Unit(rows, v * np.sqrt(np.clip(w, 0.0, None)), np.column_stack(columns), int(first["df_residual"])))
    return out


def _draw_noise(units: list[_Unit], n_names: int, n_draws: int, rng) -> np.ndarray:
    """Draws (n_draws × signatures × sources) of the effects' sampling error, from each fit's replicates.

    ``L Z R / sqrt(df)`` with ``Z`` standard normal (signatures × profiles) and ``R`` the residuals has
    covariance ``K ⊗ R'R/df``: the joint sampling covariance of every condition's effect on every set, whatever
    the number of sets; each draw is scaled by ``sqrt(df / chi2_df)`` (a multivariate t) for the error in the
    residual variances. Blocks of a screen are drawn independently: the control profiles they share correlate
    their effects positively, so differences between blocks are drawn with a little more spread than they have.
    """
    out = np.empty((n_draws, n_names, units[0].resid.shape[1]))
    for u in units:
        z = rng.standard_normal((n_draws, len(u.rows), u.resid.shape[0]))
        scale = np.sqrt(u.df / rng.chisquare(u.df, n_draws))[:, None, None]
        out[:, u.rows] = scale * (u.chol @ (z @ u.resid)) / np.sqrt(u.df)
    return out


def _scores(effects: np.ndarray) -> np.ndarray:
    """Mean over sources of each condition's |effect| scaled by the largest in that source (…, conditions)."""
    a = np.abs(effects)
    top = a.max(axis=-2, keepdims=True)
    return np.divide(a, top, out=np.zeros_like(a), where=top > 0).mean(axis=-1)


@doc_params(key_added=key_added("potency_rank_table"))
def potency_rank(
    sig: AnnData,
    keys: Sequence[str] = ("pathways", "panels"),
    *,
    sources: Sequence[str] | None = None,
    groupby: str | None = None,
    alpha: float = 0.05,
    n_draws: int = 2000,
    level: float = 0.95,
    random_state: int = 0,
    key_added: str = "potency_rank",
    copy: bool = False,
) -> AnnData | None:
    """Rank conditions by potency within each group, across every responsive pathway and panel.

    A source (pathway or panel) is *responsive* in a group when at least one condition moves it
    significantly (``padj < alpha``). For each responsive source the conditions' effect sizes (``|mean log2FC|``)
    are scaled by the largest in that source; a condition's potency score is the mean of its scaled effects.

    The uncertainty comes from the replicates: the effects of every condition on every responsive source
    are redrawn from their joint sampling distribution, estimated from the residuals of the set activities
    in the group's fit (:func:`~drugprint.tl.pathways` keeps them), so sources that co-vary between samples
    and conditions that share a control are drawn together. Each draw gives scores and ranks; their
    percentiles are the intervals, the share of draws ranking a condition first is ``p_first``, and
    ``p_vs_next`` is the two-sided probability of the order between a condition and the next-ranked one
    (small when the data separate them). Between two identical treatments neither is confidently first.
    Signatures without replicates (published tables) get scores and ranks but no intervals.

    The table (:func:`drugprint.get.potency_rank_table`) has ``group``, ``condition``, ``score``, ``score_lo``,
    ``score_hi``, ``rank``, ``rank_lo``, ``rank_hi``, ``p_first``, ``p_vs_next``, ``n_sources`` and ``basis``,
    ordered by group and rank.

    Parameters
    ----------
    sig
        Signatures with ``obsm[key]``, ``[key + "_padj"]``, ``[key + "_log2fc"]`` for each key.
    keys
        Score collections to pool (``"pathways"``, ``"panels"`` …); missing keys are skipped.
    sources
        Restrict to these pathways/panels.
    groupby, alpha
        Groups (default: that of :func:`~drugprint.tl.de`) and significance level.
    n_draws, level, random_state
        Draws from the replicates' sampling distribution, interval level and seed.
    {key_added}
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.potency_rank(sig, n_draws=500)
    >>> top = dp.get.potency_rank_table(sig).iloc[0]
    >>> top["condition"], bool(top["p_first"] > 0.5)
    ('mezigdomide', True)
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}.")
    present, eff, padj = _effects(sig, keys, sources)
    gk = resolve_groupby(sig, groupby)
    group_of = group_labels(sig, gk or "none")
    cond = condition_labels(sig)
    rng = np.random.default_rng(random_state)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    rows, no_replicates = [], []
    for group in dict.fromkeys(group_of):
        idx = np.flatnonzero((group_of == group).to_numpy())
        e = eff.iloc[idx].to_numpy(dtype=float)
        responsive = (np.nan_to_num(padj.iloc[idx].to_numpy(dtype=float), nan=1.0) < alpha).any(axis=0)
        responsive &= np.isfinite(e).all(axis=0)
        names = cond.iloc[idx].tolist()
        blank = dict.fromkeys(("score_lo", "score_hi", "rank_lo", "rank_hi", "p_first", "p_vs_next"), np.nan)
        if not responsive.any():
            rows += [
                {"group": group, "condition": c, "score": 0.0, "rank": np.nan, **blank, "n_sources": 0, "basis": ""}
                for c in names
            ]
            continue
        e = e[:, responsive]
        score = _scores(e)
        rank = (-score).argsort().argsort() + 1
        units = _replicate_units(sig, present, group, list(sig.obs_names[idx]), list(eff.columns[responsive]))
        stats = {c: dict(blank) for c in range(len(names))}
        if units is None:
            no_replicates.append(group)
        else:
            _draw_stats(stats, e, _boot_scores(e, units, n_draws, rng), rank, q, n_draws)
        for i, c in enumerate(names):
            rows.append(
                {
                    "group": group,
                    "condition": c,
                    "score": score[i],
                    "rank": int(rank[i]),
                    **stats[i],
                    "n_sources": int(responsive.sum()),
                    "basis": "no replicates: no interval" if units is None else "replicates",
                }
            )
    if no_replicates:
        warnings.warn(
            f"No replicate data for {len(no_replicates)} group(s) ({', '.join(no_replicates[:5])}): their potency "
            "ranks carry no interval (score the signatures of dp.tl.de with dp.tl.pathways to get them).",
            UserWarning,
            stacklevel=2,
        )
    columns = ["group", "condition", "score", "score_lo", "score_hi", "rank", "rank_lo", "rank_hi"]
    out = pd.DataFrame(rows)[[*columns, "p_first", "p_vs_next", "n_sources", "basis"]]
    order = {g: i for i, g in enumerate(dict.fromkeys(group_of))}
    out = out.sort_values(["group", "rank"], kind="stable", key=lambda s: s.map(order) if s.name == "group" else s)
    out = out.reset_index(drop=True)
    params = {
        "keys": present,
        "alpha": alpha,
        "n_draws": n_draws,
        "level": level,
        "random_state": random_state,
        "groupby": gk or "",
        "uncertainty": "joint draws of the effects from the replicates' residuals (set activities)",
    }
    return store(sig, key_added, {"table": out}, params, copy=copy, tool="potency_rank", getter="potency_rank_table")


def _effects(sig: AnnData, keys: Sequence[str], sources) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """The score collections present, and their effect sizes and adjusted p-values side by side."""
    present = [k for k in keys if k in sig.obsm and f"{k}_log2fc" in sig.obsm and f"{k}_padj" in sig.obsm]
    if not present:
        raise KeyError(f"None of {list(keys)} is scored in sig.obsm; run dp.tl.pathways / dp.tl.panels first.")
    eff = pd.concat([sig.obsm[f"{k}_log2fc"] for k in present], axis=1)
    padj = pd.concat([sig.obsm[f"{k}_padj"] for k in present], axis=1)
    if sources is not None:
        missing = [s for s in sources if s not in eff.columns]
        if missing:
            raise KeyError(f"{missing} are not scored in {present}.")
        eff, padj = eff[list(sources)], padj[list(sources)]
    return present, eff, padj


def _boot_scores(e: np.ndarray, units: list[_Unit], n_draws: int, rng, batch: int = 8_000_000) -> np.ndarray:
    """Scores (draws × conditions) of the effects redrawn from the replicates, in batches of draws (bounded memory)."""
    per_batch = max(1, batch // max(e.size, 1))
    sizes = [min(per_batch, n_draws - start) for start in range(0, n_draws, per_batch)]
    return np.concatenate([_scores(e[None] + _draw_noise(units, e.shape[0], n, rng)) for n in sizes])


def _draw_stats(stats: dict, e: np.ndarray, boot: np.ndarray, rank: np.ndarray, q: list, n_draws: int) -> None:
    """Intervals of scores and ranks, P(first) and each order's p-value, from the redrawn scores ``boot``."""
    boot_rank = (-boot).argsort(axis=1).argsort(axis=1) + 1
    lo, hi = np.percentile(boot, q, axis=0)
    rlo, rhi = np.percentile(boot_rank, q, axis=0)
    for i in range(len(rank)):
        stats[i].update(
            score_lo=lo[i],
            score_hi=hi[i],
            rank_lo=int(np.floor(rlo[i])),
            rank_hi=int(np.ceil(rhi[i])),
            p_first=float((boot_rank[:, i] == 1).mean()),
        )
    for a, b in itertools.pairwise(np.argsort(rank)):
        diff = boot[:, a] - boot[:, b]  # Monte-Carlo p-value: never below 2 / (n_draws + 1)
        tail = min((diff <= 0).sum(), (diff >= 0).sum())
        stats[a]["p_vs_next"] = float(min(1.0, 2 * (tail + 1) / (n_draws + 1)))
