"""The report's stages: each declares what it needs and what it writes; :func:`walk` runs them in order.

A stage reads the products of earlier stages from :class:`Results` and returns its own by name. A stage whose
needs are missing (an earlier stage did not run) is recorded as not run, with the reason; an optional stage can be
left out (``skip=``), is not run when its inputs do not exist (``why_not``), and records its failure instead of
aborting the run. The stages read the tools' records once, into products (``de``, ``pathways_record`` …), so
that :func:`~drugprint.report._html.render` reads only what the stages produced.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import get, pp, tl
from .._anndata import categories
from .._env import logger
from .._results import caller_stacklevel
from ..resources import KEY_PATHWAYS, genesets, is_imid_study, panels_for
from ..resources import panels as shipped_panels
from ..tl._de.engines import ENGINES
from ..tl._sets.methods import SET_METHODS
from ..tl._sets.replicate import LOW_DF
from . import _cohort as cohort
from . import _screen as screen
from ._config import RunConfig
from ._figures import FigureInputs, draw_all, slug
from ._summaries import de_summary, dropped_profiles


@dataclass
class Results:
    """What a run produced: its options, the cells, every stage's products, what ran (and why not), timings."""

    config: RunConfig
    adata: AnnData
    out: Path
    products: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)  # written once the stages ran
    samples: bool = False  # the input is samples (bulk RNA-seq, arrays), not cells: one group, nothing summed

    def __getitem__(self, name: str) -> Any:
        return self.products[name]

    def get(self, name: str, default: Any = None) -> Any:
        """A product, or ``default`` when the stage that writes it did not run."""
        return self.products.get(name, default)


@dataclass(frozen=True)
class Stage:
    """One step of the report: what it needs, what it writes, whether it may be left out, and why it may not run."""

    name: str
    run: Callable[[Results], dict[str, Any]]
    needs: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    optional: bool = False
    why_not: Callable[[Results], str | None] | None = None
    layout: str = "any"  # "study": skipped in a screen's report (SCREEN_SKIPS says why); "screen": a screen's only


#: Why a stage of the study's report is skipped in a screen's (``layout="screen"``).
SCREEN_SKIPS = {
    "panels": "the cell-type panels are read in the study layout; at screen scale each cluster is described by its "
    "pathways (dp.tl.panels runs on any signatures)",
    "enrich": "the over-representation of every signature's up and down genes is not run at screen scale (run "
    "dp.tl.enrich on the compounds of interest)",
    "figures": "a volcano per line, tier grids and per-line similarity grids are not drawn at screen scale; the "
    "screen overview draws the clustered similarity map and the details of the strongest hits",
}


def walk(results: Results, stages: list[Stage]) -> None:
    """Run ``stages`` in order, recording in ``results.stages`` what each did and in ``results.timings`` its time.

    A stage of a screen's report (``layout="screen"``) is left out, unrecorded, when the report is a study's.
    """
    for stage in stages:
        if stage.layout == "screen" and results.products.get("layout") != "screen":
            continue
        t0 = time.perf_counter()
        results.stages[stage.name] = _attempt(stage, results)
        results.timings[stage.name] = time.perf_counter() - t0


def _attempt(stage: Stage, results: Results) -> str:
    if stage.name in results.config.skip:
        return "skipped on request"
    if stage.layout == "study" and results.products.get("layout") == "screen":
        return f"skipped: {SCREEN_SKIPS.get(stage.name, 'not run at screen scale')}"
    missing = [n for n in stage.needs if n not in results.products]
    why = f"needs {', '.join(missing)}, which no earlier stage produced" if missing else None
    why = why or (stage.why_not(results) if stage.why_not else None)
    if why:
        logger.info("%s not run: %s", stage.name, why)
        return f"not run: {why}"
    try:
        products = stage.run(results)
    except (ValueError, KeyError) as err:  # an optional stage that cannot run on these data is reported, not fatal
        if not stage.optional:
            raise
        message = err.args[0] if err.args else str(err)
        warnings.warn(f"{stage.name} not run: {message}", UserWarning, stacklevel=caller_stacklevel())
        return f"not run: {message}"
    unknown = set(products) - set(stage.writes)
    if unknown:  # pragma: no cover - a stage writes what it declares
        raise RuntimeError(f"stage {stage.name!r} wrote undeclared products {sorted(unknown)}")
    results.products.update(products)
    return "done"


