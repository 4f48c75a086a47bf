"""Predictive performance of a logistic model, and its internal validation by bootstrap.

- :func:`roc_auc`: AUC with DeLong's confidence interval (as pROC's ``ci.auc(method="delong")``);
  :func:`roc_curve`: the curve's points.
- :func:`calibration`: calibration intercept and slope from the logistic regression of the
  outcome on the linear predictor (as rms ``val.prob`` and ``validate``).
- :func:`hosmer_lemeshow`: deciles of predicted risk, df = g - 2 (as ResourceSelection's
  ``hoslem.test``).
- :func:`validate_bootstrap`: Harrell's optimism bootstrap (as rms ``validate``), replicates
  fitted together as frequency weights on the same rows.
- :func:`calibrate_bootstrap`: bias-corrected calibration curve (as rms ``calibrate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special, stats

from . import engine

if TYPE_CHECKING:  # pragma: no cover
    from .logistic import LogisticFit


def _as_binary(y, score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, float)
    score = np.asarray(score, float)
    if y.shape != score.shape or y.ndim != 1:
        raise ValueError(
            f"y and score must be 1-D and of equal length, not {y.shape} and {score.shape}"
        )
    keep = ~(np.isnan(y) | np.isnan(score))
    y, score = y[keep], score[keep]
    if not np.isin(y, [0, 1]).all():
        raise ValueError("y must be 0/1")
    if y.min() == y.max():
        raise ValueError("y has a single class; AUC needs both outcomes")
    return y, score


def roc_auc(y, score, level: float = 0.95) -> pd.Series:
    """Area under the ROC curve with DeLong's CI.

    Returns
    -------
    Series
        auc, se, ci_low, ci_high (auc ± z·se, clipped to [0, 1], as pROC).

    Notes
    -----
    DeLong, DeLong & Clarke-Pearson (1988), computed from mid-ranks (Sun & Xu 2014). Higher
    scores are taken to mean the outcome (pROC ``direction = "<"``). Checked against pROC.
    """
    y, score = _as_binary(y, score)
    pos, neg = score[y == 1], score[y == 0]
    m, n = len(pos), len(neg)
    ranks_all = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (ranks_all[:m] - stats.rankdata(pos)) / n
    v01 = 1.0 - (ranks_all[m:] - stats.rankdata(neg)) / m
    auc = float(v10.mean())
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    se = float(np.sqrt(var))
    z = stats.norm.ppf(0.5 + level / 2)
    return pd.Series(
        {"auc": auc, "se": se, "ci_low": max(0.0, auc - z * se), "ci_high": min(1.0, auc + z * se)}
    )


def roc_curve(y, score) -> pd.DataFrame:
    """ROC curve points: fpr (1 - specificity), tpr (sensitivity), threshold; ties of the
    score form one step."""
    y = np.asarray(y, float)
    score = np.asarray(score, float)
    order = np.argsort(-score, kind="mergesort")
    score, y = score[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tp, fp = np.cumsum(y)[last], np.cumsum(1 - y)[last]
    return pd.DataFrame(
        {
            "fpr": np.r_[0, fp / fp[-1]],
            "tpr": np.r_[0, tp / tp[-1]],
            "threshold": np.r_[np.inf, score[last]],
        }
    )


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return np.log(p / (1 - p))


def calibration(y, prob) -> pd.Series:
    """Calibration intercept and slope: the logistic regression of y on logit(prob).

    Returns
    -------
    Series
        calibration_intercept, calibration_slope (0 and 1 when perfectly calibrated; as rms
        ``val.prob``'s "Intercept" and "Slope").
    """
    y, prob = _as_binary(y, prob)
    X = np.column_stack([np.ones_like(prob), _logit(prob)])
    beta = engine.newton(X, y).beta
    return pd.Series({"calibration_intercept": beta[0], "calibration_slope": beta[1]})


def hosmer_lemeshow(y, prob, g: int = 10) -> pd.Series:
    """Hosmer-Lemeshow goodness-of-fit test over groups of predicted risk.

    Groups are cut at the quantiles of ``prob`` (type 7, ties merged), intervals closed on the
    right, as ResourceSelection's ``hoslem.test``; the statistic sums (O - E)² / E over both
    outcome columns and is referred to chi-square with g - 2 df.

    Returns
    -------
    Series
        hosmer_lemeshow (statistic), df, hosmer_lemeshow_p.
    """
    y, prob = _as_binary(y, prob)
    breaks = np.unique(np.quantile(prob, np.linspace(0, 1, g + 1)))
    group = np.clip(np.searchsorted(breaks, prob, side="left") - 1, 0, len(breaks) - 2)
    group[prob == breaks[0]] = 0
    obs1 = np.bincount(group, weights=y, minlength=len(breaks) - 1)
    exp1 = np.bincount(group, weights=prob, minlength=len(breaks) - 1)
    size = np.bincount(group, minlength=len(breaks) - 1)
    obs0, exp0 = size - obs1, size - exp1
    statistic = float(np.sum((obs1 - exp1) ** 2 / exp1) + np.sum((obs0 - exp0) ** 2 / exp0))
    df = g - 2
    return pd.Series(
        {
            "hosmer_lemeshow": statistic,
            "df": df,
            "hosmer_lemeshow_p": float(stats.chi2.sf(statistic, df)),
        }
    )


def model_performance(y, prob) -> pd.Series:
    """auc, auc_ci_low, auc_ci_high (DeLong), brier, calibration_intercept,
    calibration_slope, hosmer_lemeshow, hosmer_lemeshow_p."""
    auc = roc_auc(y, prob)
    y_, prob_ = _as_binary(y, prob)
    out = {
        "auc": auc["auc"],
        "auc_ci_low": auc["ci_low"],
        "auc_ci_high": auc["ci_high"],
        "brier": float(np.mean((prob_ - y_) ** 2)),
    }
    out.update(calibration(y, prob).to_dict())
    hl = hosmer_lemeshow(y, prob)
    out.update(hosmer_lemeshow=hl["hosmer_lemeshow"], hosmer_lemeshow_p=hl["hosmer_lemeshow_p"])
    return pd.Series(out)


# ---------------------------------------------------------------------------------------------
# Bootstrap validation, vectorised over replicates


def _weighted_auc(y: np.ndarray, lp: np.ndarray, W: np.ndarray) -> np.ndarray:
    """AUC of each column of lp (n, B) with frequency weights W (n, B); ties count one half."""
    out = np.empty(lp.shape[1])
    for b in range(lp.shape[1]):
        values, inverse = np.unique(lp[:, b], return_inverse=True)
        w1 = np.bincount(inverse, weights=W[:, b] * y, minlength=len(values))
        w0 = np.bincount(inverse, weights=W[:, b] * (1 - y), minlength=len(values))
        below = np.cumsum(w0) - w0
        out[b] = np.sum(w1 * (below + 0.5 * w0)) / (w1.sum() * w0.sum())
    return out


def _weighted_calibration(y: np.ndarray, lp: np.ndarray, W: np.ndarray, iters: int = 30):
    """Intercept and slope of logit P(y) = a + b·lp for every column at once (Newton)."""
    B = lp.shape[1]
    a, s = np.zeros(B), np.ones(B)
    for _ in range(iters):
        p = special.expit(a + s * lp)
        v = W * p * (1 - p)
        r = W * (y[:, None] - p)
        i00, i01, i11 = v.sum(0), (v * lp).sum(0), (v * lp * lp).sum(0)
        g0, g1 = r.sum(0), (r * lp).sum(0)
        det = i00 * i11 - i01**2
        da, ds = (i11 * g0 - i01 * g1) / det, (i00 * g1 - i01 * g0) / det
        a, s = a + da, s + ds
        if max(np.abs(da).max(), np.abs(ds).max()) < 1e-10:
            break
    return a, s


def _metrics(y: np.ndarray, lp: np.ndarray, W: np.ndarray) -> dict[str, np.ndarray]:
    prob = special.expit(lp)
    auc = _weighted_auc(y, lp, W)
    intercept, slope = _weighted_calibration(y, lp, W)
    return {
        "auc": auc,
        "dxy": 2 * auc - 1,
        "calibration_intercept": intercept,
        "calibration_slope": slope,
        "brier": (W * (prob - y[:, None]) ** 2).sum(0) / W.sum(0),
    }


def _bootstrap_weights(fit: LogisticFit, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    n = fit.n_obs
    if fit.cluster:  # resample whole clusters (runners), keeping their knees together
        groups = fit.cluster["groups"]
        k = groups.max() + 1
        counts = rng.multinomial(k, np.full(k, 1 / k), size=n_boot).T  # (k, B)
        return counts[groups].astype(float)
    return rng.multinomial(n, np.full(n, 1 / n), size=n_boot).T.astype(float)


def validate_bootstrap(
    fit: LogisticFit, n_boot: int = 200, seed: int | np.random.Generator | None = None
) -> pd.DataFrame:
    """Harrell's optimism-corrected performance, as rms ``validate``.

    Each replicate refits the model (same design, same method) to a bootstrap sample, given
    as frequency weights on the original rows; all replicates are fitted together. Optimism
    is the mean, over replicates, of the metric on the bootstrap sample minus the metric of
    the bootstrap model on the original rows. Clustered fits resample clusters.

    Returns
    -------
    DataFrame
        Indexed by metric (auc, dxy, calibration_intercept, calibration_slope, brier), with
        columns apparent, training, test, optimism, corrected, n_boot (replicates that
        converged; the others are left out and counted).

    Notes
    -----
    Checked against rms::validate on the same data (tests/models/reference/rms_validate.R): the
    corrected indexes agree within Monte Carlo error.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, not {n_boot}")
    rng = np.random.default_rng(seed)
    X, y = fit.design.X, fit.design.y
    W = _bootstrap_weights(fit, n_boot, rng)
    betas, converged = engine.batch_newton(
        X, y, W, firth=fit.method == "firth", beta0=fit.params_.to_numpy()
    )
    betas, W = betas[converged], W[:, converged]
    lp = X @ betas.T
    train = _metrics(y, lp, W)
    test = _metrics(y, lp, np.ones_like(W))
    apparent_lp = (X @ fit.params_.to_numpy())[:, None]
    apparent = _metrics(y, apparent_lp, np.ones_like(apparent_lp))
    rows = {}
    for metric in train:
        optimism = float(np.mean(train[metric] - test[metric]))
        rows[metric] = {
            "apparent": float(apparent[metric][0]),
            "training": float(np.mean(train[metric])),
            "test": float(np.mean(test[metric])),
            "optimism": optimism,
            "corrected": float(apparent[metric][0]) - optimism,
            "n_boot": int(converged.sum()),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    return table


def calibrate_bootstrap(
    fit: LogisticFit,
    n_boot: int = 200,
    seed: int | np.random.Generator | None = None,
    n_points: int = 50,
) -> pd.DataFrame:
    """Bias-corrected calibration curve, as rms ``calibrate``.

    The apparent curve is a lowess smooth (f = 2/3, no robustness iterations, as R's
    ``lowess``) of the outcome on the predicted risk, evaluated on a grid from the 1st to the
    99th percentile of predicted risk; its optimism is estimated as in
    :func:`validate_bootstrap` and subtracted.

    Returns
    -------
    DataFrame
        predicted, apparent, optimism, corrected (observed risk at each predicted risk); pass
        it to :func:`~pfps_stats.plot_calibration` as ``curve=``. The fit is not changed.
    """
    from statsmodels.nonparametric.smoothers_lowess import lowess

    rng = np.random.default_rng(seed)
    X, y = fit.design.X, fit.design.y
    prob = fit.fitted_
    grid = np.linspace(*np.quantile(prob, [0.01, 0.99]), n_points)

    def smooth(x, yy):
        return lowess(yy, x, frac=2 / 3, it=0, xvals=grid)

    W = _bootstrap_weights(fit, n_boot, rng)
    betas, converged = engine.batch_newton(
        X, y, W, firth=fit.method == "firth", beta0=fit.params_.to_numpy()
    )
    gaps = []
    for b in np.flatnonzero(converged):
        p_b = special.expit(X @ betas[b])
        counts = W[:, b].astype(int)
        gaps.append(smooth(np.repeat(p_b, counts), np.repeat(y, counts)) - smooth(p_b, y))
    apparent = smooth(prob, y)
    optimism = np.nanmean(np.array(gaps), axis=0)
    curve = pd.DataFrame(
        {
            "predicted": grid,
            "apparent": apparent,
            "optimism": optimism,
            "corrected": np.clip(apparent - optimism, 0, 1),
        }
    )
    return curve
