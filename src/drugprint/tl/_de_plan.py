"""Planning a ``de`` call: what is tested, which groups and levels can be tested, what is skipped and why."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._utils import categories, check_obs_keys, logger
from ..resources import find_vehicle
from ._engines import FitJob
from ._stats.design import Design, DesignError, Omnibus, build_design, formula_variables, short_formula, tidy_formula
from ._stats.filter import filter_by_expr


@dataclass(frozen=True)
class TestSpec:
    """One thing tested in every group: a pair of levels, a weighting of levels, a coefficient, or an omnibus."""

    kind: str  # "pair", "weights", "coef" or "omnibus"
    label: str  # the signature name after "{group}|"
    condition: str
    reference: str = ""
    weights: dict = field(default_factory=dict)  # level → weight (pair: {a: 1, b: -1})
    coef: str = ""
    reduced: str = ""

    @property
    def levels(self) -> list[str]:
        return [lv for lv, w in self.weights.items() if w != 0]

    def build(self, design: Design) -> np.ndarray | Omnibus:
        if self.kind == "coef":
            return design.coef(self.coef)
        if self.kind == "omnibus":
            return design.omnibus(self.reduced)
        return design.weighted(self.weights)


def _pair(c, levels: list[str], condition_key: str) -> tuple[str, str]:
    if not (isinstance(c, tuple | list) and len(c) == 2):
        raise ValueError(f"Each contrast must be a pair (condition, reference), got {c!r}.")
    a, b = map(str, c)
    for lv in (a, b):
        if lv not in levels:
            raise ValueError(
                f"Contrast {c!r} names {lv!r}, which is not a level of obs[{condition_key!r}]; "
                f"levels present: {', '.join(levels)}."
            )
    if a == b:
        raise ValueError(f"Contrast {c!r} compares a condition with itself.")
    return a, b


def _weights(name: str, spec, levels: list[str], condition_key: str) -> dict[str, float]:
    if not isinstance(spec, Mapping) or not spec:
        raise TypeError(
            f"contrasts[{name!r}] must map levels of obs[{condition_key!r}] to weights, e.g. "
            f"{{'iberdomide': .5, 'mezigdomide': .5, 'lenalidomide': -.5, 'pomalidomide': -.5}}; got {spec!r}."
        )
    unknown = [str(lv) for lv in spec if str(lv) not in levels]
    if unknown:
        raise ValueError(
            f"contrasts[{name!r}] weights {', '.join(map(repr, unknown))}, not a level of obs[{condition_key!r}]; "
            f"levels present: {', '.join(levels)}."
        )
    try:
        weights = {str(lv): float(w) for lv, w in spec.items()}
    except (TypeError, ValueError):
        raise TypeError(f"contrasts[{name!r}] has a weight that is not a number: {spec!r}.") from None
    total = sum(weights.values())
    if abs(total) > 1e-8 or not any(weights.values()):
        raise ValueError(
            f"contrasts[{name!r}] weights sum to {total:g}; a contrast's weights must sum to 0 (and not all be 0), "
            "e.g. +0.5 for each of two drugs and -0.5 for each of two others, or +1 and -1."
        )
    return weights


def parse_tests(
    levels: list[str] | None,
    control: str | None,
    *,
    condition_key: str,
    contrasts,
    coef,
    reduced: str | None,
    formula: str,
) -> list[TestSpec]:
    """The tests a call asks for; by default every condition level against the control."""
    specs: list[TestSpec] = []
    needs_levels = contrasts is not None or (coef is None and reduced is None)
    if needs_levels and levels is None:
        raise ValueError(
            f"The design {formula} has no factor {condition_key!r} whose levels could be contrasted: pass "
            f"condition_key= naming a factor of the design, or test coefficients with coef= or reduced=."
        )
    if contrasts is None and coef is None and reduced is None:
        contrasts = [(lv, control) for lv in levels if lv != control]
    if isinstance(contrasts, Mapping):
        for name, spec in contrasts.items():
            w = _weights(str(name), spec, levels, condition_key)
            specs.append(TestSpec("weights", str(name), str(name), weights=w))
    elif contrasts is not None:
        if isinstance(contrasts, str):
            raise TypeError(f"contrasts must be pairs (condition, reference) or named weightings, got {contrasts!r}.")
        for c in contrasts:
            a, b = _pair(c, levels, condition_key)
            specs.append(TestSpec("pair", f"{a} vs {b}", a, b, weights={a: 1.0, b: -1.0}))
    for name in [coef] if isinstance(coef, str) else list(coef or []):
        specs.append(TestSpec("coef", str(name), str(name), coef=str(name)))
    if reduced is not None:
        from ._stats.design import tidy_formula

        label = f"{formula} vs {tidy_formula(reduced)}"
        specs.append(TestSpec("omnibus", label, label, reduced=tidy_formula(reduced)))
    labels = [s.label for s in specs]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"The same test is asked for twice: {dup}.")
    return specs


@dataclass
class Call:
    """A ``de`` call resolved: the formula (``None`` for the short form), its variables and the tests.

    ``groupby`` is the column the groups come from (``None``: one group); ``factors`` the integer columns of the
    short form that enter as factors; ``notes`` what was decided from the data, for the log and ``uns["de"]``.
    """

    formula: str | None
    display: str
    covariates: list[str]
    variables: list[str]
    uses_condition: bool
    control: str | None
    specs: list[TestSpec]
    groupby: str | None = None
    factors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# Words that name a grouping of samples: an integer column so named is a code (donors 101, 107), not a quantity.
GROUPING_WORDS = frozenset(
    "donor patient subject individual participant person batch plate lane line cellline replicate rep mouse mice "
    "animal rat well run lot pair block cohort site center centre experiment litter cage id sample".split()
)


def names_a_grouping(name: str) -> bool:
    """Whether a column's name reads like a grouping of samples (``donor``, ``patient_id``, ``Batch``, ``cellLine``)."""
    tokens = re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", str(name)).lower())
    return any(t in GROUPING_WORDS for t in tokens) or str(name).lower().replace("_", "") in GROUPING_WORDS


