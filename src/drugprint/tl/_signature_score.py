"""``signature_score``: a signature's up and down genes scored in each sample of a cohort (singscore)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._anndata import as_anndata, get_matrix, to_dense
from .._docs import doc_params
from .._results import caller_stacklevel, store
from .._signatures import called, check_signatures
from ..resources import genesets, harmonise_net
from ._stats.singscore import singscore

#: Samples ranked at once (bounds memory on large cohorts: a block of samples × genes).
_BLOCK = 512
_SEP = "\x00"

SignatureInput = AnnData | pd.DataFrame | Mapping | Sequence[str] | str


def signature_genes(
    sig: SignatureInput,
    signatures: Sequence[str] | None = None,
    *,
    alpha: float = 0.05,
    lfc_threshold: float = 0.0,
    n_genes: int | None = 200,
) -> pd.DataFrame:
    """The up and down genes of each signature as a long table (``signature``, ``direction``, ``gene``, ``rank``).

    ``sig`` is a signatures AnnData (genes at ``padj < alpha`` and ``|log2FC| > lfc_threshold``, the ``n_genes``
    most significant per direction), a decoupler-style net (``source``, ``target``, optional ``weight``: a
    negative weight makes a down gene), a gene-set collection name of :func:`drugprint.resources.genesets`, a
    mapping of names to gene lists (up genes) or to ``{"up": [...], "down": [...]}``, or one list of genes.
    ``signatures`` picks rows (``obs_names``) or sets by name. ``rank`` orders each list, most significant first.
    """
    if isinstance(sig, AnnData):
        return _from_signatures(sig, signatures, alpha, lfc_threshold, n_genes)
    if isinstance(sig, str):
        sig = genesets(sig)
    if isinstance(sig, pd.DataFrame):
        missing = {"source", "target"} - set(sig.columns)
        if missing:
            raise KeyError(f"A net needs the columns 'source' and 'target'; {sorted(missing)} missing.")
        weight = sig["weight"].to_numpy(dtype=float) if "weight" in sig else np.ones(len(sig))
        long = pd.DataFrame(
            {
                "signature": sig["source"].astype(str).to_numpy(),
                "direction": np.where(weight < 0, "down", "up"),
                "gene": sig["target"].astype(str).to_numpy(),
            }
        )
    elif isinstance(sig, Mapping):
        long = pd.concat([_lists(str(name), genes) for name, genes in sig.items()], ignore_index=True)
    elif isinstance(sig, Sequence):
        long = _lists("signature", sig)
    else:
        raise TypeError(
            f"sig must be signatures (AnnData), a net (DataFrame), a collection name, a mapping of names to gene lists "
            f"or a list of genes; got {type(sig).__name__}."
        )
    if signatures is not None:
        unknown = sorted(set(signatures) - set(long["signature"]))
        if unknown:
            raise KeyError(f"signatures {unknown} are not in sig; present: {sorted(set(long['signature']))[:20]}.")
        long = long[long["signature"].isin(list(signatures))]
    long = long.drop_duplicates().reset_index(drop=True)
    both = long.duplicated(["signature", "gene"], keep=False)
    if both.any():
        bad = long.loc[both, ["signature", "gene"]].drop_duplicates().head(5).values.tolist()
        raise ValueError(f"Genes listed both up and down in one signature (signature, gene): {bad}; keep one.")
    long["rank"] = long.groupby(["signature", "direction"]).cumcount() + 1
    return long


def _lists(name: str, genes) -> pd.DataFrame:
    """One named signature from a gene list (up) or a ``{"up": …, "down": …}`` mapping."""
    if isinstance(genes, str):
        raise TypeError(f"Signature {name!r}: give a list of genes, not the string {genes!r}.")
    parts = genes if isinstance(genes, Mapping) else {"up": genes}
    unknown = set(parts) - {"up", "down"}
    if unknown:
        raise ValueError(f"Signature {name!r}: directions must be 'up' and 'down'; got {sorted(unknown)}.")
    rows = [(name, d, str(g)) for d in ("up", "down") for g in parts.get(d, ())]
    return pd.DataFrame(rows, columns=["signature", "direction", "gene"])


def _from_signatures(
    sig: AnnData, names: Sequence[str] | None, alpha: float, lfc_threshold: float, n_genes: int | None
) -> pd.DataFrame:
    """Each row's genes at ``padj < alpha`` and ``|log2FC| > lfc_threshold``, the ``n_genes`` smallest padj first."""
    check_signatures(sig, layers=("padj", "log2fc"))
    if not 0 < alpha <= 1 or lfc_threshold < 0 or (n_genes is not None and n_genes < 1):
        raise ValueError(
            f"Need 0 < alpha <= 1, lfc_threshold >= 0 and n_genes >= 1 (or None); got alpha={alpha}, "
            f"lfc_threshold={lfc_threshold}, n_genes={n_genes}."
        )
    names = list(sig.obs_names) if names is None else list(names)
    unknown = [n for n in names if n not in sig.obs_names]
    if unknown:
        raise KeyError(f"signatures {unknown} are not rows of sig; rows: {sig.obs_names[:20].tolist()}.")
    rows = sig.obs_names.get_indexer(names)
    padj = np.nan_to_num(np.asarray(sig.layers["padj"], dtype=float)[rows], nan=1.0)
    lfc = np.nan_to_num(np.asarray(sig.layers["log2fc"], dtype=float)[rows])
    order_by = (
        np.abs(np.nan_to_num(np.asarray(sig.layers["stat"], dtype=float)[rows])) if "stat" in sig.layers else None
    )
    frames = []
    for i, calls in enumerate(zip(*called(padj, lfc, alpha, lfc_threshold), strict=True)):
        for direction, mask in zip(("up", "down"), calls, strict=True):
            hit = np.flatnonzero(mask)
            tiebreak = order_by[i, hit] if order_by is not None else np.abs(lfc[i, hit])
            hit = hit[np.lexsort((-tiebreak, padj[i, hit]))][:n_genes]
            frames.append(pd.DataFrame({"signature": names[i], "direction": direction, "gene": sig.var_names[hit]}))
    long = pd.concat(frames, ignore_index=True)
    long["rank"] = long.groupby(["signature", "direction"]).cumcount() + 1
    return long


