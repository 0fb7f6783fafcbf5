"""Screens fitted in blocks: a group with many conditions split into blocks of conditions, each with its controls.

A design with every compound of a screen as a coefficient costs more than linearly in the compounds (each gene's
solve grows with the coefficients squared, and what set tests and ranks keep per fit grows with it). When every
test of a group is a condition against the control and the condition enters the design additively, the group is
fitted in blocks of conditions instead: each block holds its conditions' profiles and the control profiles that
share their levels of the design's factors (plate, replicate …), and is fitted with the same design
(``conditions_per_fit="auto"``: blocks of 10 conditions in groups of more than 30; a study of up to 30
conditions is fitted as before). The estimates of a condition's effect are the same contrast of the same kind of
data; what changes is the variance each test rests on: the residual variance and its empirical-Bayes prior
(DESeq2's dispersions) are estimated from the block's profiles — its conditions' replicates and its controls —
not from the whole screen's. Each block keeps tens of residual df, so the moderated statistics lose little.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .specs import TestSpec


@dataclass(frozen=True)
class Block:
    """One block of a group: its conditions, the mask of its profiles in the group, and its label (``"2/34"``)."""

    conditions: list[str]
    mask: np.ndarray
    label: str


def why_not_blocks(
    specs: list[TestSpec], control: str | None, cond_col: str | None, formula: str | None, match: bool, block
) -> str:
    """Why a call cannot be fitted in blocks of conditions (``""`` when it can).

    Blocks answer a call whose every test is a condition against the control, with the condition an additive
    term of the design (no interaction, no ``match`` pairing, no ``block`` correlation across blocks).
    """
    if cond_col is None or control is None:
        return "the design has no condition factor"
    if match:
        return "match= pairs conditions within values"
    if block is not None:
        return "block= estimates one correlation across the group"
    if any(s.kind != "pair" or s.reference != control for s in specs):
        return "a test other than a condition against the control is asked for"
    if formula is not None and not _additive(formula, cond_col):
        return f"the condition {cond_col!r} is not an additive term of the design {formula!r}"
    return ""


def _additive(formula: str, term: str) -> bool:
    """Whether ``term`` is one of the formula's ``+`` terms and appears in no other term."""
    rhs = formula.split("~", 1)[-1]
    terms = [t.strip().strip("`") for t in rhs.split("+")]
    return term in terms and not any(re.search(rf"\b{re.escape(term)}\b", t) for t in terms if t != term)


#: ``conditions_per_fit="auto"``: groups with more than ``AUTO_FROM`` conditions are fitted in blocks of ``AUTO_SIZE``
AUTO_FROM, AUTO_SIZE = 30, 10


def block_sizes(conditions_per_fit) -> tuple[float, float]:
    """``(size, more_than)``: blocks of ``size`` conditions for groups with more than ``more_than`` conditions."""
    if conditions_per_fit is None:
        return np.inf, np.inf
    if conditions_per_fit == "auto":
        return AUTO_SIZE, AUTO_FROM
    n = conditions_per_fit
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"conditions_per_fit must be 'auto', a positive integer or None, got {n!r}.")
    return int(n), int(n)


def split_group(
    meta: pd.DataFrame, cond_col: str, reference: str, factors: list[str], sizes: tuple, min_replicates: int
) -> list[Block] | None:
    """A group's blocks of at most ``size`` conditions, or ``None`` when it has no more than ``more_than`` conditions.

    Conditions are ordered by the levels of the design's ``factors`` their profiles sit in (compounds of a plate
    together), then by their order as levels, and cut into blocks of equal size; each block takes the control
    profiles whose levels of every factor occur among its conditions' profiles.
    """
    cond = meta[cond_col].astype(str)
    counts = cond.value_counts(sort=False)
    column = meta[cond_col]
    known = column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype) else dict.fromkeys(cond)
    levels = [str(lv) for lv in known if str(lv) in counts.index and str(lv) != reference]
    testable = [lv for lv in levels if counts[lv] >= min_replicates]
    size, more_than = sizes
    if len(testable) <= more_than:
        return None
    where = {lv: i for i, lv in enumerate(levels)}
    places = {f: meta[f].astype(str) for f in factors}
    sits = {lv: tuple(tuple(sorted(set(v[cond == lv]))) for v in places.values()) for lv in levels}
    order = sorted(levels, key=lambda lv: (sits[lv], where[lv]))
    n_blocks = -(-len(order) // size)
    is_control = (cond == reference).to_numpy()
    blocks = []
    for k, chunk in enumerate(np.array_split(np.asarray(order, dtype=object), n_blocks)):
        treated = cond.isin(chunk).to_numpy()
        controls = is_control.copy()
        for values in places.values():
            controls &= values.isin(set(values[treated])).to_numpy()
        blocks.append(Block([str(c) for c in chunk], treated | controls, f"{k + 1}/{n_blocks}"))
    return blocks


def design_factors(obs: pd.DataFrame, variables: list[str], cond_col: str) -> list[str]:
    """The design's variables other than the condition that are factors (text or categorical columns)."""
    return [
        v
        for v in variables
        if v != cond_col
        and v in obs
        and (isinstance(obs[v].dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(obs[v]))
    ]