def _integer_coded(values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(values):
        return False
    if not pd.api.types.is_numeric_dtype(values):
        return False
    v = values.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(v)) and np.all(v == np.round(v)))


def resolve_groupby(pdata, groupby: str | None, notes: list[str]) -> str | None:
    """``groupby="auto"``: the column ``dp.pp.pseudobulk`` grouped by, else ``cell_type``, else one group."""
    if groupby != "auto":
        return groupby
    record = pdata.uns.get("pseudobulk")
    keys = record.get("groupby") if isinstance(record, Mapping) else None
    keys = [k for k in ([keys] if isinstance(keys, str) else list(keys if keys is not None else [])) if k]
    if len(keys) == 1 and keys[0] in pdata.obs.columns:
        notes.append(f"groupby={keys[0]!r}: the column dp.pp.pseudobulk grouped the cells by.")
        return keys[0]
    if "cell_type" in pdata.obs.columns:
        return "cell_type"
    notes.append(
        "No 'cell_type' column and no pseudobulk grouping: every profile is fitted as one group ('all'); pass "
        "groupby= naming a column to fit groups separately."
    )
    return None


def _short_form_factors(pdata, covariates: list[str], notes: list[str]) -> list[str]:
    """Integer covariates of the short form that name a grouping (donor 1–4, patient 101/107) enter as factors."""
    factors = []
    for c in covariates:
        values = pdata.obs[c]
        if not _integer_coded(values):
            continue
        n_levels = int(values.nunique())
        if names_a_grouping(c):
            factors.append(c)
            notes.append(
                f"obs[{c!r}] holds integers ({n_levels} values) and names a grouping: it enters the design as a "
                f"factor (one coefficient per level), not as a number. For a numeric covariate, use design= with it."
            )
        elif n_levels <= 4:
            notes.append(
                f"obs[{c!r}] holds {n_levels} integer values and enters the design as a number (one slope). If they "
                f"are codes of groups, pass design='~ C({c}) + ...' or convert the column to text."
            )
    return factors


