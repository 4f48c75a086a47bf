"""Per calendar week: week-to-week change and the acute:chronic workload ratio.

:func:`weekly_exposures` implements docs/training-load.md, section 3 ("Per calendar week" and
"Time at risk"), vectorised over all runners at once: the runner × week grid is built from
array offsets and filled with :func:`numpy.bincount`; lags are array shifts masked at each
runner's first weeks. No Python loop over runners, weeks or runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .follow_up import DAY_NS, END_REASONS, _check_log, _plural, follow_up
from .states import spike_state

#: Accepted values of ``week_start`` (case ignored), Monday = 0 as in pandas' ``dayofweek``.
WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

#: Weeks averaged for the chronic load of the acute:chronic workload ratio.
CHRONIC_WEEKS = 3

_EPOCH_WEEKDAY = 3  # 1970-01-01, day 0 of datetime64, was a Thursday


def _weekday(week_start: str) -> int:
    name = week_start.strip().lower() if isinstance(week_start, str) else None
    if name not in WEEKDAYS:
        raise ValueError(
            f"week_start must be the name of a weekday ({', '.join(repr(d) for d in WEEKDAYS)}; "
            f"case ignored), not {week_start!r}"
        )
    return WEEKDAYS.index(name)


def _shift(values: np.ndarray, by: int, first: np.ndarray) -> np.ndarray:
    """``values`` moved ``by`` rows down, NaN where that crosses into another runner's rows
    (``first``: each row's offset from its runner's first week)."""
    out = np.full(len(values), np.nan)
    out[by:] = values[: len(values) - by]
    out[first < by] = np.nan
    return out


def weekly_exposures(
    log: pd.DataFrame, injuries: pd.DataFrame | None = None, week_start: str = "monday"
) -> pd.DataFrame:
    """Return one row per runner and calendar week with the week-to-week and ACWR spikes.

    Definitions (docs/training-load.md, section 3):

    - one row per runner and calendar week (``week``: its first day at 00:00, weeks starting
      on ``week_start``), from the runner's first week to the last week with a run (with
      ``injuries``: to the week where time at risk ends); weeks without running are included
      with 0 km;
    - ``weekly_km``, ``n_runs`` (and ``duration_min``, the sum of the week's run durations,
      NaN when one of them has none, when the log has durations);
    - ``week_ratio = weekly_km / previous week's km - 1``; ``weekly_km_change_pct = 100 ×
      week_ratio``; ``acwr = weekly_km / mean of the 3 preceding weeks - 1`` (NaN for a
      runner's first 3 weeks); ``week_state`` and ``acwr_state`` their spike states
      (:func:`~pfps_stats.exposures.states.spike_state`);
    - ``prior_week_state`` and ``prior_acwr_state``: the states of the runner's previous
      calendar week, known when this week starts. **Model the risk in a week with these.** A
      week's own state is only known when the week ends: it includes running after an onset
      in that week (or, with ``injuries``, stops counting at the onset), so an injured week
      looks like a regression and ``week_state`` and ``acwr_state`` are biased towards hazard
      ratios below 1 as exposures of the same week's risk;
    - after a week of 0 km (or 3 weeks summing to 0 for the ACWR) the ratio is ``inf``
      (state ``">100%"``) when the runner ran, and undefined (NaN, missing state) when they
      did not. A missing state is time not at risk for that exposure, counted in the notes.

    Weeks are calendar weeks of the log's naive wall-clock times, so a change to or from
    daylight saving time does not move a run into another week.

    With ``injuries``, counting-process rows (see
    :func:`~pfps_stats.exposures.follow_up.follow_up`): each week is clipped to the runner's
    time at risk, ``(start_day, stop_day]`` in days since their first run; in the week where
    time at risk ends only runs before that moment count toward ``weekly_km`` (and the
    ratios); later weeks are left out. ``event`` is 1 on the week holding the first PFP onset,
    ``end_reason`` is set on each runner's last week.

    Parameters
    ----------
    log : DataFrame
        A training log as ``ps.load_training_log`` returns it (see
        :func:`~pfps_stats.exposures.sessions.session_exposures`). Not modified.
    injuries : DataFrame, optional
        As ``ps.load_injuries`` returns it. Not modified.
    week_start : str
        The first day of a calendar week: ``"monday"`` (ISO weeks, the default) to
        ``"sunday"``, case ignored.

    Returns
    -------
    DataFrame
        Fresh RangeIndex, runners in the log's order, weeks ascending: ``runner_id``,
        ``week``, ``weekly_km``, ``n_runs``, ``duration_min`` (when the log has it),
        ``week_ratio``, ``weekly_km_change_pct``, ``week_state``, ``acwr``, ``acwr_state``,
        ``prior_week_state``, ``prior_acwr_state``, ``data_source`` (the runner's first, when the log has it: ``"SYNTHETIC"`` travels on);
        with ``injuries`` also ``start_day``, ``stop_day``, ``event``, ``end_reason``.
        ``.attrs["notes"]`` and ``.attrs["counts"]`` give the weeks inserted, the weeks and
        person-time with a missing state, and what was left out. Checked on hand-made logs
        with known answers and against a per-runner reference loop on a random log
        (tests/exposures).

    Raises
    ------
    ValueError
        For a ``week_start`` that is not a weekday name.
    DataValidationError
        For a log or injuries table not in the loaders' form, listing every problem.

    Notes
    -----
    A Dask DataFrame ``log`` (partitioned by runner) is computed per partition:
    :func:`pfps_stats.exposures.dask_exposures.dask_weekly_exposures`.
    """
    if type(log).__module__.partition(".")[0] == "dask":  # without importing dask
        from .dask_exposures import dask_weekly_exposures

        return dask_weekly_exposures(log, injuries, week_start)
    weekday = _weekday(week_start)
    checked = _check_log(log, "weekly_exposures")
    codes, t, block = checked.codes, checked.t, checked.block
    n_runners = len(checked.runners)
    week = (t // DAY_NS + _EPOCH_WEEKDAY - weekday) // 7  # week number of each run
    lo = week[block[:-1]]
    last_run_week = week[block[1:] - 1]
    keep = np.ones(len(t), dtype=bool)
    risk = None
    if injuries is None:
        hi = last_run_week
    else:
        first = pd.Series(checked.first.view("datetime64[ns]"), index=checked.runners)
        last = pd.Series(checked.last.view("datetime64[ns]"), index=checked.runners)
        risk = follow_up(first, last, injuries, caller="weekly_exposures")
        end = risk["end"].to_numpy().view("int64")
        keep = t < end[codes]
        hi = ((end - 1) // DAY_NS + _EPOCH_WEEKDAY - weekday) // 7  # week holding the end
        hi = np.where(end > checked.first, hi, lo - 1)  # no time at risk: no weeks

    n_weeks = np.maximum(hi - lo + 1, 0)
    offsets = np.r_[0, np.cumsum(n_weeks)]
    total = int(offsets[-1])
    row_runner = np.repeat(np.arange(n_runners), n_weeks)
    nth = np.arange(total) - offsets[:-1][row_runner]  # weeks since the runner's first week
    position = (offsets[:-1][codes] + week - lo[codes])[keep]
    distance = checked.frame["distance_km"].to_numpy(dtype=float)[keep]
    km = np.bincount(position, weights=distance, minlength=total)
    n_runs = np.bincount(position, minlength=total)

    previous = _shift(km, 1, nth)
    chronic = (
        _shift(km, CHRONIC_WEEKS, nth) + _shift(km, 2, nth) + _shift(km, 1, nth)
    ) / CHRONIC_WEEKS
    with np.errstate(divide="ignore", invalid="ignore"):
        week_ratio = km / previous - 1  # x/0 = inf, 0/0 = NaN
        acwr = km / chronic - 1

    first_day = (lo[row_runner] + nth) * 7 - _EPOCH_WEEKDAY + weekday
    week_ns = first_day * DAY_NS
    columns = {
        "runner_id": checked.runners.take(row_runner),
        "week": week_ns.view("datetime64[ns]").astype(checked.frame["start"].dtype),
        "weekly_km": km,
        "n_runs": n_runs.astype(np.int64),
    }
    if "duration_min" in checked.frame:
        minutes = checked.frame["duration_min"].to_numpy(dtype=float, na_value=np.nan)[keep]
        columns["duration_min"] = np.bincount(position, weights=minutes, minlength=total)
    columns |= {
        "week_ratio": week_ratio,
        "weekly_km_change_pct": 100 * week_ratio,
        "week_state": spike_state(week_ratio),
        "acwr": acwr,
        "acwr_state": spike_state(acwr),
        # The states of the last completed week: known when this week starts.
        "prior_week_state": spike_state(_shift(week_ratio, 1, nth)),
        "prior_acwr_state": spike_state(_shift(acwr, 1, nth)),
    }
    if "data_source" in checked.frame:  # "SYNTHETIC" on simulated logs: the label travels on
        per_runner = checked.frame["data_source"].iloc[block[:-1]].to_numpy()
        columns["data_source"] = per_runner[row_runner]
    result = pd.DataFrame(columns)
    zero_weeks = int((n_runs == 0).sum())
    counts = {
        "weeks": total,
        "runners": n_runners,
        "weeks_without_running": zero_weeks,
        "weeks_missing_week_state": int(result["week_state"].isna().sum()),
        "weeks_missing_acwr_state": int(result["acwr_state"].isna().sum()),
    }
    with_weeks = int((n_weeks > 0).sum())
    if risk is None:
        notes = _notes(counts, weekday, with_weeks)
        result.attrs = {**checked.frame.attrs, "notes": notes, "counts": counts}
        return result

    origin = checked.first[row_runner]
    end_row = end[row_runner]
    result["start_day"] = (np.maximum(week_ns, origin) - origin) / DAY_NS
    result["stop_day"] = (np.minimum(week_ns + 7 * DAY_NS, end_row) - origin) / DAY_NS
    last_week = nth == n_weeks[row_runner] - 1
    reason = risk["end_reason"].cat.codes.to_numpy()[row_runner]
    result["event"] = (last_week & (reason == 0)).astype(np.int64)
    result["end_reason"] = pd.Categorical.from_codes(
        np.where(last_week, reason, -1), categories=list(END_REASONS)
    )
    if not (result["stop_day"] > result["start_day"]).all():  # pragma: no cover - invariant
        raise AssertionError("weekly_exposures: a row with stop_day <= start_day")

    at_risk = (result["stop_day"] - result["start_day"]).to_numpy()
    no_week = result["week_state"].isna().to_numpy()
    no_acwr = result["acwr_state"].isna().to_numpy()
    dropped_runs = int((~keep).sum())
    dropped_weeks = int(np.maximum(last_run_week - hi, 0).sum())
    counts = {
        **risk.attrs["counts"],
        **counts,
        "runs_after_end_of_risk": dropped_runs,
        "weeks_after_end_of_risk": dropped_weeks,
        "person_days": float(at_risk.sum()),
        "person_days_missing_week_state": float(at_risk[no_week].sum()),
        "person_days_missing_acwr_state": float(at_risk[no_acwr].sum()),
        "person_days_missing_prior_week_state": float(
            at_risk[result["prior_week_state"].isna().to_numpy()].sum()
        ),
        "person_days_missing_prior_acwr_state": float(
            at_risk[result["prior_acwr_state"].isna().to_numpy()].sum()
        ),
    }
    notes = _notes(counts, weekday, with_weeks, risk.attrs["notes"])
    result.attrs = {**checked.frame.attrs, "notes": notes, "counts": counts}
    return result


def _notes(
    counts: dict, weekday: int, with_weeks: int, risk_notes: list[str] | None = None
) -> list[str]:
    """The notes of :func:`weekly_exposures`, made from its counts, the first weekday, the
    runners with at least one week and (with injuries) time at risk's notes: one wording for
    the in-memory and the Dask versions."""
    notes = [
        f"{counts['weeks']:,} runner-weeks ({_week_name(weekday)} to "
        f"{_week_name(weekday - 1)}) of {_plural(with_weeks, 'runner')}; "
        f"{counts['weeks_without_running']:,} weeks without running included with 0 km."
    ]
    if risk_notes is None:
        notes.append(
            f"{counts['weeks_missing_week_state']:,} weeks have no week_state (a runner's "
            f"first week, or 0 km after a week of 0 km) and "
            f"{counts['weeks_missing_acwr_state']:,} no acwr_state (a runner's first 3 weeks, "
            "or 0 km after 3 weeks of 0 km)."
        )
        return notes
    total_days = f"{counts['person_days']:,.1f}"
    notes += [
        *risk_notes,
        f"{counts['weeks_missing_week_state']:,} weeks have no week_state (a runner's first "
        "week, or 0 km after a week of 0 km): "
        f"{counts['person_days_missing_week_state']:,.1f} of {total_days} person-days not at "
        "risk for this exposure.",
        f"{counts['weeks_missing_acwr_state']:,} weeks have no acwr_state (a runner's first "
        "3 weeks, or 0 km after 3 weeks of 0 km): "
        f"{counts['person_days_missing_acwr_state']:,.1f} of {total_days} person-days not at "
        "risk for this exposure.",
        "prior_week_state and prior_acwr_state (the last completed week's states, for models "
        "of the risk in a week): "
        f"{counts['person_days_missing_prior_week_state']:,.1f} and "
        f"{counts['person_days_missing_prior_acwr_state']:,.1f} person-days with no state.",
    ]
    if counts["runs_after_end_of_risk"]:
        notes.append(
            f"{counts['runs_after_end_of_risk']:,} runs at or after the end of their runner's "
            f"time at risk not counted; {counts['weeks_after_end_of_risk']:,} weeks after it "
            "left out."
        )
    return notes


def _week_name(weekday: int) -> str:
    return WEEKDAYS[weekday % 7].capitalize()
