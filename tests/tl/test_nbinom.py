"""BatchedInference (gene-batched IRLS and Wald test) against pydeseq2's own per-gene DefaultInference."""

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest
from pydeseq2.dds import DeseqDataSet
from pydeseq2.default_inference import DefaultInference
from pydeseq2.ds import DeseqStats

from drugprint.tl._filter import filter_by_expr as _filter_genes
from drugprint.tl._nbinom import BatchedInference


@pytest.fixture(scope="module")
def nb_data():
    """24 samples (4 conditions × 6 donors), 300 NB genes with planted effects, one all-zero-in-a-condition gene."""
    rng = np.random.default_rng(3)
    obs = pd.DataFrame(
        {"donor": np.tile([f"d{i}" for i in range(6)], 4), "drug": np.repeat(["a", "b", "c", "d"], 6)},
        index=[f"s{i}" for i in range(24)],
    )
    X = pd.get_dummies(obs[["donor", "drug"]], drop_first=True).astype(float)
    X.insert(0, "Intercept", 1.0)
    beta = np.column_stack(
        [
            rng.uniform(1, 8, 300),
            rng.normal(0, 0.3, (300, 5)),
            rng.normal(0, 1, (300, 3)) * (rng.random((300, 1)) < 0.3),
        ]
    )
    sf = rng.uniform(0.6, 1.6, 24)
    mu = sf[:, None] * np.exp(X.to_numpy() @ beta.T)
    disp = rng.uniform(0.02, 0.5, 300)
    counts = rng.negative_binomial(1 / disp, 1 / (1 + mu * disp)).astype(np.int64)
    counts[obs["drug"].to_numpy() == "d", 0] = 0  # silent in one condition: the fit rests on the min_mu bound
    counts[:, 0] += np.where(obs["drug"].to_numpy() == "d", 0, 50)
    return X.to_numpy(), sf, counts, disp, obs


def test_irls_equals_pydeseq2_per_gene(nb_data):
    X, sf, counts, disp, _ = nb_data
    args = {"counts": counts, "size_factors": sf, "design_matrix": X, "disp": disp, "min_mu": 0.5, "beta_tol": 1e-8}
    ours = BatchedInference(n_cpus=1).irls(**args)
    ref = DefaultInference(n_cpus=1).irls(**args)
    for a, b in zip(ours, ref, strict=True):
        assert a.shape == b.shape
    assert np.allclose(ours[0], ref[0], rtol=1e-7, atol=1e-9)  # coefficients
    assert np.allclose(ours[1], ref[1], rtol=1e-7)  # fitted means
    assert np.allclose(ours[2], ref[2], rtol=1e-6, atol=1e-12)  # hat diagonals (Cook's distances)
    assert np.array_equal(ours[3], ref[3])
    assert ours[0][0, -1] < -5  # the silent condition


@pytest.mark.parametrize(("limits", "share"), [({"maxiter": 2}, 1.0), ({"max_beta": 4.0}, (0.05, 0.95))])
def test_irls_hands_diverging_genes_to_pydeseq2(nb_data, monkeypatch, limits, share):
    """Genes whose IRLS leaves [min_beta, max_beta] or reaches maxiter get pydeseq2's per-gene solver (L-BFGS-B)."""
    from drugprint.tl import _nbinom

    X, sf, counts, disp, _ = nb_data
    calls = []
    solver = _nbinom.irls_solver
    monkeypatch.setattr(_nbinom, "irls_solver", lambda **kw: (calls.append(1), solver(**kw))[1])
    args = {"counts": counts, "size_factors": sf, "design_matrix": X, "disp": disp, "min_mu": 0.5, "beta_tol": 1e-8}
    ours = BatchedInference(n_cpus=1).irls(**args, **limits)
    ref = DefaultInference(n_cpus=1).irls(**args, **limits)
    for a, b in zip(ours, ref, strict=True):
        assert np.allclose(a, b, rtol=1e-7, atol=1e-9)
    handed = len(calls) / counts.shape[1]
    assert handed == share if share == 1.0 else share[0] < handed < share[1]


