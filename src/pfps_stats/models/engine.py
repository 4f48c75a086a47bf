"""The numerical engine for logistic regression: what statsmodels lacks.

- :func:`newton`: maximum likelihood or Firth's penalised likelihood (Firth 1993; as logistf,
  Heinze & Schemper 2002), with frequency weights, an offset and coefficients held fixed.
- :func:`profile_interval`: profile (penalised) likelihood confidence limits, found as roots of
  the likelihood-ratio statistic (exact to the root tolerance; MASS and logistf approximate the
  same quantity by interpolation or an iterative update).
- :func:`lr_statistic`: likelihood-ratio test that one coefficient is zero.
- :func:`batch_fit`: many weighted fits of one design at once (bootstrap replicates as
  frequency weights), vectorised over replicates, robustly (step halving) as rms's
  ``lrm.fit`` on separated resamples, reporting what became of each replicate (converged, separated, singular, ...);
  also fits one small design per replicate (the bootstrap calibration refits).
- :func:`separation_direction`: linear-programming check for complete or quasi-complete
  separation (Konis 2007).

Validated against R: glm and MASS::confint (ML), logistf's published outputs (Firth), see
``tests/models/test_models_reference.py`` and ``tests/models/test_performance.py``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, stats

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
    p = _expit(eta)
    loglik = float(np.sum(w * (y * eta - _log1pexp(eta))))
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
        try:
            limit = optimize.brentq(
                excess, min(inner, outer), max(inner, outer), xtol=1e-9, rtol=1e-12
            )
        except ValueError:
            # On near-separated data the constrained fits from a cold start can land on the
            # other side of the cut-off at a bracket end; bisect with the signs the search
            # found (excess(inner) >= 0 > excess(outer)), warm-starting each fit.
            limit = _bisect(excess, inner, outer)
        limits.append(limit)
    return limits[0], limits[1]


def _bisect(func, inside: float, outside: float, iterations: int = 60) -> float:
    """The crossing of ``func`` between ``inside`` (func >= 0) and ``outside`` (func < 0)."""
    for _ in range(iterations):
        middle = 0.5 * (inside + outside)
        if func(middle) < 0:
            outside = middle
        else:
            inside = middle
        if abs(outside - inside) <= 1e-9 * max(1.0, abs(middle)):
            break
    return 0.5 * (inside + outside)


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


# ---------------------------------------------------------------------------------------------
# Bootstrap fits as rms's lrm.fit makes them, with step halving, and what became of each

#: lrm.fit's defaults: stop once -2 log-likelihood changes by at most ``RMS_EPS`` between
#: iterations, after at most ``RMS_MAXIT - 1`` Newton-Raphson iterations (rms 6.5, lrmfit.f).
RMS_EPS = 0.025
RMS_MAXIT = 12
#: lrmfit.f clamps the linear predictor to +-30 inside the likelihood.
RMS_CLAMP = 30.0
#: Newton-Raphson iterations after lrm.fit's, at most (maximum likelihood).
ML_POLISH_ITER = 100
#: What became of a replicate: kept ("converged", "separated") or left out (the others).
FIT_STATUS = ("converged", "separated", "singular", "one class", "not converged")
KEPT = ("converged", "separated")


@dataclass
class BatchFit:
    """Many fits of one model under frequency weights (:func:`batch_fit`).

    Attributes
    ----------
    beta : (B, p) array
        Coefficients; NaN where ``status`` is not one of ``KEPT``.
    status : (B,) array of str
        "converged" (maximum likelihood, or Firth, to the tolerance); "separated" (the
        weighted data are completely or quasi-completely separated, so the ML estimates are
        infinite: ``beta`` is where rms's lrm.fit stops); "singular" (the information matrix
        is singular, e.g. a category absent from a bootstrap sample); "one class" (every
        weighted outcome is 0, or every one is 1: nothing to discriminate, and lrm.fit
        stops with an error); "not converged".
    """

    beta: np.ndarray
    status: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        """True for the replicates with usable coefficients (converged or separated)."""
        return np.isin(self.status, KEPT)


def _take(X: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The design of replicates ``idx``: shared (n, p) or per replicate (n, B, p)."""
    if X.ndim == 2 or (idx.size == X.shape[1] and (idx == np.arange(idx.size)).all()):
        return X
    return X[:, idx, :]


