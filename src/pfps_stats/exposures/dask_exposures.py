"""Session and weekly exposures of a training log held in a Dask DataFrame, per runner.

``ps.session_exposures(log)`` and ``ps.weekly_exposures(log)`` come here when ``log`` is a
Dask DataFrame, e.g. ``dask.dataframe.read_parquet("training_log/*.parquet")``. Both
exposures are computed runner by runner, so a log **partitioned by runner** (each runner's runs
in one partition, in order of start) is computed partition by partition with the in-memory
functions, unchanged; only time at risk (one row per runner) and the accounting are gathered.

1. One pass runs the in-memory function on every partition (with the injuries of that
   partition's runners) and brings back only each runner's first and last run and the
   partition's counts. It checks that no runner has runs in two partitions (divisions are not
   trusted: the data are read), and a partition that fails validation is read again on the
   client to raise the in-memory function's own :class:`~pfps_stats.DataValidationError`.
2. Time at risk is decided once for all runners (:func:`~pfps_stats.exposures.follow_up.
   follow_up`), so its notes and counts (injuries of runners absent from the log, injuries
   before the first run, ...) are those of the whole log; the other counts are summed over the
   partitions and the notes are written from the totals by the same code as in memory.
3. The rows are returned lazily: a Dask DataFrame with one output partition per input
   partition (so still partitioned by runner, ready for ``ps.fit_logistic(...,
   cluster="runner_id")``). Computing it runs the exposures a second time; ``persist()`` it if
   it fits the cluster's memory.

Checked against the in-memory functions on the demo log (``ps.load_demo_training()``), with
and without injuries: the same rows and values, notes and counts
(``tests/exposures/test_dask_exposures.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._exceptions import DataValidationError
from .._format import fit_html
from ..cohort.validation import problem_frame
from . import sessions, weeks
from .follow_up import _LOAD_LOG, LOG_REQUIRED, _check_injuries, _column_problem, follow_up

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd


@dataclass(frozen=True)
class DaskExposures:
    """Exposures of a Dask training log: the rows (lazy) and their accounting (computed).

    Attributes
    ----------
    frame : dask.dataframe.DataFrame
        The rows the in-memory function returns, one output partition per input partition
        (each partition's index starts at 0; :meth:`compute` gives a fresh RangeIndex).
    notes : tuple of str
        What the in-memory function's ``attrs["notes"]`` say for the whole log.
    counts : mapping
        Its ``attrs["counts"]`` for the whole log.
    n_partitions : int
    """

    frame: dd.DataFrame
    notes: tuple[str, ...]
    counts: Mapping[str, float]
    n_partitions: int

    def compute(self) -> pd.DataFrame:
        """The rows as one pandas DataFrame (fresh RangeIndex) with ``attrs["notes"]`` and
        ``attrs["counts"]``, as the in-memory function returns them."""
        out = self.frame.compute().reset_index(drop=True)
        out.attrs = {"notes": list(self.notes), "counts": dict(self.counts)}
        return out

    def __repr__(self) -> str:
        lines = [
            f"DaskExposures: {self.frame.npartitions} partitions, columns "
            f"{', '.join(map(str, self.frame.columns))}",
            *(f"- {note}" for note in self.notes),
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The exposures as HTML for JupyterLab: what they are (lazy rows in partitions), the
        notes for the whole log and its accounting with readable names. Every text is
        escaped. Whether the rows are SYNTHETIC is not shown (it would need the rows: see
        ``compute()`` and :func:`~pfps_stats.is_synthetic`)."""
        header = (
            f"Exposures of a Dask training log: {self.frame.npartitions} partitions, rows "
            f"computed on demand (.compute() gives the pandas DataFrame)\ncolumns: "
            f"{', '.join(map(str, self.frame.columns))}"
        )
        counts = pd.DataFrame(
            {
                "Count": [
                    key.replace("_", " ").replace("person days", "person-days").capitalize()
                    for key in self.counts
                ],
                "Whole log": [_count_text(v) for v in self.counts.values()],
            }
        )
        table = counts.to_html(index=False, escape=True) if len(counts) else ""
        return fit_html(header, self.notes, table)


def _count_text(value) -> str:
    """A count as "43,160", a time as "83,028.4", a missing value as "-"."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "-"
    return f"{int(v):,}" if v.is_integer() else f"{v:,.1f}"


def dask_session_exposures(
    log: dd.DataFrame, injuries: pd.DataFrame | None = None
) -> DaskExposures:
    """:func:`~pfps_stats.session_exposures` of a Dask training log partitioned by runner.

    Parameters
    ----------
    log : dask.dataframe.DataFrame
        As the in-memory log (``runner_id``, ``start``, ``distance_km``, ...), each runner's
        runs in one partition and in order of start; ``runner_id`` may be the index (as after
        ``log.set_index("runner_id")``). Divisions need not be known.
    injuries : DataFrame, optional
        A pandas DataFrame, as for the in-memory function (one row per injury: small).

    Returns
    -------
    DaskExposures
        ``frame`` (lazy rows), ``notes`` and ``counts`` (computed for the whole log);
        ``.compute()`` equals ``session_exposures(log.compute(), injuries)``, attrs included
        (except attrs the log itself carries, which a Dask DataFrame has not).

    Raises
    ------
    DataValidationError
        As the in-memory function (naming the partition), and when a runner's runs lie in two
        partitions (with the fix).
    """
    return _exposures(log, injuries, "session_exposures", {})


def dask_weekly_exposures(
    log: dd.DataFrame, injuries: pd.DataFrame | None = None, week_start: str = "monday"
) -> DaskExposures:
    """:func:`~pfps_stats.weekly_exposures` of a Dask training log partitioned by runner.

    Parameters and result as :func:`dask_session_exposures`; ``week_start`` as the in-memory
    function. ``.compute()`` equals ``weekly_exposures(log.compute(), injuries, week_start)``.
    """
    weeks._weekday(week_start)  # a bad week_start fails before any data are read
    return _exposures(log, injuries, "weekly_exposures", {"week_start": week_start})


_FUNCTIONS = {
    "session_exposures": sessions.session_exposures,
    "weekly_exposures": weeks.weekly_exposures,
}


def _exposures(log, injuries, caller: str, kwargs: dict) -> DaskExposures:
    import dask
    import dask.dataframe as dd

    if not isinstance(log, dd.DataFrame):
        raise TypeError(
            f"{caller} needs the training log as a pandas or Dask DataFrame, not "
            f"{type(log).__name__}; {_LOAD_LOG}."
        )
    meta = log._meta
    reset = meta.index.name == "runner_id" and "runner_id" not in meta.columns
    have = {*meta.columns, *(["runner_id"] if reset else [])}
    missing = [c for c in LOG_REQUIRED if c not in have]
    source = f"{caller}: the training log (Dask DataFrame)"
    if missing:
        raise DataValidationError(
            problem_frame(
                _column_problem(c, f"the log has no {c!r} column", _LOAD_LOG) for c in missing
            ),
            source=source,
        )
    if injuries is not None:
        if type(injuries).__module__.partition(".")[0] == "dask":
            raise TypeError(
                f"{caller} takes the injuries as a pandas DataFrame (one row per injury, "
                "small): pass injuries.compute()"
            )
        _check_injuries(injuries, caller)  # bad injuries fail once, before the log is read
    parts = log.to_delayed()
    shared = dask.delayed(injuries, pure=True) if injuries is not None else None
    tasks = [
        dask.delayed(_summarise, pure=True)(part, shared, caller, kwargs, reset) for part in parts
    ]
    summaries = list(dask.compute(*tasks))
    for k, summary in enumerate(summaries):
        if summary.get("invalid"):
            _raise_on_client(parts[k], k, len(parts), injuries, caller, kwargs, reset)
    filled = [s for s in summaries if s["runs"]]
    if not filled:
        raise DataValidationError(
            problem_frame(
                [
                    _column_problem(
                        "start", "the log has no runs", f"check the files, then {_LOAD_LOG}"
                    )
                ]
            ),
            source=source,
        )
    runners = _check_runners(filled, source)
    risk_counts: Mapping = {}
    risk_notes = None
    if injuries is not None:
        first = pd.Series(np.concatenate([s["first"] for s in filled]), index=runners)
        last = pd.Series(np.concatenate([s["last"] for s in filled]), index=runners)
        risk = follow_up(
            first.astype("datetime64[ns]"), last.astype("datetime64[ns]"), injuries, caller=caller
        )
        risk_counts, risk_notes = risk.attrs["counts"], risk.attrs["notes"]
    counts = {
        key: risk_counts[key] if key in risk_counts else _total(filled, key)
        for key in filled[0]["counts"]
    }
    if caller == "session_exposures":
        notes = sessions._notes(counts, risk_notes)
    else:
        with_weeks = sum(s["with_weeks"] for s in filled)
        weekday = weeks._weekday(kwargs["week_start"])
        notes = weeks._notes(counts, weekday, with_weeks, risk_notes)
    empty = filled[0]["meta"]
    frame = log.map_partitions(
        _partition, shared, caller, kwargs, reset, empty, meta=empty, align_dataframes=False
    )
    return DaskExposures(
        frame=frame,
        notes=tuple(notes),
        counts=MappingProxyType(counts),
        n_partitions=len(parts),
    )


def _total(summaries: list[dict], key: str):
    values = [s["counts"].get(key, 0) for s in summaries]
    return float(sum(values)) if any(isinstance(v, float) for v in values) else int(sum(values))


def _partition(
    part: pd.DataFrame,
    injuries: pd.DataFrame | None,
    caller: str,
    kwargs: dict,
    reset: bool,
    empty: pd.DataFrame | None = None,
    *,
    keep_attrs: bool = False,
) -> pd.DataFrame | None:
    """The in-memory exposures of one partition's runners (None or ``empty`` if it has no run);
    attrs dropped unless ``keep_attrs`` (the whole log's accounting is the client's)."""
    if reset:
        part = part.reset_index()
    if not len(part):
        return empty
    part = _plain_strings(part)
    if injuries is not None:
        injuries = injuries[injuries["runner_id"].isin(pd.unique(part["runner_id"]))]
    result = _FUNCTIONS[caller](part, injuries, **kwargs)
    if not keep_attrs:
        result.attrs = {}
    return result


def _plain_strings(part: pd.DataFrame) -> pd.DataFrame:
    """Text columns as pandas' default ``str`` dtype. Dask reads text as ``string[pyarrow]``,
    whose missing value is ``pd.NA``; the in-memory checks compare neighbouring runner ids and
    expect the default dtype's NaN."""
    fixes = {
        c: part[c].astype(pd.StringDtype(part[c].dtype.storage, na_value=np.nan))
        for c in part.columns
        if isinstance(part[c].dtype, pd.StringDtype) and part[c].dtype.na_value is pd.NA
    }
    return part.assign(**fixes) if fixes else part


def _summarise(part, injuries, caller: str, kwargs: dict, reset: bool) -> dict:
    """What the client needs of a partition: its runners' first and last runs and its counts."""
    try:
        result = _partition(part, injuries, caller, kwargs, reset, keep_attrs=True)
    except DataValidationError:  # it does not pickle: the client reproduces it
        return {"invalid": True}
    if result is None:
        return {"runs": 0}
    if reset:
        part = part.reset_index()
    part = _plain_strings(part)
    runner = part["runner_id"]
    new = runner.ne(runner.shift()).to_numpy(dtype=bool, copy=True)
    new[0] = True
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(part)] - 1
    t = part["start"].astype("datetime64[ns]").to_numpy()
    return {
        "runs": len(part),
        "runners": runner.iloc[starts].to_numpy(),
        "dtype": runner.dtype,
        "first": t[starts],
        "last": t[ends],
        "counts": dict(result.attrs["counts"]),
        "with_weeks": int(result["runner_id"].nunique()),
        "meta": _without_attrs(result.iloc[:0]),
    }


