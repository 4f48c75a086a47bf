"""Small-sample cluster-robust inference for logistic regression: the CR2 (Bell-McCaffrey)
covariance and Satterthwaite degrees of freedom, as R's clubSandwich computes them for a glm.

With few clusters the usual cluster-robust covariance (CR0/CR1, ``sandwich::vcovCL``) is
biased downwards and normal quantiles are too narrow: with 6 clusters a nominal 95% interval
covers ~85%. The bias-reduced linearisation of Bell & McCaffrey (2002), CR2, adjusts each
cluster's residuals by the inverse symmetric square root of ``I - H_jj`` (its block of the
weighted hat matrix), which makes the covariance exactly unbiased under a working model;
Satterthwaite's approximation then matches a scaled chi-square to the estimated variance of
each coefficient (or any linear combination), giving the degrees of freedom of a t reference
distribution (Pustejovsky & Tipton 2018). For a generalised linear model clubSandwich works on
the IRLS linearisation: the model matrix ``X`` scaled by ``dmu/deta``, the working weights
``W = 1 / V(mu)``, response residuals and, as the working model, ``Theta = V(mu)`` (working
independence); for logistic regression ``dmu/deta = V(mu) = mu (1 - mu)``.

This module is pure numpy/scipy (statsmodels has no CR2). It follows clubSandwich 0.5.8's
``vcovCR(type = "CR2")`` (with its defaults for a glm: ``inverse_var = TRUE``, eigenvalues below
1e-12 dropped from the inverse square root) and ``coef_test(test = "Satterthwaite")`` /
``linear_contrast``, and was validated against clubSandwich on three small data sets
(``tests/models/reference/clubsandwich.R``): the covariance matrices agree to 1e-6 and the
degrees of freedom to 1e-5, relative.

References
----------
Bell, R. M. & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear regression
with multi-stage samples. Survey Methodology 28(2), 169-181.

Pustejovsky, J. E. & Tipton, E. (2018). Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models. Journal of Business & Economic
Statistics 36(4), 672-683.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

#: Eigenvalues at or below this are dropped from inverse square roots (clubSandwich's 1e-12).
EIGEN_TOL = 1e-12


def _inverse_sqrt(a: np.ndarray) -> np.ndarray:
    """Symmetric (pseudo-)inverse square root, as clubSandwich's ``matrix_power(a, -1/2)``."""
    values, vectors = linalg.eigh((a + a.T) / 2)
    powered = np.zeros_like(values)
    keep = values > EIGEN_TOL
    powered[keep] = values[keep] ** -0.5
    return (vectors * powered) @ vectors.T