def resolve_call(
    pdata, engine, *, condition_key, control, groupby, covariates, design, contrasts, coef, reduced, block, match
) -> Call:
    """Check a ``de`` call against the data and resolve its design and tests; errors name the argument to fix."""
    notes: list[str] = []
    groupby = resolve_groupby(pdata, groupby, notes)
    if covariates is not None:
        covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if design is not None:
        if covariates:
            raise ValueError(
                f"Pass covariates inside design= (e.g. '~ {' + '.join(covariates)} + {condition_key}'), not both."
            )
        if match:
            raise ValueError(
                "match= builds the design itself; with design= write the interaction, e.g. '~ drug * time'."
            )
        if engine.name == "ttest":
            raise ValueError("method='ttest' ignores designs; use 'voom', 'limma' or 'deseq2' with design=.")
        formula = tidy_formula(design)
        variables = formula_variables(formula)
        uses_condition = condition_key in variables
        covariates = [v for v in variables if v != condition_key]
    else:
        if covariates is None:
            covariates = ["donor"] if "donor" in pdata.obs.columns else []
            if covariates:
                notes.append("covariates=['donor']: the data have a 'donor' column (pass covariates=[] for none).")
        if condition_key in covariates:
            raise ValueError(f"{condition_key!r} is the condition; remove it from covariates.")
        formula, uses_condition, variables = None, True, [*covariates, condition_key]
    _dropped_by_pseudobulk(
        pdata, [condition_key if uses_condition or contrasts is not None else None, *variables, block, *match]
    )
    check_obs_keys(
        pdata,
        {
            "condition_key": condition_key if uses_condition or contrasts is not None else None,
            "groupby": groupby,
            "design" if design is not None else "covariates": [v for v in variables if v != condition_key],
            "match": match,
            "block": block,
        },
        what="pdata",
    )
    if block is not None:
        if not engine.block:
            raise ValueError(
                f"method={engine.name!r} does not model a blocking factor; use method='voom' (counts) or 'limma' with "
                f"block={block!r}, or put {block!r} in the design as a fixed effect."
            )
        if block in variables:
            raise ValueError(f"block={block!r} is also in the design; a column is either a fixed effect or a block.")
    for key in (condition_key if uses_condition else None, groupby, block, *match, *variables):
        n_missing = 0 if key is None else int(pdata.obs[key].isna().sum())
        if n_missing:
            raise ValueError(
                f"obs[{key!r}] has {n_missing} missing value(s) in {pdata.n_obs} profiles; a missing label would "
                f"become a hidden level of the design. Fill them, or drop those profiles first: "
                f"pdata[pdata.obs[{key!r}].notna()]."
            )
    if not pdata.var_names.is_unique:
        dup = pdata.var_names[pdata.var_names.duplicated()].unique()[:5].tolist()
        raise ValueError(f"Gene names are duplicated (e.g. {dup}); run pdata.var_names_make_unique() first.")
    factors = _short_form_factors(pdata, covariates, notes) if design is None else []
    levels = None
    if uses_condition or contrasts is not None:
        levels = [str(x) for x in categories(pdata.obs[condition_key])]
        if control is not None and not isinstance(control, str):
            control = str(control)  # the level as the user sees it: control=0 for a column of 0, 1, 2
        control = resolve_control(
            levels, control, condition_key, levels_needed=contrasts is not None or not (coef or reduced)
        )
    display = formula or short_formula(covariates, condition_key)
    specs = parse_tests(
        levels if uses_condition else None,
        control,
        condition_key=condition_key,
        contrasts=contrasts,
        coef=coef,
        reduced=reduced,
        formula=display,
    )
    unsupported = sorted({s.kind for s in specs} - set(engine.tests))
    if unsupported:
        raise ValueError(
            f"method={engine.name!r} offers {', '.join(engine.tests)} tests, not {', '.join(unsupported)}; use 'voom', "
            "'limma' or 'deseq2'."
        )
    return Call(formula, display, covariates, variables, uses_condition, control, specs, groupby, factors, notes)


def _dropped_by_pseudobulk(pdata, keys: list) -> None:
    """A column the call needs that ``dp.pp.pseudobulk`` left out because it varied within samples: say so."""
    record = pdata.uns.get("pseudobulk")
    varying = record.get("varying") if isinstance(record, Mapping) else None
    if not isinstance(varying, pd.DataFrame) or varying.empty:
        return
    for key in keys:
        if key is not None and key not in pdata.obs.columns and key in set(varying["column"]):
            n = int(varying.set_index("column").loc[key, "n_profiles"])
            sample = record.get("sample_key", "sample")
            raise KeyError(
                f"obs[{key!r}] is not in the profiles: dp.pp.pseudobulk left it out because it varies within {n} of "
                f"{pdata.n_obs + len(record.get('dropped', []))} profiles, i.e. sample_key={sample!r} mixes its "
                f"values. A sample must be one donor (well, animal) under one condition: pseudobulk by a sample key "
                f"that separates {key!r} too (e.g. a column combining donor and {key!r})."
            )


def resolve_control(levels: list[str], control: str | None, condition_key: str, *, levels_needed: bool) -> str:
    if control is None:
        control = find_vehicle(levels)
        if control is None:
            if not levels_needed:
                logger.info("de: reference level %r of %r (its first level)", levels[0], condition_key)
                return levels[0]
            raise ValueError(
                f"No single level of obs[{condition_key!r}] reads like the control (DMSO, vehicle, ctrl, untreated "
                f"…); levels present: {', '.join(levels)}. Pass control=... naming it."
            )
        logger.info("de: control %r (the level labelled like a vehicle)", control)
    if control not in levels:
        raise ValueError(
            f"Control {control!r} is not a level of obs[{condition_key!r}]; levels present: {', '.join(levels)}. "
            "Pass control=... (dp.resources.resolve_compound maps labels such as 'vehicle' to 'DMSO')."
        )
    return control


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


