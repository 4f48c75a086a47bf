"""Training logs in: one row per run, from a GPS-watch export, a long table or a folder.

:func:`check_training_log` reads and validates a log and returns everything it found without
raising for bad rows; :func:`load_training_log` is the everyday entry point that raises
:class:`~pfps_stats.cohort.validation.DataValidationError` or sets bad rows aside. The
definitions are those of ``docs/training-load.md``, section 1.

Sources recognised:

- a long table (CSV, Excel, Parquet, or a DataFrame) with a runner id column (``runner_id``,
  ``athlete id``, ``id``, ...), a start (``start``, ``date``, ``start_time``, ...), a distance
  with its unit in the header (``distance_km``, ``Distance (mi)``, ``distance [m]``) and
  optionally a duration (``duration_min``, ``Moving time (s)``, or ``h:mm:ss`` values);
- Strava's bulk export ``activities.csv``, by its header;
- Garmin Connect's ``Activities.csv``, by its header;
- a folder of per-runner files of any of these kinds (only the ``activities.csv`` files when
  it holds any, as a Strava bulk export does beside its profile.csv, shoes.csv, ...).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import DataValidationError
from .columns import _split_unit
from .dates import FORMATS_HELP, MISSING_DATE_TOKENS, as_text, parse_dates
from .load import check_quarantine_path
from .readers import RawTable, read_frame, read_table
from .synthetic import SYNTHETIC_LABEL
from .units import UNITS, conversion_note, normalise, parse_unit
from .validation import CheckAccounting, problem_frame
from .variables import VARIABLES

#: Activity types counted as runs when ``activity_types`` is not given (compared ignoring
#: case, spaces, hyphens and underscores): Strava's and Garmin Connect's running types.
RUN_TYPES: tuple[str, ...] = (
    "Run",
    "Trail Run",
    "Virtual Run",
    "Treadmill",
    "Running",
    "Trail Running",
    "Treadmill Running",
    "Track Running",
    "Indoor Running",
    "Virtual Running",
    "Street Running",
    "Ultra Run",
)
#: A run longer than this (km) is a problem: beyond the longest single-stage ultramarathons
#: most cohorts will ever log, and far beyond a unit slip that went unnoticed.
MAX_RUN_KM = 250.0
#: Starts are local wall-clock times; a start counts as in the future only when it is later
#: than the current UTC time plus the widest time-zone offset (UTC+14).
FUTURE_SLACK = pd.Timedelta(hours=14)
#: Canonical names a ``mapping`` may target.
LOG_COLUMNS = ("runner_id", "start", "distance_km", "duration_min", "activity_type")
DISTANCE_UNITS = ("km", "mi", "m")
#: Duration units in minutes.
DURATION_UNITS = {"s": 1 / 60, "min": 1.0, "h": 60.0}
_DURATION_SPELLINGS = {
    normalise(spelling): unit
    for unit, spellings in {
        "s": ("s", "sec", "secs", "second", "seconds"),
        "min": ("min", "mins", "minute", "minutes"),
        "h": ("h", "hr", "hrs", "hour", "hours"),
    }.items()
    for spelling in spellings
}
#: File types read from a folder (a single file may be any type the cohort readers read).
FOLDER_SUFFIXES = {".csv", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq"}
#: File stems that name an export, not a runner: the runner is the folder's name.
GENERIC_STEMS = frozenset({"activities", "activity", "export", "summary"})
#: File names (compared in lower case) of Strava's and Garmin Connect's activity exports.
#: When a folder holds any, only files of these names are read: a Strava bulk export also
#: holds profile.csv, shoes.csv, bikes.csv, media.csv, goals.csv, clubs.csv, ...
EXPORT_NAMES = frozenset({"activities.csv"})
#: The other files of a Strava bulk export, skipped wherever they are in a folder that holds
#: activity exports.
STRAVA_OTHER_FILES = frozenset(
    {
        "profile.csv",
        "bikes.csv",
        "shoes.csv",
        "media.csv",
        "goals.csv",
        "clubs.csv",
        "comments.csv",
        "components.csv",
        "connected_apps.csv",
        "contacts.csv",
        "events.csv",
        "followers.csv",
        "following.csv",
        "global_challenges.csv",
        "group_challenges.csv",
        "logins.csv",
        "memberships.csv",
        "orders.csv",
        "posts.csv",
        "reactions.csv",
        "routes.csv",
        "segments.csv",
        "social_settings.csv",
        "support_tickets.csv",
        "email_preferences.csv",
        "general_preferences.csv",
        "blocks.csv",
        "applications.csv",
        "partner_opt_outs.csv",
        "visibility_settings.csv",
        "starred_routes.csv",
        "starred_segments.csv",
        "local_legend_segments.csv",
        "messaging.csv",
    }
)

_ID_KEYS = frozenset(
    normalise(a)
    for a in (
        VARIABLES["runner_id"].name,
        *VARIABLES["runner_id"].aliases,
        "runner id",
        "athlete",
        "athlete_id",
        "user id",
    )
)
_START_KEYS = frozenset(
    normalise(a)
    for a in (
        "start",
        "start time",
        "start date",
        "start datetime",
        "start date local",
        "start time local",
        "start local",
        "date",
        "datetime",
        "date time",
        "activity date",
        "timestamp",
        "run date",
        "session date",
        "session start",
    )
)
_TYPE_KEYS = frozenset(
    normalise(a) for a in ("activity type", "type", "sport", "sport type", "activity")
)
_DISTANCE_BASES = sorted(
    (normalise(a) for a in ("distance", "dist", "run distance", "total distance")),
    key=len,
    reverse=True,
)
# In order of preference: the first present gives duration_min, later ones fill its gaps.
_DURATION_BASES = [
    normalise(a)
    for a in ("moving time", "moving duration", "duration", "run duration", "elapsed time", "time")
]
_BARE_DISTANCE = {normalise(a): u for u in ("km", "mi") for a in UNITS[u].spellings}
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
_CLOCK = r"(?:(?P<h>\d+):)?(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:\.\d+)?)"


@dataclass(frozen=True)
class TrainingLogCheck(CheckAccounting):
    """Everything :func:`check_training_log` found.

    Attributes
    ----------
    data : DataFrame
        The accepted runs, as :func:`load_training_log` returns them.
    quarantined : DataFrame
        Rows with problems: ``source_file`` (for a folder), ``source_row``, ``reasons``, then
        the row's values as in the source (a repeated column name gets ``#2``).
    set_aside : DataFrame
        Activities that are not runs, laid out like ``quarantined`` (``reasons`` gives the
        type).
    problems : DataFrame
        Every problem: row, column, value, problem, fix. For a folder, ``column`` starts with
        the file (``"R001.csv: distance_km"``) and ``row`` counts within that file.
    notes : list of str
        What was read and done: counts, formats, conversions, time zones.
    n_input : int
        Rows read; ``len(data) + len(set_aside) + len(quarantined) == n_input``.
    source : str
    """

    data: pd.DataFrame
    quarantined: pd.DataFrame
    set_aside: pd.DataFrame
    problems: pd.DataFrame
    notes: list[str]
    n_input: int
    source: str


def load_training_log(
    path: str | os.PathLike | pd.DataFrame,
    mapping: Mapping[str, object] | None = None,
    on_invalid: Literal["raise", "quarantine"] = "raise",
    quarantine_path: str | os.PathLike | None = None,
    activity_types: Iterable[str] | None = None,
    dayfirst: bool | None = None,
    runners: Iterable[object] | None = None,
) -> pd.DataFrame:
    """Load a training log into one validated row per run.

    Parameters
    ----------
    path : path or DataFrame
        A file (CSV, Excel .xlsx, Parquet; a Strava ``activities.csv`` or Garmin Connect
        ``Activities.csv`` is recognised by its header), a DataFrame (not modified), or a
        folder of per-runner files, read with its sub-folders. The runner is the file's stem
        (``R001.csv``), or for a file with a generic name (``activities.csv``,
        :data:`GENERIC_STEMS`) the name of the folder holding it
        (``strava/site1/R001/activities.csv`` is runner ``R001``); a ``runner_id`` column in
        a file wins. Two files without such a column that would give the same runner id are
        an error. When the folder holds any activity export (named ``activities.csv``, in any
        case), only files of that name are read and the others are named in the notes as
        skipped (a Strava bulk export also holds profile.csv, shoes.csv, ...); otherwise every
        CSV, Excel and Parquet file is read. A file with a header but no data rows (a runner
        with no activities yet) gives no runs and is named in the notes; a single such file is
        an error.
    mapping : dict, optional
        ``{source column: target}``; target is one of ``runner_id``, ``start``,
        ``distance_km``, ``duration_min``, ``activity_type``, a pair ``(name, unit)`` (distance
        in km, mi or m; duration in s, min or h), or None to ignore the column. Example, for a
        Garmin export whose distances are in miles: ``{"Distance": ("distance_km", "mi")}``.
    on_invalid : {"raise", "quarantine"}
        "raise": any problem raises :class:`DataValidationError` listing all of them.
        "quarantine": rows with problems are written, as in the source with their reasons, to
        ``quarantine_path`` and a :class:`DataQualityWarning` gives the counts. Problems with
        a whole file or column (no distance unit, undecidable day/month order, no runs)
        raise either way.
    quarantine_path : path, optional
        CSV file for the quarantined rows; required with ``on_invalid="quarantine"``. Not the
        input file, nor inside an input folder.
    activity_types : iterable of str, optional
        The activity types that are runs (case, spaces and hyphens ignored); default
        :data:`RUN_TYPES`. Other activities are set aside and counted in the notes.
    dayfirst : bool, optional
        How to read numeric dates such as ``03/04/2025``: needed only when no value in the log
        decides the day/month order.
    runners : iterable, optional
        The known runner ids (e.g. a cohort's ``runner_id``); a run of any other runner is a
        problem.

    Returns
    -------
    DataFrame
        One row per run, sorted by ``runner_id`` then ``start``, with a fresh RangeIndex:
        ``runner_id`` (str), ``start`` (datetime64[ns], naive: local wall-clock time as
        exported, or UTC where the source is UTC or carried a zone, as the notes say; for a
        date without a time, midnight, and the k-th run of a runner on that date, counted
        from 0 in file order, k seconds after midnight),
        ``distance_km`` (float, > 0 and at most 250), ``duration_min`` (float; NaN when the
        source has none), ``activity_type`` (str; ``"Run"`` when the source has none),
        ``source_file`` (str; only for a folder) and ``source_row`` (int; 1 = first data row
        of its file). ``.attrs["notes"]`` lists what was read and done, as sentences.

    Raises
    ------
    DataValidationError
        With ``.problems`` (row, column, value, problem) for every problem found. Problems:
        a missing or unreadable start, ambiguous day/month dates without ``dayfirst``, a
        distance that is missing, not a number, zero or negative, or above 250 km, a distance
        column without a unit (Garmin's, or Strava's first ``Distance`` when the second, in
        metres, is absent), a start in the future, a duplicate session (same runner and start:
        the first copy is kept, later ones are problems naming it; for dates without a time
        of day the distance must match too), an unknown runner (with ``runners=``), an
        unreadable or negative duration, a missing activity type; in a folder, two files
        whose names give the same runner id, and files that cannot be read (each named by its
        path within the folder).
    ValueError
        For a bad ``on_invalid`` or ``quarantine_path``.

    Notes
    -----
    Every row read is accepted, set aside (not a run) or quarantined, and the counts add up
    to the rows read. When the source gives dates without times, several runs of one runner
    on one date are all kept (unless they are duplicates: same distance) with starts 1 s
    apart in file order, 00:00:00, 00:00:01, ..., so that ``(runner_id, start)`` is unique
    as the exposures require; the notes give how many runs this concerns. Strava writes
    ``Activity Date`` in UTC; Garmin Connect in the watch's local time; this is noted.
    Zone-aware values are converted to UTC and the zone dropped. Checked against hand-made
    exports of each kind in ``tests/cohort/test_training_log.py``.
    """
    _check_on_invalid(on_invalid, quarantine_path, path, "check_training_log")
    check = check_training_log(path, mapping, activity_types, dayfirst, runners)
    return check.settle(on_invalid, quarantine_path)


def _check_on_invalid(on_invalid, quarantine_path, path, check_name: str) -> None:
    if on_invalid not in ("raise", "quarantine"):
        raise ValueError(f'on_invalid must be "raise" or "quarantine", not {on_invalid!r}')
    if on_invalid != "quarantine":
        return
    if quarantine_path is None:
        raise ValueError(
            'on_invalid="quarantine" needs quarantine_path=..., a CSV file where the set-aside '
            f"rows are kept with their reasons; or use ps.{check_name}(...) to see them in "
            "memory."
        )
    check_log_quarantine_path(quarantine_path, path)


def check_log_quarantine_path(
    quarantine_path: str | os.PathLike, source: str | os.PathLike | pd.DataFrame
) -> Path:
    """Return ``quarantine_path`` as a Path when quarantined rows of ``source`` (a file,
    folder or DataFrame) can be written there.

    Raises
    ------
    ValueError
        As :func:`~pfps_stats.cohort.load.check_quarantine_path`, and when the path lies in
        the input folder (it would be read as a runner's log next time).
    """
    if not isinstance(source, pd.DataFrame) and Path(source).is_dir():
        target = Path(quarantine_path).resolve()
        if Path(source).resolve() in target.parents:
            raise ValueError(
                f"quarantine_path {str(quarantine_path)!r} is inside the input folder "
                f"{str(source)!r}; it would be read as a runner's log next time. Write it "
                f"elsewhere, e.g. {str(Path(source).resolve().parent / 'quarantine.csv')!r}"
            )
    return check_quarantine_path(quarantine_path, source)


def looks_like_training_log(columns: Iterable[str]) -> bool:
    """Whether a header is a training log's: a Strava or Garmin Connect export, or a table
    with a start column and a distance column."""
    columns = [str(c) for c in columns]
    keys = {normalise(c) for c in columns}
    if {"activityid", "activitydate", "activitytype"} <= keys:
        return True
    if {"activitytype", "date", "favorite", "title", "distance"} <= keys:
        return True
    roles = {hit[0] for hit in map(_identify, columns) if hit}
    return {"start", "distance_km"} <= roles


# ---------------------------------------------------------------------------------------------
# Reading: files, folders, and which column holds what


@dataclass
class _Part:
    """One file (or the DataFrame) of a log, and how its columns are read."""

    raw: RawTable
    label: str | None  # the file's path within the folder; None for a single file
    name_id: str | None  # the runner id given by the file or folder name
    kind: str = "table"
    roles: dict[str, int] = field(default_factory=dict)
    units: dict[str, str | None] = field(default_factory=dict)
    fallbacks: list[tuple[int, str | None]] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.raw.frame.columns)

    def column(self, role: str) -> str:
        """The source column of ``role`` as problems name it (prefixed by the file)."""
        pos = self.roles.get(role)
        name = self.names[pos] if pos is not None else role
        if pos is not None and self.names.count(name) > 1:
            nth = self.names[: pos + 1].count(name)
            name = f"{name} #{nth}"
        return self.where(name)

    def where(self, name: str) -> str:
        return f"{self.label}: {name}" if self.label else name


#: What a reader's problem says of a file with a header and no data rows (blank rows count
#: as none): in a folder, such a file (a runner with no activities yet) contributes no runs.
_HEADER_ONLY = "has a header but"


def _read_parts(
    source: str | os.PathLike | pd.DataFrame,
) -> tuple[list[_Part], str, bool, list[str]]:
    """The log's parts, the source's name, whether it is a folder, and notes on the files of a
    folder that were skipped or held no rows."""
    if isinstance(source, pd.DataFrame):
        return (
            [_Part(read_frame(source, keep_duplicate_names=True), None, None)],
            "DataFrame",
            False,
            [],
        )
    path = Path(source)
    if not path.is_dir():
        raw = read_table(path, keep_duplicate_names=True)
        return [_Part(raw, None, _runner_from_name(path))], raw.source, False, []
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in FOLDER_SUFFIXES
        and not any(part.startswith((".", "~$")) for part in p.relative_to(path).parts)
    )
    if not files:
        raise DataValidationError(
            problem_frame(
                [
                    {
                        "row": None,
                        "column": None,
                        "value": None,
                        "problem": f"the folder {str(path)!r} holds no training-log files "
                        f"({', '.join(sorted(FOLDER_SUFFIXES))})",
                        "fix": "give the folder of per-runner exports, or one file",
                    }
                ]
            ),
            source=path.name,
        )
    notes = []
    exports = [f for f in files if f.name.lower() in EXPORT_NAMES]
    if exports:
        # A Strava bulk export holds other files beside activities.csv (profile.csv with the
        # athlete's name and e-mail, shoes.csv, ...): those are skipped, never opened. Other
        # files elsewhere in the folder (R1.csv beside R9/activities.csv) are read.
        beside = {f.parent for f in exports}
        skip = [
            f
            for f in files
            if f not in exports and (f.parent in beside or f.name.lower() in STRAVA_OTHER_FILES)
        ]
        if skip:
            notes.append(
                f"Skipped {_count(len(skip), 'other file')} of activity-export folders (a "
                "Strava bulk export's profile.csv, shoes.csv, ...): they are not activity "
                "logs and were not opened."
            )
            files = [f for f in files if f not in skip]
    parts: list[_Part] = []
    empty: list[str] = []
    unreadable: list[dict] = []
    for file in files:
        rel = file.relative_to(path).as_posix()
        try:
            raw = read_table(file, keep_duplicate_names=True)
        except DataValidationError as exc:
            found = exc.problems.to_dict("records")
            if all(_HEADER_ONLY in str(p["problem"]) for p in found):
                empty.append(rel)
                continue
            for p in found:
                column = p["column"]
                unreadable.append(
                    {
                        **p,
                        "column": rel if column is None or pd.isna(column) else f"{rel}: {column}",
                        "fix": "correct the file, or move it out of the folder",
                    }
                )
            continue
        parts.append(_Part(raw, rel, _runner_from_name(file)))
    if unreadable:
        raise DataValidationError(problem_frame(unreadable), source=path.name)
    if not parts:
        raise DataValidationError(
            problem_frame(
                [
                    {
                        "row": None,
                        "column": None,
                        "value": None,
                        "problem": f"the folder {str(path)!r} holds no runs: every file has a "
                        f"header but no data rows ({', '.join(empty[:8])}"
                        + (f" and {len(empty) - 8} more" if len(empty) > 8 else "")
                        + ")",
                        "fix": "export the runners' activities again, or give the folder that "
                        "holds them",
                    }
                ]
            ),
            source=path.name,
        )
    notes += [f"{rel}: no data rows (a header only), so no runs from this file." for rel in empty]
    return parts, path.name, True, notes


def _runner_from_name(file: Path) -> str:
    """The runner id a file's name gives: for a generic name (activities.csv, ...,
    :data:`GENERIC_STEMS`) the name of the folder holding it, else the file's stem."""
    if file.stem.lower() in GENERIC_STEMS:
        return file.parent.name or file.resolve().parent.name or file.stem
    return file.stem


def _name_clashes(parts: list[_Part]) -> None:
    """Files without a runner id column whose names give the same runner id: a problem of
    each (their runs would be merged as one runner's)."""
    by_id: dict[str, list[_Part]] = {}
    for part in parts:
        if part.label is not None and "runner_id" not in part.roles:
            by_id.setdefault(part.name_id, []).append(part)
    for runner, group in by_id.items():
        if len(group) < 2:
            continue
        files = [p.label for p in group]
        shown = ", ".join(files[:-1]) + f" and {files[-1]}"
        for part in group:
            _col_problem(
                part,
                "runner_id",
                f"the runner id {runner!r} comes from the names of {len(files)} files: "
                f"{shown}; their runs would be merged as one runner's",
                "give each runner's export a folder of its own named after the runner (e.g. "
                "R001/activities.csv) or a file named after the runner (R001.csv), or add a "
                "runner_id column to the files",
            )


def _identify(header: str) -> tuple[str, str | None] | None:
    """(role, unit written in or implied by the header) of a long table's column, or None."""
    base, unit_text = _split_unit(header)
    key = normalise(base)
    if not key:
        return None
    if key in _ID_KEYS:
        return "runner_id", None
    if key in _START_KEYS:
        return "start", None
    if key in _TYPE_KEYS:
        return "activity_type", None
    for role, bases in (("distance_km", _DISTANCE_BASES), ("duration_min", _DURATION_BASES)):
        for b in bases:
            if key == b:
                if b == "time" and unit_text is None:
                    return None  # a bare "time" may be the time of day
                return role, unit_text
            if key.startswith(b):
                rest = key[len(b) :]
                for candidate in (rest, rest[2:] if rest.startswith("in") else ""):
                    if candidate and _unit_of(role, candidate):
                        return role, candidate
    if unit_text is None and key in _BARE_DISTANCE:
        return "distance_km", _BARE_DISTANCE[key]
    return None


def _unit_of(role: str, text: str | None) -> str | None:
    if text is None:
        return None
    if role == "distance_km":
        unit = parse_unit(text)
        return unit if unit in DISTANCE_UNITS else None
    return _DURATION_SPELLINGS.get(normalise(text))


def _col_problem(part: _Part, column: str, problem: str, fix: str, value=None) -> None:
    part.problems.append(
        {"row": None, "column": part.where(column), "value": value, "problem": problem, "fix": fix}
    )


def _detect(part: _Part, mapping: Mapping[str, object], used_keys: set) -> None:
    """Fill ``part.roles``/``units``/``fallbacks`` from the header and the mapping."""
    names = part.names
    for found in part.raw.problems:  # the reader's column problems (Excel formulas)
        if found["row"] is None:
            part.problems.append({**found, "column": part.where(str(found["column"]))})
    keys = [normalise(n) for n in names]
    keyset = set(keys)
    durations: list[tuple[int, str | None]] = []
    if {"activityid", "activitydate", "activitytype"} <= keyset:
        part.kind = "strava"
        part.roles["start"] = keys.index("activitydate")
        part.roles["activity_type"] = keys.index("activitytype")
        distance = [i for i, k in enumerate(keys) if k == "distance"]
        if len(distance) >= 2:
            part.roles["distance_km"], part.units["distance_km"] = distance[1], "m"
        elif distance:
            part.roles["distance_km"], part.units["distance_km"] = distance[0], None
        moving = [i for i, k in enumerate(keys) if k == "movingtime"]
        elapsed = [i for i, k in enumerate(keys) if k == "elapsedtime"]
        durations = [(i, "s") for i in moving[-1:] + elapsed[-1:]]
    elif {"activitytype", "date", "favorite", "title", "distance"} <= keyset:
        part.kind = "garmin"
        part.roles["start"] = keys.index("date")
        part.roles["activity_type"] = keys.index("activitytype")
        part.roles["distance_km"], part.units["distance_km"] = keys.index("distance"), None
        durations = [
            (keys.index(k), None) for k in ("movingtime", "time", "elapsedtime") if k in keyset
        ]
    found: dict[str, list[tuple[int, str | None]]] = {}
    mapped = {i for key in mapping for i in _positions(names, key)}
    for i, name in enumerate(names):
        if i in mapped or (part.kind != "table" and i in part.roles.values()):
            continue
        hit = _identify(name)
        if hit is None or (part.kind != "table" and hit[0] != "runner_id"):
            continue
        found.setdefault(hit[0], []).append((i, hit[1]))
    if part.kind == "table":
        durations = sorted(
            found.pop("duration_min", []),
            key=lambda d: next(
                j for j, b in enumerate(_DURATION_BASES) if normalise(names[d[0]]).startswith(b)
            ),
        )
    for role, hits in found.items():
        if len(hits) > 1:
            shown = ", ".join(repr(names[i]) for i, _ in hits)
            _col_problem(
                part,
                names[hits[1][0]],
                f"{len(hits)} columns hold {role}: {shown}",
                f"keep one; ignore the others with mapping={{{names[hits[1][0]]!r}: None}}",
            )
        part.roles[role] = hits[0][0]
        if role == "distance_km":
            part.units[role] = hits[0][1]
    _apply_mapping(part, mapping, durations, used_keys)
    if durations:
        part.roles["duration_min"] = durations[0][0]
        part.units["duration_min"] = durations[0][1]
        part.fallbacks = durations[1:]
    _resolve_units(part)
    _require(part)


def _apply_mapping(
    part: _Part, mapping: Mapping[str, object], durations: list, used_keys: set
) -> None:
    names = part.names
    for key, target in mapping.items():
        where = _positions(names, key)
        if not where:
            continue
        used_keys.add(key)
        if len(where) > 1:
            _col_problem(
                part,
                str(key),
                f"mapping names {key!r}, which is the name of {len(where)} columns",
                "rename the columns so that each has its own name; a Strava export needs no "
                "mapping when it has both Distance columns",
            )
            continue
        pos = where[0]
        for role in [r for r, p in part.roles.items() if p == pos]:
            del part.roles[role]
        durations[:] = [d for d in durations if d[0] != pos]
        if target is None:
            continue
        if isinstance(target, str):
            name, unit = target, None
        elif isinstance(target, tuple | list) and len(target) == 2:
            name, unit = target
        else:
            _col_problem(
                part,
                names[pos],
                f"mapping target {target!r} is not understood",
                f"give one of {', '.join(LOG_COLUMNS)}, a pair (name, unit), or None to ignore",
            )
            continue
        if name not in LOG_COLUMNS:
            close = difflib.get_close_matches(str(name), LOG_COLUMNS, n=2)
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
            _col_problem(
                part,
                names[pos],
                f"mapping target {name!r} is not a training-log column.{hint}",
                f"use one of: {', '.join(LOG_COLUMNS)}",
            )
            continue
        if name == "duration_min":
            hit = _identify(names[pos])
            written = unit if unit is not None else (hit[1] if hit else None)
            durations.insert(0, (pos, written if written is not None else "min"))
            continue
        if name in part.roles and part.roles[name] != pos:
            other = names[part.roles[name]]
            _col_problem(
                part,
                names[pos],
                f"2 columns hold {name}: {other!r} and {names[pos]!r} (mapped)",
                f"keep one; ignore the other with mapping={{{other!r}: None}}",
            )
            continue
        part.roles[name] = pos
        if name == "distance_km":
            hit = _identify(names[pos])
            written = unit if unit is not None else (hit[1] if hit else None)
            part.units[name] = written if written is not None else "km"


def _positions(names: list[str], key: object) -> list[int]:
    """Positions of the columns a mapping key names: exactly, else ignoring case and
    punctuation."""
    return [i for i, n in enumerate(names) if n == key] or [
        i for i, n in enumerate(names) if normalise(n) == normalise(str(key))
    ]


def _resolve_units(part: _Part) -> None:
    if "distance_km" in part.roles:
        text = part.units.get("distance_km")
        unit = _unit_of("distance_km", text)
        column = part.names[part.roles["distance_km"]]
        if text is None:
            if part.kind == "strava":
                problem = (
                    "Strava's first 'Distance' column is in the athlete's display unit (km or "
                    "miles), which the export does not say, and the second 'Distance' column "
                    "(metres) is missing"
                )
            elif part.kind == "garmin":
                problem = (
                    "Garmin Connect's 'Distance' column is in the unit of the account's display "
                    "setting (km or miles), which the export does not say"
                )
            else:
                problem = (
                    f"the unit of {column!r} cannot be determined, and pfps_stats does not guess it"
                )
            _col_problem(
                part,
                column,
                problem,
                f"say the unit: pass mapping={{{column!r}: ('distance_km', 'km')}} (or 'mi'), "
                f"or name the column e.g. 'distance_km' or 'Distance (mi)'",
            )
        elif unit is None:
            _col_problem(
                part,
                column,
                f"unit {text!r} is not a distance unit pfps_stats reads (km, mi, m)",
                f"pass mapping={{{column!r}: ('distance_km', 'km')}} with the right unit",
            )
        part.units["distance_km"] = unit
    if "duration_min" not in part.roles:
        return
    resolved = []
    columns = [(part.roles["duration_min"], part.units.get("duration_min")), *part.fallbacks]
    for pos, text in columns:
        unit = _unit_of("duration_min", text) if text is not None else None
        if text is not None and unit is None:
            _col_problem(
                part,
                part.names[pos],
                f"unit {text!r} is not a duration unit pfps_stats reads (s, min, h)",
                f"pass mapping={{{part.names[pos]!r}: ('duration_min', 'min')}} with the right "
                "unit, or ignore the column with None",
            )
        resolved.append((pos, unit))
    part.units["duration_min"] = resolved[0][1]
    part.fallbacks = resolved[1:]


def _require(part: _Part) -> None:
    names = part.names
    shown = ", ".join(map(repr, names[:12])) + (", ..." if len(names) > 12 else "")
    if "start" not in part.roles:
        _col_problem(
            part,
            "start",
            f"no column holds the start of each run (date or date and time); the columns "
            f"are {shown}",
            "name the column 'start' (or 'date'), or pass mapping={'<your column>': 'start'}",
        )
    if "distance_km" not in part.roles:
        _col_problem(
            part,
            "distance_km",
            f"no column holds the distance of each run; the columns are {shown}",
            "name the column with its unit, e.g. 'distance_km' or 'Distance (mi)', or pass "
            "mapping={'<your column>': ('distance_km', 'km')}",
        )
    if "runner_id" not in part.roles and part.name_id is None:
        _col_problem(
            part,
            "runner_id",
            f"no column holds the runner id; the columns are {shown}",
            "add a 'runner_id' column, or pass mapping={'<your column>': 'runner_id'}; a "
            "single runner's export can be read from a file or folder named after the runner",
        )


# ---------------------------------------------------------------------------------------------
# Values


def _numbers(raw: pd.Series, thousands: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers of a column: (values, not-a-number mask, missing mask).

    Decimal commas (``10,5``) are read; with ``thousands`` a comma followed by three digits
    is a thousands separator (``1,234.5``, ``10,020``) instead.
    """
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(values)
        return values, np.zeros(len(raw), dtype=bool), missing
    text = as_text(raw)
    fast = _floats(text)
    if fast is not None:
        none = np.zeros(len(text), dtype=bool)
        return fast, none, none
    missing = text.str.lower().isin(MISSING_DATE_TOKENS).to_numpy()
    if text.str.contains(",", regex=False).any():
        if thousands:
            grouped = text.str.fullmatch(_THOUSANDS)
            text = text.where(~grouped, text.str.replace(",", "", regex=False))
        text = text.str.replace(r"^([+-]?\d+),(\d+)$", r"\1.\2", regex=True)
    ok = text.str.fullmatch(_NUMBER).to_numpy(dtype=bool)
    values = _floats(text.where(ok, "nan"), finite=False)
    if values is None:  # pragma: no cover - every value left is a number or "nan"
        values = pd.to_numeric(text.where(ok), errors="coerce").to_numpy(dtype=float)
    return values, ~missing & ~ok, missing


def _floats(text: pd.Series, finite: bool = True) -> np.ndarray | None:
    """Text that is all plain numbers as floats, by Arrow's vectorised cast; None when any
    value is not (then the slower path finds which). With ``finite``, "nan" and "inf" are
    not numbers here."""
    try:
        values = pc.cast(pa.array(text.astype("str"), from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if values.null_count:
        return None
    out = values.to_numpy(zero_copy_only=False)
    if finite and not np.isfinite(out).all():
        return None
    return out


def _durations(
    raw: pd.Series, unit: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Minutes from numbers in ``unit`` or from ``h:mm:ss`` / ``mm:ss`` text.

    Returns (minutes, unreadable, missing, plain numbers given without a unit).
    """
    n = len(raw)
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values, bad, missing = _numbers(raw, thousands=False)
        clock = np.zeros(n, dtype=bool)
    elif (fast := _floats(text := as_text(raw))) is not None:
        values, bad, missing, clock = fast, *np.zeros((3, n), dtype=bool)
    else:
        missing = text.str.lower().isin(MISSING_DATE_TOKENS).to_numpy()
        clock = text.str.contains(":", regex=False).to_numpy() & ~missing
        values = np.full(n, np.nan)
        bad = np.zeros(n, dtype=bool)
        if clock.any():
            parts = text[clock].str.extract(rf"^{_CLOCK}$")
            seconds = (
                pd.to_numeric(parts["h"]).fillna(0) * 3600
                + pd.to_numeric(parts["m"]) * 60
                + pd.to_numeric(parts["s"])
            ).to_numpy(dtype=float)
            values[clock] = seconds / 60
            bad[clock] = np.isnan(seconds)
        plain = ~clock & ~missing
        if plain.any():
            numbers, not_number, _ = _numbers(text[plain], thousands=True)
            values[plain] = numbers
            bad[plain] = not_number
    numeric = ~clock & ~missing & ~bad
    if unit is None:
        return values, bad, missing, numeric
    values = np.where(numeric, values * DURATION_UNITS[unit], values)
    return values, bad, missing, np.zeros(n, dtype=bool)


def _fold(values: pd.Series) -> pd.Series:
    """Activity types folded for comparison: lower case, runs of spaces, ``_`` and ``-`` as one
    space (computed once per distinct value)."""
    codes, uniques = pd.factorize(values)
    folded = (
        pd.Series(np.asarray(uniques, dtype=object), dtype="str")
        .str.lower()
        .str.replace(r"[\s_\-]+", " ", regex=True)
        .str.strip()
    )
    return pd.Series(folded.to_numpy(dtype=object)[codes], index=values.index, dtype="str")


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _show(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _unique_names(names: list[str]) -> list[str]:
    """Column names made unique for output: a repeated name gets ``#2``, ``#3``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


#: Columns the set-aside tables lead with; a source column of the same name is renamed.
_LEAD_COLUMNS = ("source_file", "source_row", "reasons")


def _raw_rows(part: _Part, local: np.ndarray, reasons, folder: bool) -> pd.DataFrame:
    """Rows of a part as in the source, with source_file, source_row and reasons first."""
    frame = part.raw.frame
    rows = frame.iloc[local]
    rows = rows.set_axis(_unique_names(list(frame.columns)), axis=1).astype(object)
    rows = rows.rename(columns={c: f"{c} (in the file)" for c in _LEAD_COLUMNS if c in rows})
    rows.insert(0, "reasons", reasons)
    rows.insert(0, "source_row", rows.index.to_numpy())
    if folder:
        rows.insert(0, "source_file", part.label)
    return rows.reset_index(drop=True)


def _repeat(text: str, n: int) -> pd.Series:
    """``text`` n times, as a str Series (built by a take, not a Python list)."""
    return pd.Series([text], dtype="str").iloc[np.zeros(n, dtype=np.intp)].reset_index(drop=True)


def _values(part: _Part, index: int) -> pd.DataFrame | None:
    """The part's rows in standard columns (None when a column turns out unreadable)."""
    frame = part.raw.frame
    n = len(frame)
    roles = part.roles
    out = pd.DataFrame(
        {"_part": np.full(n, index, dtype=np.int64), "_local": np.arange(n, dtype=np.int64)}
    )
    out["source_row"] = np.asarray(frame.index, dtype=np.int64)
    unreadable = [p["row"] for p in part.raw.problems if p["row"] is not None]
    out["_reader"] = frame.index.isin(unreadable)
    if "runner_id" in roles:
        out["runner_id"] = as_text(frame.iloc[:, roles["runner_id"]]).reset_index(drop=True)
    else:
        out["runner_id"] = _repeat(part.name_id, n)
    if "activity_type" in roles:
        types = as_text(frame.iloc[:, roles["activity_type"]]).reset_index(drop=True)
        out["activity_type"] = types
        out["_type_missing"] = types.str.lower().isin(MISSING_DATE_TOKENS).to_numpy()
    else:
        out["activity_type"] = _repeat("Run", n)
        out["_type_missing"] = False
    out["_start_raw"] = frame.iloc[:, roles["start"]].reset_index(drop=True)
    unit = part.units["distance_km"]
    number, bad, missing = _numbers(
        frame.iloc[:, roles["distance_km"]], thousands=part.kind == "garmin" or unit == "m"
    )
    out["distance_km"] = number * (UNITS[unit].size / UNITS["km"].size)
    out["_dist_bad"], out["_dist_missing"] = bad, missing
    out["duration_min"] = np.nan
    out["_dur_bad"] = False
    out["_dur_fallback"] = False
    if "duration_min" in roles:
        columns = [(roles["duration_min"], part.units["duration_min"]), *part.fallbacks]
        minutes = np.full(n, np.nan)
        bad_any = np.zeros(n, dtype=bool)
        for j, (pos, dunit) in enumerate(columns):
            values, bad, _, unitless = _durations(frame.iloc[:, pos], dunit)
            if unitless.any():
                name = part.names[pos]
                _col_problem(
                    part,
                    name,
                    f"the unit of the duration column {name!r} cannot be determined (its values "
                    f"are plain numbers, e.g. {frame.iloc[np.argmax(unitless), pos]!r})",
                    f"pass mapping={{{name!r}: ('duration_min', 'min')}} (or 's', 'h'), name "
                    f"the column e.g. 'duration_min', or ignore it with mapping={{{name!r}: None}}",
                )
                return None
            if j == 0:
                minutes, bad_any = values, bad
            else:
                fill = np.isnan(minutes) & ~bad_any & ~np.isnan(values)
                minutes = np.where(fill, values, minutes)
                out["_dur_fallback"] |= fill
        out["duration_min"], out["_dur_bad"] = minutes, bad_any
    return out


def check_training_log(
    path: str | os.PathLike | pd.DataFrame,
    mapping: Mapping[str, object] | None = None,
    activity_types: Iterable[str] | None = None,
    dayfirst: bool | None = None,
    runners: Iterable[object] | None = None,
) -> TrainingLogCheck:
    """Read and validate a training log; return the runs, the rows set aside and every problem.

    Unlike :func:`load_training_log` it does not raise for bad rows or columns. It raises
    :class:`DataValidationError` only when a file cannot be read at all (missing, empty,
    unparseable; in a folder, every such file is listed, named by its path within the
    folder) or a folder holds no log files or no rows. Parameters are those of
    :func:`load_training_log`.

    Returns
    -------
    TrainingLogCheck
    """
    mapping = dict(mapping or {})
    run_types = _run_types(activity_types)
    known = _known(runners)
    parts, source, folder, file_notes = _read_parts(path)
    used: set = set()
    for part in parts:
        _detect(part, mapping, used)
    _name_clashes(parts)
    file_problems: list[dict] = []
    for key in [k for k in mapping if k not in used]:
        names = sorted({n for part in parts for n in part.names})
        close = difflib.get_close_matches(str(key), names, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        file_problems.append(
            {
                "row": None,
                "column": str(key),
                "value": None,
                "problem": f"mapping names a column {key!r} that is not in the data.{hint}",
                "fix": "use one of the data's columns: "
                + ", ".join(map(repr, names[:20]))
                + (", ..." if len(names) > 20 else ""),
            }
        )
    frames = []
    for i, part in enumerate(parts):
        if not part.problems:
            values = _values(part, i)
            if values is not None:
                frames.append(values)
    for part in parts:
        file_problems += part.problems
    n_input = sum(len(part.raw.frame) for part in parts)
    notes = _reading_notes(parts, source, folder, n_input)
    notes[1:1] = file_notes
    std = pd.concat(frames, ignore_index=True) if frames else None
    result = _validate(std, parts, folder, run_types, known, dayfirst, notes)
    problems = pd.concat(
        [pd.DataFrame(file_problems, columns=[*_PROBLEM_KEYS]), *result.problems],
        ignore_index=True,
    )
    quarantined = [*result.quarantined]
    for part in parts:
        if part.problems:
            reasons = "; ".join(f"{p['column']}: {p['problem']}" for p in part.problems)
            quarantined.append(_raw_rows(part, np.arange(len(part.raw.frame)), reasons, folder))
    quarantined_df = _stack(quarantined, folder)
    set_aside_df = _stack(result.set_aside, folder)
    if std is not None and result.n_runs == 0:
        types = result.aside_counts
        shown = ", ".join(f"{t}: {c}" for t, c in list(types.items())[:8])
        problems.loc[len(problems)] = {
            "_key": np.nan,
            "row": None,
            "column": None,
            "value": None,
            "problem": f"the log has no runs: all {int(types.sum())} activities are of other "
            f"types ({shown})",
            "fix": "pass activity_types=[...] with the types that are runs in this export "
            f"(the default is {', '.join(RUN_TYPES[:4])} and Garmin's running types)",
        }
    elif std is not None and len(result.data) == 0 and not len(problems.query("row.isna()")):
        problems.loc[len(problems)] = {
            "_key": np.nan,
            "row": None,
            "column": None,
            "value": None,
            "problem": f"no run passed validation: all {result.n_runs} runs have problems",
            "fix": "correct the problems listed; nothing can be loaded as it stands",
        }
    problems = problems.sort_values("_key", na_position="first", kind="stable")
    n_set, n_q, n_ok = len(set_aside_df), len(quarantined_df), len(result.data)
    n_runners = result.data["runner_id"].nunique()
    notes.append(
        f"{_count(n_ok, 'run')} accepted"
        + (f" ({_count(n_runners, 'runner')})" if n_ok else "")
        + f", {_count(n_set, 'non-running activity', 'non-running activities')} set aside, "
        f"{_count(n_q, 'row')} quarantined (of {n_input} read)."
    )
    data = _label_synthetic(result.data, parts, folder)
    if data.attrs.get("synthetic"):
        notes.append(f"Runs labelled {SYNTHETIC_LABEL} (data_source): simulated, not real runners.")
    data.attrs["notes"] = list(notes)
    return TrainingLogCheck(
        data=data,
        quarantined=quarantined_df,
        set_aside=set_aside_df,
        problems=problem_frame(problems.drop(columns="_key").to_dict("records")),
        notes=notes,
        n_input=n_input,
        source=source,
    )


_PROBLEM_KEYS = ("_key", "row", "column", "value", "problem", "fix")


def _label_synthetic(data: pd.DataFrame, parts: list[_Part], folder: bool) -> pd.DataFrame:
    """Keep a source's ``data_source`` column when it labels rows SYNTHETIC, so that the
    label follows the runs into exposures and reports (``is_synthetic``)."""
    labels = {}
    for part in parts:
        columns = [c for c in part.names if str(c).strip().lower() == "data_source"]
        if not columns:
            continue
        values = part.raw.frame.iloc[:, part.names.index(columns[0])].astype(str)
        if values.str.contains(SYNTHETIC_LABEL, case=False).any():
            labels[part.label] = values
    if not labels or data.empty:
        return data
    out = data.copy()
    key = out["source_file"] if folder else pd.Series(None, index=out.index, dtype=object)
    source = pd.Series(pd.NA, index=out.index, dtype=object)
    for label, values in labels.items():
        rows = key == label if folder else pd.Series(True, index=out.index)
        source[rows] = values.reindex(out.loc[rows, "source_row"]).to_numpy()
    out["data_source"] = source
    out.attrs["synthetic"] = True
    return out


def _stack(frames: list[pd.DataFrame], folder: bool) -> pd.DataFrame:
    lead = ["source_file", "source_row", "reasons"] if folder else ["source_row", "reasons"]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=lead)
    return pd.concat(frames, ignore_index=True, sort=False)


def _run_types(activity_types: Iterable[str] | None) -> frozenset:
    if activity_types is None:
        activity_types = RUN_TYPES
    elif isinstance(activity_types, str):
        activity_types = [activity_types]
    return frozenset(_fold(pd.Series(list(activity_types), dtype="str")))


def _known(runners: Iterable[object] | None) -> frozenset | None:
    if runners is None:
        return None
    if isinstance(runners, str):
        runners = [runners]
    ids = as_text(pd.Series(list(runners), dtype=object))
    return frozenset(ids[ids.ne("")])


def _reading_notes(parts: list[_Part], source: str, folder: bool, n_input: int) -> list[str]:
    notes = []
    if folder:
        from_names = [p for p in parts if "runner_id" not in p.roles]
        generic = [p for p in from_names if Path(p.label).stem.lower() in GENERIC_STEMS]
        notes.append(
            f"Read {_count(n_input, 'row')} from {_count(len(parts), 'file')} in the folder "
            f"{source!r}."
        )
        if from_names:
            how = "their file names"
            if len(generic) == len(from_names):
                how = (
                    "the names of the folders holding them (the files have a generic name, "
                    "such as activities.csv)"
                )
            elif generic:
                how = (
                    "their file names, or for a file with a generic name (such as "
                    "activities.csv) from the name of the folder holding it"
                )
            notes.append(f"Runner ids of {_count(len(from_names), 'file')} taken from {how}.")
    else:
        notes.append(f"Read {_count(n_input, 'row')} from {source}.")
        part = parts[0]
        if "runner_id" not in part.roles and part.name_id is not None:
            notes.append(
                f"Every run is given the runner id {part.name_id!r}, from the file's "
                f"{'folder' if Path(source).stem != part.name_id else 'name'} (the file has no "
                f"runner id column)."
            )
    for part in parts:
        prefix = f"{part.label}: " if folder else ""
        notes += [f"{prefix}{note}." for note in part.raw.notes]
    kinds = {p.kind for p in parts if not p.problems}
    if "strava" in kinds:
        strava = next(p for p in parts if p.kind == "strava" and not p.problems)
        dist = "the second 'Distance' column (metres)"
        if strava.units.get("distance_km") != "m" or strava.names.count("Distance") < 2:
            dist = f"{strava.names[strava.roles['distance_km']]!r}"
        notes.append(
            f"Recognised a Strava bulk export (activities.csv): distance from {dist}, duration "
            "from 'Moving Time' (seconds; 'Elapsed Time' where it is missing). Strava writes "
            "'Activity Date' in UTC, so those start times are UTC, not the runner's local time."
        )
    if "garmin" in kinds:
        notes.append(
            "Recognised a Garmin Connect export (Activities.csv): 'Date' is the watch's local "
            "time; durations from 'Moving Time' or 'Time' (h:mm:ss)."
        )
    unused: dict[str, None] = {}
    for part in parts:
        used = {*part.roles.values(), *(pos for pos, _ in part.fallbacks)}
        unused.update(
            dict.fromkeys(
                n
                for i, n in enumerate(part.names)
                if i not in used and str(n).strip().lower() != "data_source"
            )
        )
    if unused:
        shown = ", ".join(map(repr, list(unused)[:8]))
        more = f" and {len(unused) - 8} more" if len(unused) > 8 else ""
        notes.append(f"Columns not used: {shown}{more}.")
    conversions = {
        p.units["distance_km"]
        for p in parts
        if not p.problems and p.units.get("distance_km") not in (None, "km")
    }
    for unit in sorted(conversions):
        notes.append(f"Distances converted: {conversion_note(unit, 'km')}.")
    return notes


@dataclass
class _Result:
    data: pd.DataFrame
    problems: list[pd.DataFrame]
    quarantined: list[pd.DataFrame]
    set_aside: list[pd.DataFrame]
    n_runs: int
    aside_counts: pd.Series


_EMPTY_LOG = {
    "runner_id": "str",
    "start": "datetime64[ns]",
    "distance_km": "float64",
    "duration_min": "float64",
    "activity_type": "str",
}


def _spread_date_only(
    start: np.ndarray, date_only: np.ndarray, codes: np.ndarray, notes: list[str]
) -> None:
    """Give accepted runs with a date and no time distinct starts, in place: the k-th run of a
    runner on a date (from 0, in file order: ``date_only`` is ascending) starts k seconds
    after midnight, so that (runner, start) is unique as the exposures require."""
    if not len(date_only):
        return
    key = pd.DataFrame({"r": codes[date_only], "s": start[date_only].view("int64")})
    group = key.groupby(["r", "s"], sort=False)
    nth = group.cumcount().to_numpy()
    if not nth.any():
        return
    start[date_only] += nth.astype("timedelta64[s]")
    size = group["s"].transform("size").to_numpy()
    shared = size > 1
    n_days = int((nth[shared] == 0).sum())
    notes.append(
        f"{_count(int(shared.sum()), 'run')} share their date with another run of the same "
        f"runner ({_count(n_days, 'runner-day')}): the source gives no times; runs of one "
        "runner on one date are ordered as in the file, 1 s apart (starts 00:00:00, "
        "00:00:01, ...)."
    )


def _empty_data(folder: bool) -> pd.DataFrame:
    columns = {**_EMPTY_LOG, **({"source_file": "str"} if folder else {}), "source_row": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def _validate(
    std: pd.DataFrame | None,
    parts: list[_Part],
    folder: bool,
    run_types: frozenset,
    known: frozenset | None,
    dayfirst: bool | None,
    notes: list[str],
) -> _Result:
    if std is None:
        return _Result(_empty_data(folder), [], [], [], 0, pd.Series(dtype="int64"))
    n = len(std)
    part_of = std["_part"].to_numpy()
    local = std["_local"].to_numpy()
    rows = std["source_row"].to_numpy()
    role_columns = {
        role: np.array([p.column(role) for p in parts], dtype=object) for role in (*LOG_COLUMNS,)
    }
    found: list[pd.DataFrame] = []

    def raw_values(role: str, pos: np.ndarray) -> list[str]:
        values = []
        for i, j in zip(part_of[pos], local[pos], strict=True):
            column = parts[i].roles.get(role)
            values.append("" if column is None else _show(parts[i].raw.frame.iat[j, column]))
        return values

    def add(mask: np.ndarray, role: str, problem, fix: str, value=None) -> None:
        pos = np.flatnonzero(mask)
        if not len(pos):
            return
        if isinstance(problem, pd.Series):
            problem = problem.to_numpy()[pos]
        elif callable(problem):
            problem = [problem(p) for p in pos]
        found.append(
            pd.DataFrame(
                {
                    "_key": pos,
                    "row": rows[pos],
                    "column": role_columns[role][part_of[pos]],
                    "value": raw_values(role, pos) if value is None else value,
                    "problem": problem,
                    "fix": fix,
                }
            )
        )

    # Rows the reader could not take as they stand (a value beyond the header): their values
    # may be in the wrong columns, so they are quarantined with that reason alone.
    reader = std["_reader"].to_numpy()
    for k in np.flatnonzero(reader):
        part = parts[part_of[k]]
        for p in part.raw.problems:
            if p["row"] == rows[k]:
                found.append(
                    pd.DataFrame(
                        {
                            "_key": [k],
                            "row": [rows[k]],
                            "column": [part.where(str(p["column"]))],
                            "value": [p["value"]],
                            "problem": [p["problem"]],
                            "fix": [p["fix"]],
                        }
                    )
                )
    types = std["activity_type"].astype("str")
    type_missing = std["_type_missing"].to_numpy()
    is_run = (_fold(types).isin(run_types).to_numpy() | type_missing) & ~reader
    aside = ~is_run & ~reader
    aside_counts = types[aside].value_counts()
    n_runs = int(is_run.sum())
    if aside.any():
        shown = ", ".join(f"{t} {c}" for t, c in aside_counts.items())
        notes.append(
            f"Set aside {_count(int(aside.sum()), 'activity', 'activities')} of a non-running "
            f"type: {shown}."
        )

    add(
        is_run & type_missing,
        "activity_type",
        "the activity type is missing, so it is not known whether this was a run",
        "fill in the type, or leave out the type column when every row is a run",
    )
    runner = std["runner_id"].astype("str")
    runner_missing = (runner.str.lower().isin(MISSING_DATE_TOKENS)).to_numpy()
    add(
        is_run & runner_missing,
        "runner_id",
        "runner id is missing",
        "give every run its runner's id",
    )
    if known is not None:
        unknown = is_run & ~runner_missing & ~runner.isin(known).to_numpy()
        add(
            unknown,
            "runner_id",
            lambda p: f"runner {runner.iat[p]!r} is not among the known runners (runners=)",
            "correct the runner id, or add the runner to the cohort passed as runners=",
        )

    # Start
    run_pos = np.flatnonzero(is_run)
    start = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    has_time = np.zeros(n, dtype=bool)
    undecided = np.zeros(n, dtype=bool)
    column_problem = None
    if len(run_pos):
        raw_start = std["_start_raw"].iloc[run_pos]
        if raw_start.dtype == object:
            raw_start = raw_start.infer_objects()
            if pd.api.types.infer_dtype(raw_start, skipna=True) in ("string", "empty"):
                raw_start = raw_start.astype("str")
        parsed = parse_dates(raw_start.reset_index(drop=True), dayfirst=dayfirst)
        start[run_pos] = parsed.values.to_numpy()
        has_time[run_pos] = parsed.has_time.to_numpy()
        undecided[run_pos] = parsed.undecided.to_numpy()
        notes += [f"Start times: {note}." for note in parsed.notes]
        missing = np.zeros(n, dtype=bool)
        missing[run_pos] = parsed.missing.to_numpy()
        add(missing, "start", "the start (date) is missing", "give every run its date and time")
        unreadable = np.zeros(n, dtype=bool)
        reasons = pd.Series(None, index=range(n), dtype=object)
        bad = parsed.problem.notna().to_numpy()
        unreadable[run_pos[bad]] = True
        reasons.iloc[run_pos[bad]] = parsed.problem.to_numpy()[bad]
        add(unreadable, "start", reasons, FORMATS_HELP)
        column_problem = parsed.column_problem
        if column_problem is not None:
            first = np.flatnonzero(undecided)[0]
            problem_text, fix = column_problem
            found.append(
                pd.DataFrame(
                    {
                        "_key": [np.nan],
                        "row": [None],
                        "column": [role_columns["start"][part_of[first]]],
                        "value": [None],
                        "problem": [problem_text + f" ({int(undecided.sum())} runs)"],
                        "fix": [fix],
                    }
                )
            )
        now = pd.Timestamp.now(tz="UTC").tz_localize(None) + FUTURE_SLACK
        future = is_run & ~np.isnat(start) & (start > np.datetime64(now.as_unit("ns")))
        add(
            future,
            "start",
            lambda p: f"the start {pd.Timestamp(start[p])} is in the future",
            "correct the date (is the day/month order or the year wrong?)",
        )

    # Distance
    dist = std["distance_km"].to_numpy()
    dist_missing = std["_dist_missing"].to_numpy()
    dist_bad = std["_dist_bad"].to_numpy()
    add(
        is_run & dist_missing,
        "distance_km",
        "the distance is missing",
        "give every run its distance",
    )
    add(
        is_run & dist_bad,
        "distance_km",
        "the distance is not a number",
        "enter a number (a decimal comma is fine) in the column's unit",
    )
    with np.errstate(invalid="ignore"):
        readable = is_run & ~dist_missing & ~dist_bad
        infinite = readable & np.isinf(dist)
        add(infinite, "distance_km", "the distance is not a finite number", "enter the distance")
        nonpositive = readable & (dist <= 0)
        add(
            nonpositive,
            "distance_km",
            lambda p: f"the distance {dist[p]:.4g} km is zero or negative",
            "correct the entry; a session without running is not a run",
        )
        too_long = readable & np.isfinite(dist) & (dist > MAX_RUN_KM)
        add(
            too_long,
            "distance_km",
            lambda p: f"{dist[p]:.4g} km in one run is implausible (above {MAX_RUN_KM:g} km)",
            "check the entry and the column's unit (metres read as km?)",
        )

    # Duration
    duration = std["duration_min"].to_numpy()
    add(
        is_run & std["_dur_bad"].to_numpy(),
        "duration_min",
        "the duration is not a number or h:mm:ss time",
        "enter the duration (e.g. 45.5 or 0:45:30) or leave the cell empty",
    )
    with np.errstate(invalid="ignore"):
        add(
            is_run & (duration < 0),
            "duration_min",
            lambda p: f"the duration {duration[p]:.4g} min is negative",
            "correct the entry or leave the cell empty",
        )
    n_fallback = int((is_run & std["_dur_fallback"].to_numpy()).sum())
    if n_fallback:
        notes.append(
            f"Duration of {_count(n_fallback, 'run')} from the elapsed time, the moving time "
            "being empty."
        )

    # Duplicates, among runs with no other problem
    flagged = np.zeros(n, dtype=bool)
    for frame in found:
        keys = frame["_key"].dropna().to_numpy(dtype=np.int64)
        flagged[keys] = True
    clean = np.flatnonzero(is_run & ~flagged & ~undecided)
    codes, uniques = pd.factorize(runner, sort=True)
    if len(clean):
        # Only rows sharing runner and start with a neighbour (sorted) can be duplicates.
        stamp = start[clean].view("int64")
        ranked = np.lexsort((clean, stamp, codes[clean]))
        same = (np.diff(codes[clean][ranked]) == 0) & (np.diff(stamp[ranked]) == 0)
        shared = np.zeros(len(clean), dtype=bool)
        shared[ranked[1:][same]] = True
        shared[ranked[:-1][same]] = True
        clean = clean[shared]
    if len(clean):
        keyframe = pd.DataFrame(
            {
                "r": codes[clean],
                "s": start[clean].view("int64"),
                "d": np.where(has_time[clean], -1.0, dist[clean]),
            }
        )
        dup = keyframe.duplicated(keep="first").to_numpy()
        if dup.any():
            group = keyframe.groupby(["r", "s", "d"], sort=False).ngroup().to_numpy()
            first = pd.Series(clean).groupby(group).transform("first").to_numpy()
            is_dup = np.zeros(n, dtype=bool)
            is_dup[clean[dup]] = True
            first_of = dict(zip(clean[dup], first[dup], strict=True))

            def duplicate(p: int) -> str:
                q = first_of[p]
                where = f"row {rows[q]}"
                if folder and part_of[q] != part_of[p]:
                    where += f" of {parts[part_of[q]].label}"
                what = "start" if has_time[p] else "date and distance"
                return (
                    f"duplicate session: runner {runner.iat[p]!r} has a run with the same {what} "
                    f"({pd.Timestamp(start[p])}) in {where}"
                )

            add(
                is_dup,
                "start",
                duplicate,
                "delete the repeated row (the first copy is kept); if they are two runs, "
                "give each its start time",
            )

    problem_rows = np.zeros(n, dtype=bool)
    reason_parts = []
    for frame in found:
        keys = frame["_key"].dropna().to_numpy(dtype=np.int64)
        problem_rows[keys] = True
        with_key = frame.dropna(subset=["_key"])
        reason_parts.append(
            pd.DataFrame(
                {
                    "_key": with_key["_key"].astype(np.int64),
                    "reason": with_key["column"].astype(str)
                    + ": "
                    + with_key["problem"].astype(str),
                }
            )
        )
    if undecided.any():
        problem_text = column_problem[0] if column_problem else ""
        pos = np.flatnonzero(undecided)
        reason_parts.append(
            pd.DataFrame(
                {
                    "_key": pos,
                    "reason": role_columns["start"][part_of[pos]] + ": " + problem_text,
                }
            )
        )
    bad = problem_rows | undecided
    reasons = (
        pd.concat(reason_parts).groupby("_key", sort=True)["reason"].agg("; ".join)
        if reason_parts
        else pd.Series(dtype=object)
    )
    quarantined = []
    set_aside = []
    for i, part in enumerate(parts):
        mine = part_of == i
        q = np.flatnonzero(mine & bad)
        if len(q):
            quarantined.append(_raw_rows(part, local[q], reasons.reindex(q).to_numpy(), folder))
        a = np.flatnonzero(mine & aside)
        if len(a):
            why = ("not a run: activity type " + types.iloc[a].map(repr)).to_numpy()
            set_aside.append(_raw_rows(part, local[a], why, folder))

    ok = np.flatnonzero(is_run & ~bad)
    _spread_date_only(start, ok[~has_time[ok]], codes, notes)
    order = ok[np.lexsort((ok, start[ok].view("int64"), codes[ok]))]
    data = pd.DataFrame(
        {
            "runner_id": runner.iloc[order].reset_index(drop=True).astype("str"),
            "start": start[order],
            "distance_km": dist[order],
            "duration_min": duration[order],
            "activity_type": types.iloc[order].reset_index(drop=True).astype("str"),
        }
    )
    if folder:
        labels = np.array([p.label for p in parts], dtype=object)
        data["source_file"] = pd.Series(labels[part_of[order]], dtype="str")
    data["source_row"] = rows[order].astype("int64")
    data["start"] = data["start"].astype("datetime64[ns]")
    return _Result(data, found, quarantined, set_aside, n_runs, aside_counts)
