"""Per-session exposure: each run against the longest run of the 30 days before it.

:func:`session_exposures` implements docs/training-load.md, section 3 ("Per session" and
"Time at risk"), vectorised over all runners at once: no Python loop over runners or runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

from .follow_up import DAY_NS, END_REASONS, _check_log, _Log, follow_up
from .states import spike_state

#: The look-back window of the session exposure: runs starting in ``[start - 30 days, start)``.
WINDOW_DAYS = 30


class _Bounds(BaseIndexer):
    """Rolling windows given as index bounds ``[start[i], end[i])`` (both non-decreasing)."""

    def __init__(self, start: np.ndarray, end: np.ndarray):
        super().__init__()
        self._start = start
        self._end = end

    def get_window_bounds(
        self, num_values=0, min_periods=None, center=None, closed=None, step=None
    ):
        return self._start, self._end


def _window_starts(log: _Log, window_ns: int) -> np.ndarray:
    """Index of the first run of the same runner starting at or after ``start - window``.

    Exact on int64 nanoseconds. Each run's time since its runner's first run, in a unit
    coarse enough (1 ns for any realistic log) that ``runner × span + time`` fits one sorted
    int64 key, gives every window start with one :func:`numpy.searchsorted`; runs that the
    coarse unit cannot tell apart from the window edge are then stepped over exactly.
    """
    t, codes = log.t, log.codes
    since = t - log.first[codes]
    span = int(since.max()) + 2
    scale = max(1, -(-(len(log.runners) + 1) * span // 2**62))  # ceil: keys stay < 2**62
    width = span // scale + 2
    key = codes * width + since // scale  # sorted: runners in blocks, starts ascending
    edge = t - window_ns
    query = codes * width + np.maximum((since - window_ns) // scale, -1)
    lo = np.searchsorted(key, query, side="left")
    behind = np.flatnonzero(t[lo] < edge)  # in the same coarse unit as the edge, but before
    while len(behind):
        lo[behind] += 1
        behind = behind[t[lo[behind]] < edge[behind]]
    return lo


def _longest_before(log: _Log, window_ns: int) -> np.ndarray:
    """Longest ``distance_km`` of the same runner with start in ``[start - window, start)``.

    NaN when there is none. One pandas rolling max with per-row index bounds (a monotonic
    deque, O(n)) over the whole log.
    """
    lo = _window_starts(log, window_ns)
    hi = np.arange(len(log.t), dtype=np.int64)  # this run excluded
    distance = pd.Series(log.frame["distance_km"].to_numpy(dtype=float))
    return distance.rolling(_Bounds(lo, hi), min_periods=1).max().to_numpy()


def session_exposures(log: pd.DataFrame, injuries: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one row per run with its spike against the runner's own last 30 days.

    Definitions (docs/training-load.md, section 3):

    - ``longest_30d_km``: the longest run of the same runner whose start lies in
      ``[start - 30 days, start)``: this run excluded, a run exactly 30 × 24 h earlier
      included, a run earlier the same day included. NaN when there is none. Times are the
      log's naive wall-clock times, so a change to or from daylight saving time moves nothing.
    - ``session_ratio = distance_km / longest_30d_km - 1``; ``session_state`` its spike state
      (:func:`~pfps_stats.exposures.states.spike_state`; missing when ``longest_30d_km`` is
      NaN: that time is not at risk for this exposure, and is counted in the notes).

    With ``injuries``, counting-process rows (see
    :func:`~pfps_stats.exposures.follow_up.follow_up` for where time at risk ends): run *i* is
    at risk over ``(start_day, stop_day]``, from its start until the runner's next run or the
    end of time at risk, in days since the runner's first run; runs starting at or after the
    end are left out (and counted in the notes); ``event`` is 1 on the row whose interval holds
    the first PFP onset (placed at the end of its onset day), and ``end_reason`` is set on each
    runner's last row.

    Parameters
    ----------
    log : DataFrame
        A training log as ``ps.load_training_log`` returns it: ``runner_id``, ``start``
        (naive datetime64), ``distance_km`` (> 0), optionally ``duration_min``; each runner's
        runs together and in order of start, no two with the same start. Not modified.
    injuries : DataFrame, optional
        As ``ps.load_injuries`` returns it: ``runner_id``, ``onset``, ``pfp``, optionally
        ``follow_up_end``. Not modified.

    Returns
    -------
    DataFrame
        In the log's order, fresh RangeIndex: ``runner_id``, ``start``, ``distance_km``,
        ``duration_min``, ``source_file``, ``source_row`` and ``data_source`` (those the log
        has; other columns are not carried),
        ``longest_30d_km`` (km), ``session_ratio``, ``session_state`` (ordered categorical,
        reference ``"<=10%"`` first); with ``injuries`` also ``start_day``, ``stop_day``
        (float days), ``event`` (0/1) and ``end_reason`` (categorical: ``"pfp"``,
        ``"other injury"``, ``"end of follow-up"``; missing except on each runner's last row).
        ``.attrs["notes"]`` (list of str) and ``.attrs["counts"]`` (dict) say what was left out
        and the person-time with a missing state. Checked on hand-made logs with known answers
        and against a per-runner reference loop on a random log (tests/exposures).

    Raises
    ------
    DataValidationError
        For a log or injuries table that is not in the loaders' form (missing or mistyped
        columns, no runs, runs out of order, duplicate sessions), listing every problem.

    Notes
    -----
    A Dask DataFrame ``log`` (partitioned by runner) is computed per partition:
    :func:`pfps_stats.exposures.dask_exposures.dask_session_exposures`.
    """
    if type(log).__module__.partition(".")[0] == "dask":  # without importing dask
        from .dask_exposures import dask_session_exposures

        return dask_session_exposures(log, injuries)
    checked = _check_log(log, "session_exposures")
    frame = checked.frame
    longest = _longest_before(checked, WINDOW_DAYS * DAY_NS)
    distance = frame["distance_km"].to_numpy(dtype=float)
    ratio = distance / longest - 1  # NaN where there is no run in the window
    frame["longest_30d_km"] = longest
    frame["session_ratio"] = ratio
    frame["session_state"] = spike_state(ratio)
    missing = np.isnan(ratio)
    counts = {"runs": len(frame), "runs_missing_session_state": int(missing.sum())}
    if injuries is None:
        frame.attrs = {**checked.frame.attrs, "notes": _notes(counts), "counts": counts}
        return frame

    first = pd.Series(checked.first.view("datetime64[ns]"), index=checked.runners)
    last = pd.Series(checked.last.view("datetime64[ns]"), index=checked.runners)
    risk = follow_up(first, last, injuries, caller="session_exposures")
    codes, t = checked.codes, checked.t
    origin = risk["origin"].to_numpy().view("int64")[codes]
    end = risk["end"].to_numpy().view("int64")[codes]
    keep = t < end
    next_start = np.r_[t[1:], np.iinfo(np.int64).max]
    next_start[checked.block[1:] - 1] = np.iinfo(np.int64).max  # a runner's last run
    stop = np.minimum(next_start, end)
    last_kept = keep & ~np.r_[keep[1:], False]
    last_kept[checked.block[1:] - 1] = keep[checked.block[1:] - 1]
    reason = risk["end_reason"].cat.codes.to_numpy()[codes]
    frame["start_day"] = (t - origin) / DAY_NS
    frame["stop_day"] = (stop - origin) / DAY_NS
    frame["event"] = (last_kept & (reason == 0)).astype(np.int64)
    frame["end_reason"] = pd.Categorical.from_codes(
        np.where(last_kept, reason, -1), categories=list(END_REASONS)
    )
    result = frame[keep].reset_index(drop=True)
    if not (result["stop_day"] > result["start_day"]).all():  # pragma: no cover - invariant
        raise AssertionError("session_exposures: a row with stop_day <= start_day")

    dropped = int((~keep).sum())
    at_risk = (result["stop_day"] - result["start_day"]).to_numpy()
    unset = result["session_state"].isna().to_numpy()
    counts = {
        **risk.attrs["counts"],
        "runs": len(result),
        "runs_after_end_of_risk": dropped,
        "runs_missing_session_state": int(unset.sum()),
        "person_days": float(at_risk.sum()),
        "person_days_missing_session_state": float(at_risk[unset].sum()),
    }
    notes = _notes(counts, risk.attrs["notes"])
    result.attrs = {**checked.frame.attrs, "notes": notes, "counts": counts}
    return result


def _notes(counts: dict, risk_notes: list[str] | None = None) -> list[str]:
    """The notes of :func:`session_exposures`, made from its counts (and, with injuries, time
    at risk's notes): one wording for the in-memory and the Dask versions."""
    if risk_notes is None:
        return [
            f"{counts['runs_missing_session_state']:,} of {counts['runs']:,} runs have no run "
            f"in the {WINDOW_DAYS} days before them: session_state missing."
        ]
    notes = [
        *risk_notes,
        f"{counts['runs_missing_session_state']:,} of {counts['runs']:,} runs at risk have no "
        f"run in the {WINDOW_DAYS} days before them: session_state missing, "
        f"{counts['person_days_missing_session_state']:,.1f} of {counts['person_days']:,.1f} "
        "person-days not at risk for this exposure.",
    ]
    if counts["runs_after_end_of_risk"]:
        notes.append(
            f"{counts['runs_after_end_of_risk']:,} runs at or after the end of their runner's "
            "time at risk left out."
        )
    return notes