def _without_attrs(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.attrs = {}
    return out


def _raise_on_client(part, k: int, n_parts: int, injuries, caller, kwargs, reset) -> None:
    """Run the failing partition on the client to raise its own DataValidationError."""
    frame = part.compute()
    try:
        _partition(frame, injuries, caller, kwargs, reset)
    except DataValidationError as exc:
        exc.add_note(
            f"In partition {k} (of {n_parts}, counted from 0) of the Dask training log; rows "
            f"are its source_row when it has one, else counted within the partition."
        )
        raise
    raise AssertionError(  # pragma: no cover - the same partition, the same function
        f"{caller}: partition {k} failed validation on a worker but not on the client"
    )


def _check_runners(summaries: list[dict], source: str) -> pd.Index:
    """The runners in log order; a runner with runs in two partitions is refused."""
    ids = np.concatenate([np.asarray(s["runners"], dtype=object) for s in summaries])
    where = np.repeat(np.arange(len(summaries)), [len(s["runners"]) for s in summaries])
    index = pd.Index(ids, dtype=summaries[0]["dtype"])
    spanning = index.duplicated(keep=False)
    if spanning.any():
        first = index[spanning][0]
        partitions = sorted(set(where[np.asarray(index == first)].tolist()))
        n = int(pd.Index(index[spanning]).nunique())
        raise DataValidationError(
            problem_frame(
                [
                    _column_problem(
                        "runner_id",
                        f"runner {first!r} has runs in partitions "
                        f"{', '.join(map(str, partitions))} (of the non-empty ones, counted "
                        f"from 0), and {n} runner{'s' if n > 1 else ''} in all: the exposures "
                        f"are computed per partition, so each runner's runs must be in one "
                        f"partition (divisions are not trusted: this was read from the data)",
                        "partition the log by runner, runs in order of start: "
                        "log = log.shuffle('runner_id').map_partitions(lambda d: "
                        "d.sort_values(['runner_id', 'start'])), or write the files one set of "
                        "runners per file, each sorted by runner and start",
                    )
                ]
            ),
            source=source,
        )
    return index
