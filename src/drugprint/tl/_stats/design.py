"""Design matrices from formulaic formulas, and what a fit can test: contrasts, coefficients, omnibus tests.

A :class:`Design` is one group's model matrix (formulaic's column names, e.g. ``drug[T.lenalidomide]``), built
with the control as the reference level of the condition. Contrasts between levels are differences of model
rows (formulaic-contrasts' ``cond``: other variables at their reference level, numeric ones at 0), so they read
the same in ``~ donor + drug`` and in ``~ donor + drug * time``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


class DesignError(ValueError):
    """A design that cannot be fitted (a missing column, confounded terms, no residual degrees of freedom …)."""


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote(name: str) -> str:
    """A column name as a formula term (backticks when it is not a plain identifier)."""
    return name if _IDENT.match(name) else f"`{name}`"


def short_formula(covariates: Sequence[str], condition_key: str) -> str:
    """``"~ covariates + condition"``, the design ``condition_key``/``covariates`` stand for."""
    return "~ " + " + ".join(quote(c) for c in [*covariates, condition_key])


def tidy_formula(formula: str) -> str:
    """A formula with one space around ``~`` and ``+`` (``"~donor+drug"`` → ``"~ donor + drug"``)."""
    text = " ".join(str(formula).split())
    if not text.lstrip().startswith("~"):
        text = "~ " + text
    text = re.sub(r"\s*~\s*", "~ ", text, count=1)
    return re.sub(r"\s*\+\s*", " + ", text).strip()


def formula_variables(formula: str) -> list[str]:
    """The data columns a formula reads (``"~ donor + np.log2(dose)"`` → ``["donor", "dose"]``)."""
    from formulaic import Formula

    try:
        spec = Formula(formula)
    except Exception as err:  # formulaic's parser errors carry the position of the problem
        raise DesignError(f"Could not parse the formula {formula!r}: {err}") from None
    return sorted(str(v) for v in spec.required_variables)


def is_nested(x: np.ndarray, xr: np.ndarray) -> bool:
    """Whether every column of ``xr`` is a combination of the columns of ``x`` (a reduced design nested in it)."""
    coef, *_ = np.linalg.lstsq(x, xr, rcond=None)
    return bool(np.abs(x @ coef - xr).max() <= 1e-8 * max(1.0, np.abs(xr).max()))


def largest_effect(est: np.ndarray) -> np.ndarray:
    """Per row (gene), the signed estimate largest in absolute value among the finite ones; NaN when none is.

    What an omnibus row reports as ``log2fc``: the dropped coefficient that moved most.
    """
    finite = np.isfinite(est)
    pick = np.argmax(np.where(finite, np.abs(est), -1.0), axis=1)[:, None]
    return np.where(finite.any(axis=1), np.take_along_axis(est, pick, 1)[:, 0], np.nan)


@dataclass(frozen=True)
class Omnibus:
    """An omnibus test of the full design against a reduced one nested in it.

    ``reduced`` is the reduced model matrix; ``basis`` (coefficients × k) spans the hypothesis ``basis.T @ beta
    = 0`` the test makes (the dropped coefficients when ``reduced`` keeps a subset of the full design's
    columns); ``dropped`` names those coefficients (empty when the reduced design is not a subset by name).
    """

    reduced: pd.DataFrame
    basis: np.ndarray
    dropped: list[str]

    @property
    def df(self) -> int:
        return int(self.basis.shape[1])


@dataclass
class Design:
    """One group's full-rank model matrix (profiles × coefficients) and the formula it came from."""

    matrix: pd.DataFrame
    formula: str
    factor: str | None = None  # the condition column, whose levels contrasts name
    reference: str | None = None
    levels: list[str] = field(default_factory=list)
    dropped_terms: list[str] = field(default_factory=list)
    _contrasts: object = field(default=None, repr=False)  # formulaic_contrasts.FormulaicContrasts
    _data: pd.DataFrame | None = field(default=None, repr=False)  # the columns as coded for the formula
    _rows: dict = field(default_factory=dict, repr=False)  # level → model row

    @property
    def residual_df(self) -> int:
        return self.matrix.shape[0] - self.matrix.shape[1]

    @property
    def coefficients(self) -> list[str]:
        return [str(c) for c in self.matrix.columns]

    def level(self, level: str) -> np.ndarray:
        """The model row of condition ``level``, other variables at their reference (numeric ones at 0)."""
        if not self._rows and self.levels:  # formulaic builds a model matrix per call (~10 ms): all rows in one
            self._rows = self._level_rows()
        if level not in self._rows:  # one at a time (or formulaic_contrasts' error for an unknown level)
            self._rows[level] = self._contrasts.cond(**{self.factor: level}).to_numpy(dtype=float)
        return self._rows[level].copy()

    def _level_rows(self) -> dict[str, np.ndarray]:
        """Every level's model row at once: the rows formulaic_contrasts' ``cond`` builds one at a time.

        Uses formulaic_contrasts' (private) default of each other variable; without it, rows come one by one.
        """
        fc = self._contrasts
        default = getattr(fc, "_get_default_value", None)
        if default is None:
            return {}
        defaults = {v: default(v) for v in fc.variables if v != self.factor}
        rows = pd.DataFrame([{**defaults, self.factor: lv} for lv in self.levels])
        matrix = fc.design_matrix.model_spec.get_model_matrix(rows).to_numpy(dtype=float)
        return dict(zip(self.levels, matrix, strict=True))

    def contrast(self, level: str, versus: str) -> np.ndarray:
        """Vector giving ``level`` minus ``versus`` on the coefficient scale."""
        return self.level(level) - self.level(versus)

    def weighted(self, weights: Mapping[str, float]) -> np.ndarray:
        """Vector of a weighting of condition levels, e.g. ``{"a": .5, "b": .5, "c": -1}``."""
        return sum(float(w) * self.level(lv) for lv, w in weights.items())

    def coef(self, name: str) -> np.ndarray:
        """Unit vector of one coefficient, by its column name."""
        if name not in self.coefficients:
            raise KeyError(
                f"coef {name!r} is not a coefficient of {self.formula}; its coefficients are: "
                f"{', '.join(self.coefficients)}."
            )
        vec = np.zeros(self.matrix.shape[1])
        vec[self.coefficients.index(name)] = 1.0
        return vec

    def omnibus(self, reduced_formula: str) -> Omnibus:
        """The test of this design against ``reduced_formula`` (which must be nested in it)."""
        from formulaic import model_matrix

        extra = [v for v in formula_variables(reduced_formula) if v not in self._data.columns]
        if extra:
            raise DesignError(
                f"reduced={reduced_formula!r} names {', '.join(map(repr, extra))}, which the design {self.formula} "
                "does not: the reduced formula must drop terms of the design, not add them."
            )
        red = _materialise(reduced_formula, self._data, lambda data, f: model_matrix(f, data))
        red = pd.DataFrame(np.asarray(red, dtype=float), index=self.matrix.index, columns=[str(c) for c in red.columns])
        x, xr = self.matrix.to_numpy(), red.to_numpy()
        if not is_nested(x, xr):
            raise DesignError(
                f"reduced={reduced_formula!r} is not nested in the design {self.formula}: its columns are not "
                "combinations of the design's. Drop terms from the design to make the reduced formula."
            )
        q = np.linalg.matrix_rank(xr)
        if q >= self.matrix.shape[1]:
            raise DesignError(
                f"reduced={reduced_formula!r} spans the whole design {self.formula}: nothing is left to test."
            )
        if set(red.columns) <= set(self.coefficients) and q == red.shape[1]:
            dropped = [c for c in self.coefficients if c not in set(red.columns)]
            basis = np.stack([self.coef(c) for c in dropped], axis=1)
        else:  # hypothesis (I - P_reduced) X beta = 0, through its row space
            resid = x - xr @ np.linalg.lstsq(xr, x, rcond=None)[0]
            _, s, vt = np.linalg.svd(resid, full_matrices=False)
            k = int((s > s[0] * 1e-10).sum())
            dropped, basis = [], vt[:k].T
        return Omnibus(red, basis, dropped)


