"""dp.tl.survival against R's survival (coxph, survdiff, survfit) on a simulated and a real cohort; its errors."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import drugprint as dp

DATA = Path(__file__).parents[1] / "data"
GSE7390 = Path(__file__).parents[3] / "shared" / "data" / "gse7390_breast_survival"
ARFF = GSE7390 / "breast_cancer_GSE7390-metastasis.arff"
COX_COLS = ["coef", "se", "hr", "hr_lo", "hr_hi", "z", "pvalue"]


def _reference(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"survival_reference_{name}")


def _simulated() -> ad.AnnData:
    obs = pd.read_csv(DATA / "survival_cohort.csv", index_col="sample")
    obs["stage"] = obs["stage"].astype("category")
    return ad.AnnData(obs=obs)


def _gse7390() -> ad.AnnData:
    from scipy.io import arff

    if not ARFF.exists():
        pytest.skip(f"{ARFF} is not here (the shared data directory is absent)")
    frame = pd.DataFrame(arff.loadarff(ARFF)[0])
    for col in frame.select_dtypes(include="object").columns:
        frame[col] = frame[col].str.decode("utf-8")
    probes = [c for c in frame.columns if c.startswith("X")]
    frame.index = [f"S{i + 1}" for i in range(len(frame))]
    return ad.AnnData(X=frame[probes].to_numpy(float), obs=frame.drop(columns=probes), var=pd.DataFrame(index=probes))


def _cases(cohort_name: str):
    """The reference's (cohort, scores, endpoints as (name, time, event), covariates of the adjusted model)."""
    if cohort_name == "simulated":
        ends = [("efs", "efs_time", "efs_event"), ("os", "os_time", "os_event")]
        return _simulated(), ["score_a", "score_b"], ends, ["age", "stage"]
    cohort = _gse7390()
    probes = list(cohort.var_names)
    dp.tl.signature_score(cohort, {"signature": {"up": probes[:10], "down": probes[10:20]}}, key_added="signature")
    cohort.obs["signature"] = np.round(cohort.obs["signature"], 10)  # as the reference (exact ties)
    cohort.obs["X204015_s_at"] = np.asarray(cohort[:, "X204015_s_at"].X)[:, 0]
    return cohort, ["signature", "X204015_s_at"], [("tdm", "t.tdm", "e.tdm")], ["age", "size", "er"]


def _run(cohort, scores, ends, covariates, **kw) -> ad.AnnData:
    names, times, events = (list(x) for x in zip(*ends, strict=True))
    return dp.tl.survival(
        cohort,
        scores,
        time_key=times,
        event_key=events,
        endpoints=names,
        covariates=covariates,
        verbose=False,
        copy=True,
        **kw,
    )


@pytest.mark.parametrize("cohort_name", ["simulated", "gse7390"])
@pytest.mark.parametrize("model", ["none", "adjusted"])
def test_cox_equals_r(cohort_name, model):
    cohort, scores, ends, covariates = _cases(cohort_name)
    with pytest.warns(UserWarning, match="left out") if cohort_name == "simulated" else _no_warning():
        out = _run(cohort, scores, ends, covariates if model == "adjusted" else None, min_events_per_term=5)
    ref = _reference("cox.csv").query("cohort == @cohort_name and model == @model")
    coefs = dp.get.survival_table(out, coefficients=True)
    got = coefs.merge(ref, on=["score", "endpoint", "term"], suffixes=("", "_r"), validate="1:1")
    assert len(got) == len(ref) and len(ref) > 0
    for col in COX_COLS:
        np.testing.assert_allclose(got[col], got[f"{col}_r"], rtol=1e-6, atol=1e-10, err_msg=col)
    table = dp.get.survival_table(out)
    ref_score = ref[ref["term"] == "score"]
    mine = table.merge(ref_score, on=["score", "endpoint"], suffixes=("", "_r"), validate="1:1")
    np.testing.assert_array_equal(mine["n"], mine["n_r"])
    np.testing.assert_array_equal(mine["n_events"], mine["n_events_r"])
    np.testing.assert_allclose(mine["lr_stat"], mine["lr_chisq"], rtol=1e-6)
    np.testing.assert_allclose(mine["lr_pvalue"], mine["lr_pvalue_r"], rtol=1e-6)


@contextlib.contextmanager
def _no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        yield


@pytest.mark.filterwarnings("ignore:Samples missing")
@pytest.mark.parametrize("cohort_name", ["simulated", "gse7390"])
@pytest.mark.parametrize("split", ["median", "tertiles"])
def test_logrank_equals_survdiff(cohort_name, split):
    cohort, scores, ends, _ = _cases(cohort_name)
    table = dp.get.survival_table(_run(cohort, scores, ends, None, split=split))
    ref = _reference("logrank.csv").query("cohort == @cohort_name and split == @split")
    got = table.merge(ref, on=["score", "endpoint"], validate="1:1")
    assert len(got) == len(ref) > 0
    np.testing.assert_allclose(got["logrank_stat"], got["chisq"], rtol=1e-6)
    np.testing.assert_array_equal(got["logrank_df"], got["df"])
    np.testing.assert_allclose(got["logrank_pvalue"], got["pvalue_y"], rtol=1e-6)


