"""Gene-batched IRLS, dispersion search and Wald test for pydeseq2's negative-binomial GLM.

pydeseq2 (Muzellec et al. 2023, *Bioinformatics* 39:btad547) solves the GLM, fits each dispersion and tests
each contrast one gene at a time in Python (``pydeseq2.utils.irls_solver``, ``fit_alpha_mle``, ``wald_test``).
Its :class:`~pydeseq2.inference.Inference` interface exists so that these steps can be swapped;
:class:`BatchedInference` runs the same iteratively reweighted least squares (Love, Huber & Anders 2014, *Genome
Biology* 15:550, eqs. 1–2; same start values, ridge, thresholds and stopping rule per gene), the same
Cox–Reid-adjusted dispersion objective and the same Wald statistics on all genes at once, and hands any gene
whose IRLS diverges or whose dispersion search does not close back to pydeseq2's own per-gene solvers. The
genes' small ``X' W X`` matrices are formed by one matrix product and inverted by a compiled Cholesky loop
(:class:`_Gram`). Trend, prior and Cook's distances stay pydeseq2's.
"""

from __future__ import annotations

import functools

import numpy as np
from pydeseq2.default_inference import DefaultInference
from pydeseq2.utils import irls_solver
from scipy.linalg import solve
from scipy.special import digamma, gammaln
from scipy.stats import norm


@functools.cache
def _cholesky_kernel():
    import numba

    @numba.njit(cache=True, nogil=True)
    def invert_packed(P, p):  # pragma: no cover - compiled
        """Invert in place the symmetric matrices packed in the columns of ``P`` (see :class:`_Gram`), by Cholesky.

        Genes go in blocks of 64 with the genes innermost, so each step is one vectorisable loop. Returns False for
        the matrices whose factorisation meets a pivot that is not > 0; their columns are left as they were.
        """
        g = P.shape[1]
        pos = np.empty((p, p), dtype=np.int64)  # packed position of entry (i, j), either order
        c = 0
        for i in range(p):
            for j in range(i, p):
                pos[i, j] = pos[j, i] = c
                c += 1
        ok = np.ones(g, dtype=np.bool_)
        B = 64
        L = np.empty((p, p, B))  # lower triangles: the Cholesky factor, then its inverse
        s = np.empty(B)
        for start in range(0, g, B):
            b = min(B, g - start)
            for i in range(p):  # L[i, j] = (a[i, j] - sum_{m < j} L[i, m] L[j, m]) / L[j, j]
                for j in range(i + 1):
                    a = P[pos[i, j]]
                    for k in range(b):
                        s[k] = a[start + k]
                    for m in range(j):
                        for k in range(b):
                            s[k] -= L[i, m, k] * L[j, m, k]
                    if i > j:
                        for k in range(b):
                            L[i, j, k] = s[k] / L[j, j, k]
                    else:
                        for k in range(b):
                            if not s[k] > 0.0:
                                ok[start + k] = False
                            L[i, i, k] = np.sqrt(s[k])
            for i in range(p):  # L^-1 in place, row by row: -(sum_{m=j}^{i-1} L[i, m] L^-1[m, j]) / L[i, i]
                for k in range(b):
                    L[i, i, k] = 1.0 / L[i, i, k]
                for j in range(i):
                    for k in range(b):
                        s[k] = 0.0
                    for m in range(j, i):
                        for k in range(b):
                            s[k] -= L[i, m, k] * L[m, j, k]
                    for k in range(b):
                        L[i, j, k] = s[k] * L[i, i, k]
            for i in range(p):  # a^-1[i, j] = sum_{m >= j} L^-1[m, i] L^-1[m, j], i <= j
                for j in range(i, p):
                    for k in range(b):
                        s[k] = 0.0
                    for m in range(j, p):
                        for k in range(b):
                            s[k] += L[m, i, k] * L[m, j, k]
                    a = P[pos[i, j]]
                    for k in range(b):
                        if ok[start + k]:
                            a[start + k] = s[k]
        return ok

    return invert_packed


