"""Cox proportional hazards on counting-process rows: :func:`fit_cox` and the immutable
:class:`CoxFit` with hazard ratios, events and person-time per level, and cluster-robust
(runner) covariance.

The rows are those of ``ps.session_exposures`` / ``ps.weekly_exposures`` with ``injuries=``:
one interval ``(start_day, stop_day]`` per run or week, ``event`` = 1 on the interval that ends
at the first PFP onset. Formulas: the right-hand side of :mod:`pfps_stats.models.design`'s
language (``"C(session_state) + bmi"``), built by :func:`~pfps_stats.models.design.build_design`.

Validated against R's ``survival::coxph(Surv(start, stop, event) ~ ... + cluster(id))``
(survival 3.5.3, ``tests/models/reference/cox_survival.R``): coefficients, naive and robust
covariances, log partial likelihoods, score residuals, Wald p-values and intervals agree to
1e-6 or better, with Efron and with Breslow ties.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .._checks import check_level
from .._exceptions import ModelError, ModelWarning
from .._format import estimate_ci, fit_html, number, p_value
from ..cohort.synthetic import is_synthetic
from .design import ColumnInfo, Design, build_design, column_label, per_increments

Ties = Literal["efron", "breslow"]
#: Events per estimated coefficient below which fit_cox notes that estimates may be unstable
#: (Peduzzi et al. 1995, for Cox models).
EPV_WARN = 10.0
#: |coefficient| x range of its column above which the partial likelihood is taken to have no
#: finite maximum (a hazard ratio of e^25 ~ 7e10 across the data: monotone likelihood).
MONOTONE = 25.0
#: Per-row exposure columns that :meth:`CoxFit.counts` sums when the data have them.
DISTANCE, DURATION = "distance_km", "duration_min"


# ---------------------------------------------------------------------------------------------
# Fitting


def fit_cox(
    data: pd.DataFrame,
    formula: str,
    *,
    start: str = "start_day",
    stop: str = "stop_day",
    event: str = "event",
    cluster: str | None = None,
    ties: Ties = "efron",
) -> CoxFit:
    """Fit a Cox proportional hazards model to counting-process rows (time-varying exposures).

    Parameters
    ----------
    data : DataFrame
        One row per interval ``(start, stop]`` at risk, as made by ``ps.session_exposures`` or
        ``ps.weekly_exposures`` with ``injuries=``. Rows with a missing value in a column of
        the formula, the times, the event or the cluster are left out; their number, events
        and person-time are in ``notes`` (and a :class:`ModelWarning`).
    formula : str
        The right-hand side, e.g. ``"C(session_state)"`` or ``"C(session_state) + bmi"``
        (``"~ C(session_state)"`` is accepted too); see :mod:`pfps_stats.models.design`.
    start, stop : str
        Columns of the interval's start and end (days since the runner's first run). Rows with
        ``stop <= start`` are an error.
    event : str
        The 0/1 column: 1 when the interval ends with the event (first PFP).
    cluster : str, optional
        Column identifying the runner (``"runner_id"``): the covariance is then the robust
        (grouped sandwich) one of R's ``coxph(... + cluster(runner_id))``, needed because one
        runner contributes many rows. At least 2 clusters.
    ties : {"efron", "breslow"}
        Handling of tied event times, as R's ``coxph(ties=)`` (Efron is R's default).

    Returns
    -------
    CoxFit

    Raises
    ------
    ModelError
        No event in the rows used, an event not 0/1, ``stop <= start``, a column not in the
        data, a single cluster, perfect collinearity, or a partial likelihood without a finite
        maximum along a numeric term. A category level without events is not an error: its
        hazard ratio is 0 (or, for the reference level, the others' are infinite), with a
        :class:`ModelWarning` saying what to do.

    Notes
    -----
    The model is ``h(t | x) = h0(t) exp(x' beta)`` on the time scale of the rows (days since
    the runner's first run); an interval ``(start, stop]`` is at risk at time ``t`` when
    ``start < t <= stop``, as in R. Estimates maximise the partial likelihood (Efron's or
    Breslow's for ties) with statsmodels' ``PHReg``: it is already a dependency of the stack
    (lifelines is not), it takes delayed entry (the intervals' starts), and it has both tie
    methods. Two things are done here instead, because checking against R showed they differ
    in statsmodels 0.15.0: ``PHReg`` counts an entry time equal to an event time as at risk
    (Stata's rule), so entries are moved up by one unit in the last place
    (``np.nextafter``), which gives R's ``start < t`` risk sets exactly and changes nothing
    else; and its grouped robust covariance uses Breslow-form score residuals (also for Efron)
    and keeps an interval that holds no event time in later risk sets, so the sandwich
    ``V = I^-1 (sum_g U_g U_g') I^-1`` (``U_g``: a runner's summed score residuals, no
    small-sample factor, normal quantiles) is computed here from score residuals written as
    R's ``residuals(fit, type = "score")``, which they match to 1e-13.

    Checked against ``survival::coxph`` (survival 3.5.3, R 4.2.2) on 260 SYNTHETIC rows of 50
    runners with 38 events at 18 distinct times, Efron and Breslow, with and without
    ``cluster()``, a single event, and a level without events
    (``tests/models/reference/cox_survival.R``, tolerances in ``tests/models/test_cox.py``).

    **Cox or discrete time?** ``fit_cox`` on session rows uses the exact timing: each run's
    spike state is at risk until the next run, and runners are compared at the same time since
    their first run with no assumption about the baseline hazard. Use it for session-level
    exposures (``session_state``) and when onsets are dated to the day. The discrete-time
    alternative, ``ps.fit_logistic(weeks, "event ~ C(week_state)", cluster="runner_id")`` on
    runner-weeks, models the odds of a first PFP in a week among runners still at risk; use
    it for exposures defined per week (``week_state``, ``acwr_state``), when onsets are known
    only to the week, or to add a flexible time trend (a spline of the week number) or
    interactions with time. With a weekly risk below ~10% its odds ratios approximate the
    Cox hazard ratios.
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f'ties must be "efron" or "breslow", not {ties!r}')
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    rhs = _right_hand_side(formula, start, stop, event)
    _check_columns(data, start=start, stop=stop, event=event, cluster=cluster)
    _check_event(data, event)
    _check_times(data, start, stop)
    frame = data.reset_index(drop=True)  # row labels = positions
    design = build_design(
        frame,
        f"{event} ~ {rhs}",
        extra=[c for c in (start, stop, cluster) if c is not None],
        both_classes=False,
    )
    if "Intercept" not in design.columns:
        raise ModelError(
            f"remove '- 1' / '0 +' from {formula!r}: a Cox model has no intercept (the "
            f"baseline hazard takes its place), so each category keeps its reference level"
        )
    notes: list[str] = []
    used = design.rows.to_numpy()
    t0 = design.data[start].to_numpy(dtype=float)
    t1 = design.data[stop].to_numpy(dtype=float)
    y = np.asarray(design.y, dtype=float)
    if design.n_dropped:
        notes.append(_dropped_note(frame, design, used, start, stop, event))
    n_events = int(y.sum())
    if n_events == 0:
        raise ModelError(
            f"no event ({event} = 1) in the {len(y)} rows used, so no hazard ratio can be "
            f"estimated. Check the {event!r} column: counting-process rows from "
            f"ps.session_exposures(log, injuries=...) carry 1 on the interval of the first PFP"
            + (" (rows with missing values were left out: see above)" if design.n_dropped else "")
        )
    groups, n_clusters = None, None
    if cluster is not None:
        labels = design.data[cluster]
        groups = pd.factorize(labels)[0]
        n_clusters = int(groups.max() + 1)
        if n_clusters < 2:
            raise ModelError(
                f"clustered inference needs at least 2 clusters; {cluster!r} takes the single "
                f"value {labels.iloc[0]!r} in all {len(labels)} rows used, so the variation "
                f"between runners cannot be estimated (R's coxph fails here too). Fit without "
                f"cluster=, or cluster by a column with several values"
            )
    coef_index = [j for j, c in enumerate(design.columns) if c != "Intercept"]
    X = np.asarray(design.X[:, coef_index], dtype=float)
    info = [design.info[j] for j in coef_index]
    rows = _row_exposure(frame, used, t0, t1, y)
    categories = _categories(info, X)
    keep_rows, estimated, status, zero_notes = _zero_event_levels(categories, X, y, rows, event)
    notes.extend(zero_notes)
    n_estimated = int(estimated.sum())
    if n_estimated and n_events / n_estimated < EPV_WARN:
        notes.append(
            f"events per coefficient {n_events}/{n_estimated} = {n_events / n_estimated:.1f} "
            f"< {EPV_WARN:g}: estimates may be unstable (Peduzzi et al. 1995)"
        )
    keep_rows &= at_risk_rows(t0, t1, y)  # the others play no part; PHReg is faster without
    Xk = X[np.ix_(keep_rows, estimated)]
    _check_kept_columns(Xk, [e.column for e, s in zip(info, estimated, strict=True) if s])
    beta_k, naive_k, loglik = _estimate(
        t0[keep_rows], t1[keep_rows], y[keep_rows], Xk, ties, info, estimated
    )
    loglik_null = log_partial_likelihood(t0, t1, y, np.zeros(len(y)), ties)
    cov_k = naive_k
    if groups is not None and n_estimated:
        resid = score_residuals(t0[keep_rows], t1[keep_rows], y[keep_rows], Xk, beta_k, ties)
        per_cluster = np.zeros((n_clusters, n_estimated))
        np.add.at(per_cluster, groups[keep_rows], resid)
        cov_k = naive_k @ (per_cluster.T @ per_cluster) @ naive_k
        cov_k = (cov_k + cov_k.T) / 2
    beta, cov, naive = _expand(status, estimated, beta_k, cov_k, naive_k)
    for note in notes:
        warnings.warn(note, ModelWarning, stacklevel=2)
    return CoxFit(
        design,
        formula=rhs,
        ties=ties,
        names=(start, stop, event),
        cluster=cluster,
        n_clusters=n_clusters,
        info=info,
        beta=beta,
        cov=cov,
        naive_cov=naive,
        status=status,
        loglik=(loglik_null, loglik),
        rows=rows,
        categories=categories,
        notes=notes,
        synthetic=bool(is_synthetic(data)),
    )


def _expand(status, estimated, beta_k, cov_k, naive_k):
    """Estimates and covariances of every column: HR 0 -> -inf, HR inf -> +inf, undefined ->
    NaN, with NaN (co)variances for the columns not estimated or not shown."""
    p = len(status)
    beta = np.full(p, np.nan)
    beta[estimated] = beta_k
    beta[status == "zero"] = -np.inf
    beta[status == "infinite"] = np.inf
    shown = (status == "estimated").astype(bool)
    out = []
    for fitted in (cov_k, naive_k):
        full = np.full((p, p), np.nan)
        full[np.ix_(estimated, estimated)] = fitted
        full[~shown, :] = np.nan
        full[:, ~shown] = np.nan
        out.append(full)
    return beta, out[0], out[1]


def _right_hand_side(formula: str, start: str, stop: str, event: str) -> str:
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, not {type(formula).__name__}")
    lhs, tilde, rhs = formula.partition("~")
    if not tilde:
        rhs = lhs
    elif lhs.strip():
        raise ModelError(
            f"fit_cox takes the right-hand side of a formula, e.g. 'C(session_state) + bmi', "
            f"not {formula!r}: the event and the interval come from event={event!r}, "
            f"start={start!r} and stop={stop!r}"
        )
    rhs = rhs.strip()
    if not rhs:
        raise ModelError("the formula has no term; write e.g. 'C(session_state) + bmi'")
    return rhs


def _check_columns(data: pd.DataFrame, **names: str | None) -> None:
    missing = [f"{k}={v!r}" for k, v in names.items() if v is not None and v not in data]
    if missing:
        raise ModelError(
            f"{', '.join(missing)} {'is not a column' if len(missing) == 1 else 'are not columns'}"
            f" of the data; columns: {', '.join(map(str, data.columns))}. Pass the names of "
            f"the counting-process columns (ps.session_exposures(log, injuries=...) makes "
            f"start_day, stop_day and event)"
        )
    event = names["event"]
    if not event.isidentifier():
        raise ModelError(f"rename the event column {event!r} to a name without spaces or symbols")


def _check_event(data: pd.DataFrame, event: str) -> None:
    column = data[event]
    if pd.api.types.is_bool_dtype(column):
        return
    values = pd.to_numeric(column, errors="coerce")
    bad = column.notna() & ~values.isin([0, 1])
    if bad.any():
        shown = ", ".join(map(repr, pd.unique(column[bad].astype(str))[:5]))
        raise ModelError(
            f"the event column {event!r} must be 0/1 (1 = the interval ends with the event); "
            f"it also has {shown} in {int(bad.sum())} rows (first rows: "
            f"{', '.join(map(str, data.index[bad][:5]))}). Recode it"
        )


def _check_times(data: pd.DataFrame, start: str, stop: str) -> None:
    for name in (start, stop):
        column = data[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            raise ModelError(
                f"the time column {name!r} must be numeric (days since the runner's first "
                f"run), not {column.dtype}; convert datetimes with (t - first) / "
                f"pd.Timedelta(days=1)"
            )
    t0 = data[start].to_numpy(dtype=float, na_value=np.nan)
    t1 = data[stop].to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(t0) | np.isinf(t1)
    if infinite.any():
        raise ModelError(
            f"infinite {start}/{stop} in {int(infinite.sum())} rows (first rows: "
            f"{', '.join(map(str, data.index[infinite][:5]))}); times must be finite"
        )
    with np.errstate(invalid="ignore"):
        bad = t1 <= t0
    if bad.any():
        first = np.flatnonzero(bad)[:5]
        shown = "; ".join(f"row {data.index[i]}: ({t0[i]:g}, {t1[i]:g}]" for i in first)
        n = int(bad.sum())
        raise ModelError(
            f"{n} {'row has' if n == 1 else 'rows have'} {stop} <= {start}, an interval of no "
            f"time at risk ({shown}). Each row must be an interval (start, stop] with stop > "
            f"start: drop zero-length rows or correct the times"
        )


def _dropped_note(frame, design: Design, used, start, stop, event) -> str:
    left = np.ones(len(frame), bool)
    left[used] = False
    t0 = frame[start].to_numpy(dtype=float, na_value=np.nan)[left]
    t1 = frame[stop].to_numpy(dtype=float, na_value=np.nan)[left]
    ev = pd.to_numeric(frame[event], errors="coerce").to_numpy(dtype=float)[left]
    known = ~(np.isnan(t0) | np.isnan(t1))
    detail = ", ".join(f"{k}: {v}" for k, v in design.dropped.items())
    note = (
        f"left out {design.n_dropped} of {len(frame)} rows with missing values ({detail}), "
        f"holding {int(np.nansum(ev))} events and {np.sum(t1[known] - t0[known]):.1f} "
        f"person-days"
    )
    if not known.all():
        n = int((~known).sum())
        note += f" (and {n} {'row' if n == 1 else 'rows'} without a start or stop)"
    return note


def _row_exposure(frame, used, t0, t1, y) -> pd.DataFrame:
    """Per row used: person_days, event, and distance_km / duration_min when the data have
    them (a copy: later changes to the caller's frame change nothing)."""
    rows = {"person_days": t1 - t0, "event": y}
    for name in (DISTANCE, DURATION):
        if name in frame:
            rows[name] = pd.to_numeric(frame[name].iloc[used], errors="coerce").to_numpy(float)
    return pd.DataFrame(rows)


def _categories(info: Sequence[ColumnInfo], X: np.ndarray) -> list[dict]:
    """Each categorical main effect: its variable, term, reference, level names, columns and
    the level index of every row (0 = reference)."""
    out: dict[str, dict] = {}
    for j, entry in enumerate(info):
        if entry.kind != "level":
            continue
        cat = out.setdefault(
            entry.term,
            {
                "term": entry.term,
                "variable": entry.variable,
                "reference": entry.reference,
                "levels": [entry.reference],
                "columns": [],
            },
        )
        cat["levels"].append(entry.level)
        cat["columns"].append(j)
    for cat in out.values():
        member = X[:, cat["columns"]]
        code = np.zeros(len(X), dtype=int)
        rows, which = np.nonzero(member == 1)
        code[rows] = which + 1
        cat["code"] = code
    return list(out.values())


def _zero_event_levels(
    categories, X, y, rows, event
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Rows and columns to fit when a category level has no event, the status of every
    column ("estimated", "zero": HR 0, "infinite": HR inf, "undefined": 0/0) and the notes.

    A level without events has a coefficient running off to -inf; the partial likelihood's
    supremum is the fit without that level's rows (their weight in every risk set tends to 0),
    so those rows are set aside and the level's HR is 0. When the reference has no events,
    every other level's HR against it is infinite: its rows are set aside too and the first
    level with events becomes the fit's reference (the contrasts among the levels with events
    are estimated, so that the other terms get their limiting estimates, but not shown)."""
    keep = np.ones(len(y), bool)
    fitted = np.ones(X.shape[1], bool)
    status = np.full(X.shape[1], "estimated", dtype=object)
    notes = []
    for cat in categories:
        events = np.bincount(cat["code"], weights=y, minlength=len(cat["levels"]))
        zero = np.flatnonzero(events == 0)
        if not len(zero):
            continue
        days = np.bincount(cat["code"], weights=rows["person_days"], minlength=len(events))
        keep &= ~np.isin(cat["code"], zero)
        described = ", ".join(
            f"{cat['levels'][k]!r} ({int(np.sum(cat['code'] == k))} rows, "
            f"{days[k]:.1f} person-days)"
            for k in zero
        )
        columns = np.asarray(cat["columns"])
        level_events = events[1:]
        fitted[columns[level_events == 0]] = False
        if events[0] > 0:
            status[columns[level_events == 0]] = "zero"
            notes.append(
                f"no event ({event} = 1) in {described} of {cat['variable']}: the hazard ratio "
                f"of {'that level' if len(zero) == 1 else 'those levels'} is 0 (the partial "
                f"likelihood has no finite maximum), without an interval or p-value, and the "
                f"other estimates are the limit of the fit, i.e. the model without those rows. "
                f"Merge such a level with its neighbour (e.g. a new column with two states "
                f"combined), or collect more follow-up"
            )
            continue
        status[columns] = np.where(level_events > 0, "infinite", "undefined")
        with_events = np.flatnonzero(level_events > 0)
        if len(with_events):
            fitted[columns[with_events[0]]] = False  # the fit's reference
        suggestion = (
            f" Choose a reference level with events, e.g. C({cat['variable']}, "
            f"Treatment({cat['levels'][1 + with_events[0]]!r}))"
            if len(with_events)
            else ""
        )
        notes.append(
            f"no event ({event} = 1) in {described} of {cat['variable']}, including the "
            f"reference level {cat['reference']!r}: every level with events has an infinite "
            f"hazard ratio against it (and a level without events an undefined one), without "
            f"an interval or p-value.{suggestion}"
        )
    return keep, fitted, status, notes


def _check_kept_columns(X: np.ndarray, names: list[str]) -> None:
    if not X.shape[1]:
        return
    constant = [n for n, r in zip(names, np.ptp(X, axis=0), strict=True) if r == 0]
    if constant:
        raise ModelError(
            f"{', '.join(map(repr, constant))} {'is' if len(constant) == 1 else 'are'} "
            f"constant in the rows at risk at an event time (rows of category levels without "
            f"events set aside), so {'its' if len(constant) == 1 else 'their'} hazard ratio "
            f"cannot be estimated; merge sparse levels or drop the term"
        )


def _phreg(t0, t1, y, X, ties):
    """statsmodels' PHReg on (t0, t1] rows, with R's risk sets (start < t <= stop): PHReg
    counts an entry equal to an event time as at risk, so entries move up by one ulp."""
    from statsmodels.duration.hazard_regression import PHReg

    shift = min(0.0, float(t0.min()))  # PHReg needs entry >= 0; a shift changes nothing
    entry = np.nextafter(t0 - shift, np.inf)
    return PHReg(t1 - shift, X, status=y, entry=entry, ties=ties)


def _estimate(t0, t1, y, X, ties, info, estimated) -> tuple[np.ndarray, np.ndarray, float]:
    """Estimates, naive (model-based) covariance and log partial likelihood."""
    p = X.shape[1]
    if p == 0:
        return (
            np.zeros(0),
            np.zeros((0, 0)),
            log_partial_likelihood(t0, t1, y, np.zeros(len(y)), ties),
        )
    model = _phreg(t0, t1, y, X, ties)
    names = [e.column for e, s in zip(info, estimated, strict=True) if s]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(method="newton", maxiter=100, disp=False)
        beta = np.asarray(result.params, dtype=float)
        hess = model.hessian(beta) if np.isfinite(beta).all() else None
    spread = np.ptp(X, axis=0)
    runaway = [n for n, b, r in zip(names, beta, spread, strict=True) if not abs(b) * r < MONOTONE]
    if hess is None or runaway:
        raise ModelError(
            f"the partial likelihood has no finite maximum along "
            f"{', '.join(map(repr, runaway or names))}: within the risk sets the events "
            f"happen only at the highest (or lowest) values, so a hazard ratio is 0 or "
            f"infinite (monotone likelihood). Merge sparse categories or drop the term"
        )
    try:
        chol = linalg.cho_factor(-hess)
    except linalg.LinAlgError:
        raise ModelError(
            f"the information matrix is singular for {', '.join(map(repr, names))}; a term "
            f"may be constant within the risk sets. Drop or merge terms"
        ) from None
    cov = linalg.cho_solve(chol, np.eye(p))
    step = cov @ model.score(beta)
    if not np.max(np.abs(step)) < 1e-6:
        raise ModelError(
            f"the Cox fit did not converge (last Newton step {np.max(np.abs(step)):.2g}); "
            f"check for terms with extreme values or merge sparse categories"
        )
    return beta, (cov + cov.T) / 2, float(model.loglike(beta))


@dataclass(frozen=True)
class _Steps:
    """Risk-set sums of Cox's partial likelihood on (start, stop] rows, one step per event.

    ``times``: the distinct event times; a row is at risk at ``times[k]`` for ``lo <= k < hi``
    (``start < t <= stop``, as R). With Efron's ties the ``d`` events at a time are ``d`` steps
    ``j = 0..d-1`` whose risk set discounts the dying rows by ``frac = j/d``; Breslow's steps
    all have ``frac = 0``. ``sums[m]`` = (S0, S1) of step m: the at-risk sums of the weights
    ``r_i (1, x_i)`` minus ``frac`` times those of the rows dying then."""

    lo: np.ndarray
    hi: np.ndarray
    dead: np.ndarray  # bool per row
    k_dead: np.ndarray  # event time index of each dying row
    n_dead: np.ndarray  # events per time
    k_step: np.ndarray  # event time index of each step
    frac: np.ndarray
    sums: np.ndarray  # (steps, 1 + p)


def _steps(start, stop, event, weights: np.ndarray, ties: str) -> _Steps:
    dead = event == 1
    times = np.unique(stop[dead])
    n_times = len(times)
    hi = np.searchsorted(times, stop, side="right")
    lo = np.minimum(np.searchsorted(times, start, side="right"), hi)

    def above(index: np.ndarray) -> np.ndarray:  # sum of weights over rows with index > k
        bins = np.zeros((n_times + 1, weights.shape[1]))
        np.add.at(bins, index, weights)
        return np.cumsum(bins[::-1], axis=0)[::-1][1:]

    at_risk = above(hi) - above(lo)
    k_dead = np.searchsorted(times, stop[dead])
    dying = np.zeros((n_times, weights.shape[1]))
    np.add.at(dying, k_dead, weights[dead])
    n_dead = np.bincount(k_dead, minlength=n_times)
    k_step = np.repeat(np.arange(n_times), n_dead)
    j_step = np.arange(len(k_step)) - np.repeat(np.cumsum(n_dead) - n_dead, n_dead)
    frac = j_step / n_dead[k_step] if ties == "efron" else np.zeros(len(k_step))
    sums = at_risk[k_step] - frac[:, None] * dying[k_step]
    return _Steps(lo, hi, dead, k_dead, n_dead, k_step, frac, sums)


def at_risk_rows(start, stop, event) -> np.ndarray:
    """Whether each (start, stop] row is at risk at some event time (the others play no part in
    a Cox model's estimates, variances or likelihood)."""
    start, stop = np.asarray(start, float), np.asarray(stop, float)
    times = np.unique(stop[np.asarray(event) == 1])
    return np.searchsorted(times, stop, side="right") > np.searchsorted(times, start, "right")


def log_partial_likelihood(start, stop, event, eta, ties: Ties = "efron") -> float:
    """Cox's log partial likelihood of (start, stop] rows at linear predictors ``eta``, Efron's
    or Breslow's for ties: ``sum over events of eta_i - sum over steps of log S0`` (see
    :func:`score_residuals` for the steps). Matches R's ``coxph(...)$loglik``."""
    start, stop = np.asarray(start, float), np.asarray(stop, float)
    event, eta = np.asarray(event, float), np.asarray(eta, float)
    top = float(eta.max()) if len(eta) else 0.0
    steps = _steps(start, stop, event, np.exp(eta - top)[:, None], ties)
    return float(eta[steps.dead].sum() - np.sum(np.log(steps.sums[:, 0]) + top))


def score_residuals(
    start: np.ndarray,
    stop: np.ndarray,
    event: np.ndarray,
    X: np.ndarray,
    beta: np.ndarray,
    ties: Ties = "efron",
) -> np.ndarray:
    """Score residuals of a Cox model on (start, stop] rows, as R's
    ``residuals(coxph_fit, type = "score")``.

    Row i's residual is ``delta_i (x_i - xbar(t_i)) - r_i sum_k (x_i - xbar(t_k)) dLambda_k``
    over the event times ``t_k`` with ``start_i < t_k <= stop_i``, ``r_i = exp(x_i' beta)``.
    With Efron's ties, the ``d`` events at ``t_k`` split it into ``d`` steps ``j = 0..d-1``
    whose risk set discounts the dying rows by ``j/d`` (denominator ``S0 - (j/d) S0_dead``,
    mean ``(S1 - (j/d) S1_dead) / denominator``); the dying rows carry weight ``1 - j/d`` in
    step j and their event term is ``x_i`` minus the average of the d means. Breslow's is
    the case ``j/d = 0``. Vectorised: sums over risk sets by cumulative sums over the sorted
    event times, O(n p + events p). Residuals sum to the score (0 at the estimates); summed
    per runner they give the robust covariance. Matched R's to 3e-14 (tests/models).

    Returns
    -------
    ndarray (n, p)
    """
    start, stop = np.asarray(start, float), np.asarray(stop, float)
    event = np.asarray(event, float)
    X = np.asarray(X, float)
    p = X.shape[1]
    eta = X @ np.asarray(beta, float)
    risk = np.exp(eta - eta.max()) if len(eta) else eta  # a common factor cancels
    st = _steps(start, stop, event, np.column_stack([risk, risk[:, None] * X]), ties)
    denom = st.sums[:, 0]
    mean = st.sums[:, 1:] / denom[:, None]
    n_times = len(st.n_dead)

    def per_time(values: np.ndarray) -> np.ndarray:
        out = np.zeros((n_times, *values.shape[1:]))
        np.add.at(out, st.k_step, values)
        return out

    hazard = np.concatenate([[0.0], np.cumsum(per_time(1 / denom))])
    weighted_mean = np.vstack([np.zeros(p), np.cumsum(per_time(mean / denom[:, None]), axis=0)])
    event_mean = per_time(mean) / st.n_dead[:, None]
    c1 = per_time(st.frac / denom)
    c2 = per_time(st.frac[:, None] * mean / denom[:, None])
    lo, hi, dead, k = st.lo, st.hi, st.dead, st.k_dead
    resid = -risk[:, None] * (
        X * (hazard[hi] - hazard[lo])[:, None] - (weighted_mean[hi] - weighted_mean[lo])
    )
    resid[dead] += X[dead] - event_mean[k] + risk[dead, None] * (X[dead] * c1[k, None] - c2[k])
    return resid


# ---------------------------------------------------------------------------------------------
# The result


class CoxFit:
    """A fitted Cox model; immutable once built (made by :func:`fit_cox`).

    Attributes
    ----------
    design : Design
        The rows and columns used (read-only); its ``Intercept`` column is not part of the
        model (a Cox model has none).
    formula : str
        The right-hand side, as given.
    ties : {"efron", "breslow"}
    start, stop, event : str
        The column names used.
    cluster : str or None
        The cluster column (robust covariance), or None.
    n_clusters : int or None
        Runners (clusters) in the rows used.
    params_, bse_ : Series
        Log hazard ratios and their standard errors (robust when clustered). A level without
        events has -inf (HR 0), or +inf when its reference has none (HR inf), and SE NaN.
    cov_ : DataFrame
        Covariance of the log hazard ratios: robust when clustered, else model-based.
    naive_cov_ : DataFrame
        The model-based covariance (inverse information; R's ``fit$naive.var`` when
        clustered).
    loglik_, loglik_null_ : float
        Log partial likelihood at the estimates and at beta = 0 (R's ``fit$loglik``).
    n_obs, n_events, n_dropped : int
        Rows used, events in them, rows left out for missing values.
    person_days : float
        Time at risk in the rows used.
    notes : tuple of str
        Everything a reader should know (rows left out, levels without events, low EPV).
    synthetic : bool
        The data were SYNTHETIC (a ``data_source`` row says so); the HTML display says it.
    """

    def __init__(
        self,
        design: Design,
        *,
        formula: str,
        ties: str,
        names: tuple[str, str, str],
        cluster: str | None,
        n_clusters: int | None,
        info: Sequence[ColumnInfo],
        beta: np.ndarray,
        cov: np.ndarray,
        naive_cov: np.ndarray,
        status: np.ndarray,
        loglik: tuple[float, float],
        rows: pd.DataFrame,
        categories: list[dict],
        notes: Sequence[str],
        synthetic: bool = False,
    ):
        set_ = object.__setattr__
        for array in (beta, cov, naive_cov, status):
            array.flags.writeable = False
        set_(self, "design", design)
        set_(self, "formula", formula)
        set_(self, "ties", ties)
        set_(self, "start", names[0])
        set_(self, "stop", names[1])
        set_(self, "event", names[2])
        set_(self, "cluster", cluster)
        set_(self, "n_clusters", n_clusters)
        set_(self, "_info", tuple(info))
        set_(self, "_beta", beta)
        set_(self, "_cov", cov)
        set_(self, "_naive", naive_cov)
        set_(self, "_status", status)
        set_(self, "loglik_null_", float(loglik[0]))
        set_(self, "loglik_", float(loglik[1]))
        set_(self, "_rows", rows)
        set_(self, "_categories", tuple(categories))
        set_(self, "notes", tuple(notes))
        set_(self, "n_obs", design.n_obs)
        set_(self, "n_events", design.n_events)
        set_(self, "n_dropped", design.n_dropped)
        set_(self, "person_days", float(rows["person_days"].sum()))
        set_(self, "_test", "robust Wald" if cluster else "Wald")
        set_(self, "synthetic", bool(synthetic))

    def __setattr__(self, name, value):
        raise AttributeError(f"a CoxFit is immutable: {name!r} cannot be set")

    def __delattr__(self, name):
        raise AttributeError(f"a CoxFit is immutable: {name!r} cannot be deleted")

    @property
    def columns(self) -> list[str]:
        """The model's coefficient names (patsy's design columns without the intercept)."""
        return [e.column for e in self._info]

    @property
    def params_(self) -> pd.Series:
        """Log hazard ratios (a copy)."""
        return pd.Series(self._beta, index=self.columns, name="estimate")

    @property
    def bse_(self) -> pd.Series:
        """Standard errors of the log hazard ratios (robust when clustered)."""
        return pd.Series(np.sqrt(np.diag(self._cov)), index=self.columns, name="std_error")

    @property
    def cov_(self) -> pd.DataFrame:
        """Covariance of the log hazard ratios (robust when clustered; a copy)."""
        return pd.DataFrame(self._cov, index=self.columns, columns=self.columns)

    @property
    def naive_cov_(self) -> pd.DataFrame:
        """Model-based covariance (inverse observed information; a copy)."""
        return pd.DataFrame(self._naive, index=self.columns, columns=self.columns)

    # -- tables ------------------------------------------------------------------------------
    def counts(self) -> pd.DataFrame:
        """Events and time at risk per level of each categorical term, reference included.

        Returns
        -------
        DataFrame
            variable, level, reference (bool), rows, events, person_days, and when the data
            have them per row, km (sum of ``distance_km``) and hours (sum of
            ``duration_min`` / 60; NaN for a level where any duration is missing). Rows used
            in the fit only.
        """
        columns = ["variable", "level", "reference", "rows", "events", "person_days"]
        has_km, has_h = DISTANCE in self._rows, DURATION in self._rows
        columns += ["km"] * has_km + ["hours"] * has_h
        out = []
        for cat in self._categories:
            code = cat["code"]
            for k, level in enumerate(cat["levels"]):
                part = self._rows[code == k]
                row = {
                    "variable": cat["variable"],
                    "level": level,
                    "reference": k == 0,
                    "rows": len(part),
                    "events": int(part["event"].sum()),
                    "person_days": float(part["person_days"].sum()),
                }
                if has_km:
                    row["km"] = float(part[DISTANCE].sum(min_count=len(part)))
                if has_h:
                    row["hours"] = float(part[DURATION].sum(min_count=len(part))) / 60
                out.append(row)
        return pd.DataFrame(out, columns=columns)

    def hazard_ratios(self, per=None, level: float = 0.95) -> pd.DataFrame:
        """Hazard ratios with Wald confidence intervals and p-values.

        Parameters
        ----------
        per : None, "sd", "clinical" or dict
            Scale each numeric main effect's HR to an increment: a dict such as
            ``{"bmi": 5}``, one SD in the model's rows, or the variable dictionary's clinical
            increment. Category levels, splines and interactions stay per unit.
        level : float
            Confidence level, between 0 and 1 (default 0.95).

        Returns
        -------
        DataFrame
            term, label, variable, level (the category level; None for other terms),
            increment, hazard_ratio, ci_low, ci_high, p_value, test, events, person_days.
            Intervals are ``exp(c (b ± z SE))`` with normal quantiles and p-values the Wald
            z-test, as R's ``summary(coxph)`` / ``confint``; the SE is robust when clustered
            (test "robust Wald"). events and person_days are those of the level (NaN for
            other terms). A level without events has HR 0 (or inf against a reference without
            events) and no interval or p-value (test "none: no events", or "none: no events
            in the reference"). ``attrs`` hold level, test and ties.
        """
        level = check_level(level)
        increments = per_increments(self.design, per)
        q = float(stats.norm.ppf(0.5 + level / 2))
        counts = {
            (cat["term"], lev): (int(e), float(d))
            for cat in self._categories
            for lev, e, d in zip(
                cat["levels"],
                np.bincount(cat["code"], self._rows["event"], len(cat["levels"])),
                np.bincount(cat["code"], self._rows["person_days"], len(cat["levels"])),
                strict=True,
            )
        }
        rows = []
        for j, entry in enumerate(self._info):
            c = increments.get(entry.variable, 1.0) if entry.kind == "numeric" else 1.0
            beta, se = self._beta[j], np.sqrt(self._cov[j, j])
            status = self._status[j]
            if status == "estimated":
                hr, lo, hi = (
                    np.exp(c * beta),
                    np.exp(c * (beta - q * se)),
                    np.exp(c * (beta + q * se)),
                )
                p_value, test = float(2 * stats.norm.sf(abs(beta / se))), self._test
            else:
                hr = {"zero": 0.0, "infinite": np.inf, "undefined": np.nan}[status]
                lo = hi = p_value = np.nan
                test = "none: no events" + (" in the reference" if status != "zero" else "")
            events, days = counts.get((entry.term, entry.level), (np.nan, np.nan))
            rows.append(
                {
                    "term": entry.column,
                    "label": column_label(entry, c),
                    "variable": entry.variable,
                    "level": entry.level,
                    "increment": c,
                    "hazard_ratio": hr,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": p_value,
                    "test": test,
                    "events": events,
                    "person_days": days,
                }
            )
        columns = [
            "term",
            "label",
            "variable",
            "level",
            "increment",
            "hazard_ratio",
            "ci_low",
            "ci_high",
            "p_value",
            "test",
            "events",
            "person_days",
        ]
        table = pd.DataFrame(rows, columns=columns)
        table.attrs.update(level=level, test=self._test, ties=self.ties)
        return table

    def summary_frame(self) -> pd.DataFrame:
        """Every coefficient: term, estimate (log HR), std_error, hazard_ratio, ci_low,
        ci_high, p_value, test (see :meth:`hazard_ratios`)."""
        table = self.hazard_ratios()
        table.insert(1, "estimate", self._beta.copy())
        table.insert(2, "std_error", np.sqrt(np.diag(self._cov)))
        return table[
            [
                "term",
                "estimate",
                "std_error",
                "hazard_ratio",
                "ci_low",
                "ci_high",
                "p_value",
                "test",
            ]
        ]

    # -- display ----------------------------------------------------------------------------
    def _header(self) -> str:
        text = (
            f"Cox proportional hazards ({self.ties.capitalize()} ties) on intervals "
            f"({self.start}, {self.stop}]: {self.formula}\n"
            f"rows = {self.n_obs}, events = {self.n_events}, person-days = "
            f"{self.person_days:.1f}, dropped (missing) = {self.n_dropped}, log partial "
            f"likelihood = {self.loglik_:.3f} (null {self.loglik_null_:.3f})"
        )
        if self.cluster:
            text += (
                f"\nclustered by {self.cluster} ({self.n_clusters} clusters): robust "
                f"(sandwich) standard errors, normal quantiles"
            )
        return text

    def __repr__(self) -> str:
        return self._header() + "\n" + self.summary_frame().to_string(index=False)

    def _repr_html_(self) -> str:
        """The fit as HTML for JupyterLab: its header (SYNTHETIC when the data were), the
        notes, the hazard ratios with readable names and journal p-values, and events and
        time at risk per level. Every text is escaped."""
        hr = self.hazard_ratios()
        pct = f"{hr.attrs.get('level', 0.95):.0%}"
        table = pd.DataFrame(
            {
                "Term": hr["label"],
                f"Hazard ratio ({pct} CI)": [
                    estimate_ci(v, lo, hi)
                    for v, lo, hi in zip(
                        hr["hazard_ratio"], hr["ci_low"], hr["ci_high"], strict=True
                    )
                ],
                "p": hr["p_value"].map(p_value),
                "Test": hr["test"],
                "Events": hr["events"].map(lambda v: number(v, 0)),
                "Person-days": hr["person_days"].map(lambda v: number(v, 1)),
            }
        ).to_html(index=False, escape=True)
        counts = self.counts()
        names = {
            "variable": "Variable",
            "level": "Level",
            "reference": "Reference",
            "rows": "Rows",
            "events": "Events",
            "person_days": "Person-days",
            "km": "Distance (km)",
            "hours": "Hours",
        }
        shown = counts.rename(columns=names)
        if len(counts):
            shown["Reference"] = counts["reference"].map({True: "yes", False: ""})
            for column, digits in (("Person-days", 1), ("Distance (km)", 1), ("Hours", 1)):
                if column in shown:
                    shown[column] = shown[column].map(lambda v, d=digits: number(v, d))
        extra = (
            "<p>Events and time at risk per level</p>" + shown.to_html(index=False, escape=True)
            if len(counts)
            else ""
        )
        header = self._header()
        if self.synthetic:
            header += "\nSYNTHETIC data: simulated runners, not a real cohort"
        return fit_html(header, self.notes, table, extra)