def stages(config: RunConfig) -> list[Stage]:
    """The stages of a run with ``config``: one scoring stage per further gene-set collection, and a cohort's.

    A cohort is read first (a wrong column fails before the fits); its scores, tests and figures come last.
    """
    keys = [net_key(i, name) for i, name in enumerate(config.nets)][1:]
    nets = [Stage(key, _other_net(key), ("nets",), (key,), True) for key in keys]
    given = config.cohort is not None
    return [
        *([Stage("cohort", cohort.read, (), ("cohort",))] if given else []),
        Stage("pseudobulk", _pseudobulk, (), ("pdata",)),
        Stage("de", _de, ("pdata",), ("sig", "de")),
        Stage("layout", screen.choose_layout, ("sig",), ("layout",)),
        Stage("hits", screen.hits, ("sig",), ("hits", "hit_conditions"), layout="screen"),
        Stage("composition", _composition, ("de",), ("cells", "composition", "composition_record"), True, _one_type),
        Stage("dropped", _dropped, ("pdata",), ("dropped",)),
        Stage(
            "pathways",
            _pathways,
            ("sig",),
            ("pathways", "pathways_record", "nets", "pathways_activity"),
            True,
            _no_direction,
        ),
        *nets,
        Stage(
            "panels",
            _panels,
            ("sig",),
            ("panels", "panels_activity", "panel_coverage"),
            True,
            _no_direction,
            layout="study",
        ),
        Stage("enrich", _enrich, ("sig",), ("enrich", "enrich_record"), True, _no_lists, layout="study"),
        Stage("potency", _potency, ("pathways",), ("potency", "potency_panels", "thresholds")),
        Stage("rank", _rank, ("potency",), ("rank",), True, _one_arm),
        Stage("compare", _compare, ("sig",), ("compare",), True, _nothing_to_compare),
        Stage("dose", _dose, ("pathways",), ("dose",), True, _no_doses),
        Stage("time", _time, ("pathways",), ("time",), True, _no_times),
        Stage(
            "clusters", screen.clusters, ("hits",), ("clusters", "cluster_pathways"), True, screen.no_clusters, "screen"
        ),
        Stage("screen_tables", screen.compound_table, ("hits",), ("compounds",), layout="screen"),
        Stage("summaries", _summaries, ("sig",), ("tiers", "degs", "de_summary", "qc")),
        Stage("figures", _figures, ("sig", "de_summary"), ("figures",), layout="study"),
        Stage("screen_figures", screen.figures, ("sig", "compounds"), ("screen_figures",), layout="screen"),
        *(_cohort_stages() if given else []),
    ]


def _cohort_stages() -> list[Stage]:
    """A cohort's scores and survival tests, then its figures."""
    products = ("cohort_survival", "cohort_signatures", "cohort_record")
    return [
        Stage("cohort_survival", cohort.survival, ("sig", "cohort"), products, True),
        Stage("cohort_figures", cohort.figures, ("cohort_survival",), ("cohort_figures",), True),
    ]


def net_key(i: int, name: str) -> str:
    """The ``obsm`` key of the ``i``-th collection: ``"pathways"`` for the first, ``"pathways_<name>"`` after."""
    return "pathways" if i == 0 else f"pathways_{slug(Path(name).stem if Path(name).suffix else name)}"


#: The one group of a study of samples (bulk RNA-seq, arrays), in the column ``groupby`` names.
SAMPLES = "all samples"


def samples_as_profiles(adata: AnnData, sample_key: str, groupby: str, layer: str | None) -> AnnData:
    """Bulk input: each sample is one profile as it is (counts or log values, never summed), all in one group."""
    pdata = adata.copy()
    if layer is not None:
        pdata.X = pdata.layers[layer]
    obs = pdata.obs
    obs[groupby] = pd.Categorical([SAMPLES] * pdata.n_obs)
    obs["n_cells"] = 1
    if sample_key not in obs:
        obs[sample_key] = pdata.obs_names.astype(str)
    keys = [sample_key, groupby, "n_cells"]
    pdata.uns["pseudobulk"] = {
        "sample_key": sample_key,
        "groupby": [groupby],
        "layer": layer or "X",
        "use_raw": False,
        "samples": True,
        "min_cells": 1,
        "n_profiles": int(pdata.n_obs),
        "dropped": pd.DataFrame(columns=keys),
        "varying": pd.DataFrame({"column": [], "n_profiles": []}, dtype=object),
    }
    return pdata


