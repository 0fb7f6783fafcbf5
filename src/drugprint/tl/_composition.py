"""``composition``: which cells a drug kills or expands: cell-type proportions per sample, tested propeller-style."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from .._anndata import as_anndata, categories
from .._checks import check_choice, check_obs_keys
from .._docs import doc_params, key_added
from .._results import caller_stacklevel, store
from ._de.specs import parse_tests, resolve_control
from ._stats.design import build_design, short_formula
from ._stats.limma import fit_limma

#: Added to every count before the logit (propeller's pseudo-count), so a cell type absent from a sample is finite.
PSEUDO_COUNT = 0.5


def transform_proportions(counts: pd.DataFrame, transform: Literal["logit", "asin"] = "logit") -> pd.DataFrame:
    """Samples × cell types counts → the transformed proportions propeller tests (Phipson et al. 2022).

    ``"logit"``: ``log(p / (1 - p))`` of ``p = (n + 0.5) / Σ (n + 0.5)``; ``"asin"``: ``arcsin(√(n / Σ n))``.

    Parameters
    ----------
    counts
        Cells per sample (rows) and cell type (columns).
    transform
        ``"logit"`` or ``"asin"``.

    Returns
    -------
    The transformed proportions, shaped like ``counts``.

    Examples
    --------
    >>> import pandas as pd
    >>> from drugprint.tl._composition import transform_proportions
    >>> counts = pd.DataFrame({"T": [50, 90], "B": [50, 10]}, index=["s1", "s2"])
    >>> transform_proportions(counts).round(3)["T"].tolist()
    [0.0, 2.154]
    """
    check_choice(transform, ["logit", "asin"], name="transform")
    n = counts.to_numpy(dtype=float)
    if transform == "asin":
        values = np.arcsin(np.sqrt(n / n.sum(axis=1, keepdims=True)))
    else:
        p = (n + PSEUDO_COUNT) / (n + PSEUDO_COUNT).sum(axis=1, keepdims=True)
        values = np.log(p / (1 - p))
    return pd.DataFrame(values, index=counts.index, columns=counts.columns)


def _sample_sheet(obs: pd.DataFrame, sample_key: str, columns: list[str]) -> pd.DataFrame:
    """One row per sample with ``columns``; each must be constant within a sample."""
    per_sample = obs.groupby(sample_key, observed=True)[columns].nunique(dropna=False)
    mixed = [c for c in columns if (per_sample[c] > 1).any()]
    if mixed:
        bad = per_sample.index[(per_sample[mixed] > 1).any(axis=1)][:5].tolist()
        raise ValueError(
            f"obs columns {mixed} vary within samples (e.g. {bad}): a sample is one condition of one donor. Pass the "
            "sample_key that identifies such units."
        )
    return obs.groupby(sample_key, observed=True)[columns].first()


@doc_params(
    key_added=key_added(
        "composition_table",
        ", the ``counts`` (long: sample, cell type, ``n_cells``), the ``samples`` (condition and covariates of "
        "each sample tested), the ``skipped`` samples and tests",
    )
)
def composition(
    adata: AnnData,
    sample_key: str = "sample",
    groupby: str = "cell_type",
    condition_key: str = "drug",
    control: str | None = None,
    covariates: Sequence[str] | None = None,
    *,
    transform: Literal["logit", "asin"] = "logit",
    min_samples: int = 2,
    level: float = 0.95,
    robust: bool = True,
    mod: str = "rna",
    key_added: str = "composition",
    copy: bool = False,
) -> AnnData | None:
    """Test the change in each cell type's proportion under each condition, with the samples as replicates.

    Cells are counted per sample × cell type; the proportions are transformed (logit with a pseudo-count of 0.5,
    or arcsine square root) and fitted per cell type by the linear model ``~ covariates + condition`` with
    limma's moderated t, the variance prior shared across cell types (propeller, Phipson et al. 2022,
    Bioinformatics 38:4720; limma's robust ``eBayes`` by default, as propeller). Each condition is tested against the
    control; p-values are adjusted by Benjamini–Hochberg over the cell types of each test.

    The table (:func:`drugprint.get.composition_table`) has one row per cell type × condition: ``prop``
    and ``prop_reference`` (mean proportion over the condition's and the control's samples), ``log2fc``
    (log2 of their ratio), ``logit_diff`` (the fitted difference on the transformed scale: the log odds ratio of the
    proportion, adjusted for the covariates) with its ``level`` confidence interval ``logit_diff_lo`` and
    ``logit_diff_hi`` (limma's ``topTable(confint=)``: moderated standard error and degrees of freedom), ``stat``,
    ``pvalue``, ``padj``, ``n_cells``/``n_cells_reference`` and ``n_samples``/``n_samples_reference``. With
    ``transform="asin"`` the three columns are ``asin_diff``, ``asin_diff_lo`` and ``asin_diff_hi``.

    Samples holding a single cell type (a sorted sample or a labelling error) are left out with a warning, and
    so are tests of conditions with fewer than ``min_samples`` samples; both are recorded in ``skipped``. A cell
    type absent from every sample of a condition is kept: a drug that removed it is the finding.

    Parameters
    ----------
    adata
        Cells (AnnData, or a MuData whose modality ``mod`` is used); only ``obs`` is read.
    sample_key, groupby, condition_key
        ``obs`` columns of the samples (the replicates), the cell types and the condition.
    control
        The reference level (default: the level labelled like a vehicle, e.g. ``DMSO``).
    covariates
        Sample-level covariates (default: ``["donor"]`` when ``obs`` has it, else none).
    transform
        ``"logit"`` (propeller's default) or ``"asin"``.
    min_samples
        Fewest samples of a condition (and of the control) for its test.
    level
        Confidence level of the intervals of the fitted differences.
    robust
        limma's ``eBayes(robust=TRUE)``, propeller's default: cell types whose variance is an outlier get less
        prior weight (Phipson et al. 2016). It changes nothing with fewer than 10 cell types, where limma does not
        Winsorize.
    mod
        Modality of a MuData.
    {key_added}
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small")
    >>> dp.tl.composition(adata)
    >>> tab = dp.get.composition_table(adata)
    >>> tab.columns[:5].tolist()
    ['cell_type', 'condition', 'reference', 'prop', 'prop_reference']
    """
    check_choice(transform, ["logit", "asin"], name="transform")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}.")
    cells = as_anndata(adata, mod)
    covariates = list(covariates) if covariates is not None else (["donor"] if "donor" in cells.obs else [])
    sheet, counts, skipped = _counts(cells, sample_key, groupby, condition_key, covariates)
    condition = sheet[condition_key].astype(str)
    levels = [str(c) for c in categories(cells.obs[condition_key]) if str(c) in set(condition)]
    control = resolve_control(levels, control, condition_key, levels_needed=True)
    n_samples = condition.value_counts()
    if n_samples.get(control, 0) < min_samples:
        raise ValueError(
            f"The control {control!r} has {n_samples.get(control, 0)} sample(s); its comparisons need at least "
            f"min_samples={min_samples}."
        )
    formula = short_formula(covariates, condition_key)
    meta = sheet.assign(**{condition_key: condition})
    design = build_design(meta, formula, factor=condition_key, reference=control)
    specs = parse_tests(
        levels, control, condition_key=condition_key, contrasts=None, coef=None, reduced=None, formula=formula
    )
    lone = [spec for spec in specs if n_samples.get(spec.condition, 0) < min_samples]
    if lone:
        warnings.warn(
            f"{len(lone)} test(s) left out: fewer than {min_samples} samples ({', '.join(t.label for t in lone)}).",
            UserWarning,
            stacklevel=2,
        )
        skipped += [(t.label, "test", f"{n_samples.get(t.condition, 0)} sample(s) < {min_samples}") for t in lone]
    tests = {spec.label: spec.build(design) for spec in specs if spec not in lone}
    results, _ = fit_limma(transform_proportions(counts, transform), design, tests, robust=robust)
    rows = [
        _rows(results[spec.label], spec.condition, control, condition, counts, groupby, transform, level)
        for spec in specs
        if spec.label in results
    ]
    if not rows:
        raise ValueError(f"No condition of obs[{condition_key!r}] has {min_samples} or more samples to test.")
    table = pd.concat(rows, ignore_index=True)
    long = counts.stack().rename("n_cells").rename_axis(["sample", groupby]).reset_index()
    entries = {
        "table": table,
        "counts": long.astype({"sample": str}),
        "samples": sheet.reset_index().rename(columns={sample_key: "sample"}).astype(str),
        "skipped": pd.DataFrame(skipped, columns=["name", "what", "reason"]),
    }
    params = {
        "sample_key": sample_key,
        "groupby": groupby,
        "condition_key": condition_key,
        "control": control,
        "covariates": covariates,
        "design": formula,
        "transform": transform,
        "min_samples": min_samples,
        "level": level,
        "robust": robust,
        "test": f"propeller: transformed proportions, limma moderated t (eBayes, robust={robust})",
    }
    return store(adata, key_added, entries, params, copy=copy, tool="composition", getter="composition_table")


def _counts(cells: AnnData, sample_key: str, groupby: str, condition_key: str, covariates: list[str]) -> tuple:
    """The sample sheet, cells per sample × cell type (samples with two or more cell types), and the skips."""
    check_obs_keys(
        cells, {"sample_key": sample_key, "groupby": groupby, "condition_key": condition_key, "covariates": covariates}
    )
    obs = cells.obs
    for col in (sample_key, groupby, condition_key, *covariates):
        n_missing = int(obs[col].isna().sum())
        if n_missing:
            raise ValueError(
                f"obs[{col!r}] has {n_missing} missing labels; drop or label those cells before dp.tl.composition."
            )
    sheet = _sample_sheet(obs, sample_key, [condition_key, *covariates])
    counts = pd.crosstab(obs[sample_key], obs[groupby]).reindex(sheet.index)
    if isinstance(obs[groupby].dtype, pd.CategoricalDtype):  # the data's order of cell types, not alphabetical
        counts = counts[[c for c in obs[groupby].cat.categories if c in counts.columns]]
    counts.columns = counts.columns.astype(str)
    if counts.shape[1] < 2:
        raise ValueError(f"obs[{groupby!r}] has {counts.shape[1]} cell type; proportions need at least 2.")
    single = counts.index[(counts > 0).sum(axis=1) < 2]
    if len(single):
        warnings.warn(
            f"{len(single)} sample(s) hold a single cell type and are left out: {single[:5].tolist()}.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
        counts, sheet = counts.drop(index=single), sheet.drop(index=single)
    return sheet, counts, [(str(s), "sample", "a single cell type") for s in single]


def _rows(res, condition: str, control: str, labels: pd.Series, counts, groupby, transform, level) -> pd.DataFrame:
    """One test's rows: each cell type's mean proportions, their log2 ratio, the fitted difference with its interval."""
    props = counts.div(counts.sum(axis=1), axis=0)
    diff = f"{transform}_diff"
    a, b = (labels == condition).to_numpy(), (labels == control).to_numpy()
    pa, pb = props[a].mean(), props[b].mean()
    with np.errstate(divide="ignore"):
        lfc = np.log2(pa / pb)
    half = stats.t.ppf(0.5 + level / 2, res["df"].to_numpy()) * res["lfcse"].to_numpy()
    return pd.DataFrame(
        {
            groupby: counts.columns,
            "condition": condition,
            "reference": control,
            "prop": pa.to_numpy(),
            "prop_reference": pb.to_numpy(),
            "log2fc": lfc.to_numpy(),
            diff: res["log2fc"].to_numpy(),
            f"{diff}_lo": res["log2fc"].to_numpy() - half,
            f"{diff}_hi": res["log2fc"].to_numpy() + half,
            "stat": res["stat"].to_numpy(),
            "pvalue": res["pvalue"].to_numpy(),
            "padj": res["padj"].to_numpy(),
            "n_cells": counts[a].sum().to_numpy(),
            "n_cells_reference": counts[b].sum().to_numpy(),
            "n_samples": int(a.sum()),
            "n_samples_reference": int(b.sum()),
        }
    )
