"""The main job end to end: cells → profiles → signatures → pathways, panels, potency, similarity → report."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from .. import get, pl, pp, tl
from .._utils import categories, logger, versions
from ..resources import genesets, panels, provenance


def de_summary(sig, groupby: str, alpha: float = 0.05) -> pd.DataFrame:
    """Per signature: genes tested, up and down at ``padj < alpha``."""
    padj = np.asarray(sig.layers["padj"], dtype=float)
    lfc = np.asarray(sig.layers["log2fc"], dtype=float)
    hit = padj < alpha
    return pd.DataFrame(
        {
            "signature": sig.obs_names,
            "group": sig.obs[groupby].astype(str).to_numpy(),
            "condition": sig.obs["condition"].astype(str).to_numpy(),
            "n_tested": sig.obs["n_genes_tested"].to_numpy(),
            "n_up": (hit & (lfc > 0)).sum(axis=1),
            "n_down": (hit & (lfc < 0)).sum(axis=1),
        }
    ).assign(n_deg=lambda d: d["n_up"] + d["n_down"])


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_").lower()


def _highlight(group: str) -> list[str]:
    p = panels()
    if group in ("NK", "CD8 T"):
        return p["cytotoxicity"]
    if group == "CD4 T":
        return p["il2_derepression"]
    return p["irf4_myc"] + p["neosubstrates"][:2]


def _key_source(pot: pd.DataFrame, group: str) -> str | None:
    """The first key pathway with a significant change in ``group`` (for dose/time figures)."""
    sub = pot[(pot["group"] == group) & (pot["tier"] != "none")]
    for s in pl.KEY_PATHWAYS:
        if s in set(sub["source"]):
            return s
    return None


def run(
    adata,
    out: str | PathLike,
    *,
    sample_key: str = "sample",
    groupby: str = "cell_type",
    condition_key: str = "drug",
    control: str = "DMSO",
    covariates: Sequence[str] = ("donor",),
    method: str = "deseq2",
    match: str | None = None,
    donor_key: str = "donor",
    layer: str | None = None,
    min_cells: int = 10,
    net: str = "hallmark",
    n_cpus: int = 1,
    n_jobs: int = 1,
    title: str = "drugprint report",
    verbose: bool = True,
) -> dict:
    """Run the whole analysis on cells and write ``report.html``, CSV tables, figures and provenance to ``out``.

    Steps: :func:`~drugprint.pp.pseudobulk`, :func:`~drugprint.tl.de`, :func:`~drugprint.tl.pathways`,
    :func:`~drugprint.tl.panels`, :func:`~drugprint.tl.potency` and :func:`~drugprint.tl.potency_rank`,
    :func:`~drugprint.tl.compare` (with the split-donor effect correlation when ``donor_key`` is present),
    the seed's summary tables, and, when the signatures carry several doses or time points of a drug,
    :func:`~drugprint.tl.dose_response` and :func:`~drugprint.tl.time_course`.

    Parameters
    ----------
    adata
        Cells × genes with raw counts (``layers["counts"]`` or ``X``) and the ``obs`` keys below.
    out
        Output directory (created).
    sample_key, groupby, condition_key, control, covariates, method, match, layer, min_cells
        As in :func:`drugprint.pp.pseudobulk` and :func:`drugprint.tl.de` (``method``: ``"deseq2"`` or the
        faster ``"voom"``; ``match="time"`` pairs drugs and control by time point).
    donor_key
        ``obs`` column of donors, for the effect correlation of :func:`~drugprint.tl.compare`.
    net
        Gene-set collection for :func:`drugprint.tl.pathways`.
    n_cpus, n_jobs
        Processes per DESeq2 fit; cell types fitted in parallel.
    title
        Title of the report.
    verbose
        Progress bars on a terminal.

    Returns
    -------
    Dict with the profiles (``pdata``), signatures (``sig``), the potency table, timings and output paths.

    Examples
    --------
    >>> import drugprint as dp, tempfile
    >>> adata = dp.datasets.imid_screen("small")
    >>> nk = adata[adata.obs["cell_type"] == "NK"].copy()
    >>> res = dp.report.run(nk, tempfile.mkdtemp(), method="voom", verbose=False)
    >>> res["paths"]["report"].name
    'report.html'
    """
    import matplotlib.pyplot as plt

    from ._html import render

    out = Path(out)
    figs, tables = out / "figures", out / "tables"
    figs.mkdir(parents=True, exist_ok=True)
    tables.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    pdata = pp.pseudobulk(adata, sample_key=sample_key, groupby=groupby, layer=layer, min_cells=min_cells)
    timings["pseudobulk"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sig = tl.de(
        pdata,
        condition_key=condition_key,
        control=control,
        groupby=groupby,
        covariates=covariates,
        method=method,
        match=match,
        n_cpus=n_cpus,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    timings["de"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    net_df = genesets(net)
    tl.pathways(sig, net_df)
    tl.panels(sig)
    pot = tl.potency(sig, "pathways")
    pot_panels = tl.potency(sig, "panels", key_added="potency_panels")
    rank = tl.potency_rank(sig)
    has_donors = donor_key in pdata.obs and match is None
    cmp = tl.compare(sig, pdata=pdata if has_donors else None, donor_key=donor_key)
    tiers_table = tl.summary_table(sig, "tiers")
    degs_table = tl.summary_table(sig, "degs")
    dose_fits = time_table = None
    if "dose" in sig.obs and "drug" in sig.obs and sig.obs.groupby("drug", observed=True)["dose"].nunique().max() >= 3:
        dose_fits = tl.dose_response(sig, sources=[s for s in pl.KEY_PATHWAYS if s in sig.obsm["pathways"]])
    if match is not None and match in sig.obs:
        time_table = tl.time_course(sig, match, sources=[s for s in pl.KEY_PATHWAYS if s in sig.obsm["pathways"]])
    timings["pathways_potency_comparison"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    summary = de_summary(sig, groupby)
    qc = (
        pdata.obs.pivot_table(index=groupby, columns=condition_key, values="n_cells", aggfunc="sum", observed=True)
        .fillna(0)
        .astype(int)
    )
    for name, df, index in (
        ("de_results", get.de_table(sig), False),
        ("pathways", get.pathway_table(sig, "pathways"), False),
        ("panels", get.pathway_table(sig, "panels"), False),
        ("potency_pathways", pot, False),
        ("potency_panels", pot_panels, False),
        ("potency_rank", rank, False),
        ("similarity", cmp, False),
        ("table2_tiers", tiers_table, True),
        ("table3_degs", degs_table, False),
        ("de_summary", summary, False),
        ("qc_cells_per_group", qc, True),
        ("qc_dropped_profiles", pdata.uns["pseudobulk"]["dropped"], False),
    ):
        df.to_csv(tables / f"{name}.csv", index=index)
    if dose_fits is not None:
        dose_fits.to_csv(tables / "dose_response.csv", index=False)
    if time_table is not None:
        time_table.to_csv(tables / "time_course.csv", index=False)

    groups_present = [str(g) for g in categories(sig.obs[groupby])]
    responsive = [g for g in groups_present if rank[(rank["group"] == g)]["n_sources"].max() > 0]
    metric = "effect_r" if has_donors and "effect_r" in cmp else "spearman"

    def draw(name: str, plot, *args, **kwargs) -> str:
        plt.close(plot(*args, save=figs / f"{name}.png", **kwargs))
        return name

    draw("pathway_heatmap", pl.pathway_heatmap, sig)
    cyto = [g for g in ("NK", "CD8 T") if g in groups_present] or groups_present[:2]
    (figs / "cytotoxicity_dotplot.png").unlink(missing_ok=True)  # the report embeds it only when drawn now
    if any(gene in sig.var_names for gene in panels()["cytotoxicity"]):
        draw("cytotoxicity_dotplot", pl.panel_dotplot, sig, "cytotoxicity", groups=cyto)
    per_group: dict[str, dict[str, str]] = {g: {} for g in groups_present}
    similarity_metric: dict[str, str] = {}
    for g in groups_present:
        made, slug = per_group[g], _slug(g)
        shown = pot[(pot["group"] == g) & pot["source"].isin(pl.KEY_PATHWAYS)]
        if (shown["tier"] != "none").any():
            made["tiers"] = draw(f"tiers_{slug}", pl.potency_tiers, pot, g)
        if g in responsive:
            made["rank"] = draw(f"rank_{slug}", pl.potency_rank, rank, g)
            if g in sig.uns["compare"]["matrices"]:
                has_metric = cmp.loc[cmp["group"] == g].get(metric, pd.Series(dtype=float)).notna().any()
                similarity_metric[g] = metric if has_metric else "spearman"
                made["similarity"] = draw(f"similarity_{slug}", pl.similarity, sig, g, metric=similarity_metric[g])
        best = summary[summary["group"] == g].sort_values("n_deg", ascending=False).iloc[0]
        made["volcano"] = draw(f"volcano_{slug}", pl.volcano, sig, best["signature"], highlight=_highlight(g))
        src = _key_source(pot, g)
        if dose_fits is not None and src is not None:
            made["dose"] = draw(f"dose_{slug}", pl.dose_response, sig, g, src)
        if time_table is not None and src is not None:
            made["time"] = draw(f"time_{slug}", pl.time_course, time_table, g, src)
    timings["tables_figures"] = time.perf_counter() - t0

    prov = {
        "drugprint_run": {
            "sample_key": sample_key,
            "groupby": groupby,
            "condition_key": condition_key,
            "control": control,
            "covariates": list(covariates),
            "method": method,
            "match": match,
            "donor_key": donor_key,
            "layer": layer,
            "min_cells": min_cells,
            "net": net,
            "n_cpus": n_cpus,
            "n_jobs": n_jobs,
        },
        "input": {"n_cells": int(adata.n_obs), "n_genes": int(adata.n_vars)},
        "pseudobulk": {k: v for k, v in pdata.uns["pseudobulk"].items() if k != "dropped"},
        "de": {k: v for k, v in sig.uns["de"].items() if k not in ("fits", "skipped", "replicates")},
        "de_groups": sig.uns["de"]["fits"].to_dict(orient="records"),
        "de_skipped": sig.uns["de"]["skipped"].to_dict(orient="records"),
        "gene_sets": provenance(net_df),
        "pathways": {
            **{k: v for k, v in sig.uns["pathways"].items() if k not in ("net", "overlap", "basis", "replicates")},
            "pvalue_basis": sig.uns["pathways"]["basis"]["basis"].value_counts().to_dict(),
        },
        "potency": sig.uns["potency"]["params"],
        "potency_rank": sig.uns["potency_rank"]["params"],
        "compare": sig.uns["compare"]["params"],
        "versions": versions(),
        "timings_seconds": {k: round(v, 2) for k, v in timings.items()},
    }
    (out / "provenance.json").write_text(json.dumps(prov, indent=2, default=str))
    sig.write_h5ad(out / "signatures.h5ad")
    report = render(
        out,
        title=title,
        adata=adata,
        pdata=pdata,
        sig=sig,
        summary=summary,
        qc=qc,
        potency=pot,
        potency_panels=pot_panels,
        rank=rank,
        compare=cmp,
        responsive=responsive,
        similarity_metric=similarity_metric,
        dose_fits=dose_fits,
        per_group=per_group,
        provenance=prov,
    )
    logger.info("report written to %s", report)
    return {
        "pdata": pdata,
        "sig": sig,
        "potency": pot,
        "timings": timings,
        "paths": {"report": report, "tables": tables, "figures": figs},
    }


def demo(
    out: str | PathLike = "results",
    *,
    preset: str = "default",
    seed: int = 0,
    n_cpus: int = 1,
    n_jobs: int = 1,
    verbose: bool = True,
) -> dict:
    """Simulate the bundled IMiD/CELMoD screen and run :func:`run` on it.

    Examples
    --------
    >>> import drugprint as dp, tempfile
    >>> res = dp.report.demo(tempfile.mkdtemp(), preset="small", verbose=False)  # doctest: +SKIP
    """
    from ..datasets import imid_screen

    t0 = time.perf_counter()
    adata = imid_screen(preset, seed=seed)
    t_sim = time.perf_counter() - t0
    res = run(
        adata,
        out,
        n_cpus=n_cpus,
        n_jobs=n_jobs,
        verbose=verbose,
        title=f"drugprint demo: simulated IMiD/CELMoD screen ({preset} preset, seed {seed})",
    )
    res["timings"] = {"simulate": t_sim, **res["timings"]}
    return res
