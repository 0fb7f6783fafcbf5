"""A ``de`` call resolved against the data: the groups, the design, its covariates and the tests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..._anndata import categories
from ..._checks import check_obs_keys
from .._stats.design import formula_variables, short_formula, tidy_formula
from .engines import offering
from .specs import TestSpec, parse_tests, resolve_control


@dataclass
class Call:
    """A ``de`` call resolved: the formula (``None`` for the short form), its variables and the tests.

    ``groupby`` is the column the groups come from (``None``: one group); ``factors`` the integer columns of the
    short form that enter as factors; ``notes`` what was decided from the data, for the log and ``uns["de"]``.
    """

    condition_key: str
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
    formula, covariates, variables, uses_condition = _design_terms(
        pdata, engine, condition_key, covariates, design, match, notes
    )
    named = condition_key if uses_condition or contrasts is not None else None
    in_design = condition_key if uses_condition else None
    _check_columns(pdata, engine, named, in_design, groupby, variables, design is not None, match, block)
    factors = _short_form_factors(pdata, covariates, notes) if design is None else []
    levels = None
    if named is not None:
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
            f"method={engine.name!r} offers {', '.join(engine.tests)} tests, not {', '.join(unsupported)}; use "
            f"{offering(lambda e: set(unsupported) <= set(e.tests))}."
        )
    return Call(
        condition_key, formula, display, covariates, variables, uses_condition, control, specs, groupby, factors, notes
    )


def _design_terms(pdata, engine, condition_key, covariates, design, match, notes) -> tuple:
    """The formula (``None`` for the short form), the covariates, every variable, and whether the condition enters."""
    if covariates is not None:
        covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if design is None:
        if covariates is None:
            covariates = ["donor"] if "donor" in pdata.obs.columns else []
            if covariates:
                notes.append("covariates=['donor']: the data have a 'donor' column (pass covariates=[] for none).")
        if condition_key in covariates:
            raise ValueError(f"{condition_key!r} is the condition; remove it from covariates.")
        return None, covariates, [*covariates, condition_key], True
    if covariates:
        raise ValueError(
            f"Pass covariates inside design= (e.g. '~ {' + '.join(covariates)} + {condition_key}'), not both."
        )
    if match:
        raise ValueError("match= builds the design itself; with design= write the interaction, e.g. '~ drug * time'.")
    if not engine.designs:
        raise ValueError(f"method={engine.name!r} ignores designs; use {offering('designs')} with design=.")
    formula = tidy_formula(design)
    variables = formula_variables(formula)
    return formula, [v for v in variables if v != condition_key], variables, condition_key in variables


def _check_columns(pdata, engine, condition_key, in_design, groupby, variables, formula: bool, match, block) -> None:
    """Every column the call names is in ``obs``, without missing values; a block is not also a fixed effect."""
    _dropped_by_pseudobulk(pdata, [condition_key, *variables, block, *match])
    check_obs_keys(
        pdata,
        {
            "condition_key": condition_key,
            "groupby": groupby,
            "design" if formula else "covariates": [v for v in variables if v != condition_key],
            "match": match,
            "block": block,
        },
        what="pdata",
    )
    if block is not None:
        if not engine.block:
            raise ValueError(
                f"method={engine.name!r} does not model a blocking factor; use method={offering('block')} with "
                f"block={block!r}, or put {block!r} in the design as a fixed effect."
            )
        if block in variables:
            raise ValueError(f"block={block!r} is also in the design; a column is either a fixed effect or a block.")
    for key in (in_design, groupby, block, *match, *variables):
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
