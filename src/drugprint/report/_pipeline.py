"""The main job end to end: cells → profiles → signatures → pathways, panels, potency → report."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import matplotlib

from .. import get, pl, pp, tl
from .._utils import categories, logger, versions
from ..resources import genesets, provenance


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
    layer: str | None = None,
    min_cells: int = 10,
    net: str = "hallmark",
    n_cpus: int = 1,
    title: str = "drugprint report",
    verbose: bool = True,
) -> dict:
    """Run the whole analysis on cells and write ``report.html``, CSV tables, figures and provenance to ``out``.

    Parameters
    ----------
    adata
        Cells × genes with raw counts (``layers["counts"]`` or ``X``) and the ``obs`` keys below.
    out
        Output directory (created).
    sample_key, groupby, condition_key, control, covariates, method, layer, min_cells
        As in :func:`drugprint.pp.pseudobulk` and :func:`drugprint.tl.de` (``method``: ``"deseq2"`` or the
        faster ``"voom"``).
    net
        Gene-set collection for :func:`drugprint.tl.pathways`.
    n_cpus
        Processes per DESeq2 fit.
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
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ._html import render

    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
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
        n_cpus=n_cpus,
        verbose=verbose,
    )
    timings["de"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    net_df = genesets(net)
    tl.pathways(sig, net_df)
    tl.panels(sig)
    pot = tl.potency(sig, "pathways")
    pot_panels = tl.potency(sig, "panels", key_added="potency_panels")
    timings["pathways_panels_potency"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    tables = out / "tables"
    de_all = get.de_table(sig)
    de_all.to_csv(tables / "de_results.csv", index=False)
    get.pathway_table(sig, "pathways").to_csv(tables / "pathways.csv", index=False)
    get.pathway_table(sig, "panels").to_csv(tables / "panels.csv", index=False)
    pot.to_csv(tables / "potency_pathways.csv", index=False)
    pot_panels.to_csv(tables / "potency_panels.csv", index=False)
    summary = de_summary(sig, groupby)
    summary.to_csv(tables / "de_summary.csv", index=False)
    qc = (
        pdata.obs.pivot_table(index=groupby, columns=condition_key, values="n_cells", aggfunc="sum", observed=True)
        .fillna(0)
        .astype(int)
    )
    qc.to_csv(tables / "qc_cells_per_group.csv")
    pdata.uns["pseudobulk"]["dropped"].to_csv(tables / "qc_dropped_profiles.csv", index=False)

    figs = out / "figures"
    groups_present = [str(g) for g in categories(sig.obs[groupby])]
    figures = {"pathway_heatmap": pl.pathway_heatmap(sig, save=figs / "pathway_heatmap.png")}
    cyto_groups = [g for g in ("NK", "CD8 T") if g in groups_present] or groups_present[:2]
    figures["cytotoxicity_dotplot"] = pl.panel_dotplot(
        sig, "cytotoxicity", groups=cyto_groups, save=figs / "cytotoxicity_dotplot.png"
    )
    tier_figs = {}
    for g in groups_present:
        shown = pot[(pot["group"] == g) & pot["source"].isin(pl.KEY_PATHWAYS)]
        if (shown["tier"] != "none").any():
            name = f"tiers_{_slug(g)}"
            tier_figs[g] = name
            figures[name] = pl.potency_tiers(pot, g, save=figs / f"{name}.png")
    volcano_figs = {}
    for g in groups_present:
        rows = summary[summary["group"] == g]
        if rows.empty:
            continue
        best = rows.sort_values("n_deg", ascending=False).iloc[0]
        name = f"volcano_{_slug(g)}"
        volcano_figs[g] = name
        figures[name] = pl.volcano(sig, best["signature"], highlight=_highlight(g), save=figs / f"{name}.png")
    for f in figures.values():
        plt.close(f)
    timings["tables_figures"] = time.perf_counter() - t0

    prov = {
        "drugprint_run": {
            "sample_key": sample_key,
            "groupby": groupby,
            "condition_key": condition_key,
            "control": control,
            "covariates": list(covariates),
            "method": method,
            "layer": layer,
            "min_cells": min_cells,
            "net": net,
            "n_cpus": n_cpus,
        },
        "input": {"n_cells": int(adata.n_obs), "n_genes": int(adata.n_vars)},
        "pseudobulk": {k: v for k, v in pdata.uns["pseudobulk"].items() if k != "dropped"},
        "de": {k: v for k, v in sig.uns["de"].items() if k not in ("groups", "skipped")},
        "de_groups": sig.uns["de"]["groups"].to_dict(orient="records"),
        "de_skipped": sig.uns["de"]["skipped"].to_dict(orient="records"),
        "gene_sets": provenance(net_df),
        "potency": pot.attrs or sig.uns["potency"]["params"],
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
        tier_figs=tier_figs,
        volcano_figs=volcano_figs,
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


def de_summary(sig, groupby: str, alpha: float = 0.05):
    """Per signature: genes tested, up and down at ``padj < alpha``."""
    import numpy as np
    import pandas as pd

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
    from ..resources import panels

    p = panels()
    if group in ("NK", "CD8 T"):
        return p["cytotoxicity"]
    if group == "CD4 T":
        return p["il2_derepression"]
    return p["irf4_myc"] + p["neosubstrates"][:2]


def demo(
    out: str | PathLike = "results", *, preset: str = "default", seed: int = 0, n_cpus: int = 1, verbose: bool = True
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
        verbose=verbose,
        title=f"drugprint demo: simulated IMiD/CELMoD screen ({preset} preset, seed {seed})",
    )
    res["timings"] = {"simulate": t_sim, **res["timings"]}
    return res
