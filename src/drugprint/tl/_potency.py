"""``potency``: rank conditions per group × pathway and label them none / modest / moderate / strong."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import doc_params, key_added
from .._results import TIERS, pvalue_basis, store
from .._signatures import condition_labels, group_labels, resolve_groupby


@doc_params(key_added=key_added("potency_table"))
def potency(
    sig: AnnData,
    key: str = "pathways",
    *,
    sources: Sequence[str] | None = None,
    groupby: str | None = None,
    alpha: float = 0.05,
    thresholds: tuple[float, float] = (0.25, 0.5),
    key_added: str = "potency",
    copy: bool = False,
) -> AnnData | None:
    """Rank the conditions of each group by their effect on each pathway (or panel) and assign tiers.

    A condition's tier on a pathway is:

    - ``"none"``: the pathway is not significant (``padj >= alpha``), or it has no effect size;
    - otherwise by the effect size, the absolute value of the weighted mean (signed) log2 fold change of the
      pathway's tested genes (``obsm[key + "_log2fc"]``): ``"modest"`` below ``thresholds[0]`` (0.25, i.e.
      < 1.19-fold on average), ``"moderate"`` up to ``thresholds[1]`` (0.5, < 1.41-fold), ``"strong"`` above.

    Within each group × pathway the conditions are ranked by effect size, ``|mean log2FC|`` (1 = most
    potent); the score (a t-like statistic that saturates for strong effects) only breaks ties.

    The p-values are those of :func:`~drugprint.tl.pathways` / :func:`~drugprint.tl.panels`: by default
    tests with the samples as replicates, which hold their error rate when a pathway's genes co-vary between
    samples. The ``basis`` column says, per row, whether they rest on replicates or on genes (a published
    table, or a gene-level method: p-values that assume independent genes). The effect's interval
    (``log2fc_lo``, ``log2fc_hi``) comes from the replicates; read the tier together with it.

    The table (:func:`drugprint.get.potency_table`) is long: ``group``, ``source``, ``condition``, ``score``,
    ``log2fc``, ``log2fc_lo``, ``log2fc_hi`` (NaN without replicates), ``padj``, ``direction``
    (``"up"``/``"down"``), ``rank``, ``tier`` (ordered categorical) and ``basis``.

    Parameters
    ----------
    {sig_scored}
    {key_scores}
    {sources}
    {groupby}
    {alpha}
    thresholds
        Effect-size cut points (``|mean log2FC|``) between modest/moderate and moderate/strong.
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
    >>> dp.tl.potency(sig, sources=["HALLMARK_INTERFERON_ALPHA_RESPONSE"])
    >>> top = dp.get.potency_table(sig).sort_values("rank").iloc[0]
    >>> top["condition"], top["tier"], bool(top["log2fc_lo"] > 0.5)
    ('mezigdomide', 'strong', True)
    """
    table, params = compute_potency(sig, key, sources=sources, groupby=groupby, alpha=alpha, thresholds=thresholds)
    entries = {"table": table.astype({"tier": str})}  # h5ad and zarr keep strings; dp.get restores the order
    return store(sig, key_added, entries, params, copy=copy, tool="potency", getter="potency_table", returned=table)


def compute_potency(
    sig: AnnData,
    key: str,
    *,
    sources: Sequence[str] | None,
    groupby: str | None,
    alpha: float,
    thresholds: tuple[float, float],
) -> tuple[pd.DataFrame, dict]:
    """The table of :func:`potency` and its parameters, stored nowhere."""
    for k in (key, f"{key}_padj", f"{key}_log2fc"):
        if k not in sig.obsm:
            raise KeyError(
                f"sig.obsm has no {k!r}; run dp.tl.pathways(sig, key_added={key!r}) or dp.tl.panels(sig) first."
            )
    lo, hi = thresholds
    if not 0 <= lo <= hi:
        raise ValueError(f"thresholds must be two increasing non-negative numbers, got {thresholds!r}.")
    groupby = resolve_groupby(sig, groupby)
    score, padj, lfc = (sig.obsm[k] for k in (key, f"{key}_padj", f"{key}_log2fc"))
    if sources is not None:
        missing = [s for s in sources if s not in score.columns]
        if missing:
            raise KeyError(f"{missing} not scored in obsm[{key!r}]; scored: {list(score.columns)[:10]} …")
        score, padj, lfc = score[list(sources)], padj[list(sources)], lfc[list(sources)]
    cond = sig.obs["condition"] if "condition" in sig.obs else condition_labels(sig)
    group = group_labels(sig, groupby or "none")
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
    long["basis"] = pvalue_basis(sig, key).reindex(long["signature"]).to_numpy()
    long = long.sort_values(["group", "source", "rank"], kind="stable").reset_index(drop=True)
    params = {"key": key, "alpha": alpha, "thresholds": list(thresholds), "groupby": groupby or ""}
    return long, params
