"""Tables the report reads beside the tools' own: DEG counts per signature, profiles a condition emptied."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._signatures import deg_counts


def de_summary(sig, groupby: str, alpha: float = 0.05) -> pd.DataFrame:
    """Per signature: genes tested, up and down at ``padj < alpha`` within the cell type.

    With ``padj_global`` (from :func:`drugprint.tl.de`), ``n_deg_global`` counts the genes at
    ``padj_global < alpha``: adjusted over all cell types' tests of the same contrast.

    Parameters
    ----------
    sig
        Signatures from :func:`drugprint.tl.de`.
    groupby
        ``obs`` column of the groups (cell types).
    alpha
        Significance level on the adjusted p-values.

    Returns
    -------
    DataFrame, one row per signature: ``signature``, ``group``, ``condition``, ``n_tested``, ``n_up``,
    ``n_down``, ``n_deg`` and (with ``padj_global``) ``n_deg_global``.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.pp.pseudobulk(dp.datasets.imid_screen("small"))
    >>> sig = dp.tl.de(pdata, groups=["NK"], method="voom", verbose=False)
    >>> tab = dp.report.de_summary(sig, "cell_type")
    >>> bool((tab["n_deg"] == tab["n_up"] + tab["n_down"]).all()), len(tab) == sig.n_obs
    (True, True)
    """
    n_up, n_down = deg_counts(sig, alpha)
    out = pd.DataFrame(
        {
            "signature": sig.obs_names,
            "group": sig.obs[groupby].astype(str).to_numpy(),
            "condition": sig.obs["condition"].astype(str).to_numpy(),
            "n_tested": sig.obs["n_genes_tested"].to_numpy(),
            "n_up": n_up,
            "n_down": n_down,
        }
    ).assign(n_deg=lambda d: d["n_up"] + d["n_down"])
    if "padj_global" in sig.layers:
        out["n_deg_global"] = (np.asarray(sig.layers["padj_global"], dtype=float) < alpha).sum(axis=1)
    return out


def dropped_profiles(
    dropped: pd.DataFrame,
    obs: pd.DataFrame,
    *,
    sample_key: str,
    groupby: str,
    condition_key: str,
    composition: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Profiles pseudobulk dropped for too few cells, with their condition and whether the condition removed the cells.

    A drug that kills a cell type can push its profiles below ``min_cells``: those cells are then missing from the
    expression analysis *because of* the drug, and the signature of that cell type under that drug rests on the
    profiles that survived. This joins each dropped profile to the composition test of its cell type and condition.

    Parameters
    ----------
    dropped
        ``uns["pseudobulk"]["dropped"]`` of :func:`drugprint.pp.pseudobulk`: one row per dropped profile.
    obs
        The cells' ``obs``, to read each sample's condition.
    sample_key, groupby, condition_key
        ``obs`` columns of the samples, cell types and conditions.
    composition
        :func:`drugprint.get.composition_table`, or ``None`` when it was not run.
    alpha
        Significance level on the composition ``padj``.

    Returns
    -------
    ``dropped`` with ``condition``, the composition test's ``prop_log2fc`` and ``prop_padj`` of that cell type and
    condition (NaN for the control or without a test), and ``removed_by_condition``: the condition lowered the
    cell type's proportion at ``padj < alpha``.

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small")
    >>> pdata = dp.pp.pseudobulk(adata)
    >>> dp.tl.composition(adata)
    >>> tab = dp.report.dropped_profiles(
    ...     pdata.uns["pseudobulk"]["dropped"], adata.obs, sample_key="sample", groupby="cell_type",
    ...     condition_key="drug", composition=dp.get.composition_table(adata),
    ... )
    >>> tab.loc[tab["removed_by_condition"], ["sample", "cell_type", "condition"]].values.tolist()
    [['D1_mezigdomide', 'Myeloma', 'mezigdomide']]
    """
    condition = obs.groupby(sample_key, observed=True)[condition_key].first().astype(str)
    condition.index = condition.index.astype(str)
    out = dropped.assign(condition=dropped[sample_key].astype(str).map(condition))
    out["prop_log2fc"], out["prop_padj"] = np.nan, np.nan
    if composition is not None and len(out):
        test = composition.assign(**{groupby: composition[groupby].astype(str)}).set_index([groupby, "condition"])
        keys = pd.MultiIndex.from_arrays([out[groupby].astype(str), out["condition"]])
        found = keys.isin(test.index)
        out.loc[found, "prop_log2fc"] = test.loc[keys[found], "log2fc"].to_numpy()
        out.loc[found, "prop_padj"] = test.loc[keys[found], "padj"].to_numpy()
    out["removed_by_condition"] = (out["prop_padj"] < alpha) & (out["prop_log2fc"] < 0)
    return out
