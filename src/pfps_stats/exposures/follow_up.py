"""Time at risk, shared by the session and the weekly exposures.

:func:`follow_up` decides, once per runner, where time starts (the first run), where time at
risk ends (the first PFP onset, another injury, or the end of follow-up) and why, and notes
every injury it did not count. The checks of the two input frames (a training log as
``ps.load_training_log`` returns it, injuries as ``ps.load_injuries`` returns them) live here
too, so both exposure functions refuse bad input with the same messages.

Definitions (docs/training-load.md, "Time at risk"):

- time is in days since the runner's first run; an injury's onset is placed at the **end** of
  its onset day (runs on that day come before it);
- at risk ends at the earliest of the first PFP onset (``event = 1``), the onset of another
  injury (censored) and the end of follow-up: the end of the ``follow_up_end`` day, or, when
  none is given, the end of the day of the runner's last run, or the first injury if later.
  On a tie a PFP onset wins over another injury, and an injury over the end of follow-up;
- injuries before the runner's first run, after their ``follow_up_end`` and of runners absent
  from the log are not counted, and are noted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._exceptions import DataValidationError
from ..cohort.validation import problem_frame
from ..cohort.variables import OUTCOME

#: One day in nanoseconds: the unit of ``start_day`` and ``stop_day``.
DAY_NS = 86_400 * 10**9

#: Why time at risk ended, in the order ties are broken: a PFP onset (the event), another
#: injury (censored), the end of follow-up (censored).
END_REASONS: tuple[str, ...] = (OUTCOME, "other injury", "end of follow-up")

#: Columns of a training log that the exposures need, and those carried through when present.
LOG_REQUIRED = ("runner_id", "start", "distance_km")
LOG_KEPT = (
    "runner_id",
    "start",
    "distance_km",
    "duration_min",
    "source_file",
    "source_row",
    "data_source",  # "SYNTHETIC" on simulated logs: the label travels with the data
)

#: Columns of an injuries table that time at risk needs.
INJURY_REQUIRED = ("runner_id", "onset", OUTCOME)

_LOAD_LOG = (
    "load the log with ps.load_training_log(path), which returns runner_id, start (datetime), "
    "distance_km and duration_min, sorted by runner and start, without duplicate sessions"
)
_LOAD_INJURIES = (
    "load the injuries with ps.load_injuries(path), which returns runner_id, onset (date), "
    "diagnosis, pfp (True/False) and follow_up_end"
)
_MAX_LISTED = 10


def _listing(ids) -> str:
    ids = [str(i) for i in ids]
    shown = ", ".join(ids[:_MAX_LISTED])
    return shown + (f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else "")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


# ---------------------------------------------------------------------------------------------
# Checking the inputs


@dataclass(frozen=True)
class _Log:
    """A checked training log as arrays: one entry per run, sorted by runner then start."""

    frame: pd.DataFrame  # the kept columns, fresh RangeIndex (a copy: the input is untouched)
    codes: np.ndarray  # runner number of each run, 0..n_runners-1, non-decreasing
    t: np.ndarray  # start of each run, int64 nanoseconds (naive wall-clock time)
    runners: pd.Index  # runner ids in log order
    block: np.ndarray  # index of each runner's first run (n_runners + 1 entries, last = n_runs)

    @property
    def first(self) -> np.ndarray:
        """Start of each runner's first run (int64 ns)."""
        return self.t[self.block[:-1]]

    @property
    def last(self) -> np.ndarray:
        """Start of each runner's last run (int64 ns)."""
        return self.t[self.block[1:] - 1]


def _rows(frame: pd.DataFrame) -> np.ndarray:
    """Row numbers for problems: ``source_row`` when the frame has it, else 1, 2, ..."""
    source_row = frame.get("source_row")
    if (
        source_row is not None
        and pd.api.types.is_integer_dtype(source_row)
        and not source_row.isna().any()
    ):
        return source_row.to_numpy(dtype=np.int64)
    return np.arange(1, len(frame) + 1)


def _row_problems(rows: np.ndarray, mask: np.ndarray, column: str, values, problem: str, fix: str):
    where = np.flatnonzero(mask)
    if not len(where):
        return []
    shown = pd.Series(values).iloc[where].astype(object).tolist()
    return [
        {"row": int(rows[i]), "column": column, "value": v, "problem": problem, "fix": fix}
        for i, v in zip(where, shown, strict=True)
    ]


def _column_problem(column: str, problem: str, fix: str) -> dict:
    return {"row": None, "column": column, "value": None, "problem": problem, "fix": fix}


