"""Injury rates per 1,000 km and per 1,000 hours of running, with exact Poisson intervals:
:func:`injury_rates` (per level of an exposure state) and :func:`poisson_rate_ci`.

Validated against R's ``poisson.test(x, T)$conf.int`` (stats, R 4.2.2;
``tests/models/reference/rates_poisson.R``), 0 and 1 events included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import check_level
from .._exceptions import ModelError

#: The label of the row that holds the rows whose ``by`` value is missing.
MISSING = "missing"


def poisson_rate_ci(
    events: np.ndarray | float, exposure: np.ndarray | float, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) confidence interval of a Poisson rate ``events / exposure``.

    Parameters
    ----------
    events : array_like
        Event counts (non-negative integers).
    exposure : array_like
        Exposure (km, hours, ...), > 0; NaN or 0 gives NaN limits.
    level : float
        Confidence level (default 0.95).

    Returns
    -------
    (low, high) : ndarrays
        ``gamma.ppf(alpha/2, x) / T`` (0 when x = 0) and ``gamma.ppf(1 - alpha/2, x + 1) / T``,
        i.e. chi-square quantiles ``chi2(alpha/2, 2x) / 2T`` and ``chi2(1 - alpha/2, 2x + 2) /
        2T``, as R's ``poisson.test(x, T, conf.level = level)$conf.int``.
    """
    level = check_level(level)
    x = np.asarray(events, dtype=float)
    t = np.asarray(exposure, dtype=float)
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(x > 0, stats.gamma.ppf(alpha / 2, np.where(x > 0, x, 1)), 0.0) / t
        high = stats.gamma.ppf(1 - alpha / 2, x + 1) / t
    bad = ~(t > 0) | np.isnan(x)
    low, high = np.where(bad, np.nan, low), np.where(bad, np.nan, high)
    return low, high


