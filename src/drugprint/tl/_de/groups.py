"""Each group of a ``de`` call planned: which levels and tests it can take, its design, its genes; the skips."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._stats.design import DesignError, build_design, short_formula
from .._stats.filter import filter_by_expr
from .call import names_a_grouping
from .engines import FitJob
from .specs import TestSpec

#: A skip recorded once for the whole call, not for one group.
EVERY_GROUP = "(every group)"


def summarise_skips(skipped: list[tuple[str, str, str]]) -> list[str]:
    """One line per cause: the reason, then what it left out (tests, conditions) and in which groups."""
    by_reason: dict[str, tuple[dict, dict]] = {}
    for group, what, reason in skipped:
        whats, groups = by_reason.setdefault(reason, ({}, {}))
        whats.setdefault("the whole group" if what == "*" else what, None)
        groups.setdefault(group, None)
    lines = []
    for reason, (whats, groups) in by_reason.items():
        things = list(whats)
        where = "" if list(groups) == [EVERY_GROUP] else f" in {_few(list(groups), 'group')}"
        lines.append(f"{reason.rstrip('.')} — {_few(things, 'test')} left out{where}.")
    return lines


def _few(items: list[str], noun: str, shown: int = 4) -> str:
    text = ", ".join(map(str, items[:shown]))
    if len(items) > shown:
        text += f" … ({len(items)} {noun}s)"
    return text


def replication_problem(
    obs: pd.DataFrame, cond_col: str | None, group_of: pd.Series, min_replicates: int, covariates: list[str]
) -> str | None:
    """Why no group can be tested when no condition anywhere has ``min_replicates`` profiles, or ``None``."""
    if cond_col is None:
        return None
    most = int(obs.groupby([group_of.to_numpy(), obs[cond_col].astype(str).to_numpy()]).size().max())
    if most >= min_replicates:
        return None
    replicates = next((c for c in covariates if names_a_grouping(c)), None)
    who = ""
    if replicates:
        who = f" ({obs[replicates].nunique()} {replicates}: {', '.join(map(str, obs[replicates].unique()[:4]))})"
    return (
        f"No condition has {min_replicates} profiles in any group: each was measured {most} time(s) per group{who}. "
        f"Differential expression compares conditions across replicates (donors, wells, animals): it needs at "
        f"least {min_replicates} profiles per condition (min_replicates), and the variance between them. Add "
        "replicates, or, for a description without a test, compare the profiles' log-expression directly."
    )


def split_by(obs: pd.DataFrame, condition_key: str, control: str, keys: list[str], specs: list[TestSpec], covariates):
    """Relabel conditions as ``"condition @ key=value"`` by the ``match`` columns; tests within each value.

    Returns the relabelled obs, the internal condition column, the reference level of each value, the tests
    expanded over the values (their labels end in ``" @ key=value"``), and the skips: a test whose conditions are
    present at a value but whose reference is not (drug at 6 h, DMSO at 24 h only) cannot be made, and says why.
    """
    clash = [k for k in keys if k in covariates or k == condition_key]
    if clash:
        raise ValueError(
            f"match columns {clash} cannot also be covariates or the condition; drop them from covariates or match."
        )
    bad = [s.kind for s in specs if s.kind in ("coef", "omnibus")]
    if bad:
        raise ValueError(
            f"match= pairs conditions within {keys} and builds the design itself; it cannot be combined with "
            f"{' or '.join(sorted(set(bad)))} tests. Write the design yourself instead, e.g. design='~ donor + "
            f"{condition_key} * {keys[0]}', and test its coefficients with coef=."
        )
    tags = list(obs[keys].astype(str).itertuples(index=False, name=None))
    where = {t: " @ " + ", ".join(f"{k}={v}" for k, v in zip(keys, t, strict=True)) for t in tags}
    cond = obs[condition_key].astype(str).to_numpy()
    work = obs.copy()
    work["_condition"] = [c + where[t] for c, t in zip(cond, tags, strict=True)]
    present = set(work["_condition"])
    values_of: dict[str, list[str]] = {}  # condition → the match values it was measured at
    for c, t in zip(cond, tags, strict=True):
        values_of.setdefault(c, [])
        if where[t] not in values_of[c]:
            values_of[c].append(where[t])
    out, skipped = [], []
    for w in dict.fromkeys(where.values()):
        for s in specs:
            weights = {lv + w: x for lv, x in s.weights.items()}
            missing = [lv for lv, x in s.weights.items() if lv + w not in present]
            if not missing:
                out.append(TestSpec(s.kind, s.label + w, s.condition, s.reference, weights))
            elif len(missing) < len(weights) and any(s.weights[lv] < 0 for lv in missing):  # the reference is absent
                at = "; ".join(v.removeprefix(" @ ") for lv in missing for v in values_of.get(lv, []))
                names = ", ".join(map(repr, missing))
                skipped.append(
                    (
                        EVERY_GROUP,
                        s.label + w,
                        f"no {names} profile at {w.removeprefix(' @ ')} to compare with "
                        f"({names} is at {at or 'no value'} only)",
                    )
                )
    return work, "_condition", [control + w for w in dict.fromkeys(where.values())], out, skipped


@dataclass(frozen=True, kw_only=True)
class GroupSetup:
    """What every group shares: the formula (or covariates of the short form), the tests, the filters."""

    specs: list[TestSpec]
    cond_col: str | None  # the condition column in the formula, None when the formula has none
    ref_levels: list[str]
    formula: str | None  # None: the short form, built per group from the covariates that vary
    covariates: list[str]
    min_replicates: int
    block: str | None
    filter_genes: bool
    is_counts: bool


def _skip(skipped: list, group: str, reason: str) -> None:
    skipped.append((group, "*", reason))  # warned by de() once the call is known to be valid


def plan_group(
    group: str,
    meta: pd.DataFrame,
    x: np.ndarray,
    var_names: pd.Index,
    setup: GroupSetup,
    skipped: list,
    *,
    genes: np.ndarray | None = None,
    part: str = "",
) -> FitJob | None:
    """The fit of one group (a :class:`~drugprint.tl._de.engines.FitJob`), or ``None`` with the reasons recorded.

    For a block of a group (``part``, e.g. ``"2/34"``), ``genes`` are the genes the whole group's filter kept; of
    those the block tests the ones with data in its profiles.
    """
    s = setup
    levels = _levels(group, meta, s, skipped)
    if levels is None:
        return None
    keep, reference, too_few = levels
    sub = meta.loc[keep]
    present = set(sub[s.cond_col].astype(str)) if s.cond_col else set()
    specs = []
    for spec in s.specs:
        missing = [lv for lv in spec.levels if lv not in present]
        if not missing:
            specs.append(spec)
        elif not any(lv.split(" @ ")[0] in too_few for lv in missing):
            skipped.append((group, spec.label, f"condition absent from this group: {', '.join(missing)}"))
    if not specs:
        _skip(skipped, group, "no testable contrast (no test has all its conditions with enough profiles).")
        return None
    design = _design(group, sub, s, reference, skipped)
    if design is None:
        return None
    tests, pairs, labels = _tests(group, specs, design, skipped)
    if not tests:
        _skip(skipped, group, "none of the tests applies to this group's design.")
        return None
    block = None if s.block is None else _block(group, sub, s.block, skipped)
    if s.block is not None and block is None:
        return None
    counts = pd.DataFrame(x[keep], index=sub.index, columns=var_names)
    if genes is None:
        tested = _tested_genes(counts, sub, design, s)
    else:
        tested = genes & _tested_genes(counts, sub, design, replace(s, filter_genes=False))
    if tested.sum() == 0:
        _skip(skipped, group, "no gene passed the expression filter.")
        return None
    n_zero = int((~tested).sum()) if s.is_counts and not s.filter_genes else 0  # all-zero genes, as R would see them
    return FitJob(group, sub, counts.loc[:, tested], tested, design, tests, pairs, block, labels, n_zero, part)


def _levels(group: str, meta: pd.DataFrame, s: GroupSetup, skipped: list):
    """The profiles kept (levels with ``min_replicates``), the reference level and the levels too small; or ``None``."""
    if s.cond_col is None:
        return np.ones(len(meta), dtype=bool), None, []
    cond = meta[s.cond_col].astype(str)
    per_level = cond.value_counts()
    too_few = [lv for lv, n in per_level.items() if n < s.min_replicates]
    for lv in too_few:
        skipped.append((group, lv, f"{per_level[lv]} profile(s) < min_replicates={s.min_replicates}"))
    reference = next((lv for lv in s.ref_levels if lv in per_level and lv not in too_few), None)
    if reference is None:
        _skip(skipped, group, f"control {s.ref_levels[0]!r} has fewer than {s.min_replicates} profiles.")
        return None
    return ~cond.isin(too_few).to_numpy(), reference, too_few


def _design(group: str, sub: pd.DataFrame, s: GroupSetup, reference: str | None, skipped: list):
    """The group's design; in the short form without the covariates constant within the group (recorded)."""
    formula, dropped = s.formula, []
    if formula is None:
        used = [c for c in s.covariates if sub[c].nunique(dropna=False) > 1]
        dropped = [c for c in s.covariates if c not in used]
        formula = short_formula(used, s.cond_col)
    try:
        design = build_design(sub, formula, factor=s.cond_col, reference=reference)
    except DesignError as err:
        _skip(skipped, group, str(err))
        return None
    design.dropped_terms = dropped
    return design


