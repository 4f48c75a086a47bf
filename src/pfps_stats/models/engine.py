"""The numerical engine for logistic regression: what statsmodels lacks.

- :func:`newton`: maximum likelihood or Firth's penalised likelihood (Firth 1993; as logistf,
  Heinze & Schemper 2002), with frequency weights, an offset and coefficients held fixed.
- :func:`profile_interval`: profile (penalised) likelihood confidence limits, found as roots of
  the likelihood-ratio statistic (exact to the root tolerance; MASS and logistf approximate the
  same quantity by interpolation or an iterative update).
- :func:`lr_statistic`: likelihood-ratio test that one coefficient is zero.
- :func:`batch_newton`: many weighted fits of one design at once (bootstrap replicates as
  frequency weights), vectorised over replicates.
- :func:`separation_direction`: linear-programming check for complete or quasi-complete
  separation (Konis 2007).

Validated against R: glm and MASS::confint (ML), logistf's published outputs (Firth), see
``tests/test_models_reference.py``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, special, stats

MAX_STEP = 5.0  # largest change of any coefficient in one Newton step (logistf's maxstep)


@dataclass
class NewtonResult:
    """One fit: coefficients, objective (log-likelihood, penalised for Firth), information."""

    beta: np.ndarray
    objective: float
    loglik: float
    information: np.ndarray
    converged: bool
    n_iter: int

    @property
    def cov(self) -> np.ndarray:
        """Inverse of the (Fisher) information: the model-based covariance of beta."""
        return linalg.pinvh(self.information)


def _state(X, y, w, beta, offset, firth):
    eta = X @ beta + offset
    p = special.expit(eta)
    loglik = float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))))
    W = w * p * (1.0 - p)
    info = X.T @ (X * W[:, None])
    objective = loglik
    resid = w * (y - p)
    if firth:
        try:
            chol = linalg.cholesky(info, lower=True)
        except linalg.LinAlgError:
            return loglik, -np.inf, info, None
        objective = loglik + float(np.sum(np.log(np.diag(chol))))  # + 1/2 log|I|
        half = linalg.solve_triangular(chol, (X * np.sqrt(W)[:, None]).T, lower=True)
        h = np.sum(half**2, axis=0)
        resid = resid + h * (0.5 - p)
    return loglik, objective, info, X.T @ resid


def newton(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None = None,
    *,
    firth: bool = False,
    beta0: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    max_iter: int = 200,
    tol: float = 1e-10,
) -> NewtonResult:
    """Maximise the logistic log-likelihood (Firth: plus 1/2 log|I|) by Newton-Raphson.

    Parameters
    ----------
    X : (n, p) array
    y : (n,) array of 0/1
    w : (n,) array, optional
        Frequency weights (bootstrap counts); default 1.
    firth : bool
        Penalise by Jeffreys' prior (Firth's modified score, as logistf).
    beta0 : (p,) array, optional
        Start; coefficients marked ``fixed`` keep their start value.
    offset : (n,) array, optional
    fixed : (p,) bool array, optional
        Coefficients held at ``beta0``; the Firth penalty still uses the full design, as
        logistf does for profile penalised likelihood.

    Returns
    -------
    NewtonResult
    """
    n, p = X.shape
    w = np.ones(n) if w is None else np.asarray(w, float)
    offset = np.zeros(n) if offset is None else offset
    beta = np.zeros(p) if beta0 is None else np.array(beta0, float)
    free = np.ones(p, bool) if fixed is None else ~np.asarray(fixed, bool)
    loglik, objective, info, score = _state(X, y, w, beta, offset, firth)
    converged = False
    it = 0
    while it < max_iter:
        it += 1
        if score is None:
            break
        try:
            with warnings.catch_warnings():  # near-singular under separation; handled below
                warnings.simplefilter("ignore", linalg.LinAlgWarning)
                step = linalg.solve(info[np.ix_(free, free)], score[free], assume_a="pos")
        except (linalg.LinAlgError, ValueError):
            step = linalg.lstsq(info[np.ix_(free, free)], score[free])[0]
        largest = np.max(np.abs(step)) if step.size else 0.0
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        for _ in range(40):  # step halving until the objective does not fall
            trial = beta.copy()
            trial[free] += step
            new = _state(X, y, w, trial, offset, firth)
            if new[1] >= objective - 1e-12 * max(1.0, abs(objective)):
                break
            step /= 2
        beta = trial
        loglik, objective, info, score = new
        if (np.max(np.abs(step)) if step.size else 0.0) < tol and (
            score is None or np.max(np.abs(score[free]), initial=0.0) < 1e-6 * max(1.0, n)
        ):
            converged = True
            break
    return NewtonResult(beta, objective, loglik, info, converged, it)


def profile_objective(
    X,
    y,
    w,
    fit: NewtonResult,
    j: int,
    value: float,
    *,
    firth: bool,
    start: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Maximum of the objective with coefficient ``j`` held at ``value``; returns it and the
    maximising coefficients."""
    beta0 = (fit.beta if start is None else start).copy()
    beta0[j] = value
    fixed = np.zeros(X.shape[1], bool)
    fixed[j] = True
    res = newton(X, y, w, firth=firth, beta0=beta0, fixed=fixed)
    return res.objective, res.beta