class _Gram:
    """``X' diag(w) X`` of one design for the weights ``w`` of many genes at once, as packed symmetric matrices.

    A symmetric p × p matrix is kept as its ``q = p(p+1)/2`` upper-triangle entries (``np.triu_indices`` order),
    one column per gene (q × genes): made by one matrix product of the weights with the products of the design's
    columns, inverted in place by a compiled Cholesky loop, and read by matrix products. pydeseq2 forms and
    inverts one small matrix per gene, where the time goes in the calls rather than the arithmetic.
    """

    def __init__(self, X: np.ndarray):
        p = X.shape[1]
        self.p = p
        self.rows, self.cols = np.triu_indices(p)
        self.products = X[:, self.rows] * X[:, self.cols]  # samples × q
        self.full = np.empty((p, p), dtype=np.intp)  # packed position of each entry
        self.full[self.rows, self.cols] = self.full[self.cols, self.rows] = np.arange(self.rows.size)
        self.diagonal = self.full[np.arange(p), np.arange(p)]
        self.twice = self.products * np.where(self.rows == self.cols, 1.0, 2.0)  # each off-diagonal pair once

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """``X' diag(W[:, g]) X`` of every gene ``g``; ``W`` is samples × genes, the result q × genes."""
        return self.products.T @ W

    def pack(self, M: np.ndarray) -> np.ndarray:
        """One symmetric p × p matrix as a packed column (q × 1)."""
        return M[self.rows, self.cols][:, None]

    def unpack(self, P: np.ndarray) -> np.ndarray:
        """Packed matrices (q × genes) as genes × p × p."""
        return P.T[:, self.full]

    def invert(self, P: np.ndarray) -> np.ndarray:
        """Invert the positive-definite matrices in place (by Cholesky; ``np.linalg.inv`` where that fails)."""
        ok = _cholesky_kernel()(P, self.p)
        if not ok.all():
            P[:, ~ok] = np.linalg.inv(self.unpack(P[:, ~ok]))[:, self.rows, self.cols].T
        return P

    def quadratic_forms(self, P: np.ndarray) -> np.ndarray:
        """``x_n' M_g x_n`` for every sample ``n`` (row of X) and packed matrix ``M_g`` → samples × genes."""
        return self.twice @ P

    def times(self, P: np.ndarray, V: np.ndarray) -> np.ndarray:
        """``M_g v_g`` for every gene: packed matrices (q × genes) times the columns of ``V`` (p × genes)."""
        return np.einsum("ijg,jg->ig", P[self.full], V)


PGTOL = 1e-5  # scipy's L-BFGS-B default projected-gradient tolerance, which pydeseq2's dispersion fit uses


