"""The options of a report run, each described once: its default, its help, its flag's group on the command line.

:func:`drugprint.report.run` takes them as keyword arguments (a test keeps its signature equal to
:class:`RunConfig`), the command line ``drugprint run`` is generated from them, and the provenance records them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from os import PathLike
from pathlib import Path

from anndata import AnnData

from .._checks import check_choice
from ..resources import COLLECTIONS
from ..tl._de.blocks import AUTO_FROM
from ..tl._de.engines import ENGINES
from ..tl._sets.methods import SET_METHODS
from ..tl._survival import SPLITS

#: Stages ``run`` can leave out (``skip=``); the others are the analysis itself.
OPTIONAL_STAGES = ("composition", "pathways", "panels", "enrich", "rank", "compare", "dose", "time")

#: The report's layouts: ``"auto"`` chooses ``"screen"`` when a group has more than :data:`SCREEN_FROM` conditions.
LAYOUTS = ("auto", "study", "screen")
#: A group with more conditions than this makes the study a screen (``layout="auto"``).
SCREEN_FROM = AUTO_FROM  # as dp.tl.de's blocks: a group fitted in blocks is shown as a screen

#: The command line's groups of flags, in the order ``drugprint run --help`` shows them.
GROUPS = ("the cells", "the design", "pathways and stages", "the cohort")
#: The options that describe a patient cohort; each needs ``cohort``.
COHORT_OPTIONS = ("time_key", "event_key", "endpoints", "cohort_covariates", "cohort_groups")


def option(default, help: str, *, group: str, **cli) -> object:
    """A :class:`RunConfig` field: its default, its flag's help text and group, and argparse settings.

    ``help`` is the text, or a function returning it (read when the parser is built).

    ``cli`` may hold ``nargs``, ``choices`` (a tuple, or a function returning one: read from a registry when the
    parser is built, so a newly registered engine or set method is a choice), ``metavar``, ``action``, ``type`` (the
    values' type, when not the default's), ``flag`` (the flag's name when not the field's), ``cli_default`` (the
    flag's default when not the field's) or ``cli=False`` (no flag).
    """
    return field(default=default, metadata={"help": help, "group": group, **cli})


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Every option of :func:`drugprint.report.run` (see its Parameters), as one record."""

    sample_key: str = option("sample", "obs column of samples (the replicates)", group="the cells")
    groupby: str | None = option(
        "cell_type",
        "obs column of cell types; each is fitted separately ('none': the rows are samples, one group; count "
        "tables and arrays are read that way)",
        group="the cells",
    )
    layer: str | None = option(
        None,
        "layer of raw counts (default: 'counts' if present, else .raw when X looks log-normalised, else X)",
        group="the cells",
    )
    use_raw: bool | None = option(None, "take the counts from adata.raw", group="the cells", action="store_true")
    min_cells: int = option(10, "profiles (sample × cell type) with fewer cells are dropped", group="the cells")
    condition_key: str = option("drug", "obs column of the treatment", group="the design")
    control: str | None = option(
        None,
        "level of --condition-key every condition is compared with "
        "(default: the one level named like a vehicle: DMSO, vehicle, ctrl, untreated, mock, PBS …)",
        group="the design",
    )
    covariates: Sequence[str] | None = option(
        None,
        "obs columns entering the design before the condition (default: donor when present; give the flag alone "
        "for none)",
        group="the design",
        nargs="*",
    )
    design: str | None = option(
        None,
        "the design as a formula, e.g. '~ donor + drug * time' (instead of --covariates; see dp.tl.de)",
        group="the design",
    )
    contrasts: Sequence | None = option(
        None,
        "a test between levels of --condition-key: 'CONDITION REFERENCE', or 'NAME=level:weight,level:weight' "
        "(weights summing to 0); repeat the flag for several (default: each condition against the control)",
        group="the design",
        flag="--contrast",
        nargs="+",
        action="append",
        metavar="LEVEL",
    )
    coef: Sequence[str] | None = option(
        None,
        "coefficient(s) of the design to test, e.g. 'drug[T.mezigdomide]:time[T.24]'",
        group="the design",
        nargs="+",
    )
    reduced: str | None = option(
        None,
        "a reduced formula nested in the design: an omnibus test against it (LRT or moderated F), e.g. '~ donor'",
        group="the design",
    )
    block: str | None = option(
        None,
        "obs column of a blocking factor with correlated profiles (voom, limma): duplicateCorrelation",
        group="the design",
    )
    match: str | None = option(
        None, "obs column pairing each condition with the control, e.g. time", group="the design"
    )
    donor_key: str | None = option(
        "donor",
        "obs column of donors, for the split-donor effect correlation (used when present)",
        group="the design",
    )
    method: str = option(
        "deseq2",
        "DE engine (voom is much faster; default: deseq2, limma for --microarray)",
        group="the design",
        choices=lambda: tuple(ENGINES),
        cli_default=None,
    )
    robust: bool = option(
        False,
        "limma's robust empirical Bayes (hypervariable genes get less prior weight); voom and limma only",
        group="the design",
        action="store_true",
    )
    alpha: float = option(
        0.05,
        "significance level of every call in the report (adjusted p-values; DESeq2's independent filtering)",
        group="the design",
    )
    nets: Sequence[str] = option(
        ("hallmark",),
        f"gene-set collections: {', '.join(COLLECTIONS)} or GMT/CSV paths; the first drives potency",
        group="pathways and stages",
        nargs="+",
        metavar="NET",
    )
    pathway_method: str = option(
        "camera",
        lambda: (
            "pathway test ("
            + ", ".join(m for m in SET_METHODS if SET_METHODS[m].replicates)
            + ": samples as replicates; "
            + ", ".join(m for m in SET_METHODS if not SET_METHODS[m].replicates)
            + ": genes as units, descriptive)"
        ),
        group="pathways and stages",
        choices=lambda: tuple(SET_METHODS),
    )
    enrich_net: str = option(
        "go_bp",
        "collection for the over-representation of each condition's up and down genes (go_bp, go_mf, go_cc, "
        "hallmark or a GMT/CSV path)",
        group="pathways and stages",
    )
    skip: Sequence[str] = option(
        (),
        f"optional stages to leave out: {', '.join(OPTIONAL_STAGES)}",
        group="pathways and stages",
        nargs="*",
        choices=OPTIONAL_STAGES,
        metavar="STAGE",
    )
    drug_key: str = option(
        "drug", "obs column of the drug, for dose-response fits across its doses", group="pathways and stages"
    )
    dose_key: str = option("dose", "obs column of the dose, for dose-response fits", group="pathways and stages")
    volcanoes: str = option(
        "best",
        "volcano plots: 'best' (each cell type's condition with the most DE genes) or 'all' (every condition too)",
        group="pathways and stages",
        choices=("best", "all"),
    )
    layout: str = option(
        "auto",
        "the report's layout: 'study' (every condition in full), 'screen' (an overview of hits, clusters and the "
        f"strongest compounds) or 'auto' (screen when a group has more than {SCREEN_FROM} conditions)",
        group="pathways and stages",
        choices=LAYOUTS,
    )
    detail: int | Sequence[str] = option(
        10,
        "screen layout: the compounds given a detail section (volcano, pathways): a number (the strongest by DE "
        "genes) or their names",
        group="pathways and stages",
        nargs="+",
        type=str,
        metavar="N_OR_COMPOUND",
    )
    title: str = option(
        "drugprint report",
        "report title (default: 'drugprint report: INPUT')",
        group="pathways and stages",
        cli_default=None,
    )
    cohort: str | PathLike | AnnData | None = option(  # noqa: RUF009 - the default is None; ruff cannot tell
        None,
        "patients × genes (.h5ad, .h5mu or .zarr; counts, TPM, log values or intensities) with follow-up in obs: "
        "each signature of --cohort-groups is scored in every patient (singscore of its up and down genes) and "
        "tested for survival (Cox per SD of the score, Kaplan–Meier, log-rank)",
        group="the cohort",
        metavar="H5AD",
    )
    time_key: Sequence[str] | None = option(
        None,
        "obs column(s) of the cohort holding the time to event, one per endpoint (e.g. efs_time os_time)",
        group="the cohort",
        nargs="+",
        metavar="COLUMN",
    )
    event_key: Sequence[str] | None = option(
        None,
        "obs column(s) of the cohort holding the event (1 event, 0 censored), in the order of --time-key",
        group="the cohort",
        nargs="+",
        metavar="COLUMN",
    )
    endpoints: Sequence[str] | None = option(
        None,
        "names of the endpoints, in the order of --time-key (e.g. EFS OS; default: the --time-key columns)",
        group="the cohort",
        nargs="+",
        metavar="NAME",
    )
    cohort_covariates: Sequence[str] | None = option(
        None,
        "obs columns of the cohort the Cox models adjust for (e.g. age stage; default: none)",
        group="the cohort",
        nargs="+",
        metavar="COLUMN",
    )
    cohort_groups: Sequence[str] | None = option(
        None,
        "the groups (values of --groupby, e.g. Myeloma) whose signatures are scored in the cohort (default: all)",
        group="the cohort",
        nargs="+",
        metavar="GROUP",
    )
    split: str = option(
        "median",
        "patient groups of the Kaplan–Meier curves and the log-rank test: above vs at-or-below the median score, "
        "or tertiles (fixed in advance: no cut-point is searched for)",
        group="the cohort",
        choices=SPLITS,
    )
    random_state: int = option(0, "seed of the resampling (potency ranks, comparison)", group="pathways and stages")
    n_cpus: int = option(1, "processes per DESeq2 fit", group="pathways and stages")
    n_jobs: int = option(1, "cell types fitted in parallel", group="pathways and stages")
    verbose: bool = option(True, "progress bars on a terminal", group="pathways and stages", cli=False)

    def __post_init__(self) -> None:
        nets = [self.nets] if isinstance(self.nets, str | PathLike) else list(self.nets)
        if not nets:
            raise ValueError("nets is empty; name at least one gene-set collection (e.g. 'hallmark').")
        skip = [self.skip] if isinstance(self.skip, str) else list(self.skip)
        unknown = [s for s in skip if s not in OPTIONAL_STAGES]
        if unknown:
            raise ValueError(f"skip= names unknown stage(s) {unknown}; optional stages: {', '.join(OPTIONAL_STAGES)}.")
        check_choice(self.layout, LAYOUTS, name="layout")
        object.__setattr__(self, "detail", _detail(self.detail))
        object.__setattr__(self, "nets", [str(n) for n in nets])
        object.__setattr__(self, "skip", skip)
        for name, value in _cohort_options(self).items():
            object.__setattr__(self, name, value)

    def record(self) -> dict:
        """The options as the provenance records them (``verbose`` left out; a cohort object as its shape)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "verbose"}
        if self.cohort is not None and not isinstance(self.cohort, str | PathLike):
            shape = getattr(self.cohort, "shape", ("?", "?"))
            out["cohort"] = f"{type(self.cohort).__name__} of {shape[0]} × {shape[1]} (given in Python)"
        elif self.cohort is not None:
            out["cohort"] = str(self.cohort)
        return out


def _detail(detail) -> int | list[str]:
    """``detail`` as a number of compounds or a list of their names (the command line gives strings)."""
    values = [detail] if isinstance(detail, str | int) else list(detail)
    if len(values) == 1 and (isinstance(values[0], int) or str(values[0]).isdigit()):
        if isinstance(values[0], bool) or int(values[0]) < 0:
            raise ValueError(f"detail must be a number of compounds (0 or more) or their names, got {detail!r}.")
        return int(values[0])
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"detail must be a number of compounds or a list of their names, got {detail!r}.")
    return values


def _names(value) -> list[str] | None:
    """One name or several as a list of strings (``None`` stays ``None``)."""
    if value is None:
        return None
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def _cohort_options(c: RunConfig) -> dict:
    """The cohort's options checked (each needs ``cohort``; one event column per time column) and as lists."""
    out = {name: _names(getattr(c, name)) for name in COHORT_OPTIONS}
    check_choice(c.split, SPLITS, name="split")
    if c.cohort is None:
        given = [f"{name}=..." for name, value in out.items() if value is not None]
        if given or c.split != "median":
            given += ["split=..."] if c.split != "median" else []
            raise ValueError(
                f"{', '.join(given)} given without cohort=...: name the patients × genes (.h5ad) whose survival "
                "the signatures should predict."
            )
        return out
    if isinstance(c.cohort, str | PathLike) and not Path(c.cohort).exists():
        raise FileNotFoundError(f"The cohort file {str(c.cohort)!r} (cohort=...) does not exist.")
    times, events, names = out["time_key"], out["event_key"], out["endpoints"]
    if not times or not events:
        raise ValueError(
            "cohort=... needs its follow-up: time_key=... and event_key=... (obs columns of the time to event and of "
            "the event, 1 or 0; several of each for several endpoints)."
        )
    if len(times) != len(events):
        raise ValueError(
            f"time_key=... names {len(times)} column(s) and event_key=... {len(events)}: give one event column per "
            f"time column (endpoint); got {times} and {events}."
        )
    if names is not None and (len(names) != len(times) or len(set(names)) != len(names)):
        raise ValueError(
            f"endpoints=... must be {len(times)} distinct name(s), one per time_key=... column; got {names}."
        )
    return out


def defaults() -> dict:
    """Each option's default, by name."""
    return {f.name: f.default for f in fields(RunConfig) if f.default is not MISSING}
