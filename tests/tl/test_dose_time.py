import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import drugprint as dp
from drugprint.datasets import DRUGS

IFN, P53, APOP = "HALLMARK_INTERFERON_ALPHA_RESPONSE", "HALLMARK_P53_PATHWAY", "HALLMARK_APOPTOSIS"


@pytest.fixture(scope="module")
def dose_sig():
    """Myeloma signatures over six doses; no planted cell death, so that the few cells of this quick screen (about
    22 myeloma cells per sample) all stay above pseudobulk's ``min_cells`` at the high doses."""
    adata = dp.datasets.imid_screen(
        "small",
        random_state=2,
        doses=[0.001, 0.01, 0.1, 1, 10, 100],
        n_donors=3,
        cells_per_sample=110,
        composition_scale=0.0,
    )
    pdata = dp.pp.pseudobulk(adata[adata.obs["cell_type"] == "Myeloma"].copy())
    sig = dp.tl.de(pdata, condition_key="condition", method="voom", verbose=False)
    dp.tl.pathways(sig)
    return adata, sig


def test_signatures_carry_dose(dose_sig):
    _, sig = dose_sig
    assert {"dose", "drug"} <= set(sig.obs.columns)
    assert sig.n_obs == 5 * 6


@pytest.mark.parametrize("source", [IFN, P53])
def test_ec50_recovered(dose_sig, source):
    adata, sig = dose_sig
    fits = dp.get.dose_table(dp.tl.dose_response(sig, sources=[source], copy=True)).set_index("drug")
    planted = adata.uns["truth"]["compounds"].set_index("drug")["ec50_uM"]
    planted = planted.reindex(fits.index)
    ratio = fits["ec50"] / planted
    assert fits["converged"].all()
    # 3 donors with programme noise: each EC50 within 3-fold, and every interval covers the planted value
    assert ((ratio > 1 / 3) & (ratio < 3)).all(), ratio.to_dict()
    assert ((fits["ec50_lo"] < planted) & (planted < fits["ec50_hi"])).all()
    assert list(fits.sort_values("ec50_rank").index) == list(DRUGS)[::-1]
    assert (fits["ec50_lo"] < fits["ec50"]).all() and (fits["ec50"] < fits["ec50_hi"]).all()
    assert (fits["r2"] > 0.85).all()
    assert fits.loc["mezigdomide", "emax"] > fits.loc["thalidomide", "emax"]


def test_dose_response_errors_and_free_bottom(dose_sig):
    adata, sig = dose_sig
    fits = dp.get.dose_table(dp.tl.dose_response(sig, sources=[IFN], bottom=None, copy=True)).set_index("drug")
    assert fits["bottom"].abs().max() < 0.35
    planted = adata.uns["truth"]["compounds"].set_index("drug")["ec50_uM"]
    ratio = fits["ec50"] / planted.reindex(fits.index)
    assert ((ratio > 1 / 3) & (ratio < 3)).all(), ratio.to_dict()
    with pytest.raises(KeyError, match="'concentration'"):
        dp.tl.dose_response(sig, dose_key="concentration")
    with pytest.raises(KeyError, match="not scored"):
        dp.tl.dose_response(sig, sources=["NOPE"])


def test_time_point_without_its_control_is_a_recorded_skip():
    """DMSO only at 24 h: the 6 h profiles cannot be compared with a control at 6 h. Each such test is recorded in
    uns['de']['skipped'] with that reason, and warned once for all of them (not silently left out)."""
    adata = dp.datasets.imid_screen(
        "small", random_state=3, timepoints=[6, 24], n_donors=3, cells_per_sample=60, composition_scale=0.0
    )
    pdata = dp.pp.pseudobulk(adata[adata.obs["cell_type"] == "Myeloma"].copy(), min_cells=3)
    late_dmso = ~((pdata.obs["drug"] == "DMSO") & (pdata.obs["time"].astype(float) == 6)).to_numpy()
    with pytest.warns(
        UserWarning,
        match=r"Not tested: no 'DMSO' profile at time=6.0 to compare with \('DMSO' is at "
        r"time=24.0 only\) — thalidomide vs DMSO @ time=6.0, .* \(5 tests\) left out\.",
    ) as caught:
        sig = dp.tl.de(pdata[late_dmso].copy(), match="time", method="voom", verbose=False)
    assert len([w for w in caught if "Not tested" in str(w.message)]) == 1
    assert sig.n_obs == 5 and sig.obs_names[0] == "Myeloma|thalidomide vs DMSO @ time=24.0"
    skipped = sig.uns["de"]["skipped"]
    assert list(skipped["what"]) == [f"{d} vs DMSO @ time=6.0" for d in DRUGS]
    assert (skipped["group"] == "(every group)").all()


