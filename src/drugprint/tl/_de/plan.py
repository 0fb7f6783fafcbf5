"""A ``de`` call planned before anything is fitted: what is tested in which group, what is skipped and why."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._anndata import categories, get_matrix, to_dense
from ..._counts import resolve_counts_layer
from ..._env import logger
from ..._results import caller_stacklevel
from .._stats.filter import filter_by_expr
from .blocks import block_sizes, design_factors, split_group, why_not_blocks
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
    conditions_per_fit: int | str | None = None,
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
    jobs, notes = _plan_jobs(call, obs, x, pdata.var_names, setup, skipped, (group_of, all_groups), conditions_per_fit)
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
        notes=notes,
        match=match,
        cond_col=cond_col,
        layer=layer,
        is_counts=is_counts,
        filter_genes=filter_genes,
        groups=all_groups,
        jobs=jobs,
        skipped=skipped,
    )


def _plan_jobs(call, obs, x, var_names, setup: GroupSetup, skipped: list, groups: tuple, per_fit) -> tuple[list, list]:
    """Every group's job (or its blocks' jobs, when it can and must be fitted in blocks), and the call's notes."""
    sizes = block_sizes(per_fit)
    cond_col, notes, jobs = setup.cond_col, list(call.notes), []
    for note in call.notes:
        logger.info("de: %s", note)
    blockable = np.isfinite(sizes[0]) and not why_not_blocks(
        setup.specs, call.control, cond_col, call.formula, cond_col != call.condition_key, setup.block
    )
    factors = design_factors(obs, call.variables, cond_col) if blockable else []
    for g, m in _masks(*groups):
        planned = _blocked(g, obs.loc[m], x[m], var_names, setup, skipped, factors, sizes) if blockable else None
        if planned is None:
            planned = [plan_group(g, obs.loc[m], x[m], var_names, setup, skipped)]
        else:
            notes.append(_block_note(g, planned, sizes[0], factors))
        jobs += [job for job in planned if job is not None]
    return jobs, notes


def _blocked(group, meta, x, var_names, setup: GroupSetup, skipped: list, factors: list[str], sizes) -> list | None:
    """A group with more than ``sizes[1]`` conditions planned as blocks of ``sizes[0]`` (:mod:`.blocks`), or ``None``.

    The genes are filtered once over the whole group (edgeR's rule by condition), so that every signature of the
    group is tested on the same genes; tests of conditions absent from the group are recorded with the first block.
    """
    blocks = split_group(meta, setup.cond_col, setup.ref_levels[0], factors, sizes, setup.min_replicates)
    if blocks is None:
        return None
    genes = np.ones(len(var_names), dtype=bool)
    if setup.filter_genes:
        genes = filter_by_expr(pd.DataFrame(x, index=meta.index, columns=var_names), meta[setup.cond_col], None)
    present = set(meta[setup.cond_col].astype(str))
    absent = [s for s in setup.specs if s.condition not in present]
    jobs = []
    for k, b in enumerate(blocks):
        specs = [s for s in setup.specs if s.condition in set(b.conditions)] + (absent if k == 0 else [])
        part = replace(setup, specs=specs)
        jobs.append(plan_group(group, meta.loc[b.mask], x[b.mask], var_names, part, skipped, genes=genes, part=b.label))
    return jobs


def _block_note(group: str, jobs: list, size, factors: list[str]) -> str:
    """What ``uns["de"]["notes"]`` says of a group fitted in blocks."""
    fitted = [j for j in jobs if j is not None]
    n = sum(len(j.specs) for j in fitted)
    shared = f"sharing their {', '.join(factors)}" if factors else "of the group"
    return (
        f"{group}: {n} conditions fitted in {len(jobs)} blocks of at most {int(size)}, each with the control "
        f"profiles {shared}; each test's variance rests on its block's profiles."
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