def _eta(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    if X.ndim == 2:
        return X @ beta.T
    out = X[:, :, 0] * beta[:, 0]
    for i in range(1, X.shape[2]):
        out += X[:, :, i] * beta[:, i]
    return out


def _info_score(X, Wt, resid):
    if X.ndim == 2:
        info = np.einsum("ni,nb,nj->bij", X, Wt, X, optimize=True)
        return info, np.einsum("ni,nb->bi", X, resid)
    p = X.shape[2]
    info = np.empty((Wt.shape[1], p, p))
    score = np.empty((Wt.shape[1], p))
    for i in range(p):
        xw = X[:, :, i] * Wt
        score[:, i] = np.einsum("nb,nb->b", X[:, :, i], resid)
        for j in range(i, p):
            info[:, i, j] = info[:, j, i] = np.einsum("nb,nb->b", xw, X[:, :, j])
    return info, score


def _singular(info: np.ndarray, tol: float = 1e-11) -> np.ndarray:
    """Which information matrices (B, p, p) are singular, judged on their correlation scale."""
    d = np.einsum("bii->bi", info)
    ok = np.all(np.isfinite(info), axis=(1, 2)) & np.all(d > 0, axis=1)
    out = ~ok
    if ok.any():
        s = np.sqrt(d[ok])
        scaled = info[ok] / s[:, :, None] / s[:, None, :]
        out[ok] = np.linalg.eigvalsh(scaled)[:, 0] < tol
    return out


def _rms_phase(X, y, W, beta, running, status):
    """lrm.fit's Newton-Raphson (lrmfit.f) for the replicates ``running``, in place: clamped
    likelihood, step halving when -2 log L rises, stop when it changes by <= RMS_EPS."""
    B = W.shape[1]
    oldl = np.full(B, 1e30)
    deltab = np.zeros_like(beta)
    curstp = np.ones(B)
    for _ in range(RMS_MAXIT - 1):
        idx = np.flatnonzero(running)
        if not idx.size:
            break
        Xs, w = _take(X, idx), W[:, idx]
        eta = np.clip(_eta(Xs, beta[idx]), -RMS_CLAMP, RMS_CLAMP)
        prob = _expit(eta)
        yy = y[:, None]
        dev = -2.0 * np.sum(w * (yy * eta - _log1pexp(eta)), axis=0)
        info, score = _info_score(Xs, w * prob * (1 - prob), w * (yy - prob))
        early = (np.abs(score).max(axis=1) < 1e-9) & (np.abs(dev - oldl[idx]) < 0.1 * RMS_EPS)
        worse = (dev > oldl[idx]) & ~early
        halve = idx[worse]
        curstp[halve] /= 2
        beta[halve] -= curstp[halve, None] * deltab[halve]
        go = ~early & ~worse
        singular = go & _singular(info)
        status[idx[singular]] = "singular"
        go &= ~singular
        step = np.zeros_like(score)
        if go.any():
            step[go] = np.linalg.solve(info[go], score[go][..., None])[..., 0]
        moved = idx[go]
        curstp[moved] = 1.0
        deltab[moved] = step[go]
        beta[moved] += step[go]
        done = go & (np.abs(oldl[idx] - dev) <= RMS_EPS)
        oldl[moved] = np.where(done[go], oldl[moved], dev[go])
        running[idx[early | singular | done]] = False
    return beta


def _objective(X, y, W, beta, firth):
    """Log-likelihood (Firth: plus 1/2 log|I|) of each replicate, exact (no clamp)."""
    eta = _eta(X, beta)
    loglik = np.sum(W * (y[:, None] * eta - _log1pexp(eta)), axis=0)
    if not firth:
        return loglik
    prob = _expit(eta)
    info, _ = _info_score(X, W * prob * (1 - prob), W)
    sign, logdet = np.linalg.slogdet(info)
    return np.where(sign > 0, loglik + 0.5 * logdet, -np.inf)


def _newton_phase(X, y, W, beta, active, firth, max_iter, tol):
    """Newton-Raphson with step halving on the (penalised) log-likelihood for the replicates
    ``active``; returns the coefficients and which replicates converged."""
    B = W.shape[1]
    converged = np.zeros(B, bool)
    stuck = np.zeros(B, bool)
    objective = np.full(B, -np.inf)
    idx = np.flatnonzero(active)
    if idx.size:
        objective[idx] = _objective(_take(X, idx), y, W[:, idx], beta[idx], firth)
    for _ in range(max_iter):
        idx = np.flatnonzero(active & ~converged & ~stuck)
        if not idx.size:
            break
        Xs, w = _take(X, idx), W[:, idx]
        eta = _eta(Xs, beta[idx])
        prob = _expit(eta)
        Wt = w * prob * (1 - prob)
        info, score = _info_score(Xs, Wt, w * (y[:, None] - prob))
        if firth:
            ok = ~_singular(info)
            inv = np.zeros_like(info)
            inv[ok] = np.linalg.inv(info[ok])
            if X.ndim == 2:
                h = np.einsum("ni,bij,nj->nb", Xs, inv, Xs, optimize=True) * Wt
            else:
                h = np.einsum("nbi,bij,nbj->nb", Xs, inv, Xs, optimize=True) * Wt
            score = score + _info_score(Xs, Wt, h * (0.5 - prob))[1]
        bad = _singular(info) | ~np.all(np.isfinite(score), axis=1)
        stuck[idx[bad]] = True
        keep = ~bad
        idx, info, score = idx[keep], info[keep], score[keep]
        if not idx.size:
            continue
        step = np.linalg.solve(info, score[..., None])[..., 0]
        largest = np.max(np.abs(step), axis=1, keepdims=True)
        step = np.where(largest > MAX_STEP, step * MAX_STEP / np.maximum(largest, 1e-300), step)
        trial = beta[idx] + step
        new = _objective(_take(X, idx), y, W[:, idx], trial, firth)
        for _ in range(40):  # step halving until the objective does not fall
            old = objective[idx]
            worse = ~(new >= old - 1e-12 * np.maximum(1.0, np.abs(old)))
            if not worse.any():
                break
            step[worse] /= 2
            trial[worse] = beta[idx[worse]] + step[worse]
            new[worse] = _objective(_take(X, idx[worse]), y, W[:, idx[worse]], trial[worse], firth)
        beta[idx] = trial
        objective[idx] = new
        converged[idx] = np.max(np.abs(step), axis=1) < tol
    return beta, converged


def batch_fit(
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    *,
    firth: bool = False,
    beta0: np.ndarray | None = None,
    max_iter: int = 500,
    tol: float = 1e-8,
) -> BatchFit:
    """Fit one model under many frequency-weight vectors, robustly and saying what happened.

    Parameters
    ----------
    X : (n, p) array, or (n, B, p) array
        The design, shared by every replicate or one per replicate (a calibration refit on
        each bootstrap model's linear predictor).
    y : (n,) array of 0/1
    W : (n, B) array
        Frequency weights, one column per replicate (bootstrap counts).
    firth : bool
        Firth's penalised likelihood instead of maximum likelihood.
    beta0 : (p,) array, optional
        Start of Firth fits (default: the intercept-only fit). Maximum-likelihood fits start,
        as rms's lrm.fit, from the intercept-only fit.
    max_iter, tol : int, float
        Newton-Raphson iterations (Firth's fits to near-separated resamples can take a few
        hundred; ML ones at most ``ML_POLISH_ITER`` after lrm.fit's) and the largest change of
        any coefficient at convergence.

    Returns
    -------
    BatchFit
        Coefficients and the status of each replicate.

    Notes
    -----
    Maximum likelihood first follows rms's ``lrm.fit`` (lrmfit.f, rms 6.5): Newton-Raphson
    from the intercept-only fit with the linear predictor clamped to +-30, step halving when
    -2 log L rises, stopped once -2 log L changes by at most 0.025 or after 11 iterations; then
    Newton-Raphson with step halving polishes the estimates to ``tol``. When that does not
    converge and the weighted data are separated (:func:`separation_direction`), the ML
    estimates are infinite and the replicate keeps the coefficients where lrm.fit stops, as
    rms::validate and calibrate do (they drop such a replicate only when lrm.fit has not
    stopped within its 11 iterations; it is kept here, with lrm.fit's last coefficients).
    Checked against lrm.fit on separated bootstrap samples and a separated calibration refit
    (tests/models/reference/perf_small_cases.R). Firth fits use Newton-Raphson with step
    halving on the penalised log-likelihood. A replicate whose
    information matrix is singular is reported, not fitted by a pseudo-inverse.
    """
    y = np.asarray(y, float)
    W = np.asarray(W, float)
    n, B = W.shape
    p = X.shape[-1]
    status = np.full(B, "", dtype="<U13")
    total = W.sum(axis=0)
    events = W.T @ y
    ones = np.all(X == 1.0, axis=0)  # (p,) or (B, p): the intercept column, if any
    intercept = ones if X.ndim == 2 else ones.all(axis=0)
    beta = np.zeros((B, p))
    with np.errstate(divide="ignore", invalid="ignore"):
        null = np.log(events / (total - events))
    if intercept.any():
        beta[:, np.flatnonzero(intercept)[0]] = null
    single = (events <= 0) | (events >= total)
    status[single] = "one class"  # nothing to discriminate
    beta[single] = 0.0
    if firth:
        if beta0 is not None:
            beta[:] = beta0
        beta[~np.isfinite(beta)] = 0.0
        beta, converged = _newton_phase(X, y, W, beta, ~single, True, max_iter, tol)
        status[~single & converged] = "converged"
        status[~single & ~converged] = "not converged"
        idx = np.flatnonzero(~single & ~converged)
        if idx.size:  # singular information (a category absent from the resample)?
            prob = _expit(_eta(_take(X, idx), beta[idx]))
            info, _ = _info_score(_take(X, idx), W[:, idx] * prob * (1 - prob), W[:, idx])
            status[idx[_singular(info)]] = "singular"
    else:
        running = status == ""
        beta = _rms_phase(X, y, W, beta, running, status)
        at_rms = beta.copy()
        active = status == ""
        # from lrm.fit's stop an existing MLE takes a few iterations; separated ones never end
        polish = min(max_iter, ML_POLISH_ITER)
        beta, converged = _newton_phase(X, y, W, beta, active, False, polish, tol)
        # separation shows as no convergence, or as a huge linear predictor at "convergence"
        support = W > 0
        eta = np.where(support, _eta(X, np.where(np.isfinite(beta), beta, 0.0)), 0.0)
        doubtful = active & (~converged | (np.abs(eta).max(axis=0) >= RMS_CLAMP))
        status[active & converged] = "converged"
        for b in np.flatnonzero(doubtful):
            rows = support[:, b]
            Xb = X[rows] if X.ndim == 2 else X[rows, b, :]
            if separation_direction(Xb, y[rows]) is not None:
                status[b] = "separated"
                beta[b] = at_rms[b]
            elif not converged[b]:
                status[b] = "not converged"
    beta[~np.isin(status, KEPT)] = np.nan
    return BatchFit(beta, status)


def _expit(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _log1pexp(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