def _check_datetime(frame: pd.DataFrame, column: str, fix: str) -> dict | None:
    dtype = frame[column].dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _column_problem(
            column,
            f"{column} has a time zone ({dtype.tz}); the exposures work on naive local time",
            f"convert it: frame[{column!r}] = frame[{column!r}].dt.tz_convert(<local zone>)"
            f".dt.tz_localize(None); or {fix}",
        )
    if not pd.api.types.is_datetime64_dtype(dtype):
        return _column_problem(
            column,
            f"{column} is not a datetime column (dtype {dtype})",
            f"parse it with pd.to_datetime, or {fix}",
        )
    return None


def _as_ns(values: pd.Series, column: str, source: str) -> np.ndarray:
    try:
        return values.astype("datetime64[ns]").to_numpy().view("int64")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        raise DataValidationError(
            problem_frame(
                [
                    _column_problem(
                        column,
                        f"{column} has dates outside 1677-2262",
                        "check the dates; they are likely misread",
                    )
                ]
            ),
            source=source,
        ) from None


def _check_log(log: pd.DataFrame, caller: str) -> _Log:
    """Check a training log and return it as arrays; raise DataValidationError otherwise."""
    source = f"{caller}: the training log"
    if not isinstance(log, pd.DataFrame):
        raise TypeError(
            f"{caller} needs the training log as a pandas DataFrame, not "
            f"{type(log).__name__}; {_LOAD_LOG}."
        )
    missing = [c for c in LOG_REQUIRED if c not in log.columns]
    if missing:
        raise DataValidationError(
            problem_frame(
                _column_problem(c, f"the log has no {c!r} column", _LOAD_LOG) for c in missing
            ),
            source=source,
        )
    if len(log) == 0:
        raise DataValidationError(
            problem_frame(
                [
                    _column_problem(
                        "start", "the log has no runs", f"check the file, then {_LOAD_LOG}"
                    )
                ]
            ),
            source=source,
        )
    problems = []
    problem = _check_datetime(log, "start", _LOAD_LOG)
    if problem:
        problems.append(problem)
    for column in ("distance_km", "duration_min"):
        if column in log and (
            not pd.api.types.is_numeric_dtype(log[column])
            or pd.api.types.is_bool_dtype(log[column])
        ):
            problems.append(
                _column_problem(
                    column,
                    f"{column} is not numeric (dtype {log[column].dtype})",
                    f"convert it with pd.to_numeric, or {_LOAD_LOG}",
                )
            )
    if problems:
        raise DataValidationError(problem_frame(problems), source=source)

    rows = _rows(log)
    runner = log["runner_id"]
    start = log["start"]
    distance = log["distance_km"].to_numpy(dtype=float, na_value=np.nan)
    missing_runner = runner.isna().to_numpy()
    missing_start = start.isna().to_numpy()
    bad_distance = ~(np.isfinite(distance) & (distance > 0))
    problems += _row_problems(
        rows, missing_runner, "runner_id", runner, "runner_id is missing", _LOAD_LOG
    )
    problems += _row_problems(rows, missing_start, "start", start, "start is missing", _LOAD_LOG)
    problems += _row_problems(
        rows,
        bad_distance,
        "distance_km",
        log["distance_km"],
        "distance_km is missing, zero, negative or not finite",
        _LOAD_LOG,
    )
    if problems:
        raise DataValidationError(problem_frame(problems), source=source)

    t = _as_ns(start, "start", source)
    # Blocks of equal adjacent runner ids (cheaper than hashing every id); a runner whose id
    # starts a second block has runs that are not together.
    # (na_value: with a nullable string dtype, e.g. string[pyarrow] from Dask or Parquet, the
    # first row compares with NA)
    new_block = runner.ne(runner.shift()).to_numpy(dtype=bool, na_value=True, copy=True)
    new_block[0] = True
    starts = np.flatnonzero(new_block)
    runners = pd.Index(runner.iloc[starts].to_numpy(), dtype=runner.dtype)
    scattered = np.zeros(len(t), dtype=bool)
    scattered[starts[runners.duplicated()]] = True
    codes = np.cumsum(new_block, dtype=np.int64) - 1
    same = ~new_block[1:]
    step = np.diff(t)
    backwards = np.r_[False, same & (step < 0)]
    duplicate = np.r_[False, same & (step == 0)]
    sort_fix = (
        "sort the log by runner and start: log.sort_values(['runner_id', 'start'], "
        f"ignore_index=True); or {_LOAD_LOG}"
    )
    problems += _row_problems(
        rows,
        scattered,
        "runner_id",
        runner,
        "this runner's runs are not together (the log is not sorted by runner)",
        sort_fix,
    )
    problems += _row_problems(
        rows, backwards, "start", start, "this run starts before the run above it", sort_fix
    )
    problems += _row_problems(
        rows,
        duplicate,
        "start",
        start,
        "duplicate session: same runner and start as the run above it",
        f"remove the duplicate; {_LOAD_LOG} (it reports duplicates and can quarantine them)",
    )
    if problems:
        raise DataValidationError(problem_frame(problems), source=source)

    kept = [c for c in LOG_KEPT if c in log.columns]
    frame = log[kept].reset_index(drop=True)  # a new frame: the caller's log is not modified
    # The loader's notes and counts describe the log, not the exposures; other attrs (the
    # truth of a SYNTHETIC log) travel on.
    frame.attrs = {k: v for k, v in frame.attrs.items() if k not in ("notes", "counts")}
    block = np.r_[starts, len(t)]
    return _Log(frame=frame, codes=codes, t=t, runners=runners, block=block)


