"""``query``: each signature against an atlas of signatures (CMap's connectivity query: resemble or reverse?).

Two statistics, both computed on each query's *moving genes* (its ``n_genes`` most up and ``n_genes`` most down
genes by ``layer``) and vectorised across the atlas entries, one query at a time (memory: a few arrays of entries ×
moving genes, whatever the number of queries; the table grows by one row per query × entry kept):

- ``"spearman"``: the Spearman correlation ``r`` over the moving genes between the query and each entry (ties
  averaged, genes an entry did not test dropped pairwise). Ranking ``m`` genes of every entry is one sort of
  integer keys (the entry's rank among all genes, computed once per atlas, and the gene's position among the ``m``),
  so the cost is ``O(entries × m log m)`` per query.
- ``"wks"``: the weighted connectivity score of Subramanian et al. (2017): the weighted Kolmogorov–Smirnov
  enrichment score (Subramanian et al. 2005, weight ``|value|``) of the up genes and of the down genes in each
  entry's ranked list, ``(ES_up - ES_down) / 2`` when they have opposite signs, else 0. ES follows from the
  positions of a set's genes only (as in :mod:`drugprint.tl._stats.gsea`), here with one ranked list per row.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy.special import ndtr
from scipy.stats import rankdata

from .._anndata import to_dense
from .._checks import check_choice
from .._docs import doc_params, key_added
from .._env import progress
from .._results import caller_stacklevel, store
from .._signatures import check_signatures, condition_labels, group_labels, select_rows
from ._stats.multitest import bh

#: The methods of :func:`query`.
METHODS = ("spearman", "wks")
#: Fewest genes a query and an atlas entry must share for a score.
MIN_GENES = 10
#: Bits of a sort key that hold a gene's position among a query's moving genes (the entry's rank is above them).
_SHIFT = 16
#: Largest number of values (sets × entries × genes) of one block of the wks null (small blocks stay in cache).
_BLOCK = 1_000_000

#: What each method's p-values test, recorded in ``uns[key_added]["params"]["null"]``.
NULL_TEXT = {
    "spearman": (
        "gene permutation: the query's values shuffled over its moving genes (a gene-shuffled signature). Under it r "
        "has mean 0 and variance 1/(m-1) exactly, score = r*sqrt(m-1), p two-sided from the standard normal "
        "(conservative in the tails). It does not ask whether two compounds act alike: shared programmes "
        "(proliferation, stress, interferon) and co-varying genes make unrelated compounds correlate."
    ),
    "wks": (
        "random gene sets: the WTCS of n_perm random up and down sets of the query's sizes in each entry, "
        "p = (1 + #{|null NCS| >= |NCS|}) / (n_perm + 1), never below 1/(n_perm + 1). Genes are taken as "
        "exchangeable, which co-varying programmes violate."
    ),
}


@dataclass
class _Atlas:
    """An atlas prepared for queries: its values on the genes it shares with the queries, ranked once."""

    values: np.ndarray  # entries × shared genes, float (NaN where untested)
    codes: np.ndarray  # shared genes × entries: integer order codes (spearman) or positions (wks); sentinel for NaN
    sentinel: int
    weights: np.ndarray | None = None  # shared genes × entries, |value| (wks)
    n_finite: np.ndarray | None = None  # finite genes per entry (wks)
    nulls: dict = field(default_factory=dict)  # (k_up, k_down) → sorted |null NCS| and the sign means (wks)


@doc_params(
    key_added=key_added(
        "query_table",
        ", ``queries`` (per query: its group, moving genes and how many entries were compared, scored and "
        "excluded as itself)",
    )
)
def query(
    sig: AnnData,
    atlas: AnnData,
    *,
    layer: str = "stat",
    method: Literal["spearman", "wks"] = "spearman",
    n_genes: int = 100,
    groups: Sequence[str] | None = None,
    conditions: Sequence[str] | None = None,
    same_group: bool = False,
    n_top: int | None = None,
    n_perm: int = 1000,
    random_state: int = 0,
    verbose: bool = True,
    key_added: str = "query",
    copy: bool = False,
) -> AnnData | None:
    """Score each signature against every entry of an atlas: which known compounds it resembles or reverses.

    The connectivity query of the Connectivity Map (Lamb et al. 2006; Subramanian et al. 2017). Each row of
    ``sig`` is a query; the ``atlas`` is any signatures AnnData (one study, several joined by
    :func:`drugprint.tl.concat_signatures`, published tables read by :func:`drugprint.io.read_de_table`, or
    ``sig`` itself). Genes are matched by ``var_names``. A query's **moving genes** are its ``n_genes`` most up
    and ``n_genes`` most down genes by ``layer`` among those finite in it and present in the atlas (fewer when
    it has fewer than ``2 * n_genes``); each entry is scored on those of them it tested (at least 10).

    - ``"spearman"`` (default): ``r``, the Spearman correlation of the query's and the entry's values over the
      moving genes (ties averaged). ``score = r * sqrt(m - 1)`` (``m`` the genes used, ``n_genes`` in the table)
      is a z: under the null below ``r`` has mean 0 and variance ``1 / (m - 1)`` exactly, so scores compare
      across entries, cell types and gene counts. The p-value is two-sided from the standard normal, which
      simulation of the exact permutation distribution shows to be slightly conservative in the tails (at
      ``m = 200``: 0.91–1.0 times the nominal rate from 0.05 to 1e-4; Student's t with ``m - 2`` df is
      1.0–1.1 times, too liberal for FDR over thousands of entries).
    - ``"wks"``: CMap's weighted connectivity score ``wtcs`` (``(ES_up - ES_down) / 2`` when the weighted
      Kolmogorov–Smirnov scores of the up and the down genes in the entry's ranked list have opposite signs,
      else 0), normalised per entry by the mean of its null scores of the same sign (``score`` = NCS). The null
      is ``n_perm`` random up and down sets of the same sizes from the shared genes, common to all queries
      with those sizes; ``p = (1 + #{|null NCS| >= |NCS|}) / (n_perm + 1)``, so never below
      ``1 / (n_perm + 1)``: Benjamini–Hochberg over thousands of entries needs ``n_perm`` well above their
      number for anything to pass.

    Benjamini–Hochberg adjusts within each query across the entries scored. An entry with the query's name, or
    with the query's values on every shared gene (the same signature renamed, e.g. by ``concat_signatures``), is
    the query itself and is left out. By default each query is compared with every entry, of any cell type;
    ``same_group=True`` keeps the entries of the query's group (cell type or line) only. Each entry is ranked once;
    1,000 queries against 3,000 entries of 3,000 genes take about 10–15 s with ``"spearman"`` (``"wks"`` adds its
    null, about 20–30 s for 3,000 entries at ``n_perm=1000``).

    **What the null asks.** Both p-values answer "is this entry's agreement with the query larger than with a
    gene-shuffled signature?". They do not say that two compounds act alike: unrelated compounds correlate through
    programmes many perturbations move (proliferation, stress, interferon), genes co-vary, and signatures
    measured against the same control share its noise. Read the top hits as leads and compare a hit's score with
    those of other compounds in the same cell type. Rows whose query and entry were tested against the same control
    in the same study (same group and reference, and the same ``obs["study"]`` or the same ``dp.tl.de`` run) are
    flagged ``shared_control``, with a warning: in simulated screens 99.9 % of pairs of inactive compounds sharing
    their DMSO were called similar at ``padj < 0.05``, against 5 % at ``p < 0.05`` between independent screens.

    Parameters
    ----------
    {sig}
        Each row (of ``groups`` and ``conditions``) is a query.
    atlas
        Signatures to score against (may be ``sig``); needs ``layer``.
    layer
        The layer of both holding each gene's value (``"stat"``, ``"log2fc"`` …).
    method
        ``"spearman"`` or ``"wks"`` (see above).
    n_genes
        Moving genes per direction (5 to 32767).
    groups, conditions
        Query only the rows of ``sig`` of these groups (cell types) and conditions; default all.
    same_group
        Compare each query only with atlas entries of its own group (the group columns of ``sig`` and ``atlas``,
        ``"all"`` when ungrouped).
    n_top
        Store only each query's ``n_top`` highest and ``n_top`` lowest scores (``None``: every entry); p-values
        and their adjustment always use every entry.
    n_perm
        Random gene sets of the ``"wks"`` null.
    {random_state}
    verbose
        Show a progress bar over the queries (in a terminal).
    {key_added}
    {copy}

    Returns
    -------
    {returns_copy}

    References
    ----------
    Lamb J. et al. (2006). The Connectivity Map. *Science* 313, 1929–1935.
    Subramanian A. et al. (2017). A next generation Connectivity Map: L1000 platform and the first 1,000,000
    profiles. *Cell* 171, 1437–1452.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK", "CD8 T", "Myeloma"], method="voom", verbose=False)
    >>> dp.tl.query(sig, sig, groups=["NK"], verbose=False)  # NK's signatures against all 15
    >>> tab = dp.get.query_table(sig, query="NK|mezigdomide vs DMSO")
    >>> len(tab), tab["reference"].iloc[0]  # itself left out; closest: the other CELMoD in NK cells
    (14, 'NK|iberdomide vs DMSO')
    >>> tab[["reference", "score", "r", "padj"]].head(3)  # doctest: +SKIP
                     reference      score         r          padj
    0    NK|iberdomide vs DMSO  11.670470  0.827298  2.525932e-30
    1  NK|pomalidomide vs DMSO  10.586728  0.750473  2.403694e-25
    2  NK|lenalidomide vs DMSO  10.502784  0.744523  3.913910e-25

    Drugs tested against the same control correlate through its noise too (see :func:`drugprint.tl.compare`):
    the NK signatures' high scores with each other are partly that.
    """
    check_signatures(sig, layers=(layer,))
    check_signatures(atlas, layers=(layer,), what="atlas")
    check_choice(method, METHODS, name="method")
    _check_numbers(atlas, n_genes=n_genes, n_top=n_top, n_perm=n_perm)
    rows = np.sort(select_rows(sig, groups, conditions))
    shared = _shared_genes(sig, atlas)
    prep = _prepare(_dense(atlas.layers[layer][:, atlas.var_names.get_indexer(shared)]), method)
    queries = _dense(sig.layers[layer][rows][:, sig.var_names.get_indexer(shared)])
    candidates = _candidates(sig, atlas, rows, prep.values, queries, same_group)
    parts, summary = [], []
    for i in progress(range(rows.size), total=rows.size, desc="dp.tl.query", verbose=verbose):
        cols, keep = candidates(i)
        ids = np.arange(atlas.n_obs) if cols is None else cols
        up, down = _moving(queries[i], n_genes)
        if up.size + down.size < MIN_GENES:
            summary.append((i, up.size + down.size, int(keep.sum()), 0, int((~keep).sum())))
            continue
        if method == "spearman":
            r, m = _spearman(prep, np.concatenate([up, down]), queries[i], cols)
            score, extra = r * np.sqrt(m - 1.0), r
            pvalue = 2 * ndtr(-np.abs(score))
        else:
            score, pvalue, extra, m = _wks(prep, up, down, cols, n_perm, random_state)
        found = _rows(i, ids[keep], score[keep], pvalue[keep], extra[keep], m[keep], n_top)
        parts.append(found)
        summary.append((i, up.size + down.size, int(keep.sum()), found.pop("n_scored"), int((~keep).sum())))
    _warn_skipped(sig, rows, summary)
    table = _table(sig, atlas, rows, parts, method)
    table["shared_control"] = _shared_control(sig, atlas, table)
    if table["shared_control"].any():
        warnings.warn(
            f"{int(table['shared_control'].sum())} of {len(table)} rows compare signatures tested against the same "
            "control in the same study (table column shared_control): they correlate through the control's noise, "
            "and their p-values do not hold (in simulated screens 99.9 % of pairs of inactive compounds were called "
            "similar at padj < 0.05). Query against signatures of another experiment, or read those rows by rank.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    entries = {
        "table": table,
        "queries": _summary(sig, rows, summary),
    }
    params = {
        "layer": layer,
        "method": method,
        "n_genes": int(n_genes),
        "groups": list(groups) if groups is not None else None,
        "conditions": list(conditions) if conditions is not None else None,
        "same_group": bool(same_group),
        "n_top": n_top,
        "n_perm": int(n_perm) if method == "wks" else None,
        "random_state": int(random_state),
        "atlas": {"n_entries": int(atlas.n_obs), "n_genes_shared": int(shared.size)},
        "self_matches": "excluded: entries with the query's name or with its values on every shared gene",
        "null": NULL_TEXT[method],
        "padj": "Benjamini-Hochberg within each query across the entries scored",
    }
    return store(sig, key_added, entries, params, copy=copy, tool="query", getter="query_table")


def _check_numbers(atlas: AnnData, *, n_genes: int, n_top: int | None, n_perm: int) -> None:
    """Errors naming the argument for an empty atlas and out-of-range numbers."""
    if atlas.n_obs == 0:
        raise ValueError("atlas holds no signature (0 rows); pass signatures to query against.")
    if int(n_genes) != n_genes or not MIN_GENES // 2 <= n_genes < 2 ** (_SHIFT - 1):
        raise ValueError(
            f"n_genes must be an integer from {MIN_GENES // 2} to {2 ** (_SHIFT - 1) - 1}, got {n_genes!r}."
        )
    if n_top is not None and (int(n_top) != n_top or n_top < 1):
        raise ValueError(f"n_top must be None or a positive integer, got {n_top!r}.")
    if int(n_perm) != n_perm or n_perm < 1:
        raise ValueError(f"n_perm must be a positive integer, got {n_perm!r}.")


def _shared_genes(sig: AnnData, atlas: AnnData) -> pd.Index:
    """The ``var_names`` of ``sig`` also in ``atlas`` (in ``sig``'s order); an error naming the counts if too few."""
    for what, obj in (("sig", sig), ("atlas", atlas)):
        if not obj.var_names.is_unique:
            dup = obj.var_names[obj.var_names.duplicated()].unique()[:5].tolist()
            raise ValueError(f"{what}.var_names repeat genes (e.g. {dup}); make them unique to match genes by name.")
    shared = sig.var_names[sig.var_names.isin(atlas.var_names)]
    if shared.size < MIN_GENES:
        raise ValueError(
            f"sig and atlas share {shared.size} gene(s) by var_names (sig has {sig.n_vars}, e.g. "
            f"{sig.var_names[:3].tolist()}; atlas has {atlas.n_vars}, e.g. {atlas.var_names[:3].tolist()}); at least "
            f"{MIN_GENES} are needed. Check that both use the same gene identifiers (symbols?)."
        )
    return shared


def _dense(values) -> np.ndarray:
    """A (part of a) layer as a dense float array."""
    return np.asarray(to_dense(values), dtype=float)


def _prepare(values: np.ndarray, method: str) -> _Atlas:
    """Rank every atlas entry once over the shared genes (entries × genes ``values``).

    Spearman: order codes, equal for equal values; wks: positions in the entry's descending order (ties by gene
    order) with ``|value|`` weights. Untested genes (NaN) get the sentinel, which sorts last.
    """
    n, g = values.shape
    code_type = np.int16 if g + 1 < 2**15 else np.int32
    codes = np.empty((g, n), dtype=code_type)
    finite = np.isfinite(values)
    for start in range(0, n, 1000):  # bounded memory for large atlases
        block = values[start : start + 1000]
        if method == "spearman":
            order = np.argsort(block, axis=1, kind="stable")  # NaN last
            ranked = np.take_along_axis(block, order, axis=1)
            new = np.ones(ranked.shape, dtype=bool)
            new[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
            dense = np.cumsum(new, axis=1)  # equal values, equal codes
        else:
            order = np.argsort(np.where(np.isfinite(block), -block, np.inf), axis=1, kind="stable")
            dense = np.broadcast_to(np.arange(g), block.shape)
        placed = np.empty(block.shape, dtype=code_type)
        np.put_along_axis(placed, order, dense.astype(code_type), axis=1)
        codes[:, start : start + block.shape[0]] = np.where(finite[start : start + 1000], placed, g + 1).T
    if method == "spearman":
        return _Atlas(values, codes, g + 1)
    weights = np.ascontiguousarray(np.abs(np.nan_to_num(values)).T)
    return _Atlas(values, codes, g + 1, weights=weights, n_finite=finite.sum(axis=1))


def _candidates(sig: AnnData, atlas: AnnData, rows: np.ndarray, values: np.ndarray, queries: np.ndarray, same: bool):
    """A function giving, per query, the atlas entries to score and which of them are not the query itself.

    The entries are those of the query's group with ``same``, else all (``None``); the query itself is an entry of
    its name, or with its values on every shared gene.
    """
    own = pd.Index(atlas.obs_names).get_indexer(sig.obs_names[rows])
    by_data: dict[bytes, list[int]] = {}
    for e, row in enumerate(values):
        by_data.setdefault(hashlib.blake2b(row.tobytes(), digest_size=16).digest(), []).append(e)
    query_groups = group_labels(sig).to_numpy()[rows]
    entry_groups = group_labels(atlas).to_numpy()
    members = {g: np.flatnonzero(entry_groups == g) for g in dict.fromkeys(query_groups)} if same else {}

    def entries(i: int) -> tuple[np.ndarray | None, np.ndarray]:
        cols = members[query_groups[i]] if same else None
        digest = hashlib.blake2b(queries[i].tobytes(), digest_size=16).digest()
        itself = [e for e in by_data.get(digest, []) if np.array_equal(values[e], queries[i], equal_nan=True)]
        itself += [int(own[i])] if own[i] >= 0 else []
        return cols, ~np.isin(np.arange(atlas.n_obs) if cols is None else cols, itself)

    return entries


def _sub(values: np.ndarray, cols: np.ndarray | None) -> np.ndarray:
    """The entries ``cols`` (last axis) of ``values``; all of them (no copy) for ``None``."""
    return values if cols is None else values[..., cols]


def _moving(values: np.ndarray, n_genes: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_genes`` most up and most down finite genes (positions), fewer when there are under ``2 * n_genes``."""
    finite = np.flatnonzero(np.isfinite(values))
    k = min(int(n_genes), finite.size // 2)
    order = finite[np.argsort(-values[finite], kind="stable")]
    return order[:k], order[::-1][:k]


def _runs(ranked: np.ndarray, valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per row of sorted values, the first and last position of each value's run of ties (invalid: own runs)."""
    n, m = ranked.shape
    new = np.ones((n, m), dtype=bool)
    new[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    if valid is not None:
        new[:, 1:] |= ~valid[:, 1:]
    idx = np.arange(m, dtype=np.int32)
    start = np.maximum.accumulate(np.where(new, idx, np.int32(0)), axis=1)
    last = np.ones((n, m), dtype=bool)
    last[:, :-1] = new[:, 1:]
    end = np.minimum.accumulate(np.where(last, idx, np.int32(m - 1))[:, ::-1], axis=1)[:, ::-1]
    return start, end


def _spearman(prep: _Atlas, genes: np.ndarray, q: np.ndarray, cols: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Spearman ``r`` and the genes used ``m`` of the query ``q`` against entries ``cols`` over ``genes``.

    Each entry's genes are sorted once as integer keys (its order code, then the gene's position); genes the entry
    did not test sort last and drop out, and the query is re-ranked on the genes left when any dropped.
    """
    m = genes.size
    codes = _sub(prep.codes[genes], cols).T  # entries × m
    key_type = np.int32 if prep.sentinel < 2 ** (31 - _SHIFT) else np.int64
    keys = (codes.astype(key_type) << _SHIFT) | np.arange(m, dtype=key_type)
    keys.sort(axis=1)
    order = (keys & ((1 << _SHIFT) - 1)).astype(np.intp)
    ranked = keys >> _SHIFT
    valid = ranked < prep.sentinel
    k = valid.sum(axis=1)
    pos = np.broadcast_to(np.arange(1.0, m + 1), ranked.shape)
    tied = ((ranked[:, 1:] == ranked[:, :-1]) & valid[:, 1:]).any(axis=1)
    if tied.any():  # average the ranks of ties, in the entries that have them
        start, end = _runs(ranked[tied], valid[tied])
        pos = pos.copy()
        pos[tied] = (start + end) / 2 + 1
    q = q[genes]
    if valid.all():
        q_ranks = rankdata(q)[order]
    else:
        q_ranks = np.take_along_axis(_restricted_ranks(q, codes < prep.sentinel), order, axis=1)
    centre = (k[:, None] + 1) / 2
    x = np.where(valid, pos - centre, 0.0)
    y = np.where(valid, q_ranks - centre, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x * y).sum(axis=1) / np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    r = np.where(k >= MIN_GENES, np.clip(r, -1.0, 1.0), np.nan)
    return r, k.astype(float)


def _restricted_ranks(q: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per row of ``valid`` (entries × genes), the query's average ranks among the genes valid in that row."""
    order = np.argsort(q, kind="stable")
    start, end = (x[0].astype(np.intp) for x in _runs(q[order][None, :]))
    inside = valid[:, order]
    upto = np.cumsum(inside, axis=1, dtype=np.int32)
    before = upto - inside
    low = before[:, start]
    ranks_sorted = low + (upto[:, end] - low + 1) / 2
    out = np.empty(valid.shape)
    out[:, order] = ranks_sorted
    return out


def _es(positions: np.ndarray, weights: np.ndarray, n_finite: np.ndarray, sentinel: int) -> np.ndarray:
    """Weighted Kolmogorov–Smirnov enrichment score per row, each row with its own ranked list.

    A row's set has its genes at ``positions`` (0-based) of its list of ``n_finite`` genes, with ``weights``
    (``|value|``); positions at ``sentinel`` (untested genes) are dropped. ES is the largest deviation from 0 of
    the running sum (as :func:`drugprint.tl._stats.gsea.enrichment`, which has one list and many sets).
    """
    k = positions.shape[1]
    key_type = np.int32 if sentinel < 2 ** (31 - _SHIFT) else np.int64
    keys = (positions.astype(key_type) << _SHIFT) | np.arange(k, dtype=key_type)
    keys.sort(axis=1)
    pos = keys >> _SHIFT
    valid = pos < sentinel
    w = np.where(valid, np.take_along_axis(weights, (keys & ((1 << _SHIFT) - 1)).astype(np.intp), axis=1), 0.0)
    size = valid.sum(axis=1)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cum = np.cumsum(w, axis=1) / total[:, None]
        before = cum - w / total[:, None]
        dec = 1.0 / (n_finite - size)[:, None]
    j = np.cumsum(valid, axis=1)
    top = np.where(valid, cum - (pos + 1 - j) * dec, -np.inf)  # right after each of the set's genes
    bottom = np.where(valid, before - (pos - j + 1) * dec, np.inf)  # right before it
    high, low = np.maximum(top.max(axis=1), 0.0), np.minimum(bottom.min(axis=1), 0.0)
    es = np.where(high > -low, high, low)
    return np.where((total > 0) & (size < n_finite), es, 0.0)


def _wtcs(prep: _Atlas, up: np.ndarray, down: np.ndarray, cols: np.ndarray | None) -> np.ndarray:
    """WTCS (sets × entries) of the up sets ``up`` and down sets ``down`` (sets × genes) in entries ``cols``."""
    scores = []
    for genes in (up, down):
        n_sets, k = genes.shape
        positions = _sub(prep.codes[genes], cols).transpose(0, 2, 1).reshape(-1, k)
        weights = _sub(prep.weights[genes], cols).transpose(0, 2, 1).reshape(-1, k)
        n_finite = np.tile(_sub(prep.n_finite, cols), n_sets)
        scores.append(_es(positions, weights, n_finite, prep.sentinel).reshape(n_sets, -1))
    es_up, es_down = scores
    return np.where(np.sign(es_up) * np.sign(es_down) < 0, (es_up - es_down) / 2, 0.0)


def _wks_null(prep: _Atlas, k_up: int, k_down: int, n_perm: int, random_state: int) -> tuple:
    """The null of one pair of set sizes, the same for every query with those sizes.

    Its draws are seeded by ``random_state`` and the sizes, so a query's p-value does not depend on which other
    queries ran before it.

    Per entry: the mean positive and the mean negative WTCS of ``n_perm`` random up and down sets of these sizes
    from the shared genes (the normalisers), and the ``|NCS|`` of those sets sorted within each entry and laid end
    to end, the entries ``step`` apart, so that one search counts the null scores beyond a query's.
    """
    n_genes, n = prep.codes.shape
    rng = np.random.default_rng([random_state, k_up, k_down])
    drawn = np.stack([rng.choice(n_genes, k_up + k_down, replace=False) for _ in range(n_perm)])
    block = max(1, _BLOCK // max(1, n * (k_up + k_down)))
    null = np.concatenate(
        [_wtcs(prep, drawn[b : b + block, :k_up], drawn[b : b + block, k_up:], None) for b in range(0, n_perm, block)]
    )
    means = []
    for part in (np.where(null > 0, null, 0.0), np.where(null < 0, -null, 0.0)):
        count = (part > 0).sum(axis=0)
        means.append(np.where(count > 0, part.sum(axis=0) / np.maximum(count, 1), np.nan))
    ncs = np.sort(np.abs(_normalise(null, *means)).T, axis=1)  # entries × n_perm
    step = (np.nanmax(ncs) if np.isfinite(ncs).any() else 0.0) + 1.0
    laid = (np.nan_to_num(ncs, nan=step - 1.0) + step * np.arange(n)[:, None]).ravel()
    return laid, step, *means


def _normalise(wtcs: np.ndarray, pos_mean: np.ndarray, neg_mean: np.ndarray) -> np.ndarray:
    """NCS: WTCS over the entry's mean null score of the same sign (0 stays 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(wtcs > 0, wtcs / pos_mean, np.where(wtcs < 0, wtcs / neg_mean, 0.0))


def _wks(prep: _Atlas, up: np.ndarray, down: np.ndarray, cols: np.ndarray | None, n_perm: int, random_state: int):
    """NCS, its permutation p-value, WTCS and genes tested of one query against entries ``cols``."""
    sizes = (up.size, down.size)
    if sizes not in prep.nulls:  # one null per pair of set sizes, shared by the queries with those sizes
        prep.nulls[sizes] = _wks_null(prep, *sizes, n_perm, random_state)
    laid, step, pos_mean, neg_mean = prep.nulls[sizes]
    ids = np.arange(prep.codes.shape[1]) if cols is None else cols
    wtcs = _wtcs(prep, up[None, :], down[None, :], cols)[0]
    ncs = _normalise(wtcs, pos_mean[ids], neg_mean[ids])
    size = np.minimum(np.abs(np.nan_to_num(ncs)) * (1 - 1e-12), step - 0.5)  # a hair below: equal nulls count
    below = np.searchsorted(laid, size + step * ids, side="left") - ids * n_perm
    pvalue = (1.0 + n_perm - below) / (n_perm + 1.0)
    tested = (_sub(prep.codes[np.concatenate([up, down])], cols) < prep.sentinel).sum(axis=0).astype(float)
    ok = (tested >= MIN_GENES) & np.isfinite(ncs)
    return np.where(ok, ncs, np.nan), np.where(ok, pvalue, np.nan), np.where(ok, wtcs, np.nan), tested


def _rows(i: int, cols: np.ndarray, score, pvalue, extra, n_used, n_top: int | None) -> dict[str, np.ndarray]:
    """One query's rows: its scored entries, ranked by score (1 = highest), the ``n_top`` at each end kept."""
    ok = np.isfinite(score)
    cols, score, pvalue, extra, n_used = cols[ok], score[ok], pvalue[ok], extra[ok], n_used[ok]
    ranked = np.argsort(-score, kind="stable")
    rank = np.empty(score.size, dtype=np.int32)
    rank[ranked] = np.arange(1, score.size + 1, dtype=np.int32)
    order = ranked
    if n_top is not None and order.size > 2 * n_top:
        order = np.concatenate([order[:n_top], order[-n_top:]])
    return {
        "n_scored": int(score.size),
        "query": np.full(order.size, i, dtype=np.int32),
        "entry": cols[order].astype(np.int32),
        "score": score[order],
        "extra": extra[order],
        "n_genes": n_used[order].astype(np.int32),
        "pvalue": pvalue[order],
        "padj": bh(pvalue)[order],
        "rank": rank[order],
    }


def _codes(labels: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes of string labels, and their categories in order of first appearance."""
    codes, cats = pd.factorize(labels.astype(str))
    return codes, list(cats)


def _table(sig: AnnData, atlas: AnnData, rows: np.ndarray, parts: list, method: str) -> pd.DataFrame:
    """The long table: one row per query × atlas entry kept, queries in ``sig``'s order, then by rank."""
    cat = {k: np.concatenate([p[k] for p in parts]) if parts else np.empty(0) for k in ("query", "entry")}
    num = {
        k: np.concatenate([p[k] for p in parts]) if parts else np.empty(0)
        for k in ("score", "extra", "n_genes", "pvalue", "padj", "rank")
    }
    entry = cat["entry"].astype(np.intp)
    table = pd.DataFrame(
        {
            "query": pd.Categorical.from_codes(cat["query"].astype(np.intp), sig.obs_names[rows].astype(str)),
            "reference": pd.Categorical.from_codes(entry, atlas.obs_names.astype(str)),
        }
    )
    labels = {"group": group_labels(atlas), "condition": condition_labels(atlas)}
    if "study" in atlas.obs:
        labels["study"] = atlas.obs["study"]
    for name, series in labels.items():
        codes, cats = _codes(series)
        table[name] = pd.Categorical.from_codes(codes[entry], cats)
    table["score"] = num["score"].astype(float)
    table["r" if method == "spearman" else "wtcs"] = num["extra"].astype(float)
    table["n_genes"] = num["n_genes"].astype(np.int32)
    table["pvalue"] = num["pvalue"].astype(float)
    table["padj"] = num["padj"].astype(float)
    direction = np.where(table["score"] > 0, 0, np.where(table["score"] < 0, 1, 2))
    table["direction"] = pd.Categorical.from_codes(direction, ["similar", "reversing", "neither"])
    table["rank"] = num["rank"].astype(np.int32)
    return table


def _shared_control(sig: AnnData, atlas: AnnData, table: pd.DataFrame) -> np.ndarray:
    """Rows whose query and entry were tested against the same control in the same study.

    Same group and reference, and the same study: ``obs["study"]`` equal where both have it, else both from the
    same ``dp.tl.de`` run (the same object, or equal ``uns["de"]["fits"]`` as subsets and copies keep).
    """
    if table.empty:
        return np.zeros(0, dtype=bool)
    q, e = sig.obs_names.get_indexer(table["query"]), atlas.obs_names.get_indexer(table["reference"])
    out = np.ones(len(table), dtype=bool)
    for labels in (group_labels, lambda s: s.obs["reference"] if "reference" in s.obs else None):
        a, b = labels(sig), labels(atlas)
        if a is None or b is None:
            return np.zeros(len(table), dtype=bool)
        out &= a.astype(str).to_numpy()[q] == b.astype(str).to_numpy()[e]
    if "study" in sig.obs and "study" in atlas.obs:
        return out & (sig.obs["study"].astype(str).to_numpy()[q] == atlas.obs["study"].astype(str).to_numpy()[e])
    fits = [s.uns.get("de", {}).get("fits") for s in (sig, atlas)]
    same_run = atlas is sig or (all(isinstance(f, pd.DataFrame) for f in fits) and fits[0].equals(fits[1]))
    return out & same_run


def _summary(sig: AnnData, rows: np.ndarray, summary: list) -> pd.DataFrame:
    """Per query: its group, moving genes, entries compared and scored, and entries left out as itself."""
    cols = ["index", "n_moving", "n_compared", "n_scored", "n_self"]
    out = pd.DataFrame(summary, columns=cols).astype({c: np.int64 for c in cols})
    names = sig.obs_names[rows].astype(str)
    return pd.DataFrame(
        {
            "query": names[out["index"]],
            "group": group_labels(sig).to_numpy()[rows][out["index"]].astype(str),
            **{c: out[c].to_numpy() for c in cols[1:]},
        }
    )


def _warn_skipped(sig: AnnData, rows: np.ndarray, summary: list) -> None:
    """Warn about the queries not scored (too few moving genes, no entry of their group), fail when none was."""
    few = [sig.obs_names[rows[i]] for i, n_moving, *_ in summary if n_moving < MIN_GENES]
    alone = [
        sig.obs_names[rows[i]] for i, n_moving, n_compared, *_ in summary if n_moving >= MIN_GENES and not n_compared
    ]
    if few and len(few) == len(summary):
        raise ValueError(
            f"No query has {MIN_GENES} finite values on the genes it shares with the atlas (e.g. {few[:3]}); "
            "check the layer and the gene identifiers."
        )
    for names, why in (
        (few, f"with fewer than {MIN_GENES} finite values on the genes shared with the atlas"),
        (alone, "without an atlas entry to compare with (same_group=True: none of their group, or only themselves)"),
    ):
        if names:
            warnings.warn(
                f"{len(names)} quer{'y' if len(names) == 1 else 'ies'} {why} not scored: "
                f"{names[:5]}{' …' if len(names) > 5 else ''}.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
