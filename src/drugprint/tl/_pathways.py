"""``pathways``: pathway activity of each signature with decoupler."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

import pandas as pd
from anndata import AnnData

from .._docs import doc_params
from ..resources import genesets
from ._parallel import check_parallel
from ._sets import score_sets
from ._sets.methods import SetMethodName

if TYPE_CHECKING:
    import distributed


@doc_params()
def pathways(
    sig: AnnData,
    net: str | os.PathLike | pd.DataFrame = "hallmark",
    *,
    method: SetMethodName = "camera",
    layer: str | None = "stat",
    tmin: int = 5,
    key_added: str = "pathways",
    min_fraction: float = 0.5,
    id_column: str | None = None,
    level: float = 0.95,
    inter_gene_cor: float | None = None,
    species: Literal["human", "mouse"] | None = None,
    n_jobs: int = 1,
    client: distributed.Client | None = None,
    verbose: bool = False,
    copy: bool = False,
    **kwargs,
) -> AnnData | None:
    """Test and score pathways on each signature, with the samples (donors, wells) as the replicates.

    Genes of a programme (interferon response, p53, cell cycle …) rise and fall together from sample to
    sample for reasons unrelated to the drug, so a pathway's genes are not independent evidence. The
    default test, limma's camera, therefore works on the profiles of each signature's own fit (kept by
    :func:`drugprint.tl.de`) and widens its variance by the set's inter-gene correlation measured in the
    residuals; it holds its error rate when gene sets co-vary between samples. Genes not tested in a
    fit are left out, not counted as zero.

    Methods (``null`` recorded in ``uns[key_added]``):

    - ``"camera"`` (default; Wu & Smyth 2012): competitive — does the set move more than the other
      tested genes? Score: camera's two-sample t (positive: up).
    - ``"fry"`` (Giner & Smyth 2016, a fast roast): self-contained — does the set move at all? Score: its
      directional t.
    - ``"activity"``: self-contained — each profile's mean centred log-expression of the set, fitted with
      the fit's design and tested with limma's moderated t across sets, as a gene would be.
    - ``"ulm"``, ``"mlm"``, ``"zscore"``, ``"gsea"``, ``"viper"``, ``"waggr"``: decoupler's gene-level
      methods on the signature's ``layer``. Useful descriptive scores; **their p-values treat genes as
      independent** and are too small on real data (recorded in ``uns[key_added]["null"]``).

    Signatures without per-profile data (a published table from :func:`drugprint.io.read_de_table`,
    concatenated studies) are scored with ``ulm`` and a warning; ``uns[key_added]["basis"]`` says, per
    signature, whether its p-values rest on replicates or on genes.

    Parameters
    ----------
    sig
        Signatures AnnData from :func:`drugprint.tl.de` (or any AnnData with a per-gene statistic).
    net
        A shipped collection (``"hallmark"``, ``"progeny"``, ``"imid"``), a GMT/CSV path, or a decoupler-style
        DataFrame with ``source``, ``target`` and optionally ``weight``.
    method
        The test (see above).
    layer
        Layer scored by the gene-level methods; ``None`` uses ``X``.
    tmin
        Sets with fewer tested genes are not scored.
    key_added
        Results go to ``sig.obsm[key_added]`` (scores), ``[key_added + "_padj"]`` (BH-adjusted p-values
        across sets, per signature), ``[key_added + "_log2fc"]`` (weighted mean log2 fold change of the
        set's tested genes, the effect size), ``[key_added + "_log2fc_lo"]`` and ``[key_added + "_log2fc_hi"]``
        (its ``level`` interval: ± the t quantile times the standard error of the set's mean log-expression
        contrast, estimated from the replicates; present when :func:`~drugprint.tl.de` kept them) and
        ``sig.uns[key_added]`` (the ``params``, the ``null`` hypothesis, the ``basis`` per signature, the
        ``net``'s provenance, the ``overlap``, the set activities' residuals per fit, ``replicates``, that
        :func:`~drugprint.tl.potency_rank` resamples, and ``low_df``: the signatures of fits with 3 residual
        degrees of freedom or fewer, where camera and fry have almost no power, with what the activity test —
        which keeps its level there — calls, and ``low_df_note`` on what simulations measured).
    min_fraction
        Warn about sets keeping fewer than this fraction of their genes in the data.
    id_column
        ``var`` column holding the identifiers the net uses (e.g. symbols next to Ensembl ``var_names``);
        by default the best-matching of ``var_names`` and the ``var`` columns is used
        (:func:`drugprint.resources.harmonise_net`). How genes were matched and the overlap per set are
        recorded in ``sig.uns[key_added]``.
    level
        Confidence level of the effect intervals.
    inter_gene_cor
        camera only: ``None`` estimates each set's inter-gene correlation from the residuals (calibrated
        when programmes co-vary); a number (limma's default 0.01) fixes it.
    species
        The data's organism for matching the (human) collection: ``None`` detects mouse symbols (``Ikzf1``) or
        ``ENSMUSG`` IDs and matches them through HCOP one-to-one orthologues (:func:`drugprint.resources.orthologs`),
        ``"human"`` matches the genes as given, ``"mouse"`` always goes through the orthologues. The route is
        recorded in ``uns[key_added]["matched_by"]``.
    n_jobs, client
        The set tests of each fit (a group, or a block of a screen's conditions) run in ``n_jobs`` processes or as
        tasks on a ``dask.distributed`` client's cluster (``client``, the ``dask`` extra), with results identical
        to a serial run.
    verbose
        Show a progress bar over the fits (only on a terminal).
    {copy}
    **kwargs
        Passed to the decoupler method (gene-level methods only).

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig, "hallmark")
    >>> ifn = "HALLMARK_INTERFERON_ALPHA_RESPONSE"
    >>> bool(sig.obsm["pathways"].loc["Myeloma|mezigdomide vs DMSO", ifn] > 0)
    True
    >>> sig.uns["pathways"]["null"].split(":")[0]
    'competitive'
    >>> row = "Myeloma|mezigdomide vs DMSO"
    >>> bool(0 < sig.obsm["pathways_log2fc_lo"].loc[row, ifn] < sig.obsm["pathways_log2fc_hi"].loc[row, ifn])
    True
    """
    if not isinstance(sig, AnnData):
        raise TypeError(f"pathways expects a signatures AnnData, got {type(sig).__name__}.")
    check_parallel(n_jobs, client)
    sig = sig.copy() if copy else sig
    if isinstance(net, pd.DataFrame):
        net_df = net
    elif isinstance(net, str | os.PathLike):
        net_df = genesets(net)
    else:
        raise TypeError(
            f"net must be a collection name, a path or a DataFrame, got {type(net).__name__}; e.g. net='hallmark'."
        )
    score_sets(
        sig,
        net_df,
        method=method,
        layer=layer,
        tmin=tmin,
        key_added=key_added,
        min_fraction=min_fraction,
        id_column=id_column,
        level=level,
        inter_gene_cor=inter_gene_cor,
        species=species,
        n_jobs=n_jobs,
        client=client,
        verbose=verbose,
        **kwargs,
    )
    return sig if copy else None
