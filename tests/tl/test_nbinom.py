"""BatchedInference: the gene-batched IRLS, linear means and Wald test against pydeseq2's per-gene DefaultInference;
DESeq2's dispersion line search and grid (R's algorithm, checked against R's output elsewhere) on their own terms."""

import numpy as np
import pandas as pd
import pytest
from pydeseq2.default_inference import DefaultInference

from drugprint.tl._stats.nbinom import BatchedInference


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
    from drugprint.tl._stats import nbinom as _nbinom

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


def test_linear_model_means_equal_pydeseq2_per_gene(nb_data):
    """The least-squares means (R's linearModelMu) of all genes at once, as pydeseq2's per-gene regressions."""
    X, sf, counts, _, _ = nb_data
    ours = BatchedInference(n_cpus=1).lin_reg_mu(counts, sf, X, min_mu=0.5)
    ref = DefaultInference(n_cpus=1).lin_reg_mu(counts, sf, X, min_mu=0.5)
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


@pytest.mark.parametrize("prior", [False, True])
def test_line_search_climbs_and_the_grid_finds_the_best_point(nb_data, prior):
    """DESeq2's line search (fitDisp) ends higher than it starts, at a stationary point or a bound, in few steps;
    the grid search (fitDispGrid) returns the best of its fine grid. Equality with R's estimates is checked on R's
    own output (tests/tl/test_small_designs_vs_r.py, tests/tl/test_trend.py)."""
    from drugprint.tl._stats.nbinom import _Posterior, grid_search, line_search

    X, sf, counts, disp, _ = nb_data
    _, mu, _, _ = DefaultInference(n_cpus=1).irls(counts, sf, X, disp, min_mu=0.5, beta_tol=1e-8)
    mu = np.maximum(mu, 0.5)
    start = np.log(disp * np.exp(np.random.default_rng(1).normal(0, 1.0, disp.size)))
    mean, var = np.log(disp), 0.5
    a, steps, lp0, lp = line_search(counts, X, mu, start, mean, var, use_prior=prior, min_log_alpha=np.log(1e-9))
    assert (lp >= lp0).all() and np.median(steps) < 20 and (steps < 100).mean() > 0.95
    post = _Posterior(counts.astype(float), X, mu, mean, var, prior)
    slope = post.slope(a, np.arange(a.size))
    done = (steps < 100) & (a > np.log(1e-7))
    assert np.median(np.abs(slope[done])) < 1e-3
    genes = np.arange(20)
    best = grid_search(counts[:, genes], X, mu[:, genes], mean[genes], var, use_prior=prior)
    delta = (np.log(24) - np.log(1e-8)) / 19
    for g, b in zip(genes, best, strict=True):
        coarse = np.linspace(np.log(1e-8), np.log(24), 20)
        top = coarse[np.argmax([post.value(np.array([c]), np.array([g]))[0] for c in coarse])]
        fine = np.linspace(top - delta, top + delta, 20)
        assert b == pytest.approx(fine[np.argmax([post.value(np.array([f]), np.array([g]))[0] for f in fine])])
    # pydeseq2's Inference interface: alpha_hat is the start and the prior mean
    dispersions, ok = BatchedInference(n_cpus=1).alpha_mle(
        counts, X, mu, np.exp(start), 1e-8, 24.0, var if prior else None, prior_reg=prior
    )
    a, steps, _, _ = line_search(counts, X, mu, start, start, var, use_prior=prior, min_log_alpha=np.log(1e-9))
    assert (ok == (steps < 100)).all() and ok.mean() > 0.95
    np.testing.assert_allclose(np.log(dispersions[ok]), np.clip(a[ok], np.log(1e-8), np.log(24.0)))


def test_packed_weighted_crossproducts():
    """X' diag(w) X of many genes, packed; their inverses (Cholesky, np.linalg.inv where it fails) and products."""
    from drugprint.tl._stats.nbinom import _Gram

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