@pytest.mark.filterwarnings("ignore:Samples missing")
@pytest.mark.parametrize("cohort_name", ["simulated", "gse7390"])
def test_kaplan_meier_equals_survfit(cohort_name):
    cohort, scores, ends, _ = _cases(cohort_name)
    curves = dp.get.survival_curves(_run(cohort, scores, ends, None))
    ref = pd.read_csv(DATA / "survival_reference_km.csv.gz").query("cohort == @cohort_name")
    got = curves.astype({"group": str}).merge(ref, on=["score", "endpoint", "group", "time"], validate="1:1")
    assert len(got) == len(ref) > 0  # every time R lists; the curves also start at time 0
    np.testing.assert_array_equal(got["at_risk"], got["n_risk"])
    np.testing.assert_array_equal(got["events"], got["n_event"])
    np.testing.assert_allclose(got["survival"], got["surv"], rtol=1e-10)
    band = got["lower"].notna()
    np.testing.assert_allclose(got.loc[band, "ci_lo"], got.loc[band, "lower"], rtol=1e-6)
    np.testing.assert_allclose(got.loc[band, "ci_hi"], got.loc[band, "upper"], rtol=1e-6)


def test_signature_score_equals_reference_on_gse7390():
    cohort = _gse7390()
    probes = list(cohort.var_names)
    dp.tl.signature_score(cohort, {"s": {"up": probes[:10], "down": probes[10:20]}})
    ref = _reference("scores.csv")
    np.testing.assert_allclose(cohort.obs["signature_score"], ref["score_up"] + ref["score_down"], atol=1e-12)


@pytest.mark.filterwarnings("ignore:Samples missing")
def test_table_columns_padj_and_power():
    cohort, scores, ends, _ = _cases("simulated")
    table = dp.get.survival_table(_run(cohort, scores, ends, None))
    for col in ("score", "endpoint", "hr", "hr_lo", "hr_hi", "pvalue", "padj", "logrank_pvalue", "logrank_padj"):
        assert col in table
    from statsmodels.stats.multitest import multipletests

    np.testing.assert_allclose(table["padj"], multipletests(table["pvalue"], method="fdr_bh")[1])
    # Schoenfeld: exp((z_.975 + z_.8) / sqrt(D))
    np.testing.assert_allclose(table["hr_detectable"], np.exp(2.8015922 / np.sqrt(table["n_events"])), rtol=1e-6)


def _toy(n=60, seed=0) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    obs = pd.DataFrame(
        {
            "s": rng.normal(size=n),
            "t": rng.exponential(10, n).round(1),
            "e": rng.integers(0, 2, n),
            "grp": rng.choice(["a", "b"], n),
        },
        index=[f"p{i}" for i in range(n)],
    )
    return ad.AnnData(obs=obs)


@pytest.mark.parametrize(
    ("edit", "error", "match"),
    [
        (lambda o: o.assign(t=o["t"].where(o.index != "p3", -1.0)), ValueError, "negative times"),
        (lambda o: o.assign(t=o["t"].where(o.index != "p3", np.nan)), ValueError, r"1 missing.*\['p3'\]"),
        (lambda o: o.assign(e=o["e"].where(o.index != "p5", 2)), ValueError, r"0 \(censored\) or 1"),
        (lambda o: o.assign(e=0), ValueError, "no events"),
        (lambda o: o.assign(s="x"), TypeError, "must be numeric"),
        (lambda o: o.assign(s=1.0), ValueError, "constant"),
    ],
)
def test_bad_input_is_a_clear_error(edit, error, match):
    cohort = _toy()
    cohort.obs = edit(cohort.obs)
    with pytest.raises(error, match=match):
        dp.tl.survival(cohort, "s", time_key="t", event_key="e", verbose=False)


def test_too_few_events_says_how_many():
    cohort = _toy(n=40)
    cohort.obs["e"] = np.r_[np.ones(15, int), np.zeros(25, int)]
    with pytest.raises(ValueError, match=r"15 events for 2 model terms.*at least 20 are needed"):
        dp.tl.survival(cohort, "s", time_key="t", event_key="e", covariates=["grp"], verbose=False)
    dp.tl.survival(cohort, "s", time_key="t", event_key="e", covariates=["grp"], min_events_per_term=7, verbose=False)
    assert dp.get.survival_table(cohort)["n_events"].item() == 15


def test_unknown_keys_and_mismatched_endpoints():
    cohort = _toy()
    with pytest.raises(KeyError, match="'nope' \\(time_key=\\)"):
        dp.tl.survival(cohort, "s", time_key="nope", event_key="e", verbose=False)
    with pytest.raises(ValueError, match="same number"):
        dp.tl.survival(cohort, "s", time_key=["t", "t"], event_key="e", verbose=False)
    with pytest.raises(KeyError, match="signature_score"):
        dp.tl.survival(cohort, time_key="t", event_key="e", verbose=False)


def test_does_not_touch_the_input_with_copy_and_records_params():
    cohort = _toy()
    out = dp.tl.survival(cohort, "s", time_key="t", event_key="e", verbose=False, copy=True)
    assert "survival" not in cohort.uns
    params = out.uns["survival"]["params"]
    assert params["ties"] == "efron" and "Schoenfeld" in params["ph_method"] and "not a causal" in params["note"]
    assert params["split"] == "median"
