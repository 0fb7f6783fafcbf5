"""The compound registry: thalidomide and its progeny, with aliases, class and neosubstrates."""

from __future__ import annotations

import re

import pandas as pd

# One row per compound. Neosubstrates are those shown to be degraded through CRBN by that compound
# (not an exhaustive degrome); the reference is the primary report of its mechanism.
_COMPOUNDS: list[dict[str, object]] = [
    {
        "name": "thalidomide",
        "aliases": ["Thalomid", "K-17"],
        "class": "IMiD",
        "neosubstrates": ["IKZF1", "IKZF3", "SALL4", "ZBTB16"],
        "reference": "Ito et al. 2010, Science 327:1345 (CRBN); Donovan et al. 2018, eLife 7:e38430 (SALL4); "
        "Yamanaka et al. 2021, EMBO J 40:e105375 (PLZF/ZBTB16)",
    },
    {
        "name": "lenalidomide",
        "aliases": ["CC-5013", "Revlimid"],
        "class": "IMiD",
        "neosubstrates": ["IKZF1", "IKZF3", "CSNK1A1", "ZFP91", "SALL4"],
        "reference": "Krönke et al. 2014, Science 343:301; Lu et al. 2014, Science 343:305; "
        "Krönke et al. 2015, Nature 523:183 (CK1α)",
    },
    {
        "name": "pomalidomide",
        "aliases": ["CC-4047", "Pomalyst", "Imnovid"],
        "class": "IMiD",
        "neosubstrates": ["IKZF1", "IKZF3", "ZFP91", "SALL4"],
        "reference": "Krönke et al. 2014, Science 343:301; An et al. 2017, Nat Commun 8:15398 (ZFP91)",
    },
    {
        "name": "iberdomide",
        "aliases": ["CC-220"],
        "class": "CELMoD",
        "neosubstrates": ["IKZF1", "IKZF3"],
        "reference": "Matyskiela et al. 2018, J Med Chem 61:535; Bjorklund et al. 2020, Leukemia 34:1197",
    },
    {
        "name": "mezigdomide",
        "aliases": ["CC-92480"],
        "class": "CELMoD",
        "neosubstrates": ["IKZF1", "IKZF3"],
        "reference": "Hansen et al. 2020, J Med Chem 63:6648; Richardson et al. 2023, N Engl J Med 389:1009",
    },
    {
        "name": "avadomide",
        "aliases": ["CC-122"],
        "class": "CELMoD",
        "neosubstrates": ["IKZF1", "IKZF3", "ZFP91"],
        "reference": "Hagner et al. 2015, Blood 126:779",
    },
    {
        "name": "CC-885",
        "aliases": ["CC885"],
        "class": "GSPT1 degrader",
        "neosubstrates": ["GSPT1", "IKZF1", "IKZF3"],
        "reference": "Matyskiela et al. 2016, Nature 535:252",
    },
    {
        "name": "golcadomide",
        "aliases": ["CC-99282"],
        "class": "CELMoD",
        "neosubstrates": ["IKZF1", "IKZF3"],
        "reference": "Lopez-Girona et al. 2019, Blood 134 (Suppl 1), ASH annual meeting abstract",
    },
]

#: Labels used for the vehicle/untreated condition; ``resolve_compound`` maps them to ``"DMSO"``.
VEHICLE_LABELS = (
    "DMSO",
    "vehicle",
    "control",
    "ctrl",
    "ctl",
    "untreated",
    "unstimulated",
    "unstim",
    "mock",
    "PBS",
    "placebo",
    "saline",
)


def _norm(label: str) -> str:
    return re.sub(r"[\s_\-]", "", str(label)).casefold()


def compounds() -> pd.DataFrame:
    """The compound registry.

    Returns
    -------
    DataFrame indexed by the compound's name with columns ``aliases`` (list), ``class``
    (``"IMiD"``, ``"CELMoD"`` or ``"GSPT1 degrader"``), ``neosubstrates`` (list of HGNC symbols) and
    ``reference``.

    Examples
    --------
    >>> import drugprint as dp
    >>> reg = dp.resources.compounds()
    >>> reg.loc["mezigdomide", "class"]
    'CELMoD'
    """
    df = pd.DataFrame(_COMPOUNDS).set_index("name")
    df.index.name = "compound"
    return df


def find_vehicle(levels) -> str | None:
    """The one level among ``levels`` labelled like a vehicle or untreated control, or ``None``.

    ``None`` when no level or more than one level reads like a control (``DMSO``, ``vehicle``, ``ctrl``,
    ``untreated``, ``mock``, ``PBS`` …, any case, ignoring spaces, ``_`` and ``-``).

    Parameters
    ----------
    levels
        The levels of a condition column (any iterable; compared as strings).

    Returns
    -------
    The vehicle level as given, or ``None``.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.resources.find_vehicle(["stim", "ctrl"])
    'ctrl'
    >>> dp.resources.find_vehicle(["DMSO", "vehicle", "lenalidomide"]) is None
    True
    """
    vehicles = {_norm(v) for v in VEHICLE_LABELS}
    hits = [str(lv) for lv in levels if _norm(lv) in vehicles]
    return hits[0] if len(hits) == 1 else None


def resolve_compound(label: str, *, strict: bool = False) -> str:
    """Map a drug label (name, code or brand, any case) to the registry's name.

    Vehicle labels (``DMSO``, ``vehicle``, ``control`` …) map to ``"DMSO"``.

    Parameters
    ----------
    label
        A drug label as found in ``obs``, e.g. ``"CC-5013"`` or ``"Revlimid"``.
    strict
        Raise a ValueError for an unknown label instead of returning it unchanged.

    Returns
    -------
    The registry's name (see :func:`drugprint.resources.compounds`), ``"DMSO"`` for a vehicle, or ``label``
    unchanged when it is unknown and ``strict`` is ``False``.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.resources.resolve_compound("CC-5013")
    'lenalidomide'
    """
    key = _norm(label)
    if key in {_norm(v) for v in VEHICLE_LABELS}:
        return "DMSO"
    for row in _COMPOUNDS:
        if key in {_norm(row["name"]), *(_norm(a) for a in row["aliases"])}:  # type: ignore[union-attr]
            return str(row["name"])
    if strict:
        known = ", ".join(str(r["name"]) for r in _COMPOUNDS)
        raise ValueError(f"Unknown compound {label!r}; the registry knows {known} (and their aliases).")
    return str(label)


def is_imid_study(conditions) -> bool:
    """Whether any condition is a compound of the registry (thalidomide and its progeny).

    Each condition is resolved by :func:`resolve_compound` (names, codes, brands, any case); a dose or time
    written after ``" @ "`` (``"lenalidomide @ 1"``) is ignored. Such a study reads the IMiD/CELMoD panels
    (:func:`drugprint.resources.panels_for`) and their genes.

    Parameters
    ----------
    conditions
        The condition labels of a study (any iterable; compared as strings).

    Returns
    -------
    ``True`` when at least one condition is a registry compound.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.resources.is_imid_study(["DMSO", "CC-5013"])
    True
    >>> dp.resources.is_imid_study(["ctrl", "stim"])
    False
    """
    known = {str(row["name"]) for row in _COMPOUNDS}
    return any(resolve_compound(str(c).split(" @ ")[0]) in known for c in conditions)
