"""Gene-batched IRLS and Wald test for pydeseq2's negative-binomial GLM.

pydeseq2 solves the GLM one gene at a time in Python (``pydeseq2.utils.irls_solver``, ``utils.wald_test``),
which dominates the cost of a fit after the dispersion search. Its :class:`~pydeseq2.inference.Inference`
interface exists so that these steps can be swapped; :class:`BatchedInference` runs the same iteratively
reweighted least squares (Love, Huber & Anders 2014, *Genome Biology* 15:550, eqs. 1–2; same start values,
ridge, thresholds and stopping rule per gene) on all genes at once with batched linear algebra, and hands any
gene whose IRLS diverges or reaches ``maxiter`` back to pydeseq2's own per-gene solver (which then switches to
L-BFGS-B exactly as it would have). Dispersion estimation, trend, prior, Cook's distances and independent
filtering stay pydeseq2's.
"""

from __future__ import annotations

import numpy as np
from pydeseq2.default_inference import DefaultInference
from pydeseq2.utils import irls_solver, nb_nll
from scipy.linalg import solve
from scipy.stats import norm


def _xtwx(X: np.ndarray, W: np.ndarray, block: int = 1 << 22) -> np.ndarray:
    """``X.T @ diag(W[:, g]) @ X`` for every gene ``g`` (samples × genes weights) → genes × p × p.

    Genes go in blocks so that the samples × coefficients temporary stays near ``block`` floats (32 MB).
    """
    n, p = X.shape
    out = np.empty((W.shape[1], p, p))
    step = max(1, block // (n * p))
    for start in range(0, W.shape[1], step):
        XW = W[:, start : start + step].T[:, :, None] * X[None, :, :]
        out[start : start + step] = np.matmul(XW.transpose(0, 2, 1), X)
    return out


class BatchedInference(DefaultInference):
    """pydeseq2 inference with the IRLS fit and the Wald test batched over genes.

    Same estimates as :class:`pydeseq2.default_inference.DefaultInference` to floating-point precision
    (``tests/tl/test_nbinom.py`` compares both); the per-gene dispersion search is inherited unchanged.
    """

    def irls(
        self,
        counts: np.ndarray,
        size_factors: np.ndarray,
        design_matrix: np.ndarray,
        disp: np.ndarray,
        min_mu: float,
        beta_tol: float,
        min_beta: float = -30,
        max_beta: float = 30,
        optimizer="L-BFGS-B",
        maxiter: int = 250,
    ):
        """Fit the NB GLM of every gene by IRLS at once; see :meth:`pydeseq2.inference.Inference.irls`."""
        X = np.asarray(design_matrix, dtype=np.float64)
        counts = np.asarray(counts, dtype=np.float64)
        disp = np.asarray(disp, dtype=np.float64)
        n_genes, p = counts.shape[1], X.shape[1]
        sf = np.asarray(size_factors, dtype=np.float64)[:, None]
        ridge = np.diag(np.repeat(1e-6, p))

        if np.linalg.matrix_rank(X) == p:
            Q, R = np.linalg.qr(X)
            beta = solve(R, Q.T @ np.log(counts / sf + 0.1)).T
        else:
            beta = np.zeros((n_genes, p))
            with np.errstate(divide="ignore"):
                beta[:, 0] = np.log(counts / sf).mean(axis=0)
        mu = np.maximum(sf * np.exp(X @ beta.T), min_mu)
        dev = np.full(n_genes, 1000.0)
        active = np.ones(n_genes, dtype=bool)
        fallback = np.zeros(n_genes, dtype=bool)
        it = 0
        while active.any():
            it += 1
            idx = np.flatnonzero(active)
            m, y, d = mu[:, idx], counts[:, idx], disp[idx]
            W = m / (1.0 + m * d)
            z = np.log(m / sf) + (y - m) / m
            H = _xtwx(X, W) + ridge
            beta_hat = np.linalg.solve(H, (X.T @ (W * z)).T[:, :, None])[:, :, 0]
            bad = (np.abs(beta_hat) > max_beta).any(axis=1) | (it >= maxiter)
            fallback[idx[bad]] = True
            active[idx[bad]] = False
            ok, beta_ok = idx[~bad], beta_hat[~bad]
            beta[ok] = beta_ok
            mu[:, ok] = np.maximum(sf * np.exp(X @ beta_ok.T), min_mu)
            old = dev[ok]
            dev[ok] = -2.0 * nb_nll(counts[:, ok], mu[:, ok], disp[ok])  # per gene (column) for a vector of disp
            with np.errstate(invalid="ignore"):
                ratio = np.abs(dev[ok] - old) / (np.abs(dev[ok]) + 0.1)
                active[ok[~(ratio > beta_tol)]] = False

        W = mu / (1.0 + mu * disp)
        inv = np.linalg.inv(_xtwx(X, W) + ridge)
        hat = np.einsum("np,gpq,nq->ng", X, inv, X) * W
        mu_out = sf * np.exp(X @ beta.T)
        converged = np.ones(n_genes, dtype=bool)
        for g in np.flatnonzero(fallback):
            b, m, h, conv = irls_solver(
                counts=counts[:, g],
                size_factors=sf[:, 0],
                design_matrix=X,
                disp=disp[g],
                min_mu=min_mu,
                beta_tol=beta_tol,
                min_beta=min_beta,
                max_beta=max_beta,
                optimizer=optimizer,
                maxiter=maxiter,
            )
            beta[g], mu_out[:, g], hat[:, g], converged[g] = b, m, h, conv
        return beta, mu_out, hat, converged

    def wald_test(
        self,
        design_matrix: np.ndarray,
        disp: np.ndarray,
        lfc: np.ndarray,
        mu: np.ndarray,
        ridge_factor: np.ndarray,
        contrast: np.ndarray,
        lfc_null: np.ndarray,
        alt_hypothesis=None,
    ):
        """Wald test of ``contrast`` for every gene at once; see :meth:`pydeseq2.inference.Inference.wald_test`."""
        if alt_hypothesis is not None:
            return super().wald_test(design_matrix, disp, lfc, mu, ridge_factor, contrast, lfc_null, alt_hypothesis)
        X = np.asarray(design_matrix, dtype=np.float64)
        mu = np.asarray(mu, dtype=np.float64)
        W = mu / (1.0 + mu * np.asarray(disp, dtype=np.float64))
        M = _xtwx(X, W)
        contrast = np.asarray(contrast, dtype=np.float64)
        Hc = np.linalg.inv(M + ridge_factor) @ contrast
        se = np.sqrt(np.einsum("gp,gpq,gq->g", Hc, M, Hc))
        stat = ((np.asarray(lfc, dtype=np.float64) - lfc_null) @ contrast) / se
        return 2 * norm.sf(np.abs(stat)), stat, se
