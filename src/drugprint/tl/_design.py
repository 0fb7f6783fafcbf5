"""Design matrices and contrast vectors for per-group fits (treatment coding, control as reference)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


class DesignError(ValueError):
    """A design that cannot be fitted (confounded, no residual degrees of freedom, …)."""


@dataclass
class Design:
    """A full-rank design: ``matrix`` (profiles × coefficients) and the coefficient of each condition."""

    matrix: pd.DataFrame
    condition_columns: dict[str, str]  # condition level -> coefficient name (absent for the reference)
    reference: str
    covariates: list[str]
    dropped_covariates: list[str] = field(default_factory=list)

    @property
    def residual_df(self) -> int:
        return self.matrix.shape[0] - self.matrix.shape[1]

    def contrast(self, level: str, versus: str) -> np.ndarray:
        """Vector giving ``level`` minus ``versus`` on the coefficient scale."""
        vec = np.zeros(self.matrix.shape[1])
        cols = list(self.matrix.columns)
        if level != self.reference:
            vec[cols.index(self.condition_columns[level])] += 1.0
        if versus != self.reference:
            vec[cols.index(self.condition_columns[versus])] -= 1.0
        return vec

    def formula(self, condition_key: str) -> str:
        """The design as an R-style formula, e.g. ``"~ donor + drug"``."""
        return "~ " + " + ".join([*self.covariates, condition_key])


def build_design(meta: pd.DataFrame, condition_key: str, reference: str, covariates: Sequence[str]) -> Design:
    """Treatment-coded design ``~ covariates + condition`` with ``reference`` as the baseline.

    Categorical covariates become indicator columns (first level, in category or sorted order, dropped);
    numeric ones enter as they are.
    Covariates constant within ``meta`` are dropped (recorded). Raises :class:`DesignError` when the
    design is not of full rank (a covariate confounded with the condition) or leaves no residual degrees
    of freedom.
    """
    cond = meta[condition_key].astype(str)
    levels = [reference] + [lv for lv in pd.unique(cond) if lv != reference]
    cols: dict[str, np.ndarray] = {"intercept": np.ones(len(meta))}
    used, dropped, cov_cols = [], [], {}
    for i, cov in enumerate(covariates):
        values = meta[cov]
        if values.isna().any():
            raise DesignError(f"covariate {cov!r} has missing values; fill them or leave {cov!r} out of covariates.")
        if pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
            if values.nunique() < 2:
                dropped.append(cov)
                continue
            cov_cols[cov] = [f"cov{i}"]
            cols[f"cov{i}"] = values.to_numpy(dtype=float)
        else:
            cats = (
                [str(c) for c in values.cat.categories if c in set(values)]
                if isinstance(values.dtype, pd.CategoricalDtype)
                else sorted(pd.unique(values.astype(str)))
            )
            if len(cats) < 2:
                dropped.append(cov)
                continue
            cov_cols[cov] = [f"cov{i}_{j}" for j in range(len(cats) - 1)]
            for name, c in zip(cov_cols[cov], cats[1:], strict=True):
                cols[name] = (values.astype(str) == c).to_numpy(dtype=float)
        used.append(cov)
    cond_cols = {}
    for j, lv in enumerate(levels[1:]):
        name = f"cond_{j}"
        cols[name] = (cond == lv).to_numpy(dtype=float)
        cond_cols[lv] = name
    matrix = pd.DataFrame(cols, index=meta.index)
    rank = np.linalg.matrix_rank(matrix.to_numpy())
    if rank < matrix.shape[1]:
        culprits = []
        for cov in used:
            reduced = matrix.drop(columns=cov_cols[cov])
            if np.linalg.matrix_rank(reduced.to_numpy()) == reduced.shape[1]:
                culprits.append(cov)
        who = f"covariate {', '.join(map(repr, culprits))}" if culprits else "the covariates"
        raise DesignError(
            f"{condition_key!r} is confounded with {who}: the design {', '.join(used)} + {condition_key} "
            "is not of full rank, so the drug effect cannot be separated. Remove the covariate or add profiles "
            "that break the confounding."
        )
    design = Design(matrix, cond_cols, reference, used, dropped)
    if design.residual_df < 1:
        raise DesignError(
            f"{matrix.shape[0]} profiles for {matrix.shape[1]} coefficients leave no residual degrees of freedom; "
            "replicates (e.g. more donors) are needed to estimate variability."
        )
    return design
