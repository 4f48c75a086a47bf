"""Predictive performance of a logistic model, and its internal validation by bootstrap.

- :func:`roc_auc`: AUC with DeLong's confidence interval (as pROC's ``ci.auc(method="delong")``);
  :func:`roc_curve`: the curve's points.
- :func:`calibration`: calibration intercept and slope from the logistic regression of the
  outcome on the linear predictor (as rms ``val.prob`` and ``validate``).
- :func:`hosmer_lemeshow`: deciles of predicted risk (groups cut as ResourceSelection's
  ``hoslem.test``), df = groups formed - 2.
- :func:`validate_bootstrap`: Harrell's optimism bootstrap (as rms ``validate``), replicates
  fitted together as frequency weights on the same rows; replicates that cannot be refitted
  are counted and warned about, separated ones kept as rms keeps them.
- :func:`calibrate_bootstrap`: bias-corrected calibration curve (as rms ``calibrate``).
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special, stats

from .._checks import check_level
from .._exceptions import ModelWarning
from . import engine

if TYPE_CHECKING:  # pragma: no cover
    from .logistic import LogisticFit


def _as_binary(y, score, caller: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """y and score as float arrays without the rows where either is missing; ``caller``
    names the function in the warning that counts the rows dropped (no warning when None)."""
    y = np.asarray(y, float)
    score = np.asarray(score, float)
    if y.shape != score.shape or y.ndim != 1:
        raise ValueError(
            f"y and score must be 1-D and of equal length, not {y.shape} and {score.shape}"
        )
    keep = ~(np.isnan(y) | np.isnan(score))
    if caller and not keep.all():
        dropped = int((~keep).sum())
        warnings.warn(
            f"{caller}: dropped {dropped} of {len(y)} rows with a missing outcome or score "
            f"(outcome: {int(np.isnan(y).sum())}, score: {int(np.isnan(score).sum())}); "
            f"the result uses the other {len(y) - dropped}. Remove or impute them first to "
            f"silence this.",
            ModelWarning,
            stacklevel=3,
        )
    y, score = y[keep], score[keep]
    if y.size == 0:
        raise ValueError("no rows left: every row has a missing outcome or score")
    if not np.isin(y, [0, 1]).all():
        raise ValueError("y must be 0/1")
    if y.min() == y.max():
        raise ValueError("y has a single class; AUC needs both outcomes")
    return y, score


def roc_auc(y, score, level: float = 0.95) -> pd.Series:
    """Area under the ROC curve with DeLong's CI.

    Rows where ``y`` or ``score`` is missing are dropped, with a :class:`ModelWarning` giving
    the count.

    Returns
    -------
    Series
        auc, se, ci_low, ci_high (auc ± z·se, clipped to [0, 1], as pROC). With a single
        case or a single control the DeLong variance does not exist: se, ci_low and ci_high
        are NaN, with a :class:`ModelWarning` (pROC gives NA).

    Notes
    -----
    DeLong, DeLong & Clarke-Pearson (1988), computed from mid-ranks (Sun & Xu 2014). Higher
    scores are taken to mean the outcome (pROC ``direction = "<"``). Checked against pROC 1.18
    (``auc``, ``var`` and ``ci.auc(method = "delong")``), including one case and one control
    (tests/models/reference/models.R, perf_small_cases.R).
    """
    level = check_level(level)
    y, score = _as_binary(y, score, caller="roc_auc")
    pos, neg = score[y == 1], score[y == 0]
    m, n = len(pos), len(neg)
    ranks_all = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (ranks_all[:m] - stats.rankdata(pos)) / n
    v01 = 1.0 - (ranks_all[m:] - stats.rankdata(neg)) / m
    auc = float(v10.mean())
    if min(m, n) < 2:
        which = "case (y = 1)" if m < 2 else "control (y = 0)"
        warnings.warn(
            f"roc_auc: only 1 {which} among {m + n} rows, so DeLong's variance (and the CI) "
            f"of the AUC does not exist; se, ci_low and ci_high are NaN. An AUC from one "
            f"{which.split()[0]} is not informative: report it without a CI, if at all.",
            ModelWarning,
            stacklevel=2,
        )
        return pd.Series({"auc": auc, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan})
    var = v10.var(ddof=1) / m + v01.var(ddof=1) / n
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
    y, prob = _as_binary(y, prob, caller="calibration")
    X = np.column_stack([np.ones_like(prob), _logit(prob)])
    beta = engine.newton(X, y).beta
    return pd.Series({"calibration_intercept": beta[0], "calibration_slope": beta[1]})


def hosmer_lemeshow(y, prob, g: int = 10) -> pd.Series:
    """Hosmer-Lemeshow goodness-of-fit test over groups of predicted risk.

    Groups are cut at the quantiles of ``prob`` (type 7, ties merged), intervals closed on the
    right, as ResourceSelection's ``hoslem.test``; the statistic sums (O - E)² / E over both
    outcome columns of the groups formed (non-empty) and is referred to chi-square with
    groups formed - 2 df. Tied risks (a model of categorical predictors) form fewer than ``g``
    groups: hoslem.test keeps g - 2 df there (and returns NaN when an interval between tied
    quantiles is empty), which makes a misfitting model pass.

    Returns
    -------
    Series
        hosmer_lemeshow (statistic), df (groups formed - 2), hosmer_lemeshow_p, groups (the
        number formed). With fewer than 3 groups there is no test: statistic, df and p are
        NaN, with a :class:`ModelWarning`.

    Notes
    -----
    Checked against hoslem.test's formula in R with continuous risks (models.R) and with a
    4-level predictor whose 4 risks form 3 groups (perf_small_cases.R).
    """
    y, prob = _as_binary(y, prob, caller="hosmer_lemeshow")
    breaks = np.unique(np.quantile(prob, np.linspace(0, 1, g + 1)))
    group = np.clip(np.searchsorted(breaks, prob, side="left") - 1, 0, max(len(breaks) - 2, 0))
    group[prob == breaks[0]] = 0
    size = np.bincount(group)
    formed = size > 0
    obs1 = np.bincount(group, weights=y)[formed]
    exp1 = np.bincount(group, weights=prob)[formed]
    size = size[formed]
    groups = int(formed.sum())
    if groups < 3:
        warnings.warn(
            f"hosmer_lemeshow: the predicted risks take too few distinct values to form 3 "
            f"groups (only {groups} group{'s' if groups != 1 else ''} formed from g = {g}), so "
            f"the test has no degrees of freedom; statistic, df and p are NaN. Judge "
            f"calibration from observed and predicted risk per category instead.",
            ModelWarning,
            stacklevel=2,
        )
        return pd.Series(
            {
                "hosmer_lemeshow": np.nan,
                "df": np.nan,
                "hosmer_lemeshow_p": np.nan,
                "groups": groups,
            }
        )
    obs0, exp0 = size - obs1, size - exp1
    statistic = float(np.sum((obs1 - exp1) ** 2 / exp1) + np.sum((obs0 - exp0) ** 2 / exp0))
    df = groups - 2
    return pd.Series(
        {
            "hosmer_lemeshow": statistic,
            "df": df,
            "hosmer_lemeshow_p": float(stats.chi2.sf(statistic, df)),
            "groups": groups,
        }
    )


def model_performance(y, prob) -> pd.Series:
    """auc, auc_ci_low, auc_ci_high (DeLong), brier, calibration_intercept,
    calibration_slope, hosmer_lemeshow, hosmer_lemeshow_p; rows with a missing outcome or
    risk are dropped, with one :class:`ModelWarning` giving the count."""
    y, prob = _as_binary(y, prob, caller="model_performance")
    auc = roc_auc(y, prob)
    out = {
        "auc": auc["auc"],
        "auc_ci_low": auc["ci_low"],
        "auc_ci_high": auc["ci_high"],
        "brier": float(np.mean((prob - y) ** 2)),
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
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN without both outcomes
            out[b] = np.sum(w1 * (below + 0.5 * w0)) / (w1.sum() * w0.sum())
    return out


def _weighted_calibration(y: np.ndarray, lp: np.ndarray, W: np.ndarray):
    """Intercept and slope of logit P(y) = a + b·lp for every column of lp (n, B) at once,
    with frequency weights W (n, B).

    Returns
    -------
    intercept, slope : (B,) arrays
    status : (B,) array of str
        As :class:`~pfps_stats.models.engine.BatchFit`: "converged" (the maximum-likelihood
        refit, by Newton-Raphson with step halving, :func:`engine.batch_fit`); "separated"
        (lp orders the outcome perfectly, the slope is infinite; intercept and slope are
        where rms's lrm.fit stops, as ``validate`` would report them); otherwise NaN.

    Notes
    -----
    Replaces a plain Newton from (0, 1), which overshot and diverged to NaN when a bootstrap
    model's linear predictor was steep on the original rows. Checked against glm and, on
    separated data, lrm.fit (tests/models/reference/perf_small_cases.R).
    """
    X = np.stack([np.ones_like(lp), lp], axis=2)  # (n, B, 2): one design per replicate
    result = engine.batch_fit(X, y, W)
    return result.beta[:, 0], result.beta[:, 1], result.status


def _metrics(
    y: np.ndarray, lp: np.ndarray, W: np.ndarray, *, own_fit: bool = False
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each metric of each column of lp under weights W, and the calibration refits' status.

    ``own_fit``: lp is the model fitted to these weighted rows (apparent, or a bootstrap
    model on its own sample), whose calibration intercept and slope are set to 0 and 1, as
    rms ``validate`` does: exact for ML by its score equations, rms's convention for penalised
    (Firth) fits, whose slope on a separated sample would be infinite. Otherwise they are
    refitted, and NaN where lp orders the outcome perfectly (the slope is infinite).
    """
    prob = special.expit(lp)
    auc = _weighted_auc(y, lp, W)
    B = lp.shape[1]
    if own_fit:
        intercept, slope = np.zeros(B), np.ones(B)
        status = np.full(B, "converged")
    else:
        intercept, slope, status = _weighted_calibration(y, lp, W)
        estimable = status == "converged"
        intercept = np.where(estimable, intercept, np.nan)
        slope = np.where(estimable, slope, np.nan)
    metrics = {
        "auc": auc,
        "dxy": 2 * auc - 1,
        "calibration_intercept": intercept,
        "calibration_slope": slope,
        "brier": (W * (prob - y[:, None]) ** 2).sum(0) / W.sum(0),
    }
    return metrics, status


def _bootstrap_weights(fit: LogisticFit, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    n = fit.n_obs
    if fit.cluster:  # resample whole clusters (runners), keeping their knees together
        groups = fit.cluster["groups"]
        k = groups.max() + 1
        counts = rng.multinomial(k, np.full(k, 1 / k), size=n_boot).T  # (k, B)
        return counts[groups].astype(float)
    return rng.multinomial(n, np.full(n, 1 / n), size=n_boot).T.astype(float)


_REASONS = {
    "singular": "singular information: a predictor constant or collinear in the resample, "
    "e.g. a rare category left out",
    "one class": "no events, or no non-events, in the resample",
    "not converged": "the fit did not converge",
}


def _refit_replicates(fit: LogisticFit, W: np.ndarray) -> engine.BatchFit:
    """Refit the model to each bootstrap sample (columns of W), as rms's lrm.fit for ML."""
    return engine.batch_fit(
        fit.design.X,
        fit.design.y,
        W,
        firth=fit.method == "firth",
        beta0=fit.params_.to_numpy(),
    )


def _replicate_notes(caller: str, refits: engine.BatchFit) -> list[str]:
    """What to tell about left-out and separated bootstrap replicates."""
    B = len(refits.status)
    notes = []
    failed = Counter(refits.status[~refits.kept].tolist())
    if failed:
        k = sum(failed.values())
        reasons = "; ".join(f"{v}: {_REASONS[r]}" for r, v in failed.most_common())
        notes.append(
            f"{caller}: {k} of {B} bootstrap replicates were left out because the model could "
            f"not be refitted to them ({reasons}); the results average over the other "
            f"{B - k} (n_boot). Left-out replicates tend to be the most over-fitted, so the "
            f"optimism may underestimate the truth: merge rare categories, use fewer "
            f"predictors or get more events."
        )
    separated = int(np.sum(refits.status == "separated"))
    if separated:
        notes.append(
            f"{caller}: {separated} of {B} bootstrap samples were separated (a combination of "
            f"predictors predicts the outcome perfectly, so their maximum-likelihood "
            f"coefficients are infinite); as rms's lrm.fit, their models are taken where "
            f"Newton-Raphson stops (-2 log-likelihood changing by <= 0.025, at most 11 "
            f"iterations) and kept, which is what rms::validate and calibrate report. So few "
            f"events per predictor make any validation unstable: use fewer predictors, "
            f"or penalise (method='firth')."
        )
    return notes


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
        columns apparent, training, test, optimism, corrected, and n_boot: the replicates
        averaged for that metric. ``attrs`` holds n_boot_requested, failed (replicates left
        out), failed_reasons (count per reason) and separated (bootstrap samples that were
        separated, kept).

    Warns
    -----
    ModelWarning
        When replicates were left out (the model could not be refitted: a category absent
        from the resample, no events in it, no convergence), with the count and reasons;
        they tend to be the most over-fitted, so the optimism may be underestimated. When
        bootstrap samples were separated: their ML coefficients are infinite, and, as rms's
        lrm.fit, the models are taken where Newton-Raphson stops and kept.

    Notes
    -----
    Maximum-likelihood refits follow rms's lrm.fit (:func:`engine.batch_fit`), then are
    polished to full convergence; Firth fits are refitted by Firth. The test-sample
    calibration refit is a maximum-likelihood fit with step halving
    (:func:`_weighted_calibration`). As in rms, the apparent and training calibration
    intercept and slope are 0 and 1 by definition: exact for ML (its score equations); for
    Firth, rms's convention for penalised fits (their own slope is above 1, see
    :meth:`LogisticFit.performance`, and infinite on a separated resample), which makes the
    corrected slope the mean slope of the bootstrap models on the original rows.

    Checked against rms::validate on the military demo subgroup (n = 802; rms_validate.R) and
    on three small SYNTHETIC cohorts with 7 to 14 events and 4 or 5 predictors, where some
    bootstrap samples are separated (rms_validate_small.R): the corrected Dxy, calibration
    intercept and slope, and Brier score agree within 4 Monte Carlo standard errors.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, not {n_boot}")
    rng = np.random.default_rng(seed)
    X, y = fit.design.X, fit.design.y
    W = _bootstrap_weights(fit, n_boot, rng)
    refits = _refit_replicates(fit, W)
    kept = refits.kept
    betas, W = refits.beta[kept], W[:, kept]
    lp = X @ betas.T
    train, _ = _metrics(y, lp, W, own_fit=True)
    test, test_status = _metrics(y, lp, np.ones_like(W))
    apparent_lp = (X @ fit.params_.to_numpy())[:, None]
    apparent, _ = _metrics(y, apparent_lp, np.ones_like(apparent_lp), own_fit=True)
    rows = {}
    for metric in train:
        ok = np.isfinite(train[metric]) & np.isfinite(test[metric])
        used = int(ok.sum())
        optimism = float(np.mean(train[metric][ok] - test[metric][ok])) if used else np.nan
        rows[metric] = {
            "apparent": float(apparent[metric][0]),
            "training": float(np.mean(train[metric][ok])) if used else np.nan,
            "test": float(np.mean(test[metric][ok])) if used else np.nan,
            "optimism": optimism,
            "corrected": float(apparent[metric][0]) - optimism,
            "n_boot": used,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    failed = Counter(refits.status[~kept].tolist())
    table.attrs.update(
        n_boot_requested=n_boot,
        failed=int(sum(failed.values())),
        failed_reasons=dict(failed),
        separated=int(np.sum(refits.status == "separated")),
    )
    notes = _replicate_notes("validate_bootstrap", refits)
    infinite = int(np.sum(test_status != "converged"))
    if infinite:
        notes.append(
            f"validate_bootstrap: in {infinite} of the {int(kept.sum())} replicates used, the "
            f"bootstrap model's linear predictor orders the outcome of the original rows "
            f"perfectly (the data are separated), so its calibration slope there is infinite; "
            f"those replicates are left out of the calibration rows (see n_boot)."
        )
    for note in notes:
        warnings.warn(note, ModelWarning, stacklevel=2)
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
    :func:`validate_bootstrap` (the same refits, separated bootstrap samples kept as rms's
    lrm.fit leaves them) and subtracted.

    Returns
    -------
    DataFrame
        predicted, apparent, optimism, corrected (observed risk at each predicted risk); pass
        it to :func:`~pfps_stats.plot_calibration` as ``curve=``. The fit is not changed.
        ``attrs`` holds n_boot (replicates averaged), n_boot_requested, failed (left out),
        failed_reasons and separated, as :func:`validate_bootstrap`.

    Warns
    -----
    ModelWarning
        When replicates were left out or bootstrap samples separated, as
        :func:`validate_bootstrap`.
    """
    from statsmodels.nonparametric.smoothers_lowess import lowess

    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, not {n_boot}")
    rng = np.random.default_rng(seed)
    X, y = fit.design.X, fit.design.y
    prob = fit.fitted_
    grid = np.linspace(*np.quantile(prob, [0.01, 0.99]), n_points)

    def smooth(x, yy):
        return lowess(yy, x, frac=2 / 3, it=0, xvals=grid)

    W = _bootstrap_weights(fit, n_boot, rng)
    refits = _refit_replicates(fit, W)
    gaps = []
    for b in np.flatnonzero(refits.kept):
        p_b = special.expit(X @ refits.beta[b])
        counts = W[:, b].astype(int)
        gaps.append(smooth(np.repeat(p_b, counts), np.repeat(y, counts)) - smooth(p_b, y))
    apparent = smooth(prob, y)
    if gaps:
        optimism = np.nanmean(np.array(gaps), axis=0)
    else:
        optimism = np.full(n_points, np.nan)
    curve = pd.DataFrame(
        {
            "predicted": grid,
            "apparent": apparent,
            "optimism": optimism,
            "corrected": np.clip(apparent - optimism, 0, 1),
        }
    )
    failed = Counter(refits.status[~refits.kept].tolist())
    curve.attrs.update(
        n_boot=len(gaps),
        n_boot_requested=n_boot,
        failed=int(sum(failed.values())),
        failed_reasons=dict(failed),
        separated=int(np.sum(refits.status == "separated")),
    )
    for note in _replicate_notes("calibrate_bootstrap", refits):
        warnings.warn(note, ModelWarning, stacklevel=2)
    return curve
