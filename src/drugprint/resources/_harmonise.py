"""Match a net's genes to a dataset's genes and report the overlap per set."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd


def match_net(net: pd.DataFrame, genes: Sequence[str] | pd.Index, *, min_fraction: float = 0.5) -> pd.DataFrame:
    """Per set: genes in the set, genes found in ``genes``, and the fraction kept.

    Warns naming the sets that keep fewer than ``min_fraction`` of their genes, and raises a ValueError
    when no set overlaps ``genes`` at all.

    Parameters
    ----------
    net
        A decoupler-style net (``source``, ``target``).
    genes
        Gene identifiers of the data (usually ``var_names``).
    min_fraction
        Sets keeping less than this fraction of their genes are named in a warning.

    Returns
    -------
    DataFrame indexed by set name with ``n_genes``, ``n_matched``, ``fraction``.

    Examples
    --------
    >>> import drugprint as dp
    >>> rep = dp.resources.match_net(dp.resources.genesets("imid"), ["IKZF1", "IKZF3", "MYC"], min_fraction=0)
    >>> int(rep.loc["IMID_NEOSUBSTRATES", "n_matched"])
    2
    """
    for col in ("source", "target"):
        if col not in net.columns:
            raise ValueError(f"net needs columns 'source' and 'target'; it has {list(net.columns)}.")
    present = pd.Index(genes)
    hit = net["target"].isin(present)
    rep = (
        pd.DataFrame(
            {
                "n_genes": net.groupby("source", sort=False)["target"].nunique(),
                "n_matched": net[hit].groupby("source", sort=False)["target"].nunique(),
            }
        )
        .fillna(0)
        .astype(int)
    )
    rep["fraction"] = rep["n_matched"] / rep["n_genes"].clip(lower=1)
    rep.index.name = "source"
    if rep["n_matched"].sum() == 0:
        example = ", ".join(map(str, present[:5]))
        raise ValueError(
            f"No gene of the {rep.shape[0]} sets ({', '.join(rep.index[:3])} …) is among the data's genes "
            f"(e.g. {example}). Are the genes named by another identifier (Ensembl IDs?) or another organism?"
        )
    low = rep.index[rep["fraction"] < min_fraction]
    if len(low):
        listed = ", ".join(f"{s} ({rep.loc[s, 'n_matched']}/{rep.loc[s, 'n_genes']})" for s in low[:8])
        warnings.warn(
            f"{len(low)} gene set(s) keep fewer than {min_fraction:.0%} of their genes: {listed}"
            + (" …" if len(low) > 8 else ""),
            UserWarning,
            stacklevel=2,
        )
    return rep
