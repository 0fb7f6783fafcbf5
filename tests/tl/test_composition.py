"""dp.tl.composition: propeller-style tests of cell-type proportions, against R limma and planted truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import drugprint as dp

DATA = Path(__file__).resolve().parents[1] / "data"
TYPES = ["CD4 T", "CD8 T", "NK", "B", "CD14 Mono", "Myeloma"]


def _cells(counts: pd.DataFrame, meta: pd.DataFrame) -> AnnData:
    """One obs row per cell from a samples × cell types table (no expression is needed)."""
    reps = [(s, t) for s in counts.index for t in counts.columns for _ in range(int(counts.loc[s, t]))]
    obs = pd.DataFrame(reps, columns=["sample", "cell_type"])
    obs = obs.join(meta, on="sample")
    obs.index = obs.index.astype(str)
    return AnnData(obs=obs)


@pytest.fixture(scope="module")
def reference_cells():
    tab = pd.read_csv(DATA / "composition_counts.csv").set_index("sample")
    return _cells(tab[TYPES], tab[["donor", "drug"]])


@pytest.mark.parametrize("transform", ["logit", "asin"])
def test_equals_r_limma_on_transformed_proportions(reference_cells, transform):
    ref = pd.read_csv(DATA / "composition_limma.csv")
    ref = ref[ref["transform"] == transform].set_index(["condition", "cell_type"])
    res = dp.tl.composition(reference_cells, transform=transform, copy=True)
    ours = dp.get.composition_table(res).set_index(["condition", "cell_type"]).loc[ref.index]
    np.testing.assert_allclose(ours[f"{transform}_diff"], ref["diff"], rtol=1e-8, atol=1e-12)
    for end in ("lo", "hi"):  # limma's topTable(confint = 0.95)
        np.testing.assert_allclose(ours[f"{transform}_diff_{end}"], ref[end], rtol=1e-6, atol=1e-10)
    for col in ("stat", "pvalue", "padj"):
        np.testing.assert_allclose(ours[col], ref[col], rtol=1e-6)


def test_planted_shifts_recovered(reference_cells):
    res = dp.tl.composition(reference_cells, copy=True)
    tab = dp.get.composition_table(res).set_index(["condition", "cell_type"])
    for cond in ("lenalidomide", "mezigdomide"):  # myeloma falls, NK rises, both called
        assert tab.loc[(cond, "Myeloma"), "log2fc"] < -0.5 and tab.loc[(cond, "Myeloma"), "padj"] < 0.01
        assert tab.loc[(cond, "NK"), "log2fc"] > 0.3 and tab.loc[(cond, "NK"), "padj"] < 0.01
    # potency order: mezigdomide removes more myeloma cells than lenalidomide
    assert tab.loc[("mezigdomide", "Myeloma"), "log2fc"] < tab.loc[("lenalidomide", "Myeloma"), "log2fc"]
    assert tab.loc[("mezigdomide", "Myeloma"), "prop"] < tab.loc[("mezigdomide", "Myeloma"), "prop_reference"]
    assert set(tab["reference"]) == {"DMSO"} and res.uns["composition"]["params"]["design"] == "~ donor + drug"


def test_null_composition_is_calibrated():
    """No composition change, donors differ: about 5 % of tests at p < 0.05 (samples are the replicates)."""
    rng = np.random.default_rng(0)
    base = np.array([0.30, 0.12, 0.08, 0.10, 0.15, 0.25])
    pvalues = []
    for _ in range(40):
        counts, meta = [], []
        for d in range(5):
            donor = rng.dirichlet(base * 60)
            for drug in ("DMSO", "a", "b"):
                counts.append(rng.multinomial(int(rng.integers(200, 400)), rng.dirichlet(donor * 300)))
                meta.append((f"D{d}_{drug}", f"D{d}", drug))
        index = [m[0] for m in meta]
        cells = _cells(
            pd.DataFrame(counts, index=index, columns=TYPES),
            pd.DataFrame(meta, columns=["sample", "donor", "drug"]).set_index("sample"),
        )
        pvalues.append(dp.get.composition_table(dp.tl.composition(cells, copy=True))["pvalue"].to_numpy())
    rate = float((np.concatenate(pvalues) < 0.05).mean())  # 480 tests
    assert 0.02 < rate < 0.09, rate  # measured: 0.058 (0.019 at p < 0.01)


def test_leaves_obs_and_x_alone(reference_cells):
    before = reference_cells.obs.copy()
    dp.tl.composition(reference_cells, key_added="comp")
    pd.testing.assert_frame_equal(reference_cells.obs, before)
    assert "comp" in reference_cells.uns and "table" in reference_cells.uns["comp"]
    del reference_cells.uns["comp"]


def _small():
    counts = pd.DataFrame(
        [[50, 30, 20], [40, 40, 20], [60, 20, 20], [55, 25, 20], [30, 30, 40], [35, 25, 40]],
        index=[f"s{i}" for i in range(6)],
        columns=["T", "B", "Myeloma"],
    )
    meta = pd.DataFrame(
        {"donor": ["d1", "d2", "d3", "d1", "d2", "d3"], "drug": ["DMSO"] * 3 + ["len"] * 3}, index=counts.index
    )
    return counts, meta


def test_a_cell_type_removed_by_a_drug_is_kept():
    counts, meta = _small()
    counts.loc[["s3", "s4", "s5"], "Myeloma"] = 0
    tab = dp.get.composition_table(dp.tl.composition(_cells(counts, meta), copy=True)).set_index("cell_type")
    assert tab.loc["Myeloma", "prop"] == 0 and tab.loc["Myeloma", "n_cells"] == 0
    assert np.isfinite(tab.loc["Myeloma", "stat"]) and tab.loc["Myeloma", "stat"] < 0
    assert tab.loc["Myeloma", "log2fc"] == -np.inf


def test_bad_input_is_named():
    counts, meta = _small()
    cells = _cells(counts, meta)
    with pytest.raises(KeyError, match="'patient'"):
        dp.tl.composition(cells, covariates=["patient"])
    nan = cells.copy()
    nan.obs["cell_type"] = nan.obs["cell_type"].astype(object)
    nan.obs.iloc[:3, nan.obs.columns.get_loc("cell_type")] = np.nan
    with pytest.raises(ValueError, match=r"obs\['cell_type'\] has 3 missing labels"):
        dp.tl.composition(nan)
    mixed = cells.copy()
    mixed.obs["drug"] = mixed.obs["drug"].astype(str)
    mixed.obs.iloc[0, mixed.obs.columns.get_loc("drug")] = "len"
    with pytest.raises(ValueError, match=r"\['drug'\] vary within samples"):
        dp.tl.composition(mixed)
    with pytest.raises(ValueError, match="control 'DMSO' has 1 sample"):
        dp.tl.composition(_cells(counts.iloc[2:], meta.iloc[2:]))
    with pytest.raises(ValueError, match="1 cell type"):
        dp.tl.composition(_cells(counts[["T"]], meta))


def test_single_cell_type_samples_and_lone_conditions_are_recorded_skips():
    counts, meta = _small()
    counts.loc["s6"] = [0, 0, 80]  # a sorted sample: one cell type only
    counts.loc["s7"] = [40, 30, 30]  # a condition with one sample
    meta.loc["s6"] = ["d1", "len"]
    meta.loc["s7"] = ["d1", "pom"]
    with pytest.warns(UserWarning, match="single cell type|left out") as caught:
        res = dp.tl.composition(_cells(counts, meta), copy=True)
    messages = " ".join(str(w.message) for w in caught)
    assert "single cell type" in messages and "pom vs DMSO" in messages
    skipped = res.uns["composition"]["skipped"]
    assert skipped["name"].tolist() == ["s6", "pom vs DMSO"]
    assert set(dp.get.composition_table(res)["condition"]) == {"len"}


def test_table_without_the_tool_says_what_to_run():
    counts, meta = _small()
    with pytest.raises(KeyError, match=r"dp\.tl\.composition\(adata\)"):
        dp.get.composition_table(_cells(counts, meta))


@pytest.mark.parametrize("robust", [False, True])
def test_many_cell_types_equal_r_limma_robust(robust):
    """24 clusters, one hypervariable: limma's eBayes with and without robust = TRUE (propeller's default)."""
    tab = pd.read_csv(DATA / "composition_counts_many.csv").set_index("sample")
    types = [c for c in tab.columns if c.startswith("C")]
    cells = _cells(tab[types], tab[["donor", "drug"]])
    ref = pd.read_csv(DATA / "composition_limma_many.csv").query("robust == @robust").set_index("cell_type")
    res = dp.tl.composition(cells, robust=robust, copy=True)
    ours = dp.get.composition_table(res).set_index("cell_type").loc[ref.index]
    np.testing.assert_allclose(ours["logit_diff"], ref["diff"], rtol=1e-8)
    for ours_col, ref_col in (("logit_diff_lo", "lo"), ("logit_diff_hi", "hi"), ("stat", "stat"), ("pvalue", "pvalue")):
        np.testing.assert_allclose(ours[ours_col], ref[ref_col], rtol=1e-6)
    np.testing.assert_allclose(ours["padj"], ref["padj"], rtol=1e-6)
    assert ours.loc["C01", "padj"] < 0.01 and ours.loc["C02", "padj"] < 0.05 and ours.loc["C03", "padj"] > 0.05
    assert res.uns["composition"]["params"]["robust"] is robust


def _clustered_screen(rng, plant, n_types=24, n_donors=6):
    """Donors × (DMSO, a, b) over ``n_types`` clusters: donor compositions, sample noise, a hypervariable C03.

    Under ``a``, each planted cluster's log odds move by exactly ``plant[k]`` (the others share the rest), so the
    fitted logit difference has a known truth; ``b`` changes nothing.
    """
    names = [f"C{i:02d}" for i in range(n_types)]
    base = rng.dirichlet(np.full(n_types, 5.0))
    counts, meta = [], []
    for d in range(n_donors):
        donor = rng.dirichlet(base * 150)  # donors differ in their composition
        for drug in ("DMSO", "a", "b"):
            p = donor * rng.lognormal(0.0, 0.1, n_types)  # sample-to-sample variation beyond counting
            p[3] *= np.exp(rng.uniform(-1.0, 1.0))  # a hypervariable cluster, whatever the drug
            p /= p.sum()
            for k, delta in (plant if drug == "a" else {}).items():
                new = 1 / (1 + np.exp(-(np.log(p[k] / (1 - p[k])) + delta)))
                rest = np.arange(n_types) != k
                p[rest] *= (1 - new) / p[rest].sum()
                p[k] = new
            counts.append(rng.multinomial(int(rng.integers(1500, 3000)), p))
            meta.append((f"D{d}_{drug}", f"D{d}", drug))
    index = [m[0] for m in meta]
    return _cells(
        pd.DataFrame(counts, index=index, columns=names),
        pd.DataFrame(meta, columns=["sample", "donor", "drug"]).set_index("sample"),
    )


def test_robust_null_intervals_and_power_with_many_clusters():
    """24 clusters with donor effects, sample noise and a hypervariable cluster (robust eBayes is active):
    the null drug is called at about its level, the 95 % intervals cover the planted log odds shifts, and the
    planted shifts are found."""
    rng = np.random.default_rng(1)
    plant = {0: -0.8, 1: 0.6, 2: -0.4}
    null_p, covered, power = {True: [], False: []}, [], {True: [], False: []}
    for _ in range(30):
        cells = _clustered_screen(rng, plant)
        for robust in (True, False):
            tab = dp.get.composition_table(dp.tl.composition(cells, robust=robust, copy=True))
            null_p[robust].append(tab.loc[tab["condition"] == "b", "pvalue"].to_numpy())
            planted = tab[tab["condition"] == "a"].set_index("cell_type").loc[[f"C{k:02d}" for k in plant]]
            power[robust] += list(planted["padj"] < 0.05)
            if robust:
                truth = np.array(list(plant.values()))
                covered += list((planted["logit_diff_lo"] < truth) & (truth < planted["logit_diff_hi"]))
    rate = {r: float((np.concatenate(p) < 0.05).mean()) for r, p in null_p.items()}  # 720 null tests each
    assert 0.02 < rate[True] < 0.08, rate  # measured: 0.036 robust, 0.039 plain
    assert 0.88 < np.mean(covered) <= 1.0, np.mean(covered)  # 90 intervals; measured: 0.978
    assert np.mean(power[True]) > 0.85 and np.mean(power[True]) >= np.mean(power[False])  # measured: 0.96, 0.94