def lr_statistic(X, y, w, fit: NewtonResult, j: int, *, firth: bool, value: float = 0.0):
    """Likelihood-ratio (Firth: penalised) statistic and p-value for beta_j = value (1 df)."""
    constrained, _ = profile_objective(X, y, w, fit, j, value, firth=firth)
    chi2 = max(0.0, 2.0 * (fit.objective - constrained))
    return chi2, float(stats.chi2.sf(chi2, 1))


def profile_interval(
    X, y, w, fit: NewtonResult, j: int, *, firth: bool, level: float = 0.95
) -> tuple[float, float]:
    """Profile (penalised) likelihood confidence limits for coefficient ``j``.

    The limits are the two values b where 2 (objective_max - profile(b)) equals the
    chi-square(1) quantile at ``level``, found by bracketing and Brent's method. A limit that
    does not exist (the profile flattens out below the cut-off, as under separation) is
    returned as -inf or +inf.
    """
    cutoff = stats.chi2.ppf(level, 1) / 2.0
    target = fit.objective - cutoff
    centre = fit.beta[j]
    se = float(np.sqrt(max(fit.cov[j, j], 1e-12)))
    limits = []
    for sign in (-1.0, 1.0):
        cache = {"start": fit.beta.copy()}

        def excess(b, cache=cache):
            value, beta = profile_objective(X, y, w, fit, j, b, firth=firth, start=cache["start"])
            cache["start"] = beta
            return value - target

        step = max(se, 1e-3)
        inner, outer = centre, centre + sign * step
        found = False
        for _ in range(60):
            if excess(outer) < 0:
                found = True
                break
            inner, outer = outer, outer + sign * step
            step *= 1.6
            if abs(outer - centre) > 1e3 * max(se, 1.0):
                break
        if not found:
            limits.append(sign * np.inf)
            continue
        cache["start"] = fit.beta.copy()
        limits.append(
            optimize.brentq(excess, min(inner, outer), max(inner, outer), xtol=1e-9, rtol=1e-12)
        )
    return limits[0], limits[1]


def separation_direction(X: np.ndarray, y: np.ndarray, tol: float = 1e-7) -> np.ndarray | None:
    """Return a direction b with s_i x_i'b >= 0 for all i (s = 2y - 1) and a positive total,
    which exists exactly when the data are completely or quasi-completely separated, else None.

    Solved as a linear programme with the box -1 <= b <= 1 (Konis 2007, detectseparation).
    """
    s = 2.0 * y - 1.0
    A = -(X * s[:, None])
    res = optimize.linprog(
        c=-(s @ X), A_ub=A, b_ub=np.zeros(len(y)), bounds=[(-1, 1)] * X.shape[1], method="highs"
    )
    if res.status != 0 or -res.fun <= tol * max(1.0, len(y)):
        return None
    direction = res.x
    direction[np.abs(direction) < 1e-9] = 0.0
    return direction


def batch_newton(
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    *,
    firth: bool = False,
    beta0: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit one design under many frequency-weight vectors at once.

    Parameters
    ----------
    X : (n, p) array
    y : (n,) array
    W : (n, B) array
        Frequency weights, one column per replicate (bootstrap counts).
    firth : bool
        Firth's modified score instead of the ML score.
    beta0 : (p,) array, optional
        Start for every replicate (the original fit is a good one).

    Returns
    -------
    beta : (B, p) array
    converged : (B,) bool array
    """
    n, p = X.shape
    B = W.shape[1]
    beta = np.tile(np.zeros(p) if beta0 is None else beta0, (B, 1))
    converged = np.zeros(B, bool)
    for _ in range(max_iter):
        eta = X @ beta.T  # (n, B)
        prob = special.expit(eta)
        Wt = W * prob * (1 - prob)
        info = np.einsum("ni,nb,nj->bij", X, Wt, X, optimize=True)
        resid = W * (y[:, None] - prob)
        if firth:
            inv = np.linalg.inv(info)
            h = np.einsum("ni,bij,nj->nb", X, inv, X, optimize=True) * Wt
            resid = resid + h * (0.5 - prob)
        score = np.einsum("ni,nb->bi", X, resid)
        try:
            step = np.linalg.solve(info, score[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.einsum("bij,bj->bi", np.linalg.pinv(info), score)
        largest = np.max(np.abs(step), axis=1, keepdims=True)
        step = np.where(largest > MAX_STEP, step * MAX_STEP / np.maximum(largest, 1e-300), step)
        step[converged] = 0.0
        beta = beta + step
        converged |= np.max(np.abs(step), axis=1) < tol
        if converged.all():
            break
    return beta, converged
