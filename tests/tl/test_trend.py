"""DESeq2's parametric dispersion trend against R's own fit (tests/data/make_trend_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drugprint.tl._trend import parametric_trend

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = ["screen", "interaction", "dose"]


@pytest.mark.parametrize("case", CASES)
def test_trend_equals_r_on_r_gene_estimates(case):
    genes = pd.read_csv(DATA / f"trend_{case}.csv.gz", index_col=0)
    params = pd.read_csv(DATA / f"trend_{case}_params.csv").iloc[0]
    assert params["fitType"] == "parametric"
    coefs = parametric_trend(genes["baseMean"].to_numpy(), genes["dispGeneEst"].to_numpy())
    np.testing.assert_allclose(coefs, [params["asymptDisp"], params["extraPois"]], rtol=1e-8)  # R wrote 10 digits
    fit = coefs[0] + coefs[1] / genes["baseMean"].to_numpy()
    np.testing.assert_allclose(fit, genes["dispFit"].to_numpy(), rtol=1e-4)


def test_trend_recovers_planted_curve_and_fails_like_r():
    rng = np.random.default_rng(1)
    mean = np.exp(rng.uniform(0, 9, 5000))
    disp = (0.08 + 1.5 / mean) * rng.gamma(5.0, 0.2, mean.size)
    disp[:300] = 1e-8  # genes at the floor are left out, as in R
    a0, a1 = parametric_trend(mean, disp)
    assert a0 == pytest.approx(0.08, rel=0.05)
    assert a1 == pytest.approx(1.5, rel=0.05)
    # dispersions that rise with the mean: no curve a0 + a1 / mean with both coefficients positive
    assert parametric_trend(mean, 1e-3 * mean * rng.gamma(5.0, 0.2, mean.size)) is None


def _counts_and_meta(case):
    if case == "screen":
        counts = pd.read_csv(DATA / "screen_myeloma_counts.csv.gz", index_col=0)
        meta = pd.read_csv(DATA / "screen_myeloma_samples.csv").set_index("sample")
        return counts, meta, "~ donor + drug"
    counts = pd.read_csv(DATA / "designs_counts.csv.gz", index_col=0)
    meta = pd.read_csv(DATA / "designs_samples.csv").set_index("sample")
    if case == "interaction":
        sel = ((meta["drug"] == "DMSO") | (meta["dose"] == 1)).to_numpy()
        meta = meta[sel].assign(time=lambda m: pd.Categorical(m["time"].astype(str), categories=["6", "24"]))
        return counts.loc[:, sel], meta, "~ donor + drug * time"
    sel = ((meta["drug"] == "lenalidomide") & (meta["time"] == 24)).to_numpy()
    return counts.loc[:, sel], meta[sel], "~ donor + log2_dose"


@pytest.mark.parametrize("case", CASES)
def test_final_dispersions_are_r_s(case):
    """Through the engine's steps, DESeq2's trend, prior and MAP dispersions are R's (pydeseq2's trend fit falls
    back to a constant on the 9-coefficient interaction design, leaving its dispersions a median 24 % from R's)."""
    import contextlib
    import io
    import warnings

    from pydeseq2.dds import DeseqDataSet

    from drugprint.tl._deseq2 import fit_parametric_trend
    from drugprint.tl._design import build_design
    from drugprint.tl._nbinom import BatchedInference

    r = pd.read_csv(DATA / f"trend_{case}.csv.gz", index_col=0)
    counts, meta, formula = _counts_and_meta(case)
    counts = counts.loc[r.index].T.astype(np.int64)
    meta = meta.loc[counts.index]
    design = build_design(meta, formula, factor="drug", reference="DMSO" if "drug" in formula else None)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        dds = DeseqDataSet(counts=counts, metadata=meta, design=design.matrix, inference=BatchedInference(), quiet=True)
        dds.fit_size_factors()
        dds.fit_genewise_dispersions()
        fit_parametric_trend(dds)
        dds.fit_dispersion_prior()
        dds.fit_MAP_dispersions()
    params = pd.read_csv(DATA / f"trend_{case}_params.csv").iloc[0]
    # the gene-wise estimates of near-Poisson genes (flat objective) differ, so the genes fitted differ slightly
    np.testing.assert_allclose(dds.uns["trend_coeffs"], [params["asymptDisp"], params["extraPois"]], rtol=0.05)
    # and through the prior variance (a spread over genes those estimates enter), so the MAP moves by ~1 %
    rel = np.abs(dds.var["dispersions"].to_numpy() / r["dispersion"].to_numpy() - 1)
    assert np.median(rel) < 0.025  # pydeseq2's trend: 5.4 % (screen), 23.8 % (interaction), 9.5 % (dose)
    assert np.mean(rel > 0.1) < 0.05
