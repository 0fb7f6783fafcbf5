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
from scipy.special import digamma
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


PGTOL = 1e-5  # scipy's L-BFGS-B default projected-gradient tolerance, which pydeseq2's dispersion fit uses


def _dispersion_gradient(t, y, mu, X, log_alpha_hat, prior_var, cr_reg, prior_reg):
    """d/d(log alpha) of pydeseq2's dispersion objective for every gene (columns of ``y``) at ``t = log alpha``.

    Negative-binomial negative log-likelihood, plus the Cox–Reid term ``0.5 log det(X' W X)`` with
    ``W = mu / (1 + mu alpha)``, plus the log-normal prior ``(t - log_alpha_hat)^2 / (2 prior_var)``.
    """
    alpha = np.exp(t)
    inv = 1.0 / alpha
    nll = -(inv**2) * (digamma(inv) - digamma(y + inv) + np.log1p(mu * alpha) + (y - mu) / (mu + inv)).sum(axis=0)
    grad = alpha * nll
    if cr_reg:
        W = mu / (1.0 + mu * alpha)
        ainv = np.linalg.inv(_xtwx(X, W))
        lev = (np.matmul(X, ainv) * X).sum(axis=2).T  # x_n' (X'WX)^-1 x_n, genes × n × p by batched BLAS
        grad = grad + 0.5 * alpha * (-(W**2) * lev).sum(axis=0)
    if prior_reg:
        grad = grad + (t - log_alpha_hat) / prior_var
    return grad


def batched_alpha_mle(
    counts, X, mu, alpha_hat, min_disp, max_disp, prior_disp_var=None, cr_reg=True, prior_reg=False, tol=1e-10
):
    """The dispersion of every gene at once: the root of the objective's gradient in log alpha, bracketed.

    pydeseq2 minimises the same objective gene by gene with L-BFGS-B (``pydeseq2.utils.fit_alpha_mle``). Here the
    gradient is evaluated for all genes together, its sign change is bracketed from ``log(alpha_hat)`` outwards
    within ``[log(min_disp), log(max_disp)]`` and closed to ``tol`` in log alpha or to L-BFGS-B's gradient
    tolerance. Returns the dispersions and, per gene, whether the search ended within its iteration caps (the
    others are NaN, for pydeseq2's own solver).
    """
    y = np.asarray(counts, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    log_hat = np.log(np.asarray(alpha_hat, dtype=np.float64))
    n_genes = y.shape[1]
    lo = np.full(n_genes, np.log(min_disp))
    hi = np.full(n_genes, np.log(max_disp))

    def grad(t, idx):
        return _dispersion_gradient(t, y[:, idx], mu[:, idx], X, log_hat[idx], prior_disp_var, cr_reg, prior_reg)

    # Bracket the gradient's sign change by stepping out from log(alpha_hat) (1, 2, 4 … in log alpha), as a
    # local optimiser started there would go; near min_disp the gradient is rounding noise (digamma differences
    # times alpha^-2), so the search never starts from the bounds. A point as flat as L-BFGS-B's projected-
    # gradient tolerance is where pydeseq2 stops, and so does this: on near-Poisson genes the objective is flat
    # towards min_disp (R's dispersions are closer to stopping there than to a far minimum).
    out = np.full(n_genes, np.nan)
    converged = np.zeros(n_genes, dtype=bool)
    near = np.clip(log_hat, lo, hi)
    g_near = grad(near, np.arange(n_genes))
    flat = np.abs(g_near) <= PGTOL
    out[flat], converged[flat] = near[flat], True
    direction = np.where(g_near > 0, -1.0, 1.0)
    step = np.ones(n_genes)
    a, b, ga, gb = (np.full(n_genes, np.nan) for _ in range(4))
    searching = np.flatnonzero(~flat & np.isfinite(g_near))
    bracketed = np.zeros(n_genes, dtype=bool)
    for _ in range(40):
        if searching.size == 0:
            break
        s_ = searching
        t = np.clip(near[s_] + direction[s_] * step[s_], lo[s_], hi[s_])
        gt = grad(t, s_)
        crossed = np.where(direction[s_] < 0, gt < 0, gt > 0)
        stop = ~crossed & ((np.abs(gt) <= PGTOL) | (t <= lo[s_]) | (t >= hi[s_]))  # flat, or the bound is the min
        out[s_[stop]], converged[s_[stop]] = t[stop], True
        left = direction[s_] < 0
        a[s_] = np.where(left, t, near[s_])
        ga[s_] = np.where(left, gt, g_near[s_])
        b[s_] = np.where(left, near[s_], t)
        gb[s_] = np.where(left, g_near[s_], gt)
        bracketed[s_[crossed]] = True
        near[s_], g_near[s_], step[s_] = t, gt, step[s_] * 2.0
        searching = s_[~crossed & ~stop]
    # Close each bracket by the Illinois variant of regula falsi (superlinear; never leaves the bracket).
    active = np.flatnonzero(bracketed)
    a, b, ga, gb = a[active], b[active], ga[active], gb[active]
    side = np.zeros(active.size)
    for _ in range(200):
        if active.size == 0:
            break
        t = (a * gb - b * ga) / (gb - ga)
        t = np.where(np.isfinite(t) & (t > a) & (t < b), t, 0.5 * (a + b))
        gt = grad(t, active)
        left = gt < 0  # the root lies right of t
        a, ga = np.where(left, t, a), np.where(left, gt, ga)
        b, gb = np.where(left, b, t), np.where(left, gb, gt)
        ga = np.where(~left & (side < 0), ga / 2, ga)  # Illinois: halve the stale end when one end moved twice
        gb = np.where(left & (side > 0), gb / 2, gb)
        side = np.where(left, 1.0, -1.0)
        done = (b - a < tol) | (np.abs(gt) <= PGTOL)
        out[active[done]], converged[active[done]] = t[done], True
        keep = ~done
        active, a, b, ga, gb, side = active[keep], a[keep], b[keep], ga[keep], gb[keep], side[keep]
    return np.exp(out), converged


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

    def alpha_mle(
        self,
        counts: np.ndarray,
        design_matrix: np.ndarray,
        mu: np.ndarray,
        alpha_hat: np.ndarray,
        min_disp: float,
        max_disp: float,
        prior_disp_var: float | None = None,
        cr_reg: bool = True,
        prior_reg: bool = False,
        optimizer="L-BFGS-B",
    ):
        """Gene-wise or MAP dispersions of every gene at once; see :meth:`pydeseq2.inference.Inference.alpha_mle`.

        Genes whose bracket does not close go to pydeseq2's per-gene L-BFGS-B (and its grid search).
        """
        disp, ok = batched_alpha_mle(
            counts, design_matrix, mu, alpha_hat, min_disp, max_disp, prior_disp_var, cr_reg, prior_reg
        )
        if not ok.all():
            rest = np.flatnonzero(~ok)
            d, c = super().alpha_mle(
                counts[:, rest],
                design_matrix,
                mu[:, rest],
                np.asarray(alpha_hat)[rest],
                min_disp,
                max_disp,
                prior_disp_var,
                cr_reg,
                prior_reg,
                optimizer,
            )
            disp[rest], ok[rest] = d, c
        return disp, ok

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
