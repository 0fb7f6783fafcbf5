"""``compare``: drug × drug similarity of signatures, per cell type, with confidence intervals."""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats
from scipy.cluster import hierarchy

from .._anndata import categories, get_matrix, to_dense
from .._checks import check_choice, check_obs_keys
from .._counts import resolve_counts_layer
from .._docs import doc_params, key_added
from .._results import renamed, store
from .._signatures import group_labels, resolve_groupby, signature_names

METRICS = ("spearman", "pearson", "cosine")


def _rank(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, ties averaged; a slice holding a NaN is all NaN."""
    return stats.rankdata(x, axis=-1)


def _draw_counts(picks: np.ndarray, n_genes: int) -> np.ndarray:
    """How often each gene was drawn in each draw (draws × genes) of ``picks`` (draws × positions)."""
    n_draws = picks.shape[0]
    counts = np.bincount((picks + np.arange(n_draws)[:, None] * n_genes).ravel(), minlength=n_draws * n_genes)
    return counts.reshape(n_draws, n_genes)


def _resampled_ranks(x: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """``_rank(x[:, picks].transpose(1, 0, 2))`` for finite ``x`` (rows × genes; ``picks``: draws × genes).

    Each row is sorted once; in a draw, a run of equal values holding ``k`` drawn genes above ``b`` drawn genes
    of smaller value has the rank ``b + (k + 1) / 2``, so the draws need counting, not sorting.
    """
    n_draws, n_genes = picks.shape[0], x.shape[1]
    counts = _draw_counts(picks, n_genes)
    out = np.empty((n_draws, x.shape[0], picks.shape[1]))
    for i, row in enumerate(x):
        order = np.argsort(row)
        starts = np.ones(n_genes, dtype=bool)
        starts[1:] = row[order[1:]] != row[order[:-1]]
        upto = np.cumsum(counts[:, order], axis=1)[:, np.append(np.flatnonzero(starts)[1:], n_genes) - 1]
        below = np.hstack([np.zeros((n_draws, 1), dtype=upto.dtype), upto[:, :-1]])
        ranks = np.empty((n_draws, n_genes))
        ranks[:, order] = ((below + upto + 1) / 2)[:, np.cumsum(starts) - 1]
        out[:, i] = np.take_along_axis(ranks, picks, axis=1)
    return out


def _similarity(x: np.ndarray, metric: str, picks: np.ndarray | None = None) -> np.ndarray:
    """Row × row similarity of ``x`` (signatures × genes), or of each draw of its genes (``picks``: draws × genes)."""
    if metric == "spearman":
        x = _rank(x) if picks is None else _resampled_ranks(x, picks)
    elif picks is not None:
        x = x[:, picks].transpose(1, 0, 2)
    x = _unit_rows(x, metric)
    return np.einsum("...ig,...jg->...ij", x, x)


def _unit_rows(x: np.ndarray, metric: str) -> np.ndarray:
    """Rows centred (Spearman on ranks, Pearson) and scaled to length 1, so that a dot product is the metric."""
    if metric in ("spearman", "pearson"):
        x = x - x.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    norm[norm == 0] = np.nan
    return x / norm


def _interval(draws: np.ndarray, q: list[float]) -> np.ndarray:
    """``np.nanpercentile(draws, q, axis=0)``, with its slow NaN-aware path only where a draw is NaN."""
    out = np.percentile(draws, q, axis=0)
    nan = np.isnan(draws).any(axis=0)
    if nan.any():
        out[:, nan] = np.nanpercentile(draws[:, nan], q, axis=0)
    return out


def informative_genes(values: np.ndarray, padj: np.ndarray | None, *, alpha: float, n_top: int) -> np.ndarray:
    """Genes tested in every signature and significant in at least one (at least ``n_top`` by max |stat|)."""
    tested = np.isfinite(values).all(axis=0)
    strength = np.where(tested, np.abs(np.where(tested, values, 0.0)).max(axis=0), -np.inf)
    order = np.argsort(-strength, kind="stable")
    top = order[: min(n_top, int(tested.sum()))]
    keep = np.zeros(values.shape[1], dtype=bool)
    keep[top] = True
    if padj is not None:
        keep |= tested & (np.nan_to_num(padj, nan=1.0) < alpha).any(axis=0)
    return np.flatnonzero(keep)


def _paired_lfc(
    pdata: AnnData, profiles: np.ndarray | slice, conds: list[str], condition_key, control, donor_key, layer
) -> np.ndarray:
    """Per donor and condition: log-CPM(condition) − log-CPM(control) in ``profiles`` (a row mask or slice).

    Returns donors × conditions × genes.
    """
    x = to_dense(get_matrix(pdata, resolve_counts_layer(pdata, layer))[profiles]).astype(float)
    lcpm = np.log2((x + 0.5) / (x.sum(axis=1, keepdims=True) + 1) * 1e6)
    obs = pdata.obs.iloc[profiles]
    donors = [str(d) for d in categories(obs[donor_key])]
    out = np.full((len(donors), len(conds), x.shape[1]), np.nan)
    cond_of = obs[condition_key].astype(str).to_numpy()
    donor_of = obs[donor_key].astype(str).to_numpy()
    for i, d in enumerate(donors):
        ctrl = np.flatnonzero((donor_of == d) & (cond_of == control))
        if ctrl.size != 1:
            continue
        for j, c in enumerate(conds):
            hit = np.flatnonzero((donor_of == d) & (cond_of == c))
            if hit.size == 1:
                out[i, j] = lcpm[hit[0]] - lcpm[ctrl[0]]
    return out[np.isfinite(out).any(axis=(1, 2))]  # donors with a control profile


def _splits(n: int, max_splits: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Distinct splits of ``n`` donors into two halves (all of them when few), as boolean masks."""
    from itertools import combinations

    half = n // 2
    all_splits = [c for c in combinations(range(n), half) if 0 in c or half * 2 != n]
    if len(all_splits) > max_splits:
        all_splits = [all_splits[i] for i in rng.choice(len(all_splits), max_splits, replace=False)]
    masks = []
    for c in all_splits:
        m = np.zeros(n, dtype=bool)
        m[list(c)] = True
        masks.append(m)
    return masks


def _unit_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, centred and scaled to unit length: their dot products are Spearman correlations."""
    r = _rank(x)
    r = r - r.mean(axis=-1, keepdims=True)
    return r / np.linalg.norm(r, axis=-1, keepdims=True)


class _Half(NamedTuple):
    """One half of the donors over the splits: mean effects, and the genes ordered by how strongly they move."""

    means: np.ndarray  # splits × genes × conditions
    order: np.ndarray  # splits × genes: by decreasing largest |mean| over conditions (NaN as 0), ties in gene order
    tie: np.ndarray  # splits × genes: along ``order``, the number of each run of equal strengths


def _half_means(paired: np.ndarray, splits: list[np.ndarray]) -> tuple[_Half, _Half]:
    """The mean effect (donors × conditions × genes ``paired``) in each half of the donors of every split."""
    donors = [np.array([np.flatnonzero(m == side) for m in splits]) for side in (True, False)]  # splits × donors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a condition missing from every donor of a half
        halves = [np.ascontiguousarray(np.nanmean(paired[d], axis=1).transpose(0, 2, 1)) for d in donors]
    out = []
    for means in halves:
        strength = np.nan_to_num(np.abs(means)).max(axis=2)
        order = np.argsort(-strength, axis=1, kind="stable")
        ranked = np.take_along_axis(strength, order, axis=1)
        tie = np.zeros(order.shape, dtype=np.intp)
        tie[:, 1:] = np.cumsum(ranked[:, 1:] != ranked[:, :-1], axis=1)
        out.append(_Half(means, order, tie))
    return out[0], out[1]


def _top_genes(half: _Half, draws: np.ndarray, n: int) -> np.ndarray:
    """Per draw and split, the genes at the ``n`` positions of the draw that move most, strongest first.

    ``draws`` is draws × positions (genes, repeats allowed); returns draws × splits × ``n``. For each draw ``d``
    this equals ``draws[d][np.argsort(-strength[:, draws[d]], axis=1, kind="stable")[:, :n]]`` (ties in the
    order drawn) without sorting the draw: going down each split's genes from the strongest, it counts how
    often each was drawn until ``n`` positions are held, adds the genes tied with the last of them, and sorts
    only their positions, by strength and then in the order drawn.
    """
    (n_draws, n_pos), (n_splits, n_genes) = draws.shape, half.order.shape
    n = min(n, n_pos)
    counts = _draw_counts(draws, n_genes)
    size = min(2 * n, n_genes)
    while True:  # enough leading genes to hold n positions, ending with a whole run of tied strengths
        cum = np.cumsum(counts[:, half.order[:, :size]], axis=2)  # draws × splits × leading genes
        if size == n_genes or cum[..., -1].min() >= n:
            last = half.tie[np.arange(n_splits), np.argmax(cum >= n, axis=2)]
            if size == n_genes or (half.tie[:, size] > last).all():
                break
        size = min(2 * size, n_genes)
    draw, split, col = np.nonzero(half.tie[:, :size] <= last[..., None])
    gene = half.order[split, col]
    mult = counts[draw, gene]
    keys = draws.astype(np.min_scalar_type(n_genes))  # small integers, which numpy's stable sort radix-sorts
    where = np.argsort(keys, axis=1, kind="stable").ravel()  # each draw's positions, grouped by gene
    first = np.cumsum(counts, axis=1) - counts + np.arange(n_draws)[:, None] * n_pos  # a gene's group in ``where``
    # every position holding a chosen gene: its (draw, split) row, tie run, gene and place in ``where``
    row, tie, gene, at = (
        np.repeat(a, mult) for a in (draw * n_splits + split, half.tie[split, col], gene, first[draw, gene])
    )
    at += np.arange(gene.size) - np.repeat(np.cumsum(mult) - mult, mult)  # the gene's first, second … position
    o = np.lexsort((where[at], tie, row))
    top = gene[o][np.searchsorted(row, np.arange(n_draws * n_splits))[:, None] + np.arange(n)]
    return top.reshape(n_draws, n_splits, n)


def _effect_correlation(halves: tuple[_Half, _Half], draws: np.ndarray, n_top: int) -> tuple[np.ndarray, np.ndarray]:
    """Cross-half effect correlation, disattenuated by split-half reliability (select on one half, test on the other).

    For each split and each direction, genes are chosen as the ``n_top`` largest mean |effect| in one half and
    the Spearman correlations are computed in the other half only, so neither noise shared with the control nor
    the gene selection can create similarity. ``halves`` is :func:`_half_means`; ``draws`` (draws × positions)
    the genes to choose from, repeats allowed. Returns correlations (draws × conditions × conditions), neither
    gated by reliability nor capped (:func:`_group_effect` decides once, on all genes, which drugs have an
    effect), and reliabilities (draws × conditions).
    """
    splits = np.arange(len(halves[0].means))[:, None]
    x = []
    for sel, test in (halves, halves[::-1]):  # all draws and splits at once
        pick = _top_genes(sel, draws, n_top)  # draws × splits × genes
        x += [sel.means[splits, pick], test.means[splits, pick]]
    ranks = _unit_ranks(np.stack(x, axis=1).transpose(0, 1, 2, 4, 3))  # draws × 4 × splits × conditions × genes
    acc = np.einsum("dsig,dsjg->dij", ranks[:, 0], ranks[:, 1]) + np.einsum("dsig,dsjg->dij", ranks[:, 2], ranks[:, 3])
    c = acc / (2 * len(splits))
    rel = np.diagonal(c, axis1=1, axis2=2).copy()
    sym = (c + c.transpose(0, 2, 1)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        r = sym / np.sqrt(np.abs(rel[:, :, None] * rel[:, None, :]))
    return r, rel


def _fit_keys(sig: AnnData) -> tuple[np.ndarray, np.ndarray]:
    """Per signature: whether it was fitted here (not read from a table), and its (study, reference) key.

    Two fitted signatures with equal keys were tested against the same control profiles.
    """
    de = sig.uns.get("de", {}) if isinstance(sig.uns.get("de"), dict) else {}
    study = sig.obs["study"].astype(str) if "study" in sig.obs else pd.Series("", index=sig.obs_names)
    inputs = de.get("inputs")
    if de.get("method") == "concatenated" and isinstance(inputs, pd.DataFrame) and "method" in inputs:
        method = study.map(dict(zip(inputs["study"].astype(str), inputs["method"].astype(str), strict=True)))
    else:
        method = pd.Series(str(de.get("method", "")), index=sig.obs_names)
    if "reference" not in sig.obs:
        return np.zeros(sig.n_obs, dtype=bool), np.full(sig.n_obs, "")
    key = (study + "\t" + sig.obs["reference"].astype(str)).to_numpy()
    return (method != "published table").to_numpy(), key


def _group_effect(
    sig: AnnData,
    pdata: AnnData,
    idx: np.ndarray,
    group: str,
    gk: str | None,
    values: np.ndarray,
    donor_key: str,
    n_splits: int,
    effect_genes: int,
    min_reliability: float,
    ci: str,
    n_boot: int,
    q: list[float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The split-donor effect correlation of one group's signatures ``idx``: ``(r, lo, hi, reliability)``.

    ``None`` when the signatures are not all against the control of :func:`drugprint.tl.de` or fewer than four
    donors pair them with it.
    """
    de = sig.uns["de"]
    profiles = (pdata.obs[gk].astype(str) == group).to_numpy() if gk and gk in pdata.obs else slice(None)
    conds = sig.obs["condition"].astype(str).iloc[idx].tolist()
    if set(sig.obs["reference"].astype(str).iloc[idx]) != {de["control"]}:
        return None
    layer = None if de.get("layer", "X") == "X" else de["layer"]
    paired = _paired_lfc(pdata, profiles, conds, de["condition_key"], de["control"], donor_key, layer)
    if paired is None or paired.shape[0] < 4:
        return None
    tested = sig.var_names[np.isfinite(values).all(axis=0)]
    cols = pdata.var_names.get_indexer(tested)
    if (cols < 0).any():
        missing = tested[cols < 0]
        raise ValueError(
            f"{missing.size} genes of sig are not in pdata (e.g. {missing[:5].tolist()}); pass the "
            "pdata the signatures were fitted on."
        )
    splits = _splits(paired.shape[0], n_splits, rng)
    means = _half_means(paired[:, :, cols], splits)
    (r,), (rel,) = _effect_correlation(means, np.arange(cols.size)[None], effect_genes)
    # which drugs have a reproducible effect is decided once, on all genes: the point estimate and every
    # bootstrap draw of a pair are both given or both NaN (gating each draw on its own reliability gave
    # intervals to pairs without an estimate, and intervals conditional on passing to those near the threshold)
    reproducible = rel >= min_reliability
    gate = reproducible[:, None] & reproducible[None, :]
    r = np.where(gate, r, np.nan)
    lo = hi = np.full_like(r, np.nan)
    if ci == "genes" and gate.any():
        draws = np.stack([rng.choice(cols.size, cols.size) for _ in range(max(n_boot // 4, 20))])
        boot = np.concatenate(
            [  # in chunks of draws: bounded memory, and arrays that stay in the CPU's caches
                _effect_correlation(means, d, effect_genes)[0] for d in np.array_split(draws, -(-len(draws) // 16))
            ]
        )
        boot[:, ~gate] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pairs without effects stay NaN
            lo, hi = _interval(boot, q)
    return r, lo, hi, rel


def _deg_overlap(up: np.ndarray, down: np.ndarray, universe: int, i: int, j: int) -> dict:
    """Jaccard index of the signed DEG sets of signatures ``i`` and ``j``, with a one-sided Fisher test."""
    a_set, b_set = up[i] | down[i], up[j] | down[j]
    shared = int(((up[i] & up[j]) | (down[i] & down[j])).sum())
    union = int(a_set.sum() + b_set.sum() - shared)
    table = [[shared, int(a_set.sum()) - shared], [int(b_set.sum()) - shared, max(int(universe) - union, 0)]]
    return {
        "jaccard": shared / union if union else np.nan,
        "n_deg_a": int(a_set.sum()),
        "n_deg_b": int(b_set.sum()),
        "n_shared": shared,
        "overlap_pvalue": float(stats.fisher_exact(table, alternative="greater").pvalue),
    }


@renamed(seed="random_state")
@doc_params(
    key_added=key_added(
        "compare_table",
        ', per compared group a record under a positional key (``"g0"``, ``"g1"`` …; labels may hold characters '
        "such as ``/`` that ``write_h5ad`` and ``write_zarr`` refuse in keys) with the ``group`` label, the "
        "signature ``names``, their dendrogram ``order``, the ``linkage`` and the similarity ``matrices`` (read "
        "them with :func:`drugprint.get.similarity_matrix` and :func:`drugprint.get.comparison`),",
    )
)
def compare(
    sig: AnnData,
    *,
    groupby: str | None = None,
    layer: str = "stat",
    metrics: Sequence[Literal["spearman", "pearson", "cosine"]] = METRICS,
    alpha: float = 0.05,
    n_top: int = 500,
    ci: Literal["genes", "none"] = "genes",
    pdata: AnnData | None = None,
    donor_key: str = "donor",
    n_splits: int = 20,
    effect_genes: int = 100,
    min_reliability: float = 0.2,
    n_boot: int = 200,
    level: float = 0.95,
    pairs: Literal["auto", "all", "neighbors"] = "auto",
    n_neighbors: int = 10,
    random_state: int = 0,
    key_added: str = "compare",
    copy: bool = False,
) -> AnnData | None:
    """Similarity of every pair of signatures within each group (cell type), with intervals.

    Two kinds of similarity are reported.

    - **Signature similarity** (always): Spearman, Pearson and cosine of ``layer`` over *informative genes*
      (tested in all signatures of the group and significant, ``padj < alpha``, in at least one; topped up to
      ``n_top`` by the largest ``|statistic|``), with a percentile interval over bootstrap resamples of those genes;
      and the Jaccard index of the signed DEG sets (``GENE↑``/``GENE↓``) with a one-sided Fisher test. Caveat:
      signatures tested against the *same* control profiles share that control's noise, which alone makes them
      correlate (≈ 0.5 for balanced designs, more over noise-selected genes); such pairs are flagged
      ``shared_reference``.
    - **Effect correlation** (when ``pdata``, the profiles the signatures were fitted on, is given and has at
      least 4 donors): donors are split into halves; each drug's effect is the mean donor-paired log-CPM
      difference to the control in each half. Genes are chosen in one half (the ``effect_genes`` largest effects)
      and correlated in the other, so that neither the shared control nor the gene selection creates
      similarity; the Spearman correlation of drug *a* with drug *b* across halves, divided by the geometric
      mean of their split-half reliabilities (Spearman's correction for attenuation), estimates the
      correlation of the true effects. Averaged over up to ``n_splits`` splits, both directions; interval from
      bootstrap resamples of genes. ``NaN``, with its interval, when a drug's reliability (on all genes) is below
      ``min_reliability``: it has no reproducible effect, so there is no fingerprint to compare; the bootstrap
      draws of the other pairs are not gated again. Like any disattenuated correlation it can exceed ±1 by
      sampling noise when the true correlation is close to ±1: ``effect_r`` and its interval ends are capped to
      [−1, 1], and ``effect_r_raw`` keeps the uncapped estimate.

    The drugs of each group are clustered (average linkage on 1 − Spearman of the signatures).

    **Screens.** The similarity matrices of the point estimates are always complete (one matrix product per
    metric; :func:`drugprint.get.similarity_matrix`). In a group of more than 30 signatures (``pairs="auto"``),
    the table and the resampled intervals cover only each signature's ``n_neighbors`` most similar signatures
    (by Spearman, else the first metric; a pair listed once), so that a screen of a thousand compounds costs
    about ten thousand intervals per group instead of half a million; and the informative genes are the ``n_top``
    with the largest ``|statistic|`` (in a screen nearly every gene is significant in some signature).

    The table (:func:`drugprint.get.compare_table`) is long, one row per group × pair (``a``, ``b``): each metric
    with ``_lo``/``_hi``; ``jaccard``, ``overlap_pvalue``, ``n_deg_a``, ``n_deg_b``, ``n_shared``, ``n_genes``; with
    ``pdata`` also ``effect_r``, ``effect_r_lo``, ``effect_r_hi`` (capped to [−1, 1]), ``effect_r_raw`` (Spearman's
    correction for attenuation; values beyond ±1 are sampling noise and are capped in ``effect_r``),
    ``reliability_a``, ``reliability_b``; the flags ``shared_reference`` (both fitted by drugprint in the same
    study, ``obs["study"]`` when present, against the same ``reference``) and ``cross_platform`` (different
    ``platform`` values in ``obs``); and ``comparable`` with its ``note``. A pair is not ``comparable`` when a
    signature in it has no effect to compare: a split-half reliability below ``min_reliability`` when it was
    measured (with ``pdata``), else no DE gene at ``padj < alpha``. Its similarities then measure no shared
    fingerprint (signatures against the same control correlate ≈ 0.6–0.7 through its noise alone), and ``note``
    says why, e.g. ``"thalidomide has no DE gene at padj < 0.05: its correlation reflects the shared control"``;
    ``note`` is ``""`` for comparable pairs. The numbers of such pairs are reported unchanged.

    Parameters
    ----------
    {sig}
    {groupby}
    layer
        Per-gene values compared (``"stat"`` or ``"log2fc"``).
    metrics
        Signature-similarity measures to report.
    alpha, n_top
        Define the informative genes and the DEG sets.
    ci
        ``"genes"`` for bootstrap intervals, ``"none"`` for none.
    pdata, donor_key
        Profiles and their donor column, for the effect correlation.
    n_splits, effect_genes, min_reliability
        Donor splits averaged; genes selected per half-split; the split-half reliability below which no effect
        correlation is given.
    n_boot, level
        Bootstrap replicates and interval level.
    pairs, n_neighbors
        Which pairs the table lists, with intervals: ``"all"``; ``"neighbors"``: each signature with its
        ``n_neighbors`` most similar; ``"auto"``: all in groups of at most 30 signatures, else neighbours.
    random_state
        Seed of the bootstrap and the donor splits (equal seeds give equal results; each group draws its own
        stream, so a group's results do not depend on which other groups are compared).
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
    >>> dp.tl.compare(sig, pdata=pdata, n_boot=40)
    >>> tab = dp.get.compare_table(sig)
    >>> row = tab[(tab.a == "lenalidomide") & (tab.b == "pomalidomide")].iloc[0]
    >>> bool(row["spearman_lo"] <= row["spearman"] <= row["spearman_hi"]), bool(row["effect_r_lo"] > 0.5)
    (True, True)
    >>> bool(tab["effect_r_hi"].max() <= 1), bool(row["comparable"]), row["note"]
    (True, True, '')
    """
    table, records, params = compare_signatures(
        sig,
        groupby=groupby,
        layer=layer,
        metrics=metrics,
        alpha=alpha,
        n_top=n_top,
        ci=ci,
        pdata=pdata,
        donor_key=donor_key,
        n_splits=n_splits,
        effect_genes=effect_genes,
        min_reliability=min_reliability,
        n_boot=n_boot,
        level=level,
        random_state=random_state,
        pairs=pairs,
        n_neighbors=n_neighbors,
    )
    # positional keys: group and drug labels ("CD4/CD8 T", "len/dex") may hold characters that HDF5 and zarr
    # keys refuse, so labels are stored as values only (read with dp.get.similarity_matrix)
    entries = {"table": table, "groups": {f"g{i}": rec for i, rec in enumerate(records)}}
    return store(sig, key_added, entries, params, copy=copy, tool="compare", getter="compare_table")


def compare_signatures(
    sig: AnnData,
    *,
    groupby: str | None,
    layer: str,
    metrics: Sequence[str],
    alpha: float,
    n_top: int,
    ci: str,
    pdata: AnnData | None,
    donor_key: str,
    n_splits: int,
    effect_genes: int,
    min_reliability: float,
    n_boot: int,
    level: float,
    random_state: int,
    pairs: str = "auto",
    n_neighbors: int = 10,
) -> tuple[pd.DataFrame, list[dict], dict]:
    """The table, the per-group records and the parameters of :func:`compare`, stored nowhere."""
    _check(sig, layer, metrics, ci, level, pdata, donor_key, pairs, n_neighbors)
    gk = resolve_groupby(sig, groupby)
    group_of = group_labels(sig, gk or "none")
    values_all = np.asarray(sig.layers[layer], dtype=float)
    padj_all = np.asarray(sig.layers["padj"], dtype=float) if "padj" in sig.layers else None
    lfc_all = np.asarray(sig.layers["log2fc"], dtype=float) if "log2fc" in sig.layers else values_all
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    rows, records = [], []
    for group in dict.fromkeys(group_of):
        idx = np.flatnonzero((group_of == group).to_numpy())
        if idx.size < 2:
            continue
        rng = np.random.default_rng([random_state, zlib.crc32(group.encode())])  # a group's draws ignore the others
        names = signature_names(sig, idx)  # by name when a condition repeats (studies, doses, times)
        values = values_all[idx]
        padj = padj_all[idx] if padj_all is not None else None
        few = pairs == "all" or (pairs == "auto" and idx.size <= ALL_PAIRS_UP_TO)  # else each one's neighbours
        genes = informative_genes(values, padj if few else None, alpha=alpha, n_top=n_top)
        if genes.size < 3:
            continue
        x = values[:, genes]
        est = {m: _similarity(x, m) for m in metrics}
        listed = None if few else _nearest_pairs(est, metrics, n_neighbors)
        bounds = _bounds(x, metrics, listed, n_boot, q, rng) if ci == "genes" else {}
        effect = None
        if pdata is not None:
            effect = _group_effect(
                sig,
                pdata,
                idx,
                group,
                gk,
                values,
                donor_key,
                n_splits,
                effect_genes,
                min_reliability,
                ci,
                n_boot,
                q,
                rng,
            )
        deg = None if padj is None else _degs(padj, lfc_all[idx], values, alpha)
        rows += _pair_rows(
            sig, group, idx, names, int(genes.size), est, bounds, deg, effect, alpha, min_reliability, listed
        )
        records.append(_record(group, names, est, metrics))
    if not rows:
        raise ValueError("No group has two signatures with at least 3 informative genes to compare.")
    params = {"layer": layer, "metrics": list(metrics), "alpha": alpha, "n_top": n_top, "ci": ci, "n_boot": n_boot}
    params |= {"level": level, "pairs": pairs, "n_neighbors": int(n_neighbors), "random_state": random_state}
    params["groupby"] = gk or ""
    return pd.DataFrame(rows), records, params


#: ``pairs="auto"``: groups with more signatures than this list each one's nearest neighbours only
ALL_PAIRS_UP_TO = 30


def _nearest_pairs(est: dict, metrics, n_neighbors: int) -> np.ndarray:
    """The pairs ``(i, j)``, ``i < j``, of each signature with its ``n_neighbors`` most similar (a pair once)."""
    sim = np.array(est["spearman" if "spearman" in est else metrics[0]], dtype=float)
    n = sim.shape[0]
    np.fill_diagonal(sim, -np.inf)
    sim = np.nan_to_num(sim, nan=-np.inf)
    k = min(n_neighbors, n - 1)
    nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    i = np.repeat(np.arange(n), k)
    a, b = np.minimum(i, nearest.ravel()), np.maximum(i, nearest.ravel())
    return np.unique(np.column_stack([a, b]), axis=0)


def _bounds(x: np.ndarray, metrics, listed: np.ndarray | None, n_boot: int, q: list, rng) -> dict:
    """Percentile intervals (lo, hi matrices) over bootstrap resamples of the genes, for the ``listed`` pairs only.

    With every pair listed the draws are whole similarity matrices. With a screen's neighbours, each resample is
    a count per gene and the listed pairs' similarities are weighted sums over the genes, three matrix products
    for all draws (Spearman: the Pearson correlation of the genes' ranks, ranked once on all informative genes).
    """
    picks = rng.integers(0, x.shape[1], size=(n_boot, x.shape[1]))
    if listed is None:
        return {m: tuple(_interval(_similarity(x, m, picks), q)) for m in metrics}
    n_genes = x.shape[1]
    w = _draw_counts(picks, n_genes) / n_genes  # draws × genes, each row summing to 1
    a, b = listed[:, 0], listed[:, 1]
    out = {}
    for m in metrics:
        t = _rank(x) if m == "spearman" else x
        s1, s2, sab = w @ t.T, w @ (t * t).T, w @ (t[a] * t[b]).T  # weighted means of t, t², t_a t_b
        if m == "cosine":
            draws = sab / np.sqrt(s2[:, a] * s2[:, b])
        else:
            var = s2 - s1**2
            draws = (sab - s1[:, a] * s1[:, b]) / np.sqrt(var[:, a] * var[:, b])
        lo, hi = (np.full((x.shape[0], x.shape[0]), np.nan) for _ in range(2))
        lo[a, b], hi[a, b] = _interval(draws, q)
        lo[b, a], hi[b, a] = lo[a, b], hi[a, b]
        out[m] = (lo, hi)
    return out


def _check(sig: AnnData, layer: str, metrics, ci: str, level: float, pdata, donor_key: str, pairs, k) -> None:
    """Errors that name the unknown metric, layer, level or pairs, or the ``pdata`` columns missing."""
    for m in metrics:
        check_choice(m, METRICS, name="metric")
    check_choice(pairs, ["auto", "all", "neighbors"], name="pairs")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"n_neighbors must be a positive integer, got {k!r}.")
    check_choice(ci, ["genes", "none"], name="ci")
    if layer not in sig.layers:
        raise KeyError(f"sig.layers has no {layer!r}; present: {list(sig.layers.keys())}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    if pdata is not None:
        de = sig.uns.get("de", {})
        if "condition_key" not in de:
            raise ValueError("pdata is used with signatures from dp.tl.de (their uns['de'] names the condition key).")
        check_obs_keys(pdata, [donor_key, de["condition_key"]], what="pdata")


def _degs(padj: np.ndarray, lfc: np.ndarray, values: np.ndarray, alpha: float) -> tuple:
    """Each signature's genes up and down at ``padj < alpha``, and the number of genes all signatures tested."""
    called = np.nan_to_num(padj, nan=1.0) < alpha
    return called & (lfc > 0), called & (lfc < 0), np.isfinite(values).all(axis=0).sum()


def _pair_rows(
    sig: AnnData,
    group: str,
    idx,
    names,
    n_genes: int,
    est,
    bounds,
    deg,
    effect,
    alpha: float,
    min_reliability: float,
    listed: np.ndarray | None = None,
) -> list[dict]:
    """One row per listed pair (all by default) of a group's signatures: similarities, DEG overlap, effect r."""
    fitted, fit_key = _fit_keys(sig)
    platform = sig.obs["platform"].astype(str) if "platform" in sig.obs else pd.Series("", index=sig.obs_names)
    rows = []
    if listed is None:
        listed = np.column_stack(np.triu_indices(len(idx), 1))
    for i, j in listed.tolist():
        row = {"group": group, "a": names[i], "b": names[j], "n_genes": n_genes}
        for m, values in est.items():
            row[m] = float(values[i, j])
            if m in bounds:
                row[f"{m}_lo"], row[f"{m}_hi"] = float(bounds[m][0][i, j]), float(bounds[m][1][i, j])
        if deg is not None:
            row.update(_deg_overlap(*deg, i, j))
        if effect is not None:
            r, lo, hi, rel = effect
            row.update(
                {
                    "effect_r": float(np.clip(r[i, j], -1, 1)),  # beyond ±1 is sampling noise: capped
                    "effect_r_lo": float(np.clip(lo[i, j], -1, 1)),
                    "effect_r_hi": float(np.clip(hi[i, j], -1, 1)),
                    "effect_r_raw": float(r[i, j]),
                    "reliability_a": float(rel[i]),
                    "reliability_b": float(rel[j]),
                }
            )
        row["shared_reference"] = bool(fitted[idx[i]] and fit_key[idx[i]] == fit_key[idx[j]])
        row["cross_platform"] = bool(platform.iloc[idx[i]] != platform.iloc[idx[j]])
        row["note"] = _pair_note(row, alpha, min_reliability)
        row["comparable"] = not row["note"]
        rows.append(row)
    return rows


def _no_effect(row: dict, side: str, alpha: float, min_reliability: float) -> str:
    """Why signature ``side`` (``"a"`` or ``"b"``) of a table row has no effect to compare, or ``""``.

    The split-half reliability decides when it was measured (a weak but reproducible effect may call no gene);
    otherwise a signature calling no DE gene has none.
    """
    rel = row.get(f"reliability_{side}", np.nan)
    if np.isfinite(rel):
        if rel < min_reliability:
            return f"no reproducible effect (split-half reliability {rel:.2f} < {min_reliability:g})"
        return ""
    if row.get(f"n_deg_{side}") == 0:
        return f"no DE gene at padj < {alpha:g}"
    return ""


def _pair_note(row: dict, alpha: float, min_reliability: float) -> str:
    """Why a pair's similarity does not measure a shared fingerprint (``""`` when it does): the column ``note``."""
    reasons = [f"{row[s]} has {why}" for s in "ab" if (why := _no_effect(row, s, alpha, min_reliability))]
    if not reasons:
        return ""
    whose = "its" if len(reasons) == 1 else "their"
    cause = "the shared control" if row["shared_reference"] else "noise, not a shared fingerprint"
    return f"{'; '.join(reasons)}: {whose} correlation reflects {cause}"


def alike_pairs(table: pd.DataFrame, metric: str) -> tuple[pd.Series | None, pd.Series | None]:
    """The most and the least alike comparable pair of a :func:`drugprint.get.compare_table` by ``metric``.

    Only rows with a finite ``metric`` that are ``comparable`` (when the table has that column) are candidates.
    The two rows returned are never the same pair, so a caller cannot name one pair as both.

    Parameters
    ----------
    table
        Rows of :func:`drugprint.get.compare_table` (all groups, or those of one).
    metric
        A numeric column of ``table``: ``"effect_r"``, ``"spearman"``, ``"pearson"``, ``"cosine"``, ``"jaccard"`` ….

    Returns
    -------
    ``(most, least)``: the rows with the largest and the smallest ``metric`` (ties: the later and the earlier
    row of the table); ``(row, None)`` when a single pair qualifies, ``(None, None)`` when none does.

    Raises
    ------
    ValueError
        When ``metric`` is not a column of ``table``.

    Examples
    --------
    >>> import pandas as pd
    >>> from drugprint.tl._compare import alike_pairs
    >>> tab = pd.DataFrame(
    ...     {
    ...         "a": ["len", "len", "pom"],
    ...         "b": ["pom", "thal", "thal"],
    ...         "effect_r": [0.95, float("nan"), float("nan")],
    ...         "comparable": [True, False, False],
    ...     }
    ... )
    >>> most, least = alike_pairs(tab, "effect_r")
    >>> (most["a"], most["b"]), least
    (('len', 'pom'), None)
    >>> tab.loc[1, ["effect_r", "comparable"]] = [0.40, True]
    >>> [(row["a"], row["b"]) for row in alike_pairs(tab, "effect_r")]
    [('len', 'pom'), ('len', 'thal')]
    """
    if metric not in table:
        raise ValueError(f"metric {metric!r} is not a column of the table; columns: {list(table.columns)}.")
    keep = np.isfinite(pd.to_numeric(table[metric], errors="coerce").to_numpy(dtype=float))
    if "comparable" in table:
        keep &= table["comparable"].eq(True).to_numpy()
    ranked = table[keep].sort_values(metric, kind="stable")
    if ranked.empty:
        return None, None
    return ranked.iloc[-1], (ranked.iloc[0] if len(ranked) > 1 else None)


def _record(group: str, names: list[str], est: dict, metrics) -> dict:
    """A group's similarity matrices with their average-linkage clustering (the order plots show)."""
    dist = np.clip(1 - est["spearman" if "spearman" in est else metrics[0]], 0, 2)
    link = hierarchy.linkage(dist[np.triu_indices(len(names), 1)], method="average")
    return {
        "group": group,
        "names": np.asarray(names, dtype=str),
        "order": np.asarray([names[k] for k in hierarchy.leaves_list(link)], dtype=str),
        "linkage": link,
        "matrices": est,
    }
