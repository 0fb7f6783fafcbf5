"""``potency_rank``: one potency ranking per group from many pathways and panels, with its uncertainty."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ._potency import _group_key


def potency_rank(
    sig: AnnData,
    keys: Sequence[str] = ("pathways", "panels"),
    *,
    sources: Sequence[str] | None = None,
    groupby: str | None = None,
    alpha: float = 0.05,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
    key_added: str | None = "potency_rank",
) -> pd.DataFrame:
    """Rank conditions by potency within each group, across every responsive pathway and panel.

    A source (pathway or panel) is *responsive* in a group when at least one condition moves it
    significantly (``padj < alpha``). For each responsive source the conditions' effect sizes (|mean log2FC|)
    are scaled by the largest in that source; a condition's potency score is the mean of its scaled effects.
    Uncertainty comes from bootstrap resamples of the responsive sources: the interval of the score, the
    interval of the rank and the probability of ranking first.

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
    n_boot, level, seed
        Bootstrap replicates, interval level and seed.
    key_added
        Store the table in ``sig.uns[key_added]``.

    Returns
    -------
    DataFrame with ``group``, ``condition``, ``score``, ``score_lo``, ``score_hi``, ``rank``, ``rank_lo``,
    ``rank_hi``, ``p_first`` and ``n_sources``, ordered by group and rank.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.potency_rank(sig, n_boot=100)["condition"].iloc[0]
    'mezigdomide'
    """
    present = [k for k in keys if k in sig.obsm and f"{k}_log2fc" in sig.obsm and f"{k}_padj" in sig.obsm]
    if not present:
        raise KeyError(f"None of {list(keys)} is scored in sig.obsm; run dp.tl.pathways / dp.tl.panels first.")
    eff = pd.concat([sig.obsm[f"{k}_log2fc"].abs() for k in present], axis=1)
    padj = pd.concat([sig.obsm[f"{k}_padj"] for k in present], axis=1)
    if sources is not None:
        missing = [s for s in sources if s not in eff.columns]
        if missing:
            raise KeyError(f"{missing} are not scored in {present}.")
        eff, padj = eff[list(sources)], padj[list(sources)]
    gk = groupby or _group_key(sig)
    group_of = sig.obs[gk].astype(str) if gk else pd.Series("all", index=sig.obs_names)
    cond = sig.obs["condition"].astype(str)
    rng = np.random.default_rng(seed)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    rows = []
    for group in dict.fromkeys(group_of):
        idx = np.flatnonzero((group_of == group).to_numpy())
        e = eff.iloc[idx].to_numpy(dtype=float)
        responsive = (np.nan_to_num(padj.iloc[idx].to_numpy(dtype=float), nan=1.0) < alpha).any(axis=0)
        responsive &= np.isfinite(e).all(axis=0)
        names = cond.iloc[idx].tolist()
        if not responsive.any():
            rows += [
                {
                    "group": group,
                    "condition": c,
                    "score": 0.0,
                    "score_lo": 0.0,
                    "score_hi": 0.0,
                    "rank": np.nan,
                    "rank_lo": np.nan,
                    "rank_hi": np.nan,
                    "p_first": np.nan,
                    "n_sources": 0,
                }
                for c in names
            ]
            continue
        scaled = e[:, responsive] / e[:, responsive].max(axis=0, keepdims=True)
        score = scaled.mean(axis=1)
        picks = rng.integers(0, scaled.shape[1], size=(n_boot, scaled.shape[1]))
        boot = scaled[:, picks].mean(axis=2).T  # n_boot × conditions
        boot_rank = (-boot).argsort(axis=1).argsort(axis=1) + 1
        rank = (-score).argsort().argsort() + 1
        lo, hi = np.percentile(boot, q, axis=0)
        rlo, rhi = np.percentile(boot_rank, q, axis=0)
        for i, c in enumerate(names):
            rows.append(
                {
                    "group": group,
                    "condition": c,
                    "score": score[i],
                    "score_lo": lo[i],
                    "score_hi": hi[i],
                    "rank": int(rank[i]),
                    "rank_lo": int(np.floor(rlo[i])),
                    "rank_hi": int(np.ceil(rhi[i])),
                    "p_first": float((boot_rank[:, i] == 1).mean()),
                    "n_sources": int(responsive.sum()),
                }
            )
    out = pd.DataFrame(rows).sort_values(
        ["group", "rank"],
        kind="stable",
        key=lambda s: s if s.name != "group" else s.map({g: i for i, g in enumerate(dict.fromkeys(group_of))}),
    )
    out = out.reset_index(drop=True)
    if key_added:
        sig.uns[key_added] = {
            "table": out,
            "params": {"keys": present, "alpha": alpha, "n_boot": n_boot, "level": level, "seed": seed},
        }
    return out