@dataclass(frozen=True)
class _Injuries:
    """Checked injuries: one entry per row with an onset; follow-up ends per runner id."""

    runner_id: np.ndarray  # object array
    onset_end: np.ndarray  # int64 ns: end of the onset day
    pfp: np.ndarray  # bool
    follow_up_end: pd.Series  # per runner id: end of the follow_up_end day (int64 ns)


def _check_injuries(injuries: pd.DataFrame, caller: str) -> _Injuries:
    source = f"{caller}: the injuries"
    if not isinstance(injuries, pd.DataFrame):
        raise TypeError(
            f"{caller} needs injuries as a pandas DataFrame (or None), not "
            f"{type(injuries).__name__}; {_LOAD_INJURIES}."
        )
    missing = [c for c in INJURY_REQUIRED if c not in injuries.columns]
    if missing:
        raise DataValidationError(
            problem_frame(
                _column_problem(c, f"the injuries have no {c!r} column", _LOAD_INJURIES)
                for c in missing
            ),
            source=source,
        )
    problems = []
    for column in ("onset", "follow_up_end"):
        if column in injuries:
            problem = _check_datetime(injuries, column, _LOAD_INJURIES)
            if problem:
                problems.append(problem)
    outcome = injuries[OUTCOME]
    if problems:
        raise DataValidationError(problem_frame(problems), source=source)

    rows = _rows(injuries)
    onset = injuries["onset"]
    if pd.api.types.is_bool_dtype(outcome) or pd.api.types.is_numeric_dtype(outcome):
        flag = outcome.to_numpy(dtype=float, na_value=np.nan)
    else:  # True/False (or 1/0) in an object column; anything else is a problem below
        values = outcome.astype(object)
        flag = np.where(values.isin([True]), 1.0, np.where(values.isin([False]), 0.0, np.nan))
    bad_flag = ~np.isin(flag, [0.0, 1.0])
    problems += _row_problems(
        rows,
        injuries["runner_id"].isna().to_numpy(),
        "runner_id",
        injuries["runner_id"],
        "runner_id is missing",
        _LOAD_INJURIES,
    )
    problems += _row_problems(
        rows,
        bad_flag,
        OUTCOME,
        outcome,
        f"{OUTCOME} is missing or not True/False",
        _LOAD_INJURIES,
    )
    undated = flag == 1  # a PFP, or any diagnosis, without an onset cannot be placed in time
    if "diagnosis" in injuries:
        diagnosis = injuries["diagnosis"].astype(object)
        undated |= (diagnosis.notna() & (diagnosis.astype(str).str.strip() != "")).to_numpy()
    problems += _row_problems(
        rows,
        undated & onset.isna().to_numpy(),
        "onset",
        onset,
        "an injury without an onset date cannot be placed in time",
        f"give its onset date (a row without one may only give a follow_up_end), or "
        f"{_LOAD_INJURIES}",
    )
    if "follow_up_end" in injuries:
        end = injuries["follow_up_end"]
        distinct = end.groupby(injuries["runner_id"], sort=False).transform("nunique")
        problems += _row_problems(
            rows,
            (distinct > 1).to_numpy(),
            "follow_up_end",
            end,
            "this runner has more than one follow_up_end",
            "give one follow_up_end per runner (the same on each of their rows)",
        )
    if problems:
        raise DataValidationError(problem_frame(problems), source=source)

    def day_end(values: pd.Series, column: str) -> np.ndarray:
        ns = _as_ns(values, column, source)
        return (ns // DAY_NS + 1) * DAY_NS  # the end of the day (the next midnight)

    has_onset = onset.notna().to_numpy()
    if "follow_up_end" in injuries:
        given = injuries["follow_up_end"].notna().to_numpy()
        follow = pd.Series(
            day_end(injuries["follow_up_end"][given], "follow_up_end"),
            index=injuries["runner_id"][given].to_numpy(),
        )
        follow = follow[~follow.index.duplicated()]
    else:
        follow = pd.Series([], dtype=np.int64)
    return _Injuries(
        runner_id=injuries["runner_id"].to_numpy(dtype=object)[has_onset],
        onset_end=day_end(onset[has_onset], "onset"),
        pfp=(flag == 1)[has_onset],
        follow_up_end=follow,
    )


# ---------------------------------------------------------------------------------------------
# Time at risk


def follow_up(
    first_run: pd.Series, last_run: pd.Series, injuries: pd.DataFrame, *, caller: str = "follow_up"
) -> pd.DataFrame:
    """Return each runner's time at risk: where it starts, where it ends, and why.

    Parameters
    ----------
    first_run, last_run : Series of datetime64
        Start of each runner's first and last run, indexed by ``runner_id`` (the log's
        runners, each once).
    injuries : DataFrame
        As ``ps.load_injuries`` returns it: ``runner_id``, ``onset`` (date; NaT on a row that
        only gives a follow-up end), ``pfp`` (bool), optionally ``follow_up_end`` (one date
        per runner) and ``diagnosis``. Not modified.
    caller : str
        The function named in error messages.

    Returns
    -------
    DataFrame
        Indexed by ``runner_id`` in the order of ``first_run``, with columns ``origin`` (the
        first run's start: day 0), ``end`` (end of time at risk, datetime64[ns]; equal to
        ``origin`` for a runner with no time at risk), ``end_day`` (days since ``origin``),
        ``end_reason`` (one of :data:`END_REASONS`, missing for a runner with no time at risk)
        and ``follow_up_given`` (bool). ``.attrs["notes"]`` (list of str) says what was not
        counted and why; ``.attrs["counts"]`` holds the same numbers by name. Checked on
        hand-made cases for every end of time at risk (tests/exposures/test_follow_up.py).
    """
    runners = pd.Index(first_run.index)
    first = _as_ns(first_run.reset_index(drop=True), "start", caller)
    last = _as_ns(last_run.reindex(runners).reset_index(drop=True), "start", caller)
    inj = _check_injuries(injuries, caller)
    n = len(runners)
    big = np.iinfo(np.int64).max

    code = runners.get_indexer(pd.Index(inj.runner_id, dtype=object))
    if len(code) and not (code >= 0).any():
        raise DataValidationError(
            problem_frame(
                [
                    _column_problem(
                        "runner_id",
                        f"none of the {len(set(inj.runner_id))} runners with an injury is in the "
                        f"training log (e.g. {inj.runner_id[0]!r}; log: {runners[0]!r})",
                        "use the same runner ids (same spelling and type, text or number) in "
                        "both files",
                    )
                ]
            ),
            source=f"{caller}: the injuries",
        )
    absent = code < 0
    safe = np.where(absent, 0, code)

    follow_given = np.zeros(n, dtype=bool)
    follow_end = np.full(n, big, dtype=np.int64)
    fcode = runners.get_indexer(pd.Index(inj.follow_up_end.index, dtype=object))
    found = fcode >= 0
    absent_ids = pd.unique(
        np.r_[inj.runner_id[absent], inj.follow_up_end.index.to_numpy(dtype=object)[~found]]
    )
    follow_given[fcode[found]] = True
    follow_end[fcode[found]] = inj.follow_up_end.to_numpy()[found]

    before_first = ~absent & (inj.onset_end <= first[safe])
    after_follow = ~absent & ~before_first & (inj.onset_end > follow_end[safe])
    counted = ~absent & ~before_first & ~after_follow

    first_pfp = np.full(n, big, dtype=np.int64)
    first_other = np.full(n, big, dtype=np.int64)
    np.minimum.at(first_pfp, code[counted & inj.pfp], inj.onset_end[counted & inj.pfp])
    np.minimum.at(first_other, code[counted & ~inj.pfp], inj.onset_end[counted & ~inj.pfp])
    first_injury = np.minimum(first_pfp, first_other)
    last_day_end = (last // DAY_NS + 1) * DAY_NS
    default_end = np.where(first_injury < big, np.maximum(last_day_end, first_injury), last_day_end)
    end_follow = np.where(follow_given, follow_end, default_end)

    reason = np.full(n, 2, dtype=np.int8)  # end of follow-up
    reason[first_other <= end_follow] = 1  # another injury
    reason[first_pfp <= np.minimum(first_other, end_follow)] = 0  # PFP wins ties
    end = np.minimum(np.minimum(first_pfp, first_other), end_follow)
    no_time = end <= first
    end = np.where(no_time, first, end)
    reason[no_time] = -1

    extended = ~follow_given & ~no_time & (reason < 2) & (end > last_day_end)
    # With a follow_up_end, an injury after the last run ends a stretch of time with no run:
    # counted (the last run's state holds until it), and said, as the issue asks.
    after_last = follow_given & ~no_time & (reason < 2) & (end > last_day_end)
    ended_by_injury = (reason == 0) | (reason == 1)
    later = counted & (inj.onset_end >= end[safe])
    # the injury that ended time at risk is not "later"; at most one per runner is that one
    n_later = int(later.sum()) - int(ended_by_injury.sum())

    result = pd.DataFrame(
        {
            "origin": first.view("datetime64[ns]"),
            "end": end.view("datetime64[ns]"),
            "end_day": (end - first) / DAY_NS,
            "end_reason": pd.Categorical.from_codes(reason, categories=list(END_REASONS)),
            "follow_up_given": follow_given,
        },
        index=runners,
    )
    counts = {
        "injuries": len(inj.onset_end),
        "injuries_in_follow_up": int(counted.sum()),
        "injuries_absent_runner": int(absent.sum()),
        "injuries_before_first_run": int(before_first.sum()),
        "injuries_after_follow_up_end": int(after_follow.sum()),
        "injuries_after_last_run_counted": int(extended.sum() + after_last.sum()),
        "injuries_after_end_of_risk": n_later,
        "runners": n,
        "runners_absent_from_log": len(absent_ids),
        "runners_without_injury": int((reason == 2).sum()),
        "runners_without_time_at_risk": int(no_time.sum()),
        "events": int((reason == 0).sum()),
        "censored_other_injury": int((reason == 1).sum()),
        "censored_end_of_follow_up": int((reason == 2).sum()),
    }
    ids = pd.Series(inj.runner_id)
    notes = [
        f"Time at risk of {_plural(n, 'runner')}: {_plural(counts['events'], 'PFP onset')} "
        f"(event = 1); {counts['censored_other_injury']:,} censored at another injury, "
        f"{counts['censored_end_of_follow_up']:,} at the end of follow-up."
    ]
    if len(absent_ids):
        notes.append(
            f"{_plural(len(absent_ids), 'runner')} of the injuries table absent from the "
            f"training log ({_listing(absent_ids)}): their "
            f"{_plural(int(absent.sum()), 'injury', 'injuries')} not counted."
        )
    if before_first.any():
        notes.append(
            f"{_plural(int(before_first.sum()), 'injury', 'injuries')} before the runner's first "
            f"run not counted ({_listing(ids[before_first].unique())})."
        )
    if after_follow.any():
        notes.append(
            f"{_plural(int(after_follow.sum()), 'injury', 'injuries')} after the runner's "
            f"follow_up_end not counted ({_listing(ids[after_follow].unique())})."
        )
    if extended.any():
        notes.append(
            f"{_plural(int(extended.sum()), 'injury', 'injuries')} after the runner's last run "
            "counted: with no follow_up_end, follow-up runs to that injury, and the weeks "
            f"between count as 0 km ({_listing(runners[extended])})."
        )
    if after_last.any():
        notes.append(
            f"{_plural(int(after_last.sum()), 'injury', 'injuries')} after the runner's last run "
            "(and before their follow_up_end) counted: the last run's state holds until the "
            f"onset ({_listing(runners[after_last])})."
        )
    if n_later:
        notes.append(
            f"{_plural(n_later, 'injury', 'injuries')} after the end of a runner's time at risk "
            "not counted: only the first PFP or other injury ends it."
        )
    if counts["runners_without_injury"]:
        notes.append(
            f"{_plural(counts['runners_without_injury'], 'runner')} without an injury during "
            "follow-up: censored at the end of follow-up (their follow_up_end, or the end of "
            "the day of their last run)."
        )
    if no_time.any():
        notes.append(
            f"{_plural(int(no_time.sum()), 'runner')} with follow_up_end before their first "
            f"run have no time at risk; their runs are left out ({_listing(runners[no_time])})."
        )
    result.attrs["notes"] = notes
    result.attrs["counts"] = counts
    return result