def _dispersion_gradient(t, y, mu, gram, log_alpha_hat, prior_var, cr_reg, prior_reg):
    """d/d(log alpha) of pydeseq2's dispersion objective for every gene (columns of ``y``) at ``t = log alpha``.

    Negative-binomial negative log-likelihood, plus the Cox–Reid term ``0.5 log det(X' W X)`` with
    ``W = mu / (1 + mu alpha)``, plus the log-normal prior ``(t - log_alpha_hat)^2 / (2 prior_var)``. The Cox–Reid
    term's derivative is ``0.5 tr((X' W X)^-1 X' (dW/d alpha) X)`` with ``dW/d alpha = -W^2``, i.e. ``-0.5 sum_n
    W_n^2 x_n' (X' W X)^-1 x_n``.
    """
    alpha = np.exp(t)
    inv = 1.0 / alpha
    nll = -(inv**2) * (digamma(inv) - digamma(y + inv) + np.log1p(mu * alpha) + (y - mu) / (mu + inv)).sum(axis=0)
    grad = alpha * nll
    if cr_reg:
        W = mu / (1.0 + mu * alpha)
        lev = gram.quadratic_forms(gram.invert(gram(W)))  # x_n' (X'WX)^-1 x_n
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
    gram = _Gram(np.asarray(X, dtype=np.float64))
    log_hat = np.log(np.asarray(alpha_hat, dtype=np.float64))
    n_genes = y.shape[1]
    lo = np.full(n_genes, np.log(min_disp))
    hi = np.full(n_genes, np.log(max_disp))

    def grad(t, idx):
        return _dispersion_gradient(t, y[:, idx], mu[:, idx], gram, log_hat[idx], prior_disp_var, cr_reg, prior_reg)

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
    """pydeseq2 inference with the IRLS fit, the dispersion search and the Wald test batched over genes.

    Same estimates as :class:`pydeseq2.default_inference.DefaultInference` to floating-point precision for the
    IRLS and the Wald test, and to the dispersion search's tolerance for the dispersions
    (``tests/tl/test_nbinom.py`` compares both).
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
        gram = _Gram(X)

        if np.linalg.matrix_rank(X) == p:
            Q, R = np.linalg.qr(X)
            beta = solve(R, Q.T @ np.log(counts / sf + 0.1)).T
        else:
            beta = np.zeros((n_genes, p))
            with np.errstate(divide="ignore"):
                beta[:, 0] = np.log(counts / sf).mean(axis=0)
        mu = np.maximum(sf * np.exp(X @ beta.T), min_mu)
        # -2 × pydeseq2's nb_nll (vector dispersions), its mu-free terms computed once: bit-for-bit the same values
        inv_disp = 1.0 / disp
        logbinom = gammaln(counts + inv_disp) - gammaln(counts + 1) - gammaln(inv_disp)
        fixed = inv_disp * np.log(disp) - logbinom
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
            H = gram(W)
            H[gram.diagonal] += 1e-6  # pydeseq2's ridge
            beta_hat = gram.times(gram.invert(H), X.T @ (W * z)).T
            bad = (np.abs(beta_hat) > max_beta).any(axis=1) | (it >= maxiter)
            fallback[idx[bad]] = True
            active[idx[bad]] = False
            ok, beta_ok = idx[~bad], beta_hat[~bad]
            beta[ok] = beta_ok
            mu[:, ok] = np.maximum(sf * np.exp(X @ beta_ok.T), min_mu)
            old = dev[ok]
            y_ok, m_ok, a_ok = counts[:, ok], mu[:, ok], inv_disp[ok]
            dev[ok] = -2.0 * (fixed[:, ok] + (y_ok + a_ok) * np.log(m_ok + a_ok) - y_ok * np.log(m_ok)).sum(axis=0)
            with np.errstate(invalid="ignore"):
                ratio = np.abs(dev[ok] - old) / (np.abs(dev[ok]) + 0.1)
                active[ok[~(ratio > beta_tol)]] = False

        W = mu / (1.0 + mu * disp)
        H = gram(W)
        H[gram.diagonal] += 1e-6
        hat = gram.quadratic_forms(gram.invert(H)) * W
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
        pvals, stats, se = wald_tests(design_matrix, disp, lfc, mu, ridge_factor, np.asarray(contrast)[:, None])
        return pvals[:, 0], stats[:, 0], se[:, 0]


def wald_tests(
    design_matrix: np.ndarray,
    disp: np.ndarray,
    lfc: np.ndarray,
    mu: np.ndarray,
    ridge_factor: np.ndarray,
    contrasts: np.ndarray,
    lfc_null: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sided Wald tests of several contrasts for every gene, from one fit (pydeseq2's ``utils.wald_test``).

    The coefficients' covariance is DESeq2's sandwich ``(X'WX + ridge)^-1 X'WX (X'WX + ridge)^-1`` with
    ``W = mu / (1 + mu disp)`` (Love, Huber & Anders 2014, "Wald test"); a contrast ``c`` has standard error
    ``sqrt(c' cov c)`` and statistic ``(c' lfc - lfc_null) / se``.

    Parameters
    ----------
    design_matrix
        Samples × coefficients.
    disp
        Dispersion of each gene.
    lfc
        Genes × coefficients, natural log scale.
    mu
        Samples × genes fitted means.
    ridge_factor
        Coefficients × coefficients ridge (pydeseq2: ``1e-6`` on the diagonal).
    contrasts
        Coefficients × contrasts.
    lfc_null
        Null value of each contrast, natural log scale.

    Returns
    -------
    p-values, statistics and standard errors, each genes × contrasts.
    """
    X = np.asarray(design_matrix, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    C = np.asarray(contrasts, dtype=np.float64)
    W = mu / (1.0 + mu * np.asarray(disp, dtype=np.float64))
    gram = _Gram(X)
    M = gram(W)
    inv = gram.unpack(gram.invert(M + gram.pack(ridge_factor)))
    cov = inv @ gram.unpack(M) @ inv
    p = X.shape[1]
    se = np.sqrt(cov.reshape(len(cov), p * p) @ (C[:, None, :] * C[None, :, :]).reshape(p * p, -1))
    stat = ((np.asarray(lfc, dtype=np.float64) - lfc_null) @ C) / se
    return 2 * norm.sf(np.abs(stat)), stat, se
