"""What a ``de`` call tests: pairs of levels, weightings of levels, coefficients, omnibus hypotheses; the control."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..._env import logger
from ...resources import find_vehicle
from .._stats.design import Design, Omnibus, tidy_formula


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
        label = f"{formula} vs {tidy_formula(reduced)}"
        specs.append(TestSpec("omnibus", label, label, reduced=tidy_formula(reduced)))
    labels = [s.label for s in specs]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"The same test is asked for twice: {dup}.")
    return specs


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
