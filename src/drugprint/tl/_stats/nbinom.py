"""Gene-batched IRLS, dispersion search and Wald test for pydeseq2's negative-binomial GLM.

pydeseq2 (Muzellec et al. 2023, *Bioinformatics* 39:btad547) solves the GLM, fits each dispersion and tests
each contrast one gene at a time in Python (``pydeseq2.utils.irls_solver``, ``fit_alpha_mle``, ``wald_test``).
Its :class:`~pydeseq2.inference.Inference` interface exists so that these steps can be swapped;
:class:`BatchedInference` runs the same iteratively reweighted least squares (Love, Huber & Anders 2014, *Genome
Biology* 15:550, eqs. 1–2; same start values, ridge, thresholds and stopping rule per gene), the same linear-model
means and the same Wald statistics on all genes at once, and hands any gene whose IRLS diverges back to pydeseq2's
per-gene solver. The dispersions are found as R's DESeq2 finds them, not as pydeseq2 does: R's line search on the
Cox–Reid-adjusted log posterior (:func:`line_search`, DESeq2's ``fitDisp``) and its grid search where that does not
converge (:func:`grid_search`, ``fitDispGrid``), the same arithmetic step by step, all genes in lockstep. The genes'
small ``X' W X`` matrices are formed by one matrix product and inverted by a compiled Cholesky loop (:class:`_Gram`).
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


# DESeq2's dispersion fits (DESeq2.cpp 1.38: log_posterior, dlog_posterior, fitDisp, fitDispGrid), all genes at once
KAPPA_0, DISP_TOL, DISP_MAXIT = 1.0, 1e-6, 100  # estimateDispersionsGeneEst / estimateDispersionsMAP defaults
ARMIJO = 1e-4  # fitDisp's epsilon


class _Posterior:
    """The log posterior of ``log alpha`` of every gene (DESeq2's ``log_posterior``) and its derivative.

    Negative-binomial log-likelihood of counts ``y`` at means ``mu``, plus the Cox–Reid term ``-0.5 log det(X' W
    X)`` with ``W = (1 / mu + alpha)^-1``, plus, with a prior, ``-0.5 (log alpha - prior_mean)^2 / prior_var``.
    The arithmetic is DESeq2's, term for term, so that the line search takes the same steps.
    """

    def __init__(self, y, X, mu, prior_mean, prior_var, use_prior, cr=True):
        self.y, self.mu, self.gram = y, mu, _Gram(np.asarray(X, dtype=np.float64))
        self.prior_mean, self.prior_var, self.use_prior, self.cr = prior_mean, prior_var, use_prior, cr

    def value(self, a: np.ndarray, idx: np.ndarray) -> np.ndarray:
        y, mu, alpha = self.y[:, idx], self.mu[:, idx], np.exp(a)
        inv = 1.0 / alpha
        ll = (gammaln(y + inv) - gammaln(inv) - y * np.log(mu + inv) - inv * np.log(1.0 + mu * alpha)).sum(axis=0)
        if self.cr:
            sign, logdet = np.linalg.slogdet(self.gram.unpack(self.gram(1.0 / (1.0 / mu + alpha))))
            ll = ll - 0.5 * np.where(sign > 0, logdet, np.nan)
        if self.use_prior:
            ll = ll - 0.5 * (a - self.prior_mean[idx]) ** 2 / self.prior_var
        return ll

    def slope(self, a: np.ndarray, idx: np.ndarray) -> np.ndarray:
        y, mu, alpha = self.y[:, idx], self.mu[:, idx], np.exp(a)
        inv = 1.0 / alpha
        terms = digamma(inv) + np.log(1.0 + mu * alpha) - mu * alpha / (1.0 + mu * alpha) - digamma(y + inv)
        d = inv**2 * (terms + y / (mu + inv)).sum(axis=0)
        if self.cr:  # -0.5 tr(B^-1 dB), dB = X' diag(-W^2) X
            w = 1.0 / (1.0 / mu + alpha)
            d = d + 0.5 * (w**2 * self.gram.quadratic_forms(self.gram.invert(self.gram(w)))).sum(axis=0)
        d = d * alpha
        if self.use_prior:
            d = d - (a - self.prior_mean[idx]) / self.prior_var
        return d


def line_search(y, X, mu, log_alpha, prior_mean, prior_var=1.0, *, use_prior, min_log_alpha, cr=True, maxit=DISP_MAXIT):
    """DESeq2's ``fitDisp``: the Armijo line search on ``log alpha`` from ``log_alpha``, every gene at once.

    Each gene steps ``kappa * slope`` (``kappa`` from 1, halved when the Armijo condition fails, grown by 1.1 after
    an accepted step and halved every fifth), within ``[-30, 10]``, until the log posterior rises by less than
    1e-6, ``log alpha`` falls below ``min_log_alpha``, or ``maxit`` steps. The genes move in lockstep, each with
    its own state, through the same arithmetic as R's loop.

    Returns
    -------
    ``log_alpha``, the number of steps taken (``maxit``: not converged), the initial and the last log posterior.
    """
    y = np.asarray(y, dtype=np.float64)
    post = _Posterior(
        y, X, np.asarray(mu, dtype=np.float64), np.asarray(prior_mean, dtype=np.float64), prior_var, use_prior, cr
    )
    everyone = np.arange(y.shape[1])
    a = np.array(log_alpha, dtype=np.float64)
    lp = post.value(a, everyone)
    dlp = post.slope(a, everyone)
    initial_lp = lp.copy()
    kappa = np.full(a.size, KAPPA_0)
    steps, accepted = np.zeros(a.size, dtype=np.int64), np.zeros(a.size, dtype=np.int64)
    active = everyone
    for _ in range(maxit):
        if active.size == 0:
            break
        steps[active] += 1
        a0, d, k = a[active], dlp[active], kappa[active]
        with np.errstate(divide="ignore", invalid="ignore"):
            proposal = a0 + k * d
            k = np.where(proposal < -30.0, (-30.0 - a0) / d, k)
            k = np.where(proposal > 10.0, (10.0 - a0) / d, k)
            lp_new = post.value(a0 + k * d, active)
            ok = -lp_new <= -lp[active] - k * ARMIJO * d**2
        kappa[active[~ok]] = k[~ok] / 2.0
        moved, k, lp_new = active[ok], k[ok], lp_new[ok]
        accepted[moved] += 1
        a[moved] = a[moved] + k * dlp[moved]
        converged = lp_new - lp[moved] < DISP_TOL
        lp[moved[converged]] = lp_new[converged]
        going = ~converged & (a[moved] >= min_log_alpha)  # below min_log_alpha: stop, lp not updated (as R)
        on, k = moved[going], k[going]
        lp[on] = lp_new[going]
        dlp[on] = post.slope(a[on], on)
        k = np.minimum(k * 1.1, KAPPA_0)
        kappa[on] = np.where(accepted[on] % 5 == 0, k / 2.0, k)
        active = np.concatenate([active[~ok], on])
        active.sort()
    return a, steps, initial_lp, lp


def grid_search(y, X, mu, prior_mean, prior_var=1.0, *, use_prior, cr=True):
    """DESeq2's ``fitDispGrid``: the best of 20 ``log alpha`` in [log(1e-8), log(max(10, samples))], then of 20 near it.

    Used for the genes whose line search did not converge. Returns ``log alpha``.
    """
    y = np.asarray(y, dtype=np.float64)
    post = _Posterior(
        y, X, np.asarray(mu, dtype=np.float64), np.asarray(prior_mean, dtype=np.float64), prior_var, use_prior, cr
    )
    genes = np.arange(y.shape[1])
    grid = np.linspace(np.log(1e-8), np.log(max(10.0, y.shape[0])), 20)
    delta = grid[1] - grid[0]

    def best(points):  # points: 20 × genes
        lp = np.vstack([post.value(row, genes) for row in points])
        return points[np.argmax(np.where(np.isnan(lp), -np.inf, lp), axis=0), genes]

    coarse = best(np.repeat(grid[:, None], genes.size, axis=1))
    return best(coarse[None, :] + np.linspace(-delta, delta, 20)[:, None])


def linear_model_mu(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The least-squares fit of every column of ``y`` (samples × genes) on ``X``: ``X (X'X)^-1 X' y``."""
    q, _ = np.linalg.qr(np.asarray(X, dtype=np.float64))
    return q @ (q.T @ y)


class BatchedInference(DefaultInference):
    """pydeseq2 inference with IRLS, linear-model means, dispersion search and Wald test batched over genes.

    The IRLS, the means and the Wald test give :class:`pydeseq2.default_inference.DefaultInference`'s estimates to
    floating-point precision (``tests/tl/test_nbinom.py``); the dispersion search is R's DESeq2's
    (:func:`line_search`, :func:`grid_search`), checked against R's output.
    """

    def lin_reg_mu(self, counts, size_factors, design_matrix, min_mu):
        """Means from a least-squares fit of the normalised counts, all genes at once (R's ``linearModelMu``).

        See :meth:`pydeseq2.inference.Inference.lin_reg_mu`; the same projection as its per-gene regressions.
        """
        sf = np.asarray(size_factors, dtype=np.float64)[:, None]
        return np.maximum(sf * linear_model_mu(np.asarray(counts, dtype=np.float64) / sf, design_matrix), min_mu)

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
        """Gene-wise or MAP dispersions of every gene at once, by DESeq2's line search from ``alpha_hat``.

        See :meth:`pydeseq2.inference.Inference.alpha_mle`: ``alpha_hat`` is the start and, with ``prior_reg``, the
        prior mean. :func:`line_search` as R's ``fitDisp``; genes it does not converge for are grid-searched
        (:func:`grid_search`, R's ``fitDispGrid``). ``optimizer`` is ignored.
        """
        start = np.log(np.asarray(alpha_hat, dtype=np.float64))
        var = 1.0 if prior_disp_var is None else float(prior_disp_var)
        a, steps, _, _ = line_search(
            counts,
            design_matrix,
            mu,
            start,
            start,
            var,
            use_prior=prior_reg,
            min_log_alpha=np.log(min_disp / 10),
            cr=cr_reg,
        )
        ok = steps < DISP_MAXIT
        if not ok.all():
            rest = ~ok
            a[rest] = grid_search(
                np.asarray(counts)[:, rest],
                design_matrix,
                np.asarray(mu)[:, rest],
                start[rest],
                var,
                use_prior=prior_reg,
                cr=cr_reg,
            )
        return np.clip(np.exp(a), min_disp, max_disp), ok

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