def profiles_given(adata: AnnData, sample_key: str, groupby: str) -> bool:
    """Whether the input is profiles already (from :func:`drugprint.pp.pseudobulk`, or a simulated screen).

    Profiles carry ``uns["pseudobulk"]`` and ``n_cells``, and one row per sample × group.
    """
    obs = adata.obs
    if "pseudobulk" not in adata.uns or not {"n_cells", sample_key, groupby} <= set(obs.columns):
        return False
    return not obs.duplicated([sample_key, groupby]).any()


def _given_profiles(adata: AnnData, c: RunConfig) -> AnnData:
    """Profiles taken as they are, those of fewer than ``min_cells`` cells dropped.

    The counts come from ``layer``, else ``layers["counts"]`` when present, else ``X``.
    """
    sample_key, groupby, min_cells = c.sample_key, c.groupby, c.min_cells
    keep = (adata.obs["n_cells"] >= min_cells).to_numpy()
    pdata = adata[keep].copy()
    layer = c.layer or ("counts" if "counts" in pdata.layers else None)
    if layer is not None:
        pdata.X = pdata.layers[layer].copy()
    rec = dict(pdata.uns["pseudobulk"])
    dropped = adata.obs.loc[~keep, [sample_key, groupby, "n_cells"]].astype({sample_key: str, groupby: str})
    rec.update(min_cells=int(min_cells), n_profiles=int(keep.sum()), dropped=dropped.reset_index(drop=True))
    pdata.uns["pseudobulk"] = rec
    return pdata


def _pseudobulk(r: Results) -> dict:
    c = r.config
    if r.samples:
        return {"pdata": samples_as_profiles(r.adata, c.sample_key, c.groupby, c.layer)}
    if profiles_given(r.adata, c.sample_key, c.groupby):
        return {"pdata": _given_profiles(r.adata, c)}
    pdata = pp.pseudobulk(
        r.adata, sample_key=c.sample_key, groupby=c.groupby, layer=c.layer, use_raw=c.use_raw, min_cells=c.min_cells
    )
    return {"pdata": pdata}


def _de(r: Results) -> dict:
    c = r.config
    with warnings.catch_warnings(record=True) as caught:  # the engines' own warnings, for the report too
        warnings.simplefilter("always")
        sig = tl.de(
            r["pdata"],
            condition_key=c.condition_key,
            control=c.control,
            groupby=c.groupby,
            covariates=c.covariates,
            design=c.design,
            contrasts=c.contrasts,
            coef=c.coef,
            reduced=c.reduced,
            block=c.block,
            method=c.method,
            robust=c.robust,
            match=c.match,
            alpha=c.alpha,
            n_cpus=c.n_cpus,
            n_jobs=c.n_jobs,
            verbose=c.verbose,
        )
    rec = sig.uns["de"]
    engine = ENGINES[rec["method"]]
    de = {k: rec[k] for k in ("method", "robust", "control", "covariates", "tests", "fits", "skipped", "match")}
    de.update(
        label=engine.label,
        design=rec["fits"]["design"].iloc[0] if len(rec["fits"]) else "",
        filter=rec["filter_genes"],
        scale=rec["scale"],
        record={k: v for k, v in rec.items() if k not in ("fits", "skipped", "replicates")},
        warnings=list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning))),
    )
    for w in caught:  # still shown where the run was started
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return {"sig": sig, "de": de}


def _one_type(r: Results) -> str | None:
    if r.samples:
        return "the input is samples (bulk), not cells: there are no cells to count"
    if profiles_given(r.adata, r.config.sample_key, r.config.groupby):
        return "the input is profiles (summed already), not cells: there are no cells to count"
    groupby = r.config.groupby
    return f"a single {groupby} (proportions need two or more)" if r.adata.obs[groupby].nunique() < 2 else None


def _composition(r: Results) -> dict:
    """:func:`~drugprint.tl.composition` on a copy of the cells' ``obs`` only (the caller's object is not touched)."""
    c, de = r.config, r["de"]
    covariates = list(de["covariates"]) + ([c.match] if c.match and c.match not in de["covariates"] else [])
    cells = AnnData(obs=r.adata.obs.copy())
    tl.composition(cells, c.sample_key, c.groupby, c.condition_key, de["control"] or None, covariates)
    record = {"params": cells.uns["composition"]["params"], "skipped": cells.uns["composition"]["skipped"]}
    return {"cells": cells, "composition": get.composition_table(cells), "composition_record": record}