def injury_rates(
    data: pd.DataFrame,
    by: str = "session_state",
    *,
    event: str = "event",
    distance: str | None = "distance_km",
    duration: str | None = "duration_min",
    start: str = "start_day",
    stop: str = "stop_day",
    level: float = 0.95,
) -> pd.DataFrame:
    """Events per 1,000 km and per 1,000 hours of running, per level of ``by``, with exact
    Poisson confidence intervals.

    Parameters
    ----------
    data : DataFrame
        One row per run (``ps.session_exposures``) or runner-week (``ps.weekly_exposures``,
        with ``distance="weekly_km"``), with a 0/1 ``event`` column (``injuries=`` given).
    by : str
        The exposure state; every level of a categorical is shown, in its order, also a level
        without rows. Rows whose state is missing (no history, so not at risk for that
        exposure) are counted in a last row labelled ``"missing"``, so that the rows add up
        to the data; ``attrs["notes"]`` says so.
    event : str
        0/1 column: 1 on the row that ends with the injury.
    distance, duration : str or None
        Columns of km and minutes per row. A level where some rows have no value gets NaN for
        that total and its rate (and a note); a ``duration`` column that is absent (or None)
        gives NaN hours (noted). ``distance`` must be a column unless None.
    start, stop : str
        Columns of the interval at risk in days; person_days is NaN when they are absent.
    level : float
        Confidence level of the intervals (default 0.95).

    Returns
    -------
    DataFrame
        One row per level: ``by`` (categorical, levels in order then "missing"), rows, events,
        person_days, km, hours, rate_per_1000_km, ci_low_km, ci_high_km, rate_per_1000_h,
        ci_low_h, ci_high_h. Rates are ``1000 x events / exposure``; intervals are exact
        (Garwood) Poisson limits from :func:`poisson_rate_ci` (lower limit 0 with 0 events;
        NaN with no exposure). ``attrs``: by, level, notes.

    Raises
    ------
    ModelError
        A column that is not in the data, an event not 0/1 or missing, or negative
        distances or durations.
    """
    level = check_level(level)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    wanted = {"by": by, "event": event, "distance": distance}
    absent = [f"{k}={v!r}" for k, v in wanted.items() if v is not None and v not in data]
    if absent:
        raise ModelError(
            f"{', '.join(absent)} {'is not a column' if len(absent) == 1 else 'are not columns'}"
            f" of the data; columns: {', '.join(map(str, data.columns))}. For runner-weeks "
            f"pass distance='weekly_km'"
        )
    notes: list[str] = []
    events = _events(data, event)
    columns = {"km": distance, "hours": duration}
    totals = {}
    for name, column in columns.items():
        if column is None or column not in data:
            if name == "hours":
                notes.append(
                    f"no duration column ({duration!r}): hours and rates per 1,000 h are NaN"
                )
            totals[name] = np.full(len(data), np.nan)
            continue
        values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
        negative = values < 0
        if negative.any():
            raise ModelError(
                f"{column!r} is negative in {int(negative.sum())} rows (first rows: "
                f"{', '.join(map(str, data.index[negative][:5]))}); distances and durations "
                f"must be >= 0"
            )
        totals[name] = values / 60 if name == "hours" else values
    if start in data and stop in data:
        t0 = pd.to_numeric(data[start], errors="coerce").to_numpy(dtype=float)
        t1 = pd.to_numeric(data[stop], errors="coerce").to_numpy(dtype=float)
        totals["person_days"] = t1 - t0
    else:
        totals["person_days"] = np.full(len(data), np.nan)
        notes.append(f"no {start!r}/{stop!r} columns: person_days is NaN")

    state = data[by]
    if isinstance(state.dtype, pd.CategoricalDtype):
        levels = list(state.cat.categories)
        ordered = bool(state.cat.ordered)
    else:
        levels = sorted(pd.unique(state.dropna()), key=lambda v: (str(type(v)), v))
        ordered = False
    missing = state.isna().to_numpy()
    if missing.any():
        if MISSING in levels:
            raise ModelError(
                f"{by!r} has a level called {MISSING!r} and also missing values; rename the level"
            )
        notes.append(
            f"{int(missing.sum())} rows with a missing {by} (no history: not at risk for that "
            f"exposure) are counted in the row {MISSING!r}, with {int(events[missing].sum())} "
            f"events"
        )
    code = pd.Categorical(state, categories=levels).codes.astype(int)
    code = np.where(missing, len(levels), code)
    labels = levels + ([MISSING] if missing.any() else [])
    k = len(labels)
    frame = pd.DataFrame(
        {
            by: pd.Categorical(labels, categories=labels, ordered=ordered),
            "rows": np.bincount(code, minlength=k),
            "events": np.bincount(code, weights=events, minlength=k).astype(int),
        }
    )
    for name in ("person_days", "km", "hours"):
        values = totals[name]
        gaps = np.bincount(code, weights=np.isnan(values), minlength=k) > 0
        summed = np.bincount(code, weights=np.nan_to_num(values), minlength=k)
        frame[name] = np.where(gaps, np.nan, summed)
        column = {"km": distance, "hours": duration}.get(name)
        partial = gaps & (np.bincount(code, minlength=k) > 0) & ~np.isnan(values).all()
        if partial.any() and column is not None:
            where = ", ".join(repr(labels[i]) for i in np.flatnonzero(partial))
            notes.append(
                f"{column!r} is missing in some rows of {where}: their {name} and rates per "
                f"1,000 {'km' if name == 'km' else 'h'} are NaN"
            )
    for unit, name in (("km", "km"), ("h", "hours")):
        exposure = frame[name].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(exposure > 0, 1000 * frame["events"] / exposure, np.nan)
        low, high = poisson_rate_ci(frame["events"].to_numpy(), exposure / 1000, level)
        frame[f"rate_per_1000_{unit}"] = rate
        frame[f"ci_low_{unit}"] = low
        frame[f"ci_high_{unit}"] = high
    frame.attrs.update(by=by, level=level, notes=notes)
    return frame


def _events(data: pd.DataFrame, event: str) -> np.ndarray:
    column = data[event]
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isin(values, [0.0, 1.0])
    if bad.any():
        shown = ", ".join(map(repr, pd.unique(column[bad].astype(str))[:5]))
        raise ModelError(
            f"the event column {event!r} must be 0/1 on every row; it has {shown} in "
            f"{int(bad.sum())} rows (first rows: {', '.join(map(str, data.index[bad][:5]))})"
        )
    return values
