"""Reading dates and times from exports: vectorised, explicit formats, no guessing of day/month.

:func:`parse_dates` reads a column of dates (with or without a time of day) written in any of:

- ISO 8601, year first: ``2025-07-01``, ``2025-07-01 06:30:00``, ``2025-07-01T06:30:00Z``,
  ``2025-07-01T06:30:00+02:00``, ``2025/07/01 06:30``;
- numbers with the year last: ``01/07/2025``, ``1.7.2025 06:30``, ``07-01-2025 6:30 PM``: the
  day/month order is decided for the whole column (see below);
- an English month name: ``Jul 1, 2025, 6:30:00 AM`` (Strava), ``July 1 2025``,
  ``1 Jul 2025 06:30``;
- values that already are dates (Excel, Parquet, a DataFrame).

Day/month order. A value such as ``13/04/2025`` can only be day first and ``04/13/2025`` only
month first. When the column's values prove one order, it is used (and noted); when they
prove both, or when every value reads both ways (``03/04/2025``), the order is a problem of
the whole column unless ``dayfirst=`` says it. A value read both ways to the same date
(``05/05/2025``) is never ambiguous.

Time zones. A value with a zone (``Z``, ``+02:00``, a zone-aware column) is converted to UTC
and the zone dropped, so that every value is a naive time; the count is noted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Values read as an empty cell (compared in lower case).
MISSING_DATE_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "nat", "null", "none", ".", "-", "--", "missing", "#n/a"}
)

_TIME = (
    r"(?:[T ,]\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
)
_ZONE = r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
_ISO_FAST = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_FAMILIES = {
    "year first": rf"(?P<year>\d{{4}})[-/.](?P<a>\d{{1,2}})[-/.](?P<b>\d{{1,2}}){_TIME}{_ZONE}",
    "numeric": rf"(?P<a>\d{{1,2}})[-/.](?P<b>\d{{1,2}})[-/.](?P<year>\d{{4}}),?{_TIME}{_ZONE}",
    "month name": rf"(?P<mname>[A-Za-z]{{3,9}})\.?\s+(?P<b>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    rf"(?P<year>\d{{4}}),?{_TIME}{_ZONE}",
    "day month name": rf"(?P<b>\d{{1,2}})\.?\s+(?P<mname>[A-Za-z]{{3,9}})\.?,?\s+"
    rf"(?P<year>\d{{4}}),?{_TIME}{_ZONE}",
}
_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

#: Shown in fixes: the formats :func:`parse_dates` reads.
FORMATS_HELP = (
    "write dates as 2025-07-01 or 2025-07-01 06:30 (ISO 8601); 01/07/2025, 'Jul 1, 2025, "
    "6:30:00 AM' and '1 Jul 2025' are read too"
)


@dataclass(frozen=True)
class ParsedDates:
    """What :func:`parse_dates` read.

    Attributes
    ----------
    values : Series of datetime64[ns]
        Naive times (zones converted to UTC and dropped); NaT where missing or unreadable.
    missing : Series of bool
        The cell is empty.
    problem : Series of object
        Per row, why the value could not be read (None when it was, or when it is missing, or
        when the whole column's day/month order is the problem).
    has_time : Series of bool
        The value gave a time of day (not a bare date).
    order : str or None
        ``"day first"`` or ``"month first"`` when numeric dates were read in that order.
    column_problem : tuple of (problem, fix), or None
        The day/month order cannot be decided; the rows concerned are in ``undecided``.
    undecided : Series of bool
        Rows left unread because of ``column_problem``.
    n_zoned : int
        Values that carried a time zone (converted to UTC).
    notes : list of str
    """

    values: pd.Series
    missing: pd.Series
    problem: pd.Series
    has_time: pd.Series
    order: str | None
    column_problem: tuple[str, str] | None
    undecided: pd.Series
    n_zoned: int
    notes: list[str] = field(default_factory=list)


def as_text(values: pd.Series) -> pd.Series:
    """Values as stripped text, ``""`` where missing; whole floats without ``.0``."""
    if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
        return values.fillna("").str.strip()
    if pd.api.types.is_integer_dtype(values) and not values.isna().any():
        return values.astype(str)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values.astype("str").fillna("").str.strip()

    def one(v: object) -> str:
        if v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return values.map(one).astype("str").str.strip()


def parse_dates(values: pd.Series, dayfirst: bool | None = None) -> ParsedDates:
    """Read a column of dates or date-times (see the module docstring for the formats).

    Parameters
    ----------
    values : Series
        Text, or values that already are dates (datetime64, zone-aware, or Python dates in an
        object column as Excel gives them).
    dayfirst : bool, optional
        For numeric dates with the year last: True reads ``03/04/2025`` as 3 April, False as
        March 4. None decides from the values, and leaves an undecidable column as a
        ``column_problem``.

    Returns
    -------
    ParsedDates
    """
    index = values.index
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    has_time = np.zeros(len(values), dtype=bool)
    problem = pd.Series(None, index=index, dtype=object)
    undecided = np.zeros(len(values), dtype=bool)
    notes: list[str] = []
    n_zoned = 0

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        zone = str(values.dt.tz)
        converted = values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        n_zoned = int(converted.notna().sum())
        if n_zoned:
            notes.append(f"{n_zoned} value(s) carried the time zone {zone}: converted to UTC")
        return _finish_native(converted, index, notes, n_zoned)
    if pd.api.types.is_datetime64_any_dtype(values):
        return _finish_native(values.astype("datetime64[ns]"), index, notes, 0)

    native = np.zeros(len(values), dtype=bool)
    if pd.api.types.is_object_dtype(values):
        native = values.map(lambda v: isinstance(v, dt.date)).to_numpy(dtype=bool)
        if native.any():
            got, zoned = _from_python(values[native])
            out[native] = got
            n_zoned += zoned
            stamps = pd.Series(got)
            has_time[native] = (stamps.notna() & (stamps != stamps.dt.normalize())).to_numpy()
    text = as_text(values.where(~native, ""))
    missing = text.str.lower().isin(MISSING_DATE_TOKENS).to_numpy() & ~native
    todo = ~missing & ~native

    if todo.any():
        sub = text[todo]
        fast = sub.str.fullmatch(_ISO_FAST).to_numpy(dtype=bool)
        if fast.any():
            read = pd.to_datetime(sub[fast], format="ISO8601", errors="coerce")
            pos = np.flatnonzero(todo)[fast]
            out[pos] = read.astype("datetime64[ns]").to_numpy()
            has_time[pos] = (sub[fast].str.len() > 10).to_numpy()
            bad = pos[read.isna().to_numpy()]
            problem.iloc[bad] = "not a valid calendar date"
        rest_pos = np.flatnonzero(todo)[~fast]
        if len(rest_pos):
            order, column_problem, zoned, family_notes = _parse_general(
                text.iloc[rest_pos], rest_pos, dayfirst, out, has_time, problem, undecided
            )
            n_zoned += zoned
            notes += family_notes
        else:
            order, column_problem = None, None
    else:
        order, column_problem = None, None
    if n_zoned:
        notes.append(
            f"{n_zoned} value(s) carried a time zone: converted to UTC and the zone dropped"
        )
    return ParsedDates(
        values=pd.Series(out, index=index),
        missing=pd.Series(missing, index=index),
        problem=problem,
        has_time=pd.Series(has_time, index=index),
        order=order,
        column_problem=column_problem,
        undecided=pd.Series(undecided, index=index),
        n_zoned=n_zoned,
        notes=notes,
    )


def _finish_native(
    values: pd.Series, index: pd.Index, notes: list[str], n_zoned: int
) -> ParsedDates:
    values = pd.Series(values.to_numpy(), index=index)
    return ParsedDates(
        values=values,
        missing=values.isna(),
        problem=pd.Series(None, index=index, dtype=object),
        has_time=values.notna() & (values != values.dt.normalize()),
        order=None,
        column_problem=None,
        undecided=pd.Series(False, index=index),
        n_zoned=n_zoned,
        notes=notes,
    )


def _from_python(values: pd.Series) -> tuple[np.ndarray, int]:
    """Python dates and datetimes (zone-aware ones to UTC) as naive datetime64[ns]."""
    zoned = 0
    plain = []
    for v in values:
        if isinstance(v, dt.datetime) and v.tzinfo is not None:
            zoned += 1
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        elif not isinstance(v, dt.datetime):
            v = dt.datetime(v.year, v.month, v.day)
        plain.append(v)
    return pd.to_datetime(pd.Series(plain), errors="coerce").astype(
        "datetime64[ns]"
    ).to_numpy(), zoned


def _parse_general(
    text: pd.Series,
    positions: np.ndarray,
    dayfirst: bool | None,
    out: np.ndarray,
    has_time: np.ndarray,
    problem: pd.Series,
    undecided: np.ndarray,
) -> tuple[str | None, tuple[str, str] | None, int, list[str]]:
    """Parse the values not in plain ISO form, family by family, into ``out`` (in place)."""
    left = np.ones(len(text), dtype=bool)
    order: str | None = None
    column_problem = None
    zoned = 0
    notes: list[str] = []
    for family, pattern in _FAMILIES.items():
        if not left.any():
            break
        matched = text.str.fullmatch(pattern).to_numpy(dtype=bool) & left
        if not matched.any():
            continue
        left &= ~matched
        parts = text[matched].str.extract(pattern)
        pos = positions[matched]
        year = pd.to_numeric(parts["year"]).to_numpy()
        b = pd.to_numeric(parts["b"]).to_numpy()
        if family == "year first":
            month, day = pd.to_numeric(parts["a"]).to_numpy(), b
        elif family == "numeric":
            a = pd.to_numeric(parts["a"]).to_numpy()
            month, day, order, column_problem, odd = _order(a, b, dayfirst, text[matched])
            if column_problem is not None:
                undecided[pos] = True
                continue
            if order and dayfirst is None:
                notes.append(f"numeric dates read {order} (decided from the values)")
            if odd.any():
                problem.iloc[pos[odd]] = (
                    f"not a valid date when read {order} (dayfirst={order == 'day first'})"
                )
        else:
            month = parts["mname"].str.lower().map(_MONTHS).to_numpy(dtype=float)
            day = b
            unknown = np.isnan(month)
            if unknown.any():
                problem.iloc[pos[unknown]] = "the month name is not an English month"
        stamps, bad_time = _assemble(year, month, day, parts)
        zone_minutes = _zone_minutes(parts["zone"])
        if zone_minutes.notna().any():
            zoned += int(zone_minutes.notna().sum())
            stamps = stamps - pd.to_timedelta(zone_minutes.fillna(0).to_numpy(), unit="min")
        out[pos] = stamps.to_numpy()
        has_time[pos] = parts["hour"].notna().to_numpy()
        invalid = stamps.isna().to_numpy() & problem.iloc[pos].isna().to_numpy()
        problem.iloc[pos[invalid & bad_time]] = "not a valid time of day"
        problem.iloc[pos[invalid & ~bad_time]] = "not a valid calendar date"
    if left.any():
        problem.iloc[positions[left]] = "not a date in a format pfps_stats reads"
    return order, column_problem, zoned, notes


def _order(
    a: np.ndarray, b: np.ndarray, dayfirst: bool | None, text: pd.Series
) -> tuple[np.ndarray, np.ndarray, str | None, tuple[str, str] | None, np.ndarray]:
    """Month and day of numeric dates ``a/b/yyyy`` in the order given or proven by the values.

    Returns month, day, the order, a column problem (or None) and the rows invalid in that
    order.
    """
    if dayfirst is None:
        day_first = (a > 12) & (b <= 12)
        month_first = (b > 12) & (a <= 12)
        if day_first.any() and month_first.any():
            one, other = text[day_first].iloc[0], text[month_first].iloc[0]
            return (
                a,
                b,
                None,
                (
                    f"the column has numeric dates in both day/month orders ({one!r} can only be "
                    f"day first, {other!r} only month first)",
                    "pass dayfirst=True (or False); the values not valid in that order are "
                    "then reported row by row",
                ),
                np.zeros(len(a), dtype=bool),
            )
        if day_first.any():
            dayfirst = True
        elif month_first.any():
            dayfirst = False
        elif (a != b).any():
            shown = text[a != b].iloc[0]
            return (
                a,
                b,
                None,
                (
                    f"numeric dates such as {shown!r} read both as day/month and as month/day, "
                    "and no value in the column decides which",
                    "pass dayfirst=True when the day comes first (31/12/2025), dayfirst=False "
                    "when the month does (12/31/2025); or write dates as 2025-12-31",
                ),
                np.zeros(len(a), dtype=bool),
            )
        else:
            dayfirst = True  # every value has day == month: both readings agree
    month, day = (b, a) if dayfirst else (a, b)
    odd = (month < 1) | (month > 12)
    return month, day, "day first" if dayfirst else "month first", None, odd


def _assemble(
    year: np.ndarray, month: np.ndarray, day: np.ndarray, parts: pd.DataFrame
) -> tuple[pd.Series, np.ndarray]:
    """Datetimes from components (NaT where invalid) and the rows whose time is invalid."""
    hour = pd.to_numeric(parts["hour"]).fillna(0).to_numpy(dtype=float)
    minute = pd.to_numeric(parts["minute"]).fillna(0).to_numpy(dtype=float)
    second = pd.to_numeric(parts["second"]).fillna(0).to_numpy(dtype=float)
    fraction = pd.to_numeric(parts["fraction"]).fillna(0).to_numpy(dtype=float)
    ampm = parts["ampm"].fillna("").str.lower().str.replace(".", "", regex=False).to_numpy()
    twelve = ampm != ""
    bad_time = (twelve & ((hour < 1) | (hour > 12))) | (hour > 23) | (minute > 59) | (second > 59)
    hour = np.where(twelve, hour % 12 + np.where(ampm == "pm", 12, 0), hour)
    month = np.where(np.isnan(month) | (month < 1) | (month > 12), np.nan, month)
    components = pd.DataFrame(
        {
            "year": year,
            "month": month,
            "day": day,
            "hour": np.where(bad_time, np.nan, hour),
            "minute": minute,
            "second": second,
        }
    )
    stamps = pd.to_datetime(components, errors="coerce").astype("datetime64[ns]")
    stamps = stamps + pd.to_timedelta(fraction, unit="s")
    return stamps.reset_index(drop=True), bad_time


def _zone_minutes(zone: pd.Series) -> pd.Series:
    """Offsets east of UTC in minutes (0 for Z, UTC, GMT); NaN where no zone was written."""
    text = zone.fillna("").str.upper().str.replace(":", "", regex=False)
    utc = text.isin(["Z", "UTC", "GMT"])
    sign = np.where(text.str.startswith("-"), -1.0, 1.0)
    digits = text.str.lstrip("+-")
    hours = pd.to_numeric(digits.str.slice(0, 2), errors="coerce")
    minutes = pd.to_numeric(digits.str.slice(2, 4).replace("", "0"), errors="coerce")
    offset = sign * (hours * 60 + minutes.fillna(0))
    offset = offset.where(text.ne("") & ~utc, np.nan)
    return pd.Series(np.where(utc, 0.0, offset), index=zone.index).reset_index(drop=True)