EVERY_GROUP = "(every group)"  # a skip recorded once for the whole call


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


@dataclass
class GroupSetup:
    """What every group shares: the formula (or covariates of the short form), the tests, the filters."""

    specs: list[TestSpec]
    cond_col: str | None  # the condition column in the formula, None when the formula has none
    ref_levels: list[str]
    formula: str | None  # None: the short form, built per group from the covariates that vary
    covariates: list[str]
    condition_key: str
    min_replicates: int
    block: str | None
    filter_genes: bool
    is_counts: bool


def _skip(skipped: list, group: str, reason: str) -> None:
    skipped.append((group, "*", reason))  # warned by de() once the call is known to be valid


def plan_group(group: str, meta: pd.DataFrame, x: np.ndarray, var_names: pd.Index, setup: GroupSetup, skipped: list):
    """The fit of one group (a :class:`~drugprint.tl._engines.FitJob`), or ``None`` with the reasons recorded."""
    s = setup
    keep = np.ones(len(meta), dtype=bool)
    reference, too_few = None, []
    if s.cond_col is not None:
        cond = meta[s.cond_col].astype(str)
        per_level = cond.value_counts()
        too_few = [lv for lv, n in per_level.items() if n < s.min_replicates]
        for lv in too_few:
            skipped.append((group, lv, f"{per_level[lv]} profile(s) < min_replicates={s.min_replicates}"))
        reference = next((lv for lv in s.ref_levels if lv in per_level and lv not in too_few), None)
        if reference is None:
            _skip(skipped, group, f"control {s.ref_levels[0]!r} has fewer than {s.min_replicates} profiles.")
            return None
        keep = ~cond.isin(too_few).to_numpy()
    sub = meta.loc[keep]
    present = set(sub[s.cond_col].astype(str)) if s.cond_col else set()
    specs = []
    for spec in s.specs:
        missing = [lv for lv in spec.levels if lv not in present]
        if missing:
            if not any(lv.split(" @ ")[0] in too_few for lv in missing):
                skipped.append((group, spec.label, f"condition absent from this group: {', '.join(missing)}"))
        else:
            specs.append(spec)
    if not specs:
        _skip(skipped, group, "no testable contrast (no test has all its conditions with enough profiles).")
        return None
    formula, dropped = s.formula, []
    if formula is None:  # short form: covariates constant within the group leave the design (recorded)
        used = [c for c in s.covariates if sub[c].nunique(dropna=False) > 1]
        dropped = [c for c in s.covariates if c not in used]
        formula = short_formula(used, s.cond_col)
    try:
        design = build_design(sub, formula, factor=s.cond_col, reference=reference)
    except DesignError as err:
        _skip(skipped, group, str(err))
        return None
    design.dropped_terms = dropped
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
    if not tests:
        _skip(skipped, group, "none of the tests applies to this group's design.")
        return None
    block = None
    if s.block is not None:
        block = sub[s.block].astype(str).to_numpy()
        sizes = pd.Series(block).value_counts()
        if len(sizes) < 2 or sizes.max() < 2:
            _skip(
                skipped,
                group,
                f"block {s.block!r} needs at least two blocks, one with several profiles "
                f"(here {len(sizes)} block(s) of at most {sizes.max()} profile(s)).",
            )
            return None
    counts = pd.DataFrame(x[keep], index=sub.index, columns=var_names)
    if s.filter_genes:  # the short form groups by condition (edgeR's one-way rule); a formula uses its design
        by_group = s.formula is None
        tested = filter_by_expr(counts, sub[s.cond_col] if by_group else None, None if by_group else design.matrix)
    elif s.is_counts:
        tested = (counts.sum(axis=0) > 0).to_numpy()
    else:
        tested = (np.isfinite(counts).sum(axis=0) > design.matrix.shape[1]).to_numpy()
    if tested.sum() == 0:
        _skip(skipped, group, "no gene passed the expression filter.")
        return None
    labels = {f"t{i}": spec for i, spec in enumerate(specs) if f"t{i}" in tests}
    n_zero = int((~tested).sum()) if s.is_counts and not s.filter_genes else 0  # all-zero genes, as R would see them
    return FitJob(group, sub, counts.loc[:, tested], tested, design, tests, pairs, block, labels, n_zero)
