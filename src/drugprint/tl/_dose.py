"""``dose_response``: Hill curves of pathway/panel activity against dose, per cell type and drug."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import optimize, stats

from .._checks import check_choice, check_obs_keys
from .._docs import doc_params, key_added
from .._results import store
from .._signatures import group_labels, resolve_groupby

#: fitted quantities, NaN where no curve was fitted
FIT_COLUMNS = (
    "ec50",
    "ec50_lo",
    "ec50_hi",
    "ec50_at_bound",
    "emax",
    "emax_lo",
    "emax_hi",
    "hill",
    "hill_lo",
    "hill_hi",
)


def hill(dose: np.ndarray, bottom: float, top: float, log_ec50: float, slope: float) -> np.ndarray:
    """Four-parameter logistic (Hill) curve: ``bottom + (top − bottom) / (1 + (EC50 / dose) ** slope)``.

    The curve :func:`dose_response` fits; draw a fit of :func:`drugprint.get.dose_table` with it.

    Parameters
    ----------
    dose
        Doses (> 0).
    bottom, top
        Response at zero and at infinite dose (``top`` is the table's ``emax``).
    log_ec50
        log10 of the dose of half-maximal response.
    slope
        Hill coefficient.

    Returns
    -------
    The response at each dose.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.tl.hill([0.1, 1.0, 10.0], bottom=0.0, top=2.0, log_ec50=0.0, slope=1.0).round(3).tolist()
    [0.182, 1.0, 1.818]
    """
    dose = np.asarray(dose, dtype=float)
    return bottom + (top - bottom) / (1 + 10 ** ((log_ec50 - np.log10(dose)) * slope))


def _fit(dose: np.ndarray, y: np.ndarray, bottom: float | None, level: float) -> dict:
    ld = np.log10(dose)
    free_bottom = bottom is None
    top0 = y[np.argmax(np.abs(y))]
    p0 = [top0, float(np.median(ld)), 1.0] + ([0.0] if free_bottom else [])
    lo = [-np.inf, ld.min() - 3, 0.2] + ([-np.inf] if free_bottom else [])
    hi = [np.inf, ld.max() + 3, 5.0] + ([np.inf] if free_bottom else [])

    def f(d, top, log_ec50, slope, b=0.0):
        return hill(d, b if free_bottom else bottom, top, log_ec50, slope)

    out = {"n_doses": int(np.unique(dose).size), "converged": False, **dict.fromkeys(FIT_COLUMNS, np.nan)}
    if out["n_doses"] < len(p0):
        return out
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            par, cov = optimize.curve_fit(f, dose, y, p0=p0, bounds=(lo, hi), maxfev=20_000)
    except (RuntimeError, ValueError):
        return out
    resid = y - f(dose, *par)
    dfree = max(len(y) - len(par), 1)
    se = np.sqrt(np.clip(np.diag(cov), 0, None)) if np.isfinite(cov).all() else np.full(len(par), np.nan)
    z = stats.t.ppf((1 + level) / 2, dfree)
    ss_tot = ((y - y.mean()) ** 2).sum()
    lo_ec, hi_ec = np.clip([par[1] - z * se[1], par[1] + z * se[1]], -300, 300)  # poorly determined fits
    out.update(
        {
            "converged": True,
            "ec50": 10 ** par[1],
            "ec50_lo": 10**lo_ec,
            "ec50_hi": 10**hi_ec,
            "ec50_at_bound": bool(np.isclose(par[1], lo[1]) or np.isclose(par[1], hi[1])),
            "emax": par[0],
            "emax_lo": par[0] - z * se[0],
            "emax_hi": par[0] + z * se[0],
            "hill": par[2],
            "hill_lo": par[2] - z * se[2],
            "hill_hi": par[2] + z * se[2],
            "bottom": par[3] if free_bottom else bottom,
            "r2": 1 - (resid**2).sum() / ss_tot if ss_tot > 0 else np.nan,
            "rmse": float(np.sqrt((resid**2).mean())),
        }
    )
    return out


@doc_params(key_added=key_added("dose_table", ", the fitted ``points`` (dose, value)"))
def dose_response(
    sig: AnnData,
    dose_key: str = "dose",
    key: str = "pathways",
    *,
    sources: Sequence[str] | None = None,
    drug_key: str = "drug",
    groupby: str | None = None,
    value: Literal["log2fc", "score"] = "log2fc",
    bottom: float | None = 0.0,
    level: float = 0.95,
    key_added: str = "dose_response",
    copy: bool = False,
) -> AnnData | None:
    """Fit a Hill curve of activity against dose for each group × drug × pathway (or panel).

    Signatures made per dose (condition = drug at a dose, against the vehicle; ``obs`` carries ``dose`` and
    ``drug``) give one activity per dose: the mean log2 fold change of the pathway's genes (``value="log2fc"``)
    or its score. The curve ``bottom + (Emax − bottom) / (1 + (EC50 / dose) ** hill)`` is fitted by least squares
    on the log-dose scale. As every signature is relative to the vehicle, ``bottom`` is fixed at 0 by default
    (``bottom=None`` fits all four parameters, which needs at least four doses). Drugs ranked by EC50 are a
    potency ranking of their own.

    The table (:func:`drugprint.get.dose_table`) has one row per group × drug × source: ``n_doses``, ``ec50`` (dose
    units) with ``ec50_lo``/``ec50_hi``, ``ec50_at_bound`` (the fit hit the EC50's search limit, 1,000-fold beyond
    the doses tested: EC50 not determined), ``emax``, ``hill`` (each with an interval), ``bottom``, ``r2``,
    ``rmse``, ``converged`` and ``ec50_rank`` (1 = most potent within group × source; curves whose Emax interval
    includes 0 are not ranked, as a flat curve's EC50 means nothing).

    Parameters
    ----------
    sig
        Signatures with ``obsm[key]`` etc. and the dose and drug in ``obs``.
    dose_key, drug_key
        ``obs`` columns with the dose (> 0, any unit) and the drug.
    {key_scores}
    {sources}
    {groupby}
    value
        Activity measure (see above).
    bottom
        Fixed response at zero dose, or ``None`` to fit it.
    level
        Level of the Wald intervals (EC50's on the log scale).
    {key_added}
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", doses=[0.01, 0.1, 1, 10], n_donors=3, cells_per_sample=80)
    >>> pdata = dp.pp.pseudobulk(adata)
    >>> sig = dp.tl.de(pdata, condition_key="condition", groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.dose_response(sig, sources=["HALLMARK_INTERFERON_ALPHA_RESPONSE"])
    >>> fits = dp.get.dose_table(sig)
    >>> fits.sort_values("ec50_rank")["drug"].iloc[-1]
    'thalidomide'
    """
    check_choice(value, ["log2fc", "score"], name="value")
    check_obs_keys(sig, [dose_key, drug_key], what="sig")
    vkey = f"{key}_log2fc" if value == "log2fc" else key
    if vkey not in sig.obsm:
        raise KeyError(f"sig.obsm has no {vkey!r}; run dp.tl.pathways(sig, key_added={key!r}) first.")
    vals = sig.obsm[vkey]
    if sources is not None:
        missing = [s for s in sources if s not in vals.columns]
        if missing:
            raise KeyError(f"{missing} are not scored in obsm[{vkey!r}].")
        vals = vals[list(sources)]
    dose = pd.to_numeric(sig.obs[dose_key], errors="coerce")
    if dose.isna().any():
        raise ValueError(f"obs[{dose_key!r}] has non-numeric values; doses must be numbers.")
    gk = resolve_groupby(sig, groupby)
    group_of = group_labels(sig, gk or "none")
    drug_of = sig.obs[drug_key].astype(str)
    rows, points = [], []
    for (group, drug), idx in pd.Series(range(sig.n_obs)).groupby(
        [group_of.to_numpy(), drug_of.to_numpy()], sort=False
    ):
        idx = idx.to_numpy()
        d = dose.iloc[idx].to_numpy(dtype=float)
        pos = d > 0
        if pos.sum() < 3:
            continue
        for source in vals.columns:
            y = vals[source].iloc[idx].to_numpy(dtype=float)
            ok = pos & np.isfinite(y)
            fit = (
                _fit(d[ok], y[ok], bottom, level)
                if ok.sum() >= 3
                else {"n_doses": int(ok.sum()), "converged": False, **dict.fromkeys(FIT_COLUMNS, np.nan)}
            )
            rows.append({"group": group, "drug": drug, "source": source, **fit})
            points += [(group, drug, source, float(dd), float(yy)) for dd, yy in zip(d[ok], y[ok], strict=True)]
    if not rows:
        raise ValueError(f"No group × drug has signatures at three or more positive doses in obs[{dose_key!r}].")
    out = pd.DataFrame(rows).astype({"ec50_at_bound": "boolean"})
    flat = (out["emax_lo"] <= 0) & (out["emax_hi"] >= 0)  # a flat curve's EC50 means nothing
    ranked = out["ec50"].mask(flat).groupby([out["group"], out["source"]]).rank(method="min")
    out["ec50_rank"] = ranked.astype("Int64")
    entries = {"table": out, "points": pd.DataFrame(points, columns=["group", "drug", "source", "dose", "value"])}
    params = {
        "dose_key": dose_key,
        "drug_key": drug_key,
        "key": key,
        "value": value,
        "bottom": "free" if bottom is None else bottom,
        "level": level,
        "groupby": gk or "",
    }
    return store(sig, key_added, entries, params, copy=copy, tool="dose_response", getter="dose_table")


@doc_params(key_added=key_added("time_course_table"))
def time_course(
    sig: AnnData,
    time_key: str = "time",
    key: str = "pathways",
    *,
    sources: Sequence[str] | None = None,
    drug_key: str = "condition",
    groupby: str | None = None,
    key_added: str = "time_course",
    copy: bool = False,
) -> AnnData | None:
    """Pathway (or panel) activity over time points, one row per group × drug × time × source.

    Signatures per time point come from one fit per cell type with time-matched controls:
    ``dp.tl.de(pdata, match="time")``.

    The table (:func:`drugprint.get.time_course_table`) is long: ``group``, ``drug``, ``time``, ``source``,
    ``score``, ``log2fc`` and ``padj``, sorted by time.

    Parameters
    ----------
    sig
        Signatures with ``obs[time_key]`` and scored ``obsm[key]``.
    time_key, drug_key
        ``obs`` columns with the time and the drug.
    {key_scores}
    {sources}
    {groupby}
    {key_added}
    {copy}

    Returns
    -------
    {returns_copy}

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", timepoints=[6, 24], n_donors=3, cells_per_sample=80)
    >>> pdata = dp.pp.pseudobulk(adata)
    >>> sig = dp.tl.de(pdata, match="time", groups=["Myeloma"], method="voom", verbose=False)
    >>> dp.tl.pathways(sig)
    >>> dp.tl.time_course(sig, sources=["HALLMARK_APOPTOSIS"])
    >>> tc = dp.get.time_course_table(sig)
    >>> sorted(tc["time"].unique().tolist())
    [6.0, 24.0]
    """
    check_obs_keys(sig, [time_key, drug_key], what="sig")
    if key not in sig.obsm:
        raise KeyError(f"sig.obsm has no {key!r}; run dp.tl.pathways(sig, key_added={key!r}) first.")
    from ..get import pathway_table

    long = pathway_table(sig, key)
    if sources is not None:
        long = long[long["source"].isin(list(sources))]
    gk = resolve_groupby(sig, groupby)
    long["group"] = group_labels(sig, gk or "none").loc[long["signature"]].to_numpy()
    long["drug"] = sig.obs.loc[long["signature"], drug_key].astype(str).to_numpy()
    long["time"] = pd.to_numeric(sig.obs.loc[long["signature"], time_key]).to_numpy()
    cols = ["group", "drug", "time", "source", "score"] + [c for c in ("log2fc", "padj") if c in long.columns]
    out = long[cols].sort_values(["group", "drug", "source", "time"], kind="stable").reset_index(drop=True)
    params = {"time_key": time_key, "drug_key": drug_key, "key": key, "groupby": gk or ""}
    return store(sig, key_added, {"table": out}, params, copy=copy, tool="time_course", getter="time_course_table")