def test_wald_equals_pydeseq2_per_gene(nb_data):
    X, sf, counts, disp, _ = nb_data
    lfc, mu, _, _ = DefaultInference(n_cpus=1).irls(counts, sf, X, disp, min_mu=0.5, beta_tol=1e-8)
    contrast = pd.Series(np.eye(X.shape[1])[-2])  # pydeseq2 passes a Series
    args = {
        "design_matrix": X,
        "disp": disp,
        "lfc": lfc,
        "mu": mu,
        "ridge_factor": np.diag(np.repeat(1e-6, X.shape[1])),
    }
    ours = BatchedInference(n_cpus=1).wald_test(**args, contrast=contrast, lfc_null=0.0)
    ref = DefaultInference(n_cpus=1).wald_test(**args, contrast=contrast.to_numpy(), lfc_null=0.0)
    for a, b in zip(ours, ref, strict=True):
        assert np.allclose(a, b, rtol=1e-9, atol=1e-300)
    one_sided = BatchedInference(n_cpus=1).wald_test(**args, contrast=contrast, lfc_null=0.1, alt_hypothesis="greater")
    ref_sided = DefaultInference(n_cpus=1).wald_test(
        **args, contrast=contrast.to_numpy(), lfc_null=0.1, alt_hypothesis="greater"
    )
    assert np.allclose(one_sided[0], ref_sided[0])


def _fit(counts, obs, inference):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        dds = DeseqDataSet(counts=counts, metadata=obs, design="~donor + drug", inference=inference, quiet=True)
        dds.deseq2()
        st = DeseqStats(dds, contrast=["drug", "b", "a"], inference=inference, quiet=True)
        st.summary()
    return dds, st.results_df


def test_whole_fit_matches_pydeseq2(nb_data):
    _, _, counts, _, obs = nb_data
    df = pd.DataFrame(counts, index=obs.index, columns=[f"g{i}" for i in range(counts.shape[1])])
    df = df.loc[:, _filter_genes(df, obs["drug"])]
    dds_b, ours = _fit(df, obs, BatchedInference(n_cpus=1))
    dds_d, ref = _fit(df, obs, DefaultInference(n_cpus=1))
    # the batched dispersion search closes its bracket to 1e-10 in log alpha; pydeseq2's L-BFGS-B stops at its
    # own tolerance, so their estimates differ by that much
    ours_gw, ref_gw = dds_b.var["genewise_dispersions"], dds_d.var["genewise_dispersions"]
    interior = ref_gw > FLOOR  # near min_disp the objective is flat and both stop anywhere below ~1e-6
    genewise = np.abs(ours_gw / ref_gw - 1)[interior]
    assert np.median(genewise) < 1e-6 and genewise.max() < 1e-2
    assert (ours_gw[~interior] < FLOOR).all()
    # the trend and the prior are fits over all genes: a near-Poisson gene that pydeseq2 leaves at 4e-6 (above
    # DESeq2's 100 * min_disp cut) and the batched search at 1.5e-8 (below it) moves the prior variance by 1.4 %,
    # and with it every final dispersion by ~1e-3
    assert abs(dds_b.uns["prior_disp_var"] / dds_d.uns["prior_disp_var"] - 1) < 0.02
    rel_disp = np.abs(dds_b.var["dispersions"] / dds_d.var["dispersions"] - 1)
    assert np.median(rel_disp) < 5e-3 and rel_disp.max() < 2e-2
    assert np.median(np.abs(ours["log2FoldChange"] - ref["log2FoldChange"])) < 1e-4
    assert np.corrcoef(ours["log2FoldChange"], ref["log2FoldChange"])[0, 1] > 0.99999
    assert ((ours["padj"] < 0.05) == (ref["padj"] < 0.05)).all()
    assert (ref["padj"] < 0.05).sum() > 10


FLOOR = 1e-4