def test_time_course_from_one_fit():
    adata = dp.datasets.imid_screen(  # no planted cell death: every myeloma profile keeps its 10 cells
        "small", random_state=3, timepoints=[6, 24, 48], n_donors=3, cells_per_sample=110, composition_scale=0.0
    )
    pdata = dp.pp.pseudobulk(adata[adata.obs["cell_type"] == "Myeloma"].copy())
    sig = dp.tl.de(pdata, match="time", method="voom", verbose=False)
    assert sig.n_obs == 5 * 3
    assert sig.obs_names[0] == "Myeloma|thalidomide vs DMSO @ time=6.0"
    assert sig.uns["de"]["fits"].shape[0] == 1  # one fit for all time points
    dp.tl.pathways(sig)
    dp.tl.time_course(sig, sources=[IFN, APOP])
    tc = dp.get.time_course_table(sig)
    mezi = tc[tc.drug == "mezigdomide"].pivot_table(index="source", columns="time", values="log2fc")
    # interferon responds fast (τ = 6 h), apoptosis slowly (τ = 24 h): relative to 24 h, IFN is further at 6 h
    assert mezi.loc[IFN, 6.0] / mezi.loc[IFN, 24.0] > mezi.loc[APOP, 6.0] / mezi.loc[APOP, 24.0]
    assert mezi.loc[APOP, 48.0] > mezi.loc[APOP, 24.0]
    with pytest.raises(ValueError, match="cannot also be covariates"):
        dp.tl.de(pdata, match="donor", method="voom", verbose=False)
    with pytest.raises(KeyError, match="'hour'"):
        dp.tl.de(pdata, match="hour", method="voom", verbose=False)


def test_flat_curve_is_not_ranked():
    """A drug without effect gets no EC50 rank, however low its fitted EC50."""
    from drugprint.tl._dose import _fit, hill

    doses = np.array([0.001, 0.01, 0.1, 1, 10, 100])
    rng = np.random.default_rng(0)
    curves = {"active": hill(doses, 0, 1.0, np.log10(0.5), 1.0), "flat": np.zeros(6)}
    obs = pd.DataFrame(
        [(k, d) for k in curves for d in doses], columns=["drug", "dose"], index=[f"s{i}" for i in range(12)]
    )
    y = np.concatenate(list(curves.values())) + rng.normal(0, 0.03, 12)
    sig = AnnData(np.zeros((12, 1)), obs=obs, obsm={"pathways_log2fc": pd.DataFrame({"P": y}, index=obs.index)})
    dp.tl.dose_response(sig)
    fits = dp.get.dose_table(sig).set_index("drug")
    assert np.isclose(fits.loc["active", "ec50"], 0.5, rtol=0.3) and fits.loc["active", "ec50_rank"] == 1
    assert fits.loc["flat", "ec50"] < fits.loc["active", "ec50"]  # a meaningless EC50 below the real one ...
    assert fits.loc["flat", "emax_lo"] < 0 < fits.loc["flat", "emax_hi"]
    assert pd.isna(fits.loc["flat", "ec50_rank"])  # ... is not ranked
    assert not fits["ec50_at_bound"].any()
    # a response already complete at the lowest dose puts the EC50 on its search limit, 1,000-fold below
    at = _fit(doses, np.array([0.3, 0.3, 0.3, 0.3, 0.3, 0.31]), 0.0, 0.95)
    assert at["ec50_at_bound"] and np.isclose(at["ec50"], 1e-6)


def test_hill_curve_fit_exact():
    from drugprint.tl._dose import _fit, hill

    d = np.logspace(-3, 2, 8)
    y = hill(d, 0.0, 1.5, np.log10(0.3), 1.2)
    f = _fit(d, y, 0.0, 0.95)
    assert np.isclose(f["ec50"], 0.3, rtol=1e-4) and np.isclose(f["hill"], 1.2, rtol=1e-4)