def _tests(group: str, specs: list[TestSpec], design, skipped: list) -> tuple[dict, dict, dict]:
    """Each test's contrast vector or omnibus hypothesis in this design (keys ``t0``, ``t1`` …), pairs, specs."""
    tests, pairs = {}, {}
    for i, spec in enumerate(specs):
        try:
            tests[f"t{i}"] = spec.build(design)
        except KeyError as err:  # a coefficient this group's design lacks (a level absent here)
            skipped.append((group, spec.label, str(err).strip("\"'")))
            continue
        except DesignError as err:
            skipped.append((group, spec.label, str(err)))
            continue
        if spec.kind == "pair":
            pairs[f"t{i}"] = tuple(spec.weights)
    labels = {f"t{i}": spec for i, spec in enumerate(specs) if f"t{i}" in tests}
    return tests, pairs, labels


def _block(group: str, sub: pd.DataFrame, column: str, skipped: list) -> np.ndarray | None:
    """The block label of each profile, or ``None`` (recorded) when the blocks cannot be estimated."""
    block = sub[column].astype(str).to_numpy()
    sizes = pd.Series(block).value_counts()
    if len(sizes) < 2 or sizes.max() < 2:
        _skip(
            skipped,
            group,
            f"block {column!r} needs at least two blocks, one with several profiles "
            f"(here {len(sizes)} block(s) of at most {sizes.max()} profile(s)).",
        )
        return None
    return block


def _tested_genes(counts: pd.DataFrame, sub: pd.DataFrame, design, s: GroupSetup) -> np.ndarray:
    """The genes the group's fit tests: edgeR's ``filterByExpr`` rule, else every gene with data."""
    if s.filter_genes:  # the short form groups by condition (edgeR's one-way rule); a formula uses its design
        by_group = s.formula is None
        return filter_by_expr(counts, sub[s.cond_col] if by_group else None, None if by_group else design.matrix)
    if s.is_counts:
        return (counts.sum(axis=0) > 0).to_numpy()
    return (np.isfinite(counts).sum(axis=0) > design.matrix.shape[1]).to_numpy()