@pytest.mark.parametrize("prior", [False, True])
def test_dispersions_equal_pydeseq2_per_gene(nb_data, prior):
    """Gene-wise (Cox–Reid) and MAP (log-normal prior) dispersions of all genes at once, as pydeseq2's L-BFGS-B."""
    from pydeseq2.utils import nb_nll

    X, sf, counts, disp, _ = nb_data
    _, mu, _, _ = DefaultInference(n_cpus=1).irls(counts, sf, X, disp, min_mu=0.5, beta_tol=1e-8)
    hat = np.full(counts.shape[1], 0.1) if prior else disp * np.exp(np.random.default_rng(1).normal(0, 0.5, disp.size))
    args = {"counts": counts, "design_matrix": X, "mu": mu, "alpha_hat": hat, "min_disp": 1e-8, "max_disp": 24.0}
    if prior:
        args.update(prior_disp_var=0.25, prior_reg=True)
    ours, ok = BatchedInference(n_cpus=1).alpha_mle(**args)
    ref, ref_ok = DefaultInference(n_cpus=1).alpha_mle(**args)
    assert ok.all()
    interior = ref > FLOOR  # near min_disp the objective is flat and both stop anywhere below ~1e-6
    assert (ours[~interior] < FLOOR).all()
    rel = np.where(interior & ref_ok, np.abs(ours / ref - 1), 0.0)  # where L-BFGS-B failed, pydeseq2 grid-searches
    assert np.median(rel[interior]) < 1e-6 and rel.max() < 1e-2
    assert np.corrcoef(np.log(ours), np.log(disp))[0, 1] > 0.5  # the planted dispersions

    def objective(g, a):  # pydeseq2's loss (fit_alpha_mle)
        w = mu[:, g] / (1 + mu[:, g] * a)
        reg = (np.log(a) - np.log(hat[g])) ** 2 / (2 * 0.25) if prior else 0.0
        return nb_nll(counts[:, g], mu[:, g], a) + 0.5 * np.linalg.slogdet((X.T * w) @ X)[1] + reg

    for g in (int(np.argmax(rel)), *np.flatnonzero(~interior | ~ref_ok)):  # where they differ, ours is no worse
        assert objective(g, ours[g]) <= objective(g, ref[g]) + 1e-9


def test_packed_weighted_crossproducts():
    """X' diag(w) X of many genes, packed; their inverses (Cholesky, np.linalg.inv where it fails) and products."""
    from drugprint.tl._nbinom import _Gram

    rng = np.random.default_rng(0)
    X, W = rng.normal(size=(30, 5)), rng.random((30, 1000))
    gram = _Gram(X)
    ref = np.einsum("np,ng,nq->gpq", X, W, X)
    P = gram(W)
    assert P.shape == (15, 1000)
    assert np.allclose(gram.unpack(P), ref, rtol=1e-12)
    V = rng.normal(size=(5, 1000))
    assert np.allclose(gram.times(P, V), np.einsum("gpq,qg->pg", ref, V), rtol=1e-12)
    P[:, 7] = gram.pack(-np.eye(5))[:, 0]  # not positive definite: np.linalg.inv
    P[:, 8] = np.nan
    inv = gram.unpack(gram.invert(P))
    expected = np.linalg.inv(np.concatenate([ref[:7], -np.eye(5)[None], np.full((1, 5, 5), np.nan), ref[9:]]))
    assert np.allclose(inv, expected, rtol=1e-10, equal_nan=True)
    assert np.allclose(gram.quadratic_forms(P), np.einsum("np,gpq,nq->ng", X, inv, X), rtol=1e-10, equal_nan=True)


@pytest.mark.parametrize("signal", [0, 30, 300])
def test_independent_filtering_equals_pydeseq2(signal):
    """DESeq2's independent filtering on arrays gives pydeseq2's padj exactly (few, some and many rejections)."""
    from types import SimpleNamespace

    from drugprint.tl._filter import independent_filtering

    rng = np.random.default_rng(signal)
    base_mean = np.concatenate([np.zeros(200), rng.lognormal(3, 2, 3000)])
    p = rng.uniform(size=base_mean.size)
    strong = np.argsort(-base_mean)[:signal]
    p[strong] = rng.uniform(0, 1e-4, signal)
    p[rng.choice(base_mean.size, 50, replace=False)] = np.nan  # Cook's outliers
    genes = SimpleNamespace(var_names=pd.RangeIndex(base_mean.size))
    holder = SimpleNamespace(dds=genes, base_mean=pd.Series(base_mean), p_values=pd.Series(p), alpha=0.05)
    DeseqStats._independent_filtering(holder)
    ours = independent_filtering(base_mean, p, 0.05)
    np.testing.assert_array_equal(np.isnan(ours), holder.padj.isna().to_numpy())
    np.testing.assert_allclose(ours, holder.padj.to_numpy(), rtol=1e-12)
    assert (ours < 0.05).sum() >= 0.8 * signal