@dataclass(frozen=True, eq=False)
class CR2:
    """The CR2 covariance of a logistic regression and what its Satterthwaite degrees of
    freedom need; made by :func:`cr2_logistic`. Read-only.

    Attributes
    ----------
    vcov : ndarray (p, p)
        The CR2 covariance of the coefficients.
    n_clusters : int
    """

    vcov: np.ndarray
    n_clusters: int
    _g: np.ndarray  # (p, n): M E_j Theta_j^(1/2), one column per row (clubSandwich's G)
    _groups: np.ndarray  # (n,): cluster index 0..J-1 of each row
    _h: np.ndarray  # (J, p, p): M E_j U_j chol(M) (clubSandwich's H, inverse_var = TRUE)

    def df(self, contrasts: np.ndarray) -> np.ndarray | float:
        """Satterthwaite degrees of freedom of ``c' beta`` for each row ``c`` of ``contrasts``
        (a float for one contrast given as a vector), as clubSandwich's ``coef_test`` (unit
        vectors) or ``linear_contrast``.

        The CR2 variance of ``c' beta`` is a quadratic form in the residuals; under the working
        model its mean is ``tr(P)`` and its variance ``2 ||P||_F^2``, with ``P`` the J x J
        matrix ``diag(||c' G_j||^2) - (c' H_j) . (c' H_k)``; a scaled chi-square with the same
        two moments has ``tr(P)^2 / ||P||_F^2`` degrees of freedom. NaN for a contrast whose
        variance is zero.
        """
        c = np.asarray(contrasts, dtype=float)
        one = c.ndim == 1
        c = np.atleast_2d(c)
        j = self._h.shape[0]
        gc = c @ self._g  # (m, n)
        a = np.zeros((c.shape[0], j))
        np.add.at(a.T, self._groups, (gc**2).T)  # a[:, j] = ||c' G_j||^2
        hc = np.einsum("mp,jpq->mjq", c, self._h)  # (m, J, p)
        h2 = np.sum(hc**2, axis=2)  # (m, J): diagonal of (c'H)(c'H)'
        trace = a.sum(axis=1) - h2.sum(axis=1)
        cross = np.einsum("mjq,mjr->mqr", hc, hc)  # (m, p, p): same Frobenius norm as J x J
        squares = np.sum(a**2, axis=1) - 2 * np.sum(a * h2, axis=1) + np.sum(cross**2, axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.where(squares > 0, trace**2 / squares, np.nan)
        return float(df[0]) if one else df


def cr2_logistic(X: np.ndarray, y: np.ndarray, mu: np.ndarray, groups: np.ndarray) -> CR2:
    """CR2 (Bell-McCaffrey) cluster-robust covariance of a logistic regression's coefficients.

    Parameters
    ----------
    X : ndarray (n, p)
        Model matrix.
    y : ndarray (n,)
        0/1 outcome.
    mu : ndarray (n,)
        Fitted probabilities at the maximum-likelihood estimates.
    groups : ndarray (n,)
        Cluster labels (any hashable values; rows need not be sorted).

    Returns
    -------
    CR2
        ``vcov`` is ``M (sum_j X_j' A_j e_j e_j' A_j X_j) M`` with ``M`` the inverse Fisher
        information, ``e_j`` the response residuals of cluster j and ``A_j =
        Theta_j^(1/2) [Theta_j^(1/2) (I - H_jj) Theta_j Theta_j^(1/2)]^(-1/2) Theta_j^(1/2)``,
        ``H_jj = Xt_j M X_j'``, ``Xt = diag(v) X``, ``Theta = diag(v)``, ``v = mu (1 - mu)``;
        ``df`` gives Satterthwaite degrees of freedom. Validated against clubSandwich (see the
        module docstring).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    _, index = np.unique(np.asarray(groups), return_inverse=True)
    index = index.reshape(-1)
    n, p = X.shape
    n_clusters = int(index.max()) + 1
    v = mu * (1 - mu)  # variance function = dmu/deta (canonical link) = 1 / working weight
    resid = y - mu
    info = X.T @ (X * v[:, None])
    M = linalg.inv(info)
    M = (M + M.T) / 2
    chol_m = linalg.cholesky(M, lower=True)
    meat = np.zeros((p, p))
    g = np.zeros((p, n))
    h = np.zeros((n_clusters, p, p))
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(n_clusters + 1))
    for k in range(n_clusters):
        rows = order[bounds[k] : bounds[k + 1]]
        xj, vj, sq = X[rows], v[rows], np.sqrt(v[rows])
        xt = xj * vj[:, None]  # the model matrix of the IRLS linearisation, dmu/deta * X
        ih = np.eye(len(rows)) - xt @ M @ xj.T  # I - H_jj
        gj = sq[:, None] * ih * (vj * sq)[None, :]  # chol(Theta) (I - H_jj) Theta chol(Theta)'
        adjust = sq[:, None] * _inverse_sqrt(gj) * sq[None, :]  # A_j
        e = xj.T @ adjust  # E_j = X_j' W_j A_j, with X_j' W_j = Xt_j' W_j = X_j'
        component = e @ resid[rows]
        meat += np.outer(component, component)
        me = M @ e
        g[:, rows] = me * sq[None, :]
        h[k] = me @ xt @ chol_m
    vcov = M @ meat @ M
    vcov = (vcov + vcov.T) / 2
    for array in (vcov, g, h, index):
        array.flags.writeable = False
    return CR2(vcov=vcov, n_clusters=n_clusters, _g=g, _groups=index, _h=h)
