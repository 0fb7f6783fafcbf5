"""A ``de`` call planned before anything is fitted: what is tested in which group, what is skipped and why."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._anndata import categories, get_matrix, to_dense
from ..._counts import resolve_counts_layer
from ..._env import logger
from ..._results import caller_stacklevel
from .call import resolve_call
from .checks import check_scale, refuse_single_cells
from .engines import Engine, FitJob
from .groups import GroupSetup, plan_group, replication_problem, split_by, summarise_skips
from .specs import TestSpec


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Everything ``de`` decided before fitting: the call as resolved, one job per group that can be fitted, the skips.

    ``cond_col`` is the column the design's condition factor is read from (``"_condition"`` with ``match``,
    ``None`` when the design has no condition); ``skipped`` holds ``(group, what, reason)`` rows.
    """

    engine: Engine
    condition_key: str
    control: str | None
    groupby: str | None
    covariates: list[str]
    display: str  # the design as shown
    specs: list[TestSpec]
    notes: list[str]
    match: list[str]
    cond_col: str | None
    layer: str | None
    is_counts: bool
    filter_genes: bool
    groups: list[str]
    jobs: list[FitJob]
    skipped: list[tuple[str, str, str]]


def make_plan(
    pdata: AnnData,
    engine: Engine,
    *,
    condition_key: str,
    control,
    groupby: str | None,
    covariates,
    design: str | None,
    contrasts,
    coef,
    reduced: str | None,
    block: str | None,
    match: list[str],
    groups,
    layer: str | None,
    min_replicates: int,
    filter_genes: bool | None,
    allow_single_cells: bool,
    allow_normalized: bool,
) -> Plan:
    """Resolve the call, check the data and plan every group's fit; errors name the argument to fix."""
    call = resolve_call(
        pdata,
        engine,
        condition_key=condition_key,
        control=control,
        groupby=groupby,
        covariates=covariates,
        design=design,
        contrasts=contrasts,
        coef=coef,
        reduced=reduced,
        block=block,
        match=match,
    )
    for note in call.notes:
        logger.info("de: %s", note)
    obs, cond_col, ref_levels, specs, skipped = _conditions(pdata.obs, call, condition_key, match)
    layer, x, is_counts = _values(pdata, engine, call, layer, allow_single_cells, allow_normalized)
    filter_genes = is_counts if filter_genes is None else filter_genes
    group_of, all_groups = _groups(pdata, obs, call.groupby, groups)
    setup = GroupSetup(
        specs=specs,
        cond_col=cond_col,
        ref_levels=ref_levels,
        formula=call.formula,
        covariates=call.covariates,
        min_replicates=min_replicates,
        block=block,
        filter_genes=filter_genes,
        is_counts=is_counts,
    )
    jobs = [plan_group(g, obs.loc[m], x[m], pdata.var_names, setup, skipped) for g, m in _masks(group_of, all_groups)]
    jobs = [job for job in jobs if job is not None]
    _check_tests_found(specs, jobs, skipped)
    if not jobs:
        why = replication_problem(obs, cond_col, group_of, min_replicates, call.covariates)
        raise ValueError("No group could be tested. " + (why or " ".join(summarise_skips(skipped))))
    for line in summarise_skips(skipped):
        warnings.warn(
            f"Not tested: {line} Recorded in uns['de']['skipped'].", UserWarning, stacklevel=caller_stacklevel()
        )
    return Plan(
        engine=engine,
        condition_key=condition_key,
        control=call.control,
        groupby=call.groupby,
        covariates=call.covariates,
        display=call.display,
        specs=specs,
        notes=call.notes,
        match=match,
        cond_col=cond_col,
        layer=layer,
        is_counts=is_counts,
        filter_genes=filter_genes,
        groups=all_groups,
        jobs=jobs,
        skipped=skipped,
    )


def _values(pdata: AnnData, engine: Engine, call, layer, allow_single_cells: bool, allow_normalized: bool) -> tuple:
    """The layer used, its values (dense) and whether they are counts, after the checks on single cells and scale."""
    layer = resolve_counts_layer(pdata, layer) if engine.counts else layer
    if not allow_single_cells:  # before densifying: a million cells would not fit
        condition_key = call.condition_key if call.uses_condition else None
        refuse_single_cells(pdata, layer, condition_key, call.groupby)
    x = to_dense(get_matrix(pdata, layer)).astype(np.float64, copy=False)
    n_cells = pdata.obs["n_cells"].to_numpy(dtype=float) if "n_cells" in pdata.obs.columns else None
    return layer, x, check_scale(x, engine, layer, n_cells, allow_normalized)


def _conditions(obs: pd.DataFrame, call, condition_key: str, match: list[str]) -> tuple:
    """``obs`` as the design reads it, the condition column, the reference level(s), the tests and the first skips.

    Integer codes of a grouping (donors 101, 107) become factors in numeric order; with ``match`` the conditions
    are split by the match columns' values (:func:`~drugprint.tl._de.groups.split_by`).
    """
    if call.factors:
        obs = obs.copy()
        for c in call.factors:
            obs[c] = pd.Categorical(obs[c], categories=np.sort(obs[c].unique()))
    if match:
        return split_by(obs, condition_key, call.control, match, call.specs, call.covariates)
    return obs, (condition_key if call.uses_condition else None), [call.control], call.specs, []


def _groups(pdata: AnnData, obs: pd.DataFrame, groupby: str | None, groups) -> tuple[pd.Series, list[str]]:
    """Each profile's group and the groups fitted (all, in category order, or those asked for)."""
    if groupby is None:
        return pd.Series("all", index=pdata.obs_names), ["all"]
    group_of = obs[groupby].astype(str)
    all_groups = [str(g) for g in categories(pdata.obs[groupby])]
    if groups is not None:
        unknown = [g for g in groups if g not in all_groups]
        if unknown:
            raise ValueError(f"groups {unknown} are not in obs[{groupby!r}]; present: {', '.join(all_groups)}.")
        all_groups = [g for g in all_groups if g in set(groups)]
    return group_of, all_groups


def _masks(group_of: pd.Series, groups: list[str]):
    """Each group with the boolean mask of its profiles."""
    for group in groups:
        yield group, (group_of == group).to_numpy()


def _check_tests_found(specs: list[TestSpec], jobs: list[FitJob], skipped: list) -> None:
    """A coefficient or reduced formula that no group's design can take is a mistake, not a skip: raise."""
    for spec in specs:
        if spec.kind not in ("coef", "omnibus") or any(spec in job.specs.values() for job in jobs):
            continue
        reason = next((r for _, what, r in skipped if what == spec.label), "")
        if spec.kind == "omnibus":
            raise ValueError(f"reduced={spec.reduced!r} could not be tested in any group: {reason}")
        names = jobs[0].design.coefficients if jobs else []
        raise KeyError(
            f"coef {spec.coef!r} is not a coefficient of the design in any group"
            + (f"; its coefficients are: {', '.join(names)}." if names else f" ({reason}).")
        )