def _dropped(r: Results) -> dict:
    c = r.config
    dropped = dropped_profiles(
        r["pdata"].uns["pseudobulk"]["dropped"],
        r["pdata"].obs if r.samples else r.adata.obs,  # samples: none was dropped
        sample_key=c.sample_key,
        groupby=c.groupby,
        condition_key=c.condition_key,
        composition=r.get("composition"),
        alpha=c.alpha,
    )
    return {"dropped": dropped}


def _no_direction(r: Results) -> str | None:
    if (r["sig"].obs["test"].astype(str) == "omnibus").all():
        return "every test is an omnibus test (reduced=), whose F or chi-square statistics have no direction"
    return None


def activity_called(sig: AnnData, key: str, alpha: float) -> set[tuple[str, str]]:
    """``(signature, source)`` the activity test calls at ``padj < alpha`` in fits with few residual df.

    Read from the tool's record of each fit (every call, not the ten ``low_df`` lists by name, at the run's level).
    """
    out = set()
    for rec in sig.uns[key].get("replicates", {}).values():
        if int(rec["df_residual"]) > LOW_DF:
            continue
        called = np.asarray(rec["activity_padj"]) < alpha
        for i, j in zip(*np.nonzero(called), strict=True):
            out.add((str(rec["signatures"][i]), str(rec["sources"][j])))
    return out


def _pathways(r: Results) -> dict:
    c, sig = r.config, r["sig"]
    nets = {net_key(i, n): genesets(n) for i, n in enumerate(c.nets)}
    tl.pathways(sig, nets["pathways"], method=c.pathway_method, key_added="pathways")
    rec = sig.uns["pathways"]
    record = {
        "method": rec["params"]["method"],
        "null": rec["null"],
        "replicates": SET_METHODS[rec["params"]["method"]].replicates,
        "low_df": rec.get("low_df"),
        "record": {k: v for k, v in rec.items() if k not in ("net", "overlap", "basis", "replicates")},
        "pvalue_basis": rec["basis"]["basis"].value_counts().to_dict(),
    }
    out = {"pathways": get.pathway_table(sig, "pathways"), "pathways_record": record, "nets": nets}
    return {**out, "pathways_activity": activity_called(sig, "pathways", c.alpha)}


def _other_net(key: str) -> Callable[[Results], dict]:
    def run(r: Results) -> dict:
        tl.pathways(r["sig"], r["nets"][key], method=r.config.pathway_method, key_added=key)
        return {key: get.pathway_table(r["sig"], key)}

    return run


def _panels(r: Results) -> dict:
    """The shipped panels that suit the cell types; the IMiD panels only in a study of IMiD compounds."""
    sig = r["sig"]
    imid = is_imid_study(categories(sig.obs["condition"]))
    groups = categories(sig.obs[r.config.groupby])
    suited = {p for g in groups for p in panels_for(str(g), imid=imid)}
    tl.panels(
        sig, {name: genes for name, genes in shipped_panels().items() if name in suited}, method=r.config.pathway_method
    )
    rec = sig.uns["panels"]
    return {
        "panels": get.pathway_table(sig, "panels"),
        "panels_activity": activity_called(sig, "panels", r.config.alpha),
        "panel_coverage": rec.get("coverage"),
    }


def _no_lists(r: Results) -> str | None:
    """Why there are no up or down lists to test: directionless tests, or no gene called anywhere."""
    if _no_direction(r):
        return _no_direction(r)
    if not (np.nan_to_num(np.asarray(r["sig"].layers["padj"], dtype=float), nan=1.0) < r.config.alpha).any():
        return f"no gene reached padj < {r.config.alpha:g} in any signature: there is no up or down list to test"
    return None


#: Rows of the enrichment written to tables/enrich.csv: every term at padj < alpha, and at least this many per list.
ENRICH_ROWS = 10


def _enrich(r: Results) -> dict:
    """Over-representation (``enrich_net``, GO BP by default) of each signature's up and down genes.

    The table keeps the called terms and the top ``ENRICH_ROWS`` of each list; all of it is in ``signatures.h5ad``.
    """
    c, sig = r.config, r["sig"]
    tl.enrich(sig, c.enrich_net, alpha=c.alpha)
    tab = get.enrich_table(sig)
    top = tab.groupby(["signature", "direction"], sort=False).cumcount() < ENRICH_ROWS
    rec = sig.uns["enrich"]
    record = {"params": rec["params"], "net": rec["net"]}
    return {"enrich": tab[(tab["padj"] < c.alpha) | top].reset_index(drop=True), "enrich_record": record}