def _match(long: pd.DataFrame, var: pd.DataFrame, species: str | None) -> tuple[pd.DataFrame, str]:
    """``long`` with the cohort gene each signature gene matched (``matched``; ``""`` when absent)."""
    net = pd.DataFrame({"source": long["signature"] + _SEP + long["direction"], "target": long["gene"], "weight": 1.0})
    matched, how = harmonise_net(net, var, species=species)
    lookup = matched.set_index(["source", "input_target"])["target"]
    keys = pd.MultiIndex.from_arrays([net["source"], net["target"]])
    out = long.copy()
    out["matched"] = lookup.reindex(keys).fillna("").to_numpy()
    out["used"] = out["matched"] != ""
    return out, how


def _column_names(names: list[str], key_added: str) -> dict[str, str]:
    """``obs`` column of each signature: ``key_added`` for one, ``f"{key_added}_{name}"`` for several."""
    if len(names) == 1:
        return {names[0]: key_added}
    return {n: f"{key_added}_{n}".replace("/", "_") for n in names}


@doc_params()
def signature_score(
    cohort: AnnData,
    sig: SignatureInput,
    *,
    signatures: Sequence[str] | None = None,
    alpha: float = 0.05,
    lfc_threshold: float = 0.0,
    n_genes: int | None = 200,
    layer: str | None = None,
    min_genes: int = 5,
    species: Literal["human", "mouse"] | None = None,
    key_added: str = "signature_score",
    copy: bool = False,
) -> AnnData | None:
    """Score each sample of a cohort on a signature's up and down genes (singscore), e.g. for survival analysis.

    A drug's signature (the genes it moved in a cell type) becomes one number per patient: how far that
    patient's expression leans the way the drug moves it. The score is singscore's (Foroutan et al. 2018): in
    each sample, genes are ranked by expression (ties averaged); the mean rank of the up genes and the mean
    descending rank of the down genes are each rescaled to −0.5 … 0.5 by their smallest and largest possible
    values, and added (−1 … 1; a signature of up genes only scores −0.5 … 0.5). Only ranks within a sample
    enter, so the score is the same on counts, TPM, log values or any per-sample normalisation of the cohort; it
    does depend on which genes the cohort measures (all of them take part in the ranking), so compare scores
    within a cohort, not across platforms.

    Signatures come from :func:`drugprint.tl.de` or :func:`drugprint.io.read_de_table` (for each row, the genes
    at ``padj < alpha`` and ``|log2FC| > lfc_threshold``, at most ``n_genes`` per direction, smallest ``padj``
    first), a gene-set collection (a name of :func:`drugprint.resources.genesets` or a decoupler-style net with
    ``source``, ``target`` and optional ``weight``; negative weights are down genes), a mapping of names to gene
    lists or to ``{"up": [...], "down": [...]}``, or one list of genes. Signature genes meet the cohort's genes
    through :func:`drugprint.resources.harmonise_net` (``var_names`` or an identifier column of ``var``, Ensembl
    versions ignored, mouse orthologues). A signature with fewer than ``min_genes`` genes in the cohort is not
    scored (a warning names it; its row of the table says why).

    Parameters
    ----------
    cohort
        Samples × genes (bulk counts, TPM, log expression or array intensities; a MuData's ``"rna"``), finite.
    sig
        The signatures (see above).
    signatures
        Which of them: ``obs_names`` of a signatures AnnData, or set names; default all.
    alpha, lfc_threshold, n_genes
        Which genes of a signatures AnnData make its up and down lists (``n_genes=None``: every gene called).
    layer
        The layer of ``cohort`` holding expression (``None``: ``X``).
    min_genes
        Fewest signature genes (up and down together) present in the cohort to score it.
    species
        How human signatures meet the cohort's genes (``None``: mouse data detected and matched through
        orthologues), as in :func:`drugprint.resources.harmonise_net`.
    key_added
        The scores go to ``obs[key_added]`` (one signature) or ``obs[f"{key_added}_{name}"]`` (several); ``uns
        [key_added]`` holds the ``table`` (per signature: its ``column``, genes listed, used and missing per
        direction; read it with :func:`drugprint.get.signature_score_table`), the ``genes`` (every listed gene,
        the cohort gene it matched and whether it was used) and the ``params``.
    {copy}

    Returns
    -------
    {returns_copy}

    References
    ----------
    Foroutan M. et al. (2018). Single sample scoring of molecular phenotypes. *BMC Bioinformatics* 19, 404.

    Examples
    --------
    >>> import numpy as np
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> name = "Myeloma|lenalidomide vs DMSO"
    >>> cohort = dp.datasets.survival_cohort(sig, name, n_patients=120)  # hazards planted on this signature
    >>> dp.tl.signature_score(cohort, sig, signatures=[name])
    >>> tab = dp.get.signature_score_table(cohort)
    >>> tab.loc[0, "column"], int(tab.loc[0, "n_up"]) <= 200, int(tab.loc[0, "n_up_missing"])
    ('signature_score', True, 0)
    >>> bool(np.allclose(cohort.obs["signature_score"], cohort.obs["planted_score"]))  # what was planted
    True
    """
    cohort = as_anndata(cohort, what="cohort")
    if not isinstance(min_genes, int | np.integer) or min_genes < 1:
        raise ValueError(f"min_genes must be a positive integer; got {min_genes!r}.")
    long = signature_genes(sig, signatures, alpha=alpha, lfc_threshold=lfc_threshold, n_genes=n_genes)
    genes, matched_by = _match(long, cohort.var, species)
    names = list(dict.fromkeys(long["signature"]))
    table = _summary(genes, names, min_genes)
    scored = table["scored"].to_numpy()
    if not scored.any():
        raise ValueError(
            f"No signature has {min_genes} or more genes in the cohort (most: {int(table['n_used'].max())}). "
            f"Signature genes look like {long['gene'].head(3).tolist()}, the cohort's like "
            f"{cohort.var_names[:3].tolist()}: give var a column of the signatures' identifiers, or lower min_genes."
        )
    if not scored.all():
        warnings.warn(
            f"Not scored (fewer than min_genes={min_genes} genes in the cohort): "
            f"{table.loc[~scored, 'signature'].tolist()[:10]}.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    kept = set(table.loc[scored, "signature"])
    columns = {n: c for n, c in _column_names(names, key_added).items() if n in kept}
    table["column"] = table["signature"].map(columns).fillna("")
    values = _scores(cohort, layer, genes, list(columns))
    target = cohort.copy() if copy else cohort
    for j, col in enumerate(columns.values()):
        target.obs[col] = values[:, j]
    params = {
        "method": "singscore (Foroutan et al. 2018): centred mean ranks, up + down; ties averaged",
        "alpha": float(alpha),
        "lfc_threshold": float(lfc_threshold),
        "n_genes": None if n_genes is None else int(n_genes),
        "layer": layer,
        "min_genes": int(min_genes),
        "matched_by": matched_by,
        "columns": list(columns.values()),
        "n_cohort_genes": int(cohort.n_vars),
    }
    entries = {"table": table, "genes": genes}
    store(target, key_added, entries, params, copy=False, tool="signature_score", getter="signature_score_table")
    return target if copy else None


def _summary(genes: pd.DataFrame, names: list[str], min_genes: int) -> pd.DataFrame:
    """Per signature: genes listed and used in each direction, and whether it is scored."""
    counts = genes.groupby(["signature", "direction"])["used"].agg(["size", "sum"]).unstack("direction")
    counts = counts.reindex(names).fillna(0).astype(int)
    table = pd.DataFrame({"signature": names})
    for d in ("up", "down"):
        listed = counts[("size", d)].to_numpy() if ("size", d) in counts else np.zeros(len(names), int)
        used = counts[("sum", d)].to_numpy() if ("sum", d) in counts else np.zeros(len(names), int)
        table[f"n_{d}"], table[f"n_{d}_missing"] = used, listed - used
    table["n_used"] = table["n_up"] + table["n_down"]
    table["scored"] = table["n_used"] >= min_genes
    table["note"] = np.where(table["scored"], "", f"fewer than {min_genes} genes in the cohort")
    return table


def _scores(cohort: AnnData, layer: str | None, genes: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Samples × signatures singscores, ranking blocks of samples at a time."""
    used = genes[genes["used"]]
    index = {
        key: np.unique(cohort.var_names.get_indexer(part["matched"]))
        for key, part in used.groupby(["signature", "direction"])
    }
    empty = np.array([], dtype=np.intp)
    pos = {name: tuple(index.get((name, d), empty) for d in ("up", "down")) for name in names}
    x = get_matrix(cohort, layer)
    out = np.empty((cohort.n_obs, len(names)))
    for start in range(0, cohort.n_obs, _BLOCK):
        block = np.asarray(to_dense(x[start : start + _BLOCK]), dtype=float)
        bad = ~np.isfinite(block)
        if bad.any():
            rows, cols = np.nonzero(bad)
            raise ValueError(
                f"The cohort's expression has {int(bad.sum())} missing or infinite values (first: sample "
                f"{cohort.obs_names[start + rows[0]]!r}, gene {cohort.var_names[cols[0]]!r}); ranks need every "
                "gene of every sample: drop or impute them first."
            )
        out[start : start + _BLOCK] = singscore(block, [pos[n] for n in names])
    return out
