"""``neosubstrates``: protein loss next to mRNA change, per cell type and drug; degradation needs the protein."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData
from scipy import sparse, stats

from .. import pp
from .._anndata import as_anndata, categories
from .._checks import check_obs_keys
from .._docs import doc_params, key_added
from .._env import optional_import
from .._results import renamed, store
from ..resources import compounds
from ._de import de
from ._stats.multitest import bh


def _clr(prot: AnnData) -> np.ndarray:
    """Centred log-ratio per antibody across cells (muon's ``prot.pp.clr``, on a copy)."""
    mu = optional_import("muon", "protein", "dp.tl.neosubstrates (CLR of the protein counts, muon's prot.pp.clr)")

    work = AnnData(X=prot.X.copy() if not sparse.issparse(prot.X) else prot.X.toarray(), var=prot.var[[]].copy())
    mu.prot.pp.clr(work)
    return np.asarray(work.X, dtype=float)


@renamed(min_log2fc="lfc_threshold")
def call_degradation(protein_log2fc, protein_padj, rna_log2fc, rna_padj, *, alpha=0.05, lfc_threshold=0.3):
    """Classify protein and mRNA changes; a degradation call needs a significant protein loss.

    A protein change is called when ``padj < alpha`` and ``|log2FC| >= lfc_threshold``.

    Returns two arrays: the protein ``call`` (``"degraded"``, ``"protein up"``, ``"no protein change"``, or
    ``"protein not tested"`` when there is no p-value) and the mRNA status (``"mRNA up"``, ``"mRNA down"``,
    ``"mRNA unchanged"``, ``"mRNA not tested"``).

    Parameters
    ----------
    protein_log2fc, protein_padj
        Protein log2 fold changes and their adjusted p-values (array-likes of one length; NaN: not tested).
    rna_log2fc, rna_padj
        mRNA log2 fold changes and adjusted p-values of the same genes.
    alpha
        Significance level on the adjusted p-values.
    lfc_threshold
        Smallest absolute protein log2 fold change called a change.

    Returns
    -------
    The protein calls and the mRNA statuses, two lists of strings (see above).

    Examples
    --------
    >>> from drugprint.tl import call_degradation
    >>> call_degradation([-1.6], [1e-4], [0.46], [1e-40])
    (['degraded'], ['mRNA up'])
    """
    p_lfc, p_q = np.asarray(protein_log2fc, float), np.asarray(protein_padj, float)
    r_lfc, r_q = np.asarray(rna_log2fc, float), np.asarray(rna_padj, float)
    call = np.where(
        ~np.isfinite(p_q),
        "protein not tested",
        np.where(
            (p_q < alpha) & (p_lfc <= -lfc_threshold),
            "degraded",
            np.where((p_q < alpha) & (p_lfc >= lfc_threshold), "protein up", "no protein change"),
        ),
    )
    rna = np.where(
        ~np.isfinite(r_q),
        "mRNA not tested",
        np.where(r_q < alpha, np.where(r_lfc > 0, "mRNA up", "mRNA down"), "mRNA unchanged"),
    )
    return call.tolist(), rna.tolist()


@renamed(min_log2fc="lfc_threshold")
@doc_params(key_added=key_added("neosubstrate_table", where="mdata."))
def neosubstrates(
    mdata: MuData,
    sample_key: str = "sample",
    condition_key: str = "drug",
    control: str = "DMSO",
    groupby: str = "cell_type",
    donor_key: str = "donor",
    *,
    rna: str = "rna",
    prot: str = "prot",
    gene_col: str = "gene",
    genes: Sequence[str] | None = None,
    sig: AnnData | None = None,
    rna_method: str = "voom",
    min_cells: int = 10,
    alpha: float = 0.05,
    lfc_threshold: float = 0.3,
    key_added: str = "neosubstrates",
    copy: bool = False,
) -> MuData | None:
    """Protein-level change of each neosubstrate beside its mRNA change, per cell type × drug.

    Antibody counts are CLR-normalised per antibody across cells, averaged per sample × cell type, and each
    drug is compared with the control *within donor*; the paired differences are tested across donors
    (one-sample t-test, Benjamini–Hochberg per cell type). The mRNA change of the same gene comes from RNA
    signatures (``sig``, or :func:`drugprint.tl.de` with ``rna_method`` on the RNA modality). A gene is called
    ``"degraded"`` only on a significant protein loss of at least ``lfc_threshold``: mRNA alone never makes
    that call, since IMiDs and CELMoDs remove these proteins post-translationally.

    Nothing else in ``mdata`` changes. The table (:func:`drugprint.get.neosubstrate_table`) has one row per group ×
    condition × antibody: ``gene``, ``protein_log2fc``, ``protein_pvalue``, ``protein_padj``, ``n_donors``,
    ``rna_log2fc``, ``rna_padj``, ``call`` and ``rna_status`` (see :func:`call_degradation`).

    Parameters
    ----------
    mdata
        MuData with an RNA and a protein modality (names ``rna``, ``prot``); ``obs`` (global or per modality)
        holds the sample, condition, group and donor.
    sample_key, condition_key, control, groupby, donor_key
        ``obs`` keys and the control level.
    rna, prot
        Modality names.
    gene_col
        ``var`` column of the protein modality naming each antibody's gene (default ``"gene"``; when absent,
        antibody names are taken as gene symbols).
    genes
        Genes to report (default: every neosubstrate of the compound registry with an antibody).
    sig
        RNA signatures to use (rows ``"{group}|{drug} vs {control}"``); computed when ``None``.
    rna_method
        DE engine for the RNA signatures when ``sig`` is ``None``.
    min_cells, alpha, lfc_threshold
        Smallest profile; significance level; smallest protein log2 fold change called a loss.
    {key_added}
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> mdata = dp.datasets.imid_screen("small", modalities=("rna", "prot"))
    >>> dp.tl.neosubstrates(mdata)
    >>> tab = dp.get.neosubstrate_table(mdata)
    >>> row = tab[(tab.cell_type == "Myeloma") & (tab.condition == "mezigdomide") & (tab.gene == "IKZF1")].iloc[0]
    >>> row["call"], row["rna_status"] != "mRNA down"
    ('degraded', True)
    """
    if not isinstance(mdata, MuData):
        raise TypeError(
            f"neosubstrates expects a MuData with {rna!r} and {prot!r} modalities, got {type(mdata).__name__}."
        )
    for m in (rna, prot):
        if m not in mdata.mod:
            raise KeyError(f"The MuData has no modality {m!r}; modalities: {list(mdata.mod)}.")
    padata = as_anndata(mdata, prot)
    check_obs_keys(padata, [sample_key, condition_key, groupby, donor_key], what=f"mdata[{prot!r}]")
    gene_of, antibodies = _antibodies(padata, gene_col, genes, prot)
    clr = AnnData(
        X=_clr(padata),
        obs=padata.obs[[sample_key, condition_key, groupby, donor_key]].copy(),
        var=pd.DataFrame(index=padata.var_names),
    )
    prof = pp.pseudobulk(clr, sample_key=sample_key, groupby=groupby, func="mean", min_cells=min_cells)
    if sig is None:
        rprof = pp.pseudobulk(mdata, sample_key=sample_key, groupby=groupby, mod=rna, min_cells=min_cells)
        sig = de(
            rprof,
            condition_key=condition_key,
            control=control,
            groupby=groupby,
            covariates=[donor_key],
            method=rna_method,
            verbose=False,
        )
    rows = []
    obs = prof.obs
    for group in categories(obs[groupby]):
        block = _group_changes(prof, sig, str(group), antibodies, gene_of, condition_key, control, groupby, donor_key)
        if block:
            b = pd.DataFrame(block)
            b["protein_padj"] = bh(b["protein_pvalue"].to_numpy(dtype=float))
            rows.append(b)
    if not rows:
        raise ValueError(f"No group has both {control!r} and treated profiles with at least {min_cells} cells.")
    out = _table(rows, groupby, alpha, lfc_threshold)
    params = {
        "alpha": alpha,
        "lfc_threshold": lfc_threshold,
        "control": control,
        "rna_method": rna_method,
        "groupby": groupby,
    }
    return store(mdata, key_added, {"table": out}, params, copy=copy, tool="neosubstrates", getter="neosubstrate_table")


def _antibodies(padata: AnnData, gene_col: str, genes, prot: str) -> tuple[pd.Series, list[str]]:
    """The gene of each antibody, and the antibodies targeting the genes asked for (the registry's neosubstrates)."""
    gene_of = (
        padata.var[gene_col].astype(str)
        if gene_col in padata.var
        else pd.Series(padata.var_names, index=padata.var_names)
    )
    wanted = set(genes) if genes is not None else set().union(*compounds()["neosubstrates"])
    antibodies = [ab for ab in padata.var_names if gene_of[ab] in wanted]
    if not antibodies:
        raise ValueError(
            f"No antibody of mdata[{prot!r}] targets {sorted(wanted)[:8]}; set genes= or gene_col= "
            f"(antibodies: {list(padata.var_names[:8])})."
        )
    return gene_of, antibodies


def _group_changes(
    prof: AnnData, sig: AnnData, group: str, antibodies, gene_of, condition_key, control, groupby, donor_key
) -> list[dict]:
    """Per condition and antibody of one group: the donor-paired protein change, its t-test, the mRNA change."""
    obs = prof.obs
    g = obs[groupby].astype(str) == group
    ctrl = prof[(g & (obs[condition_key].astype(str) == control)).to_numpy()]
    ctrl_by_donor = pd.DataFrame(ctrl[:, antibodies].X, index=ctrl.obs[donor_key].astype(str), columns=antibodies)
    block = []
    for cond in [c for c in categories(obs[condition_key]) if str(c) != control]:
        tr = prof[(g & (obs[condition_key].astype(str) == str(cond))).to_numpy()]
        if tr.n_obs == 0:
            continue
        tr_by_donor = pd.DataFrame(tr[:, antibodies].X, index=tr.obs[donor_key].astype(str), columns=antibodies)
        donors = tr_by_donor.index.intersection(ctrl_by_donor.index)
        diff = (tr_by_donor.loc[donors] - ctrl_by_donor.loc[donors]) / np.log(2)
        for ab in antibodies:
            d = diff[ab].to_numpy()
            p = stats.ttest_1samp(d, 0.0).pvalue if len(d) >= 2 and np.std(d) > 0 else np.nan
            name = f"{group}|{cond} vs {control}"
            gene = gene_of[ab]
            if name in sig.obs_names and gene in sig.var_names:
                j = sig.var_names.get_loc(gene)
                r_lfc, r_q = sig[name].layers["log2fc"][0, j], sig[name].layers["padj"][0, j]
            else:
                r_lfc = r_q = np.nan
            block.append(
                {
                    groupby: group,
                    "condition": str(cond),
                    "protein": ab,
                    "gene": gene,
                    "protein_log2fc": float(d.mean()) if len(d) else np.nan,
                    "protein_pvalue": p,
                    "n_donors": len(d),
                    "rna_log2fc": float(r_lfc),
                    "rna_padj": float(r_q),
                }
            )
    return block


def _table(rows: list[pd.DataFrame], groupby: str, alpha: float, lfc_threshold: float) -> pd.DataFrame:
    """The groups' rows in one table, each with its degradation call and mRNA status, in the table's column order."""
    out = pd.concat(rows, ignore_index=True)
    out["call"], out["rna_status"] = call_degradation(
        out["protein_log2fc"],
        out["protein_padj"],
        out["rna_log2fc"],
        out["rna_padj"],
        alpha=alpha,
        lfc_threshold=lfc_threshold,
    )
    cols = [
        groupby,
        "condition",
        "protein",
        "gene",
        "protein_log2fc",
        "protein_pvalue",
        "protein_padj",
        "n_donors",
        "rna_log2fc",
        "rna_padj",
        "call",
        "rna_status",
    ]
    return out[cols]