def _potency(r: Results) -> dict:
    sig, alpha = r["sig"], r.config.alpha
    tl.potency(sig, "pathways", alpha=alpha)
    out = {"potency": get.potency_table(sig), "thresholds": list(sig.uns["potency"]["params"]["thresholds"])}
    if "panels" in r.products:
        tl.potency(sig, "panels", alpha=alpha, key_added="potency_panels")
        out["potency_panels"] = get.potency_table(sig, "potency_panels")
    return out


def _one_arm(r: Results) -> str | None:
    per_group = r["sig"].obs.groupby(r.config.groupby, observed=True).size()
    return "each cell type has a single condition against the control" if per_group.max() < 2 else None


def _rank(r: Results) -> dict:
    keys = ["pathways"] + (["panels"] if "panels" in r.products else [])
    tl.potency_rank(r["sig"], keys, alpha=r.config.alpha, random_state=r.config.random_state)
    return {"rank": get.potency_rank_table(r["sig"])}


def _nothing_to_compare(r: Results) -> str | None:
    one_arm = _one_arm(r)
    return _no_direction(r) or (one_arm and f"{one_arm}: there are no two drugs to compare")


def _compare(r: Results) -> dict:
    c, pdata = r.config, r["pdata"]
    has_donors = c.donor_key is not None and c.donor_key in pdata.obs and c.match is None
    tl.compare(
        r["sig"],
        pdata=pdata if has_donors else None,
        donor_key=c.donor_key or "donor",
        alpha=c.alpha,
        random_state=c.random_state,
    )
    return {"compare": get.compare_table(r["sig"])}


def _key_sources(r: Results) -> list[str] | None:
    return [s for s in KEY_PATHWAYS if s in r["sig"].obsm["pathways"]] or None


def _no_doses(r: Results) -> str | None:
    obs, drug, dose = r["sig"].obs, r.config.drug_key, r.config.dose_key
    doses = obs.groupby(drug, observed=True)[dose].nunique().max() if {drug, dose} <= set(obs) else 0
    return None if doses >= 3 else f"no drug was given at three or more doses (obs {drug!r} and {dose!r})"


def _dose(r: Results) -> dict:
    c = r.config
    tl.dose_response(r["sig"], c.dose_key, drug_key=c.drug_key, sources=_key_sources(r))
    return {"dose": get.dose_table(r["sig"])}


def _no_times(r: Results) -> str | None:
    match = r.config.match
    return (
        None if match is not None and match in r["sig"].obs else "no time points (pass match= naming the time column)"
    )


def _time(r: Results) -> dict:
    tl.time_course(r["sig"], r.config.match, sources=_key_sources(r))
    return {"time": get.time_course_table(r["sig"])}


def _summaries(r: Results) -> dict:
    c, sig, pdata = r.config, r["sig"], r["pdata"]
    qc = (
        pdata.obs.pivot_table(index=c.groupby, columns=c.condition_key, values="n_cells", aggfunc="sum", observed=True)
        .fillna(0)
        .astype(int)
    )
    out = {"degs": get.summary_table(sig, "degs", alpha=c.alpha), "de_summary": de_summary(sig, c.groupby, c.alpha)}
    if "potency" in r.products:
        out["tiers"] = get.summary_table(sig, "tiers")
    return {**out, "qc": qc}


def _figures(r: Results) -> dict:
    moved = [t for t in (r.get("potency"), r.get("potency_panels")) if t is not None]
    responsive = sorted({str(g) for t in moved for g in t.loc[t["tier"].astype(str) != "none", "group"]})
    sig = r["sig"]
    imid = is_imid_study(categories(sig.obs["condition"]))
    extra = {k: r[k] for k in r.get("nets", {}) if k != "pathways" and k in r.products}
    inputs = FigureInputs(
        sig=sig,
        groupby=r.config.groupby,
        alpha=r.config.alpha,
        de_summary=r["de_summary"],
        imid=imid,
        pathway_table=r.get("pathways"),
        potency=r.get("potency"),
        rank=r.get("rank"),
        compare=r.get("compare"),
        dose_fits=r.get("dose"),
        time_table=r.get("time"),
        composition=r.get("cells"),
        extra_tables=extra,
        responsive=responsive,
        volcanoes=r.config.volcanoes,
        doses=r.stages.get("dose") == "done",
        enrich="enrich" in r.products,
    )
    overview, per_group, metric = draw_all(r.out / "figures", inputs)
    return {"figures": {"overview": overview, "per_group": per_group, "metric": metric, "imid": imid}}
