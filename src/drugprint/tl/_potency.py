"""``potency``: rank conditions per group × pathway and label them none / modest / moderate / strong."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

TIERS = ("none", "modest", "moderate", "strong")


def _group_key(sig: AnnData) -> str | None:
    g = sig.uns.get("de", {}).get("groupby") if isinstance(sig.uns.get("de"), dict) else None
    return g if g and g in sig.obs.columns else None


def _basis(sig: AnnData, key: str) -> pd.Series:
    """Per signature, what the p-values of ``obsm[key]`` rest on (replicates, or genes assumed independent)."""
    rec = sig.uns.get(key, {})
    basis = rec.get("basis") if isinstance(rec, dict) else None
    if isinstance(basis, pd.DataFrame):
        return basis.set_index("signature")["basis"].reindex(sig.obs_names).fillna("unknown")
    return pd.Series("unknown", index=sig.obs_names)


def potency(
    sig: AnnData,
    key: str = "pathways",
    *,
    sources: Sequence[str] | None = None,
    groupby: str | None = None,
    alpha: float = 0.05,
    thresholds: tuple[float, float] = (0.25, 0.5),
    key_added: str | None = "potency",
) -> pd.DataFrame:
    """Rank the conditions of each group by their effect on each pathway (or panel) and assign tiers.

    A condition's tier on a pathway is:

    - ``"none"``: the pathway is not significant (``padj >= alpha``), or it has no effect size;
    - otherwise by the effect size, the absolute value of the weighted mean (signed) log2 fold change of the
      pathway's tested genes (``obsm[key + "_log2fc"]``): ``"modest"`` below ``thresholds[0]`` (0.25, i.e.
      < 1.19-fold on average), ``"moderate"`` up to ``thresholds[1]`` (0.5, < 1.41-fold), ``"strong"`` above.

    Within each group × pathway the conditions are ranked by effect size, |mean log2FC| (1 = most
    potent); the score (a t-like statistic that saturates for strong effects) only breaks ties.

    The p-values are those of :func:`~drugprint.tl.pathways` / :func:`~drugprint.tl.panels`: by default
    tests with the samples as replicates, which hold their error rate when a pathway's genes co-vary between
    samples. The ``basis`` column says, per row, whether they rest on replicates or on genes (a published
    table, or a gene-level method: p-values that assume independent genes). The effect's interval
    (``log2fc_lo``, ``log2fc_hi``) comes from the replicates; read the tier together with it.

    Parameters
    ----------
    sig
        Signatures with ``obsm[key]``, ``obsm[key + "_padj"]`` and ``obsm[key + "_log2fc"]`` (from
        :func:`drugprint.tl.pathways` or :func:`drugprint.tl.panels`).
    key
        Which scores to use (``"pathways"``, ``"panels"`` or another ``key_added``).
    sources
        Pathways/panels to include (default: all scored).
    groupby
        ``obs`` column of groups; default the ``groupby`` used by :func:`drugprint.tl.de`.
    alpha
        Significance level on the adjusted p-value.
    thresholds
        Effect-size cut points (|mean log2FC|) between modest/moderate and moderate/strong.
    key_added
        Also store the table in ``sig.uns[key_added]`` (with its parameters); ``None`` to skip.

    Returns
    -------
    Long DataFrame with ``group``, ``source``, ``condition``, ``score``, ``log2fc``, ``log2fc_lo``,
    ``log2fc_hi`` (NaN without replicates), ``padj``, ``direction`` (``"up"``/``"down"``), ``rank``, ``tier``
    (ordered categorical) and ``basis``.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> tab = dp.tl.potency(sig, sources=["HALLMARK_INTERFERON_ALPHA_RESPONSE"])
    >>> top = tab.sort_values("rank").iloc[0]
    >>> top["condition"], top["tier"], bool(top["log2fc_lo"] > 0.5)
    ('mezigdomide', 'strong', True)
    """
    for k in (key, f"{key}_padj", f"{key}_log2fc"):
        if k not in sig.obsm:
            raise KeyError(
                f"sig.obsm has no {k!r}; run dp.tl.pathways(sig, key_added={key!r}) or dp.tl.panels(sig) first."
            )
    lo, hi = thresholds
    if not 0 <= lo <= hi:
        raise ValueError(f"thresholds must be two increasing non-negative numbers, got {thresholds!r}.")
    groupby = groupby or _group_key(sig)
    score, padj, lfc = (sig.obsm[k] for k in (key, f"{key}_padj", f"{key}_log2fc"))
    if sources is not None:
        missing = [s for s in sources if s not in score.columns]
        if missing:
            raise KeyError(f"{missing} not scored in obsm[{key!r}]; scored: {list(score.columns)[:10]} …")
        score, padj, lfc = score[list(sources)], padj[list(sources)], lfc[list(sources)]
    cond = sig.obs["condition"] if "condition" in sig.obs else pd.Series(sig.obs_names, index=sig.obs_names)
    group = sig.obs[groupby].astype(str) if groupby else pd.Series("all", index=sig.obs_names)
    interval = [
        sig.obsm.get(f"{key}_log2fc_{b}", pd.DataFrame(np.nan, index=sig.obs_names, columns=score.columns))
        for b in ("lo", "hi")
    ]
    tables = {"score": score, "log2fc": lfc, "log2fc_lo": interval[0], "log2fc_hi": interval[1], "padj": padj}
    long = pd.DataFrame(  # one row per signature × source
        {
            "signature": np.repeat(score.index.to_numpy(), score.shape[1]),
            "source": np.tile(score.columns.to_numpy(), score.shape[0]),
            **{
                k: t.reindex(index=score.index, columns=score.columns).to_numpy(float).ravel()
                for k, t in tables.items()
            },
        }
    )
    long = long[long["score"].notna()]
    long.insert(0, "group", group.loc[long["signature"]].to_numpy())
    order = cond.cat.categories if isinstance(cond.dtype, pd.CategoricalDtype) else pd.unique(cond)
    long.insert(
        3,
        "condition",
        pd.Categorical(cond.loc[long["signature"]].astype(str).to_numpy(), categories=[str(c) for c in order]),
    )
    long["direction"] = np.where(long["score"] >= 0, "up", "down")
    # rank by effect size (|mean log2FC|); the score breaks ties and stands in where no log2FC exists
    magnitude = long["log2fc"].abs().fillna(0.0) + 1e-9 * long["score"].abs()
    long["rank"] = (
        long.assign(a=magnitude).groupby(["group", "source"])["a"].rank(ascending=False, method="min").astype(int)
    )
    size = long["log2fc"].abs()
    tier = np.select(
        [~(long["padj"] < alpha) | size.isna(), size < lo, size < hi], ["none", "modest", "moderate"], "strong"
    )
    long["tier"] = pd.Categorical(tier, categories=list(TIERS), ordered=True)
    long["basis"] = _basis(sig, key).reindex(long["signature"]).to_numpy()
    long = long.sort_values(["group", "source", "rank"], kind="stable").reset_index(drop=True)
    if key_added:
        sig.uns[key_added] = {
            "table": long.astype({"tier": str}),
            "params": {"key": key, "alpha": alpha, "thresholds": list(thresholds), "groupby": groupby or ""},
        }
    return long