def _materialise(formula: str, meta: pd.DataFrame, build):
    """``build(meta, formula)`` (formulaic's ``model_matrix`` or ``FormulaicContrasts``) with a clear error."""
    from formulaic.errors import FactorEvaluationError

    try:
        return build(meta, formula)
    except FactorEvaluationError as err:
        missing = [v for v in formula_variables(formula) if v not in meta.columns]
        what = f"column(s) {', '.join(map(repr, missing))}" if missing else "a term"
        raise DesignError(
            f"The formula {formula!r} names {what} that the profiles do not have ({err}); columns present: "
            f"{', '.join(map(repr, meta.columns))}."
        ) from None


def _categorical(values: pd.Series, first: str | None = None) -> pd.Series:
    """Observed levels only (unused categories would make empty columns), ``first`` as the reference."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in values.cat.categories if c in set(values)]
    else:
        cats = sorted(pd.unique(values.astype(str)))
    if first is not None:
        cats = [first] + [c for c in cats if c != first]
    return pd.Series(pd.Categorical(values.astype(str), categories=cats), index=values.index, name=values.name)


def build_design(
    meta: pd.DataFrame, formula: str, *, factor: str | None = None, reference: str | None = None
) -> Design:
    """The model matrix of ``formula`` on ``meta`` (one group's profiles), checked to be of full rank.

    Text and categorical columns the formula reads become categoricals of their observed levels (category
    order, else sorted), with ``reference`` first for ``factor``; numeric columns enter as they are. Raises
    :class:`DesignError` naming a missing column, the confounded terms of a design not of full rank, or a
    design that leaves no residual degrees of freedom.
    """
    from formulaic_contrasts import FormulaicContrasts

    variables = formula_variables(formula)
    missing = [v for v in variables if v not in meta.columns]
    if missing:
        raise DesignError(
            f"The formula {formula!r} names {', '.join(map(repr, missing))}, not a column of the profiles' obs; "
            f"columns present: {', '.join(map(repr, meta.columns))}."
        )
    data = meta.loc[:, variables].copy()
    for col in variables:
        values = data[col]
        if values.isna().any():
            raise DesignError(
                f"obs[{col!r}] has {int(values.isna().sum())} missing value(s); fill them or drop the profiles."
            )
        is_numeric = pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype)
        if not is_numeric or col == factor:
            data[col] = _categorical(values, reference if col == factor else None)
    fc = _materialise(formula, data, FormulaicContrasts)
    matrix = fc.design_matrix
    names = [str(c) for c in matrix.columns]
    x = np.asarray(matrix, dtype=float)
    rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1]:
        terms = {str(t): idx for t, idx in matrix.model_spec.term_indices.items() if str(t) != "1"}
        culprits = [
            t for t, idx in terms.items() if np.linalg.matrix_rank(np.delete(x, idx, axis=1)) == x.shape[1] - len(idx)
        ]
        others = [t for t in culprits if t != factor]
        if factor in culprits and others:
            what = f"{factor!r} is confounded with covariate {', '.join(map(repr, others))}"
        else:
            what = f"the terms {', '.join(map(repr, culprits or list(terms)))} are confounded"
        raise DesignError(
            f"{what}: the design {formula} is not of full rank ({rank} of {x.shape[1]} coefficients estimable), "
            "so their effects cannot be separated. Remove one of them, or add profiles that break the confounding."
        )
    levels = list(data[factor].cat.categories) if factor in data.columns else []
    design = Design(
        pd.DataFrame(x, index=meta.index, columns=names),
        formula,
        factor,
        reference,
        [str(v) for v in levels],
        [],
        fc,
        data,
    )
    if design.residual_df < 1:
        raise DesignError(
            f"{x.shape[0]} profiles for {x.shape[1]} coefficients of {formula} leave no residual degrees of freedom; "
            "replicates (e.g. more donors) are needed to estimate variability."
        )
    return design
