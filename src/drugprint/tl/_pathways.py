"""``pathways``: pathway activity of each signature with decoupler."""

from __future__ import annotations

import os
from typing import Literal

import pandas as pd
from anndata import AnnData

from ..resources import genesets
from ._scoring import score_sets


def pathways(
    sig: AnnData,
    net: str | os.PathLike | pd.DataFrame = "hallmark",
    *,
    method: Literal["ulm", "mlm", "zscore", "gsea", "viper", "waggr"] = "ulm",
    layer: str | None = "stat",
    tmin: int = 5,
    key_added: str = "pathways",
    min_fraction: float = 0.5,
    id_column: str | None = None,
    copy: bool = False,
    **kwargs,
) -> AnnData | None:
    """Score pathways on each signature with a decoupler method (default: univariate linear model).

    Each signature's ``stat`` is regressed on set membership over the genes tested in that signature's
    fit; untested genes are left out rather than counted as zero.

    Parameters
    ----------
    sig
        Signatures AnnData from :func:`drugprint.tl.de` (or any AnnData with a per-gene statistic).
    net
        A shipped collection (``"hallmark"``, ``"progeny"``, ``"imid"``), a GMT/CSV path, or a decoupler-style
        DataFrame with ``source``, ``target`` and optionally ``weight``.
    method
        decoupler method (``dc.mt.<method>``).
    layer
        Layer scored; ``None`` uses ``X``.
    tmin
        Sets with fewer tested genes are not scored.
    key_added
        Results go to ``sig.obsm[key_added]`` (scores), ``[key_added + "_padj"]`` (BH-adjusted p-values
        across sets, per signature), ``[key_added + "_log2fc"]`` (weighted mean log2 fold change of the
        set's tested genes, the effect size) and ``sig.uns[key_added]`` (method, net provenance, overlap).
    min_fraction
        Warn about sets keeping fewer than this fraction of their genes in the data.
    id_column
        ``var`` column holding the identifiers the net uses (e.g. symbols next to Ensembl ``var_names``);
        by default the best-matching of ``var_names`` and the ``var`` columns is used
        (:func:`drugprint.resources.harmonise_net`). How genes were matched and the overlap per set are
        recorded in ``sig.uns[key_added]``.
    copy
        Return a modified copy instead of writing into ``sig``.
    **kwargs
        Passed to the decoupler method.

    Returns
    -------
    ``None``, or the modified copy when ``copy=True``.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig, "hallmark")
    >>> bool(sig.obsm["pathways"].loc["Myeloma|mezigdomide vs DMSO", "HALLMARK_INTERFERON_ALPHA_RESPONSE"] > 0)
    True
    """
    if not isinstance(sig, AnnData):
        raise TypeError(f"pathways expects a signatures AnnData, got {type(sig).__name__}.")
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
        **kwargs,
    )
    return sig if copy else None
