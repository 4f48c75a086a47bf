"""Injuries in: one row per injury, with PFP recognised from the diagnosis as written.

:func:`check_injuries` reads and validates an injury file without raising for bad rows;
:func:`load_injuries` raises :class:`~pfps_stats.cohort.validation.DataValidationError` or
sets bad rows aside. The definitions are those of ``docs/training-load.md``, section 2.

Whether an injury falls inside a runner's logged training, or belongs to a runner absent from
the log, is checked where the two meet: by the exposure functions, which report it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .dates import FORMATS_HELP, MISSING_DATE_TOKENS, as_text, parse_dates
from .readers import read_frame, read_table
from .training_log import _ID_KEYS, _check_on_invalid, looks_like_training_log
from .units import normalise
from .validation import CheckAccounting, problem_frame
from .variables import VARIABLES

#: Wordings of patellofemoral pain: a diagnosis containing one as whole words (case and
#: punctuation ignored) is PFP, unless it is hedged (:data:`PFP_HEDGES`).
PFP_LABELS: tuple[str, ...] = (
    "patellofemoral pain",
    "patellofemoral pain syndrome",
    "PFP",
    "PFPS",
    "runner's knee",
    "chondromalacia patellae",
)
#: Words that make a diagnosis uncertain or negated ("suspected PFP", "no PFP", "PFP vs
#: ITBS", "r/o PFP", "?PFP"): with one, a PFP wording is not counted as PFP.
PFP_HEDGES: tuple[str, ...] = (
    "no",
    "not",
    "non",
    "without",
    "suspected",
    "possible",
    "query",
    "rule out",
    "r/o",
    "?",
    "vs",
    "versus",
    "history of",
    "hx",
    "ruled out",
    "excluded",
    "negative",
    "unlikely",
    "like",
    "differential",
    "ddx",
)
#: Canonical names a ``mapping`` may target.
INJURY_COLUMNS = ("runner_id", "onset", "diagnosis", "pfp", "follow_up_end")

_KEYS = {
    "onset": (
        "onset",
        "onset date",
        "date of onset",
        "injury onset",
        "injury date",
        "date of injury",
        "injury onset date",
        "date",
    ),
    "diagnosis": (
        "diagnosis",
        "injury",
        "injury type",
        "injury diagnosis",
        "dx",
        "condition",
        "clinical diagnosis",
    ),
    "pfp": ("is pfp", "pfp 0 1", "pfp yes no", *VARIABLES["pfp"].aliases),
    "follow_up_end": (
        "follow up end",
        "follow up end date",
        "end of follow up",
        "followup end",
        "follow up until",
        "censor date",
        "censoring date",
        "last follow up",
        "study end",
        "end date",
    ),
}
_ROLE_OF = {normalise(k): role for role, keys in _KEYS.items() for k in keys}
_ROLE_OF.update(dict.fromkeys(_ID_KEYS, "runner_id"))
_PFP_VALUES = {
    spelling: level == "1"
    for level, spellings in VARIABLES["pfp"].levels.items()
    for spelling in spellings
}


@dataclass(frozen=True)
class InjuriesCheck(CheckAccounting):
    """Everything :func:`check_injuries` found.

    Attributes
    ----------
    data : DataFrame
        The accepted injuries, as :func:`load_injuries` returns them.
    quarantined : DataFrame
        Rows with problems: ``source_row``, ``reasons``, then the row as in the source.
    problems : DataFrame
        Every problem: row, column, value, problem, fix.
    notes : list of str
    n_input : int
        Rows read; ``len(data) + len(quarantined) == n_input``.
    source : str
    """

    data: pd.DataFrame
    quarantined: pd.DataFrame
    problems: pd.DataFrame
    notes: list[str]
    n_input: int
    source: str


def load_injuries(
    path: str | os.PathLike | pd.DataFrame,
    mapping: Mapping[str, str | None] | None = None,
    on_invalid: Literal["raise", "quarantine"] = "raise",
    quarantine_path: str | os.PathLike | None = None,
    pfp_labels: Iterable[str] | None = None,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """Load an injury file into one validated row per injury.

    Parameters
    ----------
    path : path or DataFrame
        CSV, Excel (.xlsx) or Parquet file, or a DataFrame (not modified). Columns are
        recognised by name: a runner id (``runner_id``, ``athlete id``, ``id``, ...), the
        onset (``onset``, ``injury date``, ``date``), the diagnosis (``diagnosis``,
        ``injury``), optionally ``pfp`` (0/1, yes/no) and ``follow_up_end``.
    mapping : dict, optional
        ``{source column: one of runner_id, onset, diagnosis, pfp, follow_up_end, or None}``.
    on_invalid : {"raise", "quarantine"}
        As for :func:`~pfps_stats.cohort.training_log.load_training_log`.
    quarantine_path : path, optional
        CSV file for the quarantined rows; required with ``on_invalid="quarantine"``.
    pfp_labels : iterable of str, optional
        Extra diagnosis wordings to count as PFP (e.g. ``["anterior knee pain"]``), beyond
        :data:`PFP_LABELS`; matched as whole words like them.
    dayfirst : bool, optional
        How to read numeric dates such as ``03/04/2025`` when no value decides.

    Returns
    -------
    DataFrame
        One row per injury (and one per follow-up-only row), sorted by ``runner_id``, then
        ``onset`` (missing last), then ``source_row``, with a fresh RangeIndex:
        ``runner_id`` (str), ``onset`` (datetime64[ns] at midnight; NaT on a row that only
        gives a follow-up end), ``diagnosis`` (str as written; missing on such a row),
        ``pfp`` (bool), ``follow_up_end`` (datetime64[ns] at midnight, the runner's one
        value on each of their rows, NaT when the file gives none), ``source_row`` (int, 1 =
        first data row). ``.attrs["notes"]`` says what was read and done.

    Raises
    ------
    DataValidationError
        For every problem: a missing runner id; an unreadable date (or day/month order
        undecidable without ``dayfirst``); a row with neither onset nor follow-up end; an
        onset with no diagnosis (and no pfp value); an unreadable pfp value; an onset after
        the runner's follow-up end; a date in the future; follow-up ends that disagree for
        one runner (every row carrying one is a problem); an injury repeated identically
        (same runner, onset and diagnosis: later copies, naming the first).

    Notes
    -----
    A diagnosis is PFP when, lower-cased with punctuation turned into spaces, it contains one
    of :data:`PFP_LABELS` or ``pfp_labels`` as whole words ("Patellofemoral pain syndrome
    (PFPS)", "PFPS right", "R knee PFPS"; also with the dots, hyphens and apostrophes
    removed: "P.F.P.S.", "patello-femoral pain", "runners knee"), unless the rest of it holds
    a word of uncertainty or negation (:data:`PFP_HEDGES`: "suspected PFP", "no PFP", "PFP vs
    ITBS", "?PFP"), which the notes name. "Anterior knee pain" is *not* PFP unless named in
    ``pfp_labels``. A ``pfp`` column in the file wins wherever it has a value. The diagnoses
    not counted as PFP are listed in the notes, so that a wording missed is seen.
    """
    _check_on_invalid(on_invalid, quarantine_path, path, "check_injuries")
    check = check_injuries(path, mapping, pfp_labels, dayfirst)
    return check.settle(on_invalid, quarantine_path)


def looks_like_injuries(columns: Iterable[str]) -> bool:
    """Whether a header is an injury file's: a runner id and a diagnosis or an injury-onset
    column (a bare ``date`` is not enough), and not a training log."""
    columns = [str(c) for c in columns]
    if looks_like_training_log(columns):
        return False
    keys = [normalise(c) for c in columns]
    roles = {_ROLE_OF.get(k) for k in keys if k != "date"}
    return "runner_id" in roles and bool({"diagnosis", "onset"} & roles)


def fold_label(text: pd.Series) -> pd.Series:
    """Diagnoses folded for comparison: lower case, everything but letters and digits
    removed (``"Runner's knee"`` -> ``"runnersknee"``)."""
    return text.str.lower().str.replace(r"[^0-9a-z]+", "", regex=True)


def check_injuries(
    path: str | os.PathLike | pd.DataFrame,
    mapping: Mapping[str, str | None] | None = None,
    pfp_labels: Iterable[str] | None = None,
    dayfirst: bool | None = None,
) -> InjuriesCheck:
    """Read and validate an injury file; return the injuries, the rows set aside and every
    problem, without raising for bad rows. Parameters as for :func:`load_injuries`.

    Returns
    -------
    InjuriesCheck
    """
    raw = read_frame(path) if isinstance(path, pd.DataFrame) else read_table(path)
    frame = raw.frame
    n = len(frame)
    rows = np.asarray(frame.index, dtype=np.int64)
    names = list(frame.columns)
    problems: list[dict] = [p for p in raw.problems]
    roles = _roles(names, dict(mapping or {}), problems)
    notes = [f"Read {n} rows from {raw.source}."] + [f"{note}." for note in raw.notes]
    labels = _labels(pfp_labels)
    unused = [n for i, n in enumerate(names) if i not in roles.values()]
    if unused:
        notes.append(f"Columns not used: {', '.join(map(repr, unused))}.")
    if any(p["row"] is None for p in problems):
        return _finish(raw, problems, None, notes, np.ones(n, dtype=bool))

    def add(mask: np.ndarray, role: str, problem, fix: str) -> None:
        for p in np.flatnonzero(mask):
            text = problem(p) if callable(problem) else problem
            value = frame.iat[p, roles[role]] if role in roles else None
            problems.append(
                {
                    "row": int(rows[p]),
                    "column": names[roles[role]] if role in roles else role,
                    "value": value,
                    "problem": text,
                    "fix": fix,
                }
            )

    runner = as_text(frame.iloc[:, roles["runner_id"]]).reset_index(drop=True)
    no_id = runner.str.lower().isin(MISSING_DATE_TOKENS).to_numpy()
    add(no_id, "runner_id", "runner id is missing", "give every row its runner's id")

    # Dates: onset and follow-up end read together, so that one day/month order holds.
    date_roles = [r for r in ("onset", "follow_up_end") if r in roles]
    stacked = pd.concat(
        [frame.iloc[:, roles[r]].reset_index(drop=True) for r in date_roles], ignore_index=True
    )
    if stacked.dtype == object and pd.api.types.infer_dtype(stacked, skipna=True) == "string":
        stacked = stacked.astype("str")
    parsed = parse_dates(stacked, dayfirst=dayfirst)
    notes += [f"Dates: {note}." for note in parsed.notes]
    dates: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    blocked = np.zeros(n, dtype=bool)
    for k, role in enumerate(date_roles):
        part = slice(k * n, (k + 1) * n)
        values = parsed.values.iloc[part].to_numpy()
        times = parsed.has_time.iloc[part].to_numpy()
        if times.any():
            notes.append(
                f"{int(times.sum())} {role} value(s) gave a time of day: only the date is kept."
            )
        dates[role] = values.astype("datetime64[D]").astype("datetime64[ns]")
        present[role] = ~parsed.missing.iloc[part].to_numpy()
        bad = parsed.problem.iloc[part]
        add(bad.notna().to_numpy(), role, lambda p, b=bad: f"{b.iat[p]}", FORMATS_HELP)
        blocked |= parsed.undecided.iloc[part].to_numpy()
    if parsed.column_problem is not None:
        problem, fix = parsed.column_problem
        problems.append(
            {
                "row": None,
                "column": ", ".join(names[roles[r]] for r in date_roles),
                "value": None,
                "problem": problem,
                "fix": fix,
            }
        )
    onset = dates.get("onset", np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    end = dates.get("follow_up_end", np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    has_onset = present.get("onset", np.zeros(n, dtype=bool))
    has_end = present.get("follow_up_end", np.zeros(n, dtype=bool))
    add(
        ~has_onset & ~has_end,
        "onset" if "onset" in roles else "follow_up_end",
        "the row gives neither an injury onset nor a follow-up end",
        "give the onset date of the injury (or the runner's follow-up end), or delete the row",
    )
    today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=1)
    for role, values in (("onset", onset), ("follow_up_end", end)):
        future = ~np.isnat(values) & (values > np.datetime64(today.as_unit("ns")))
        what = "onset" if role == "onset" else "follow-up end"
        add(
            future,
            role,
            lambda p, v=values, w=what: f"the {w} {pd.Timestamp(v[p]).date()} is in the future",
            "correct the date (is the day/month order or the year wrong?)",
        )

    # Diagnosis and PFP
    diagnosis = (
        as_text(frame.iloc[:, roles["diagnosis"]]).reset_index(drop=True)
        if "diagnosis" in roles
        else pd.Series("", index=range(n), dtype="str")
    )
    no_diagnosis = diagnosis.str.lower().isin(MISSING_DATE_TOKENS).to_numpy()
    named, hedged = _pfp_wording(diagnosis, labels)
    named &= ~no_diagnosis
    hedged &= ~no_diagnosis
    pfp = named.copy()
    stated = np.zeros(n, dtype=bool)
    if "pfp" in roles:
        given = as_text(frame.iloc[:, roles["pfp"]]).reset_index(drop=True).str.lower()
        stated = ~given.isin(MISSING_DATE_TOKENS).to_numpy()
        value = given.map(_PFP_VALUES)
        unreadable = stated & value.isna().to_numpy()
        add(
            unreadable,
            "pfp",
            lambda p: f"{given.iat[p]!r} is not a pfp value (0/1, yes/no)",
            "write 1 (PFP) or 0 (another injury), or leave the cell empty to go by the diagnosis",
        )
        pfp = np.where(stated & ~unreadable, value.fillna(False).to_numpy(dtype=bool), pfp)
        overruled = stated & ~unreadable & (pfp != named)
        if (overruled & ~no_diagnosis).any():
            notes.append(
                f"The file's pfp column decides for {int((overruled & ~no_diagnosis).sum())} "
                f"injuries whose diagnosis alone would say otherwise."
            )
    add(
        has_onset & no_diagnosis & ~stated,
        "diagnosis",
        "the injury has an onset but no diagnosis, so it is not known whether it is PFP",
        "write the diagnosis (or a pfp column with 1/0)",
    )

    # Follow-up end: one value per runner
    runner_key = runner.where(~no_id, None)
    given_end = pd.DataFrame({"runner": runner_key, "end": end})[has_end & ~np.isnat(end)]
    distinct = given_end.groupby("runner")["end"].nunique()
    conflicted = set(distinct.index[distinct > 1])
    if conflicted:
        first_rows = {
            r: ", ".join(
                f"{pd.Timestamp(e).date()} (row {rows[i]})"
                for i, e in g["end"].drop_duplicates().items()
            )
            for r, g in given_end[given_end["runner"].isin(conflicted)].groupby("runner")
        }
        mask = runner_key.isin(conflicted).to_numpy() & has_end & ~np.isnat(end)
        add(
            mask,
            "follow_up_end",
            lambda p: (
                f"runner {runner.iat[p]!r} has more than one follow-up end: "
                f"{first_rows[runner.iat[p]]}"
            ),
            "give each runner one follow-up end (on one row, or the same on all)",
        )
    runner_end = given_end[~given_end["runner"].isin(conflicted)].groupby("runner")["end"].first()
    end_of = runner_end.reindex(runner_key.to_numpy()).to_numpy(dtype="datetime64[ns]")
    after = has_onset & ~np.isnat(onset) & ~np.isnat(end_of) & (onset > end_of)
    add(
        after,
        "onset",
        lambda p: (
            f"the onset {pd.Timestamp(onset[p]).date()} is after runner "
            f"{runner.iat[p]!r}'s follow-up end {pd.Timestamp(end_of[p]).date()}"
        ),
        "correct the onset or the follow-up end",
    )

    # Identical injuries, among rows with no other problem
    flagged = np.zeros(n, dtype=bool)
    for p in problems:
        if p["row"] is not None:
            flagged[np.flatnonzero(rows == p["row"])] = True
    clean = np.flatnonzero(~flagged & ~blocked & has_onset)
    if len(clean):
        keys = pd.DataFrame(
            {
                "r": runner.iloc[clean].to_numpy(),
                "o": onset[clean].view("int64"),
                "d": fold_label(diagnosis.iloc[clean]).to_numpy(),
            }
        )
        dup = keys.duplicated(keep="first").to_numpy()
        if dup.any():
            group = keys.groupby(["r", "o", "d"], sort=False).ngroup().to_numpy()
            first = pd.Series(clean).groupby(group).transform("first").to_numpy()
            first_of = dict(zip(clean[dup], first[dup], strict=True))
            is_dup = np.zeros(n, dtype=bool)
            is_dup[clean[dup]] = True
            add(
                is_dup,
                "onset",
                lambda p: (
                    f"the same injury (runner {runner.iat[p]!r}, onset "
                    f"{pd.Timestamp(onset[p]).date()}, {diagnosis.iat[p]!r}) is in row "
                    f"{rows[first_of[p]]} already"
                ),
                "delete the repeated row (the first copy is kept)",
            )

    values = {
        "runner_id": runner,
        "onset": pd.Series(np.where(has_onset, onset, np.datetime64("NaT"))),
        "diagnosis": diagnosis.where(~no_diagnosis),
        "pfp": pd.Series(pfp.astype(bool)),
        "follow_up_end": pd.Series(end_of),
    }
    return _finish(raw, problems, values, notes, blocked, parsed.column_problem, hedged & ~stated)


def _words(text: pd.Series, joined: bool) -> pd.Series:
    """Text as space-separated lower-case words: punctuation turned into spaces, or with
    ``joined`` dots, hyphens and apostrophes first removed ("P.F.P.S." -> "pfps")."""
    text = text.str.lower()
    if joined:
        text = text.str.replace(r"[.\-'\u2019`]+", "", regex=True)
    return text.str.replace(r"[\W_]+", " ", regex=True).str.strip()


def _labels(extra: Iterable[str] | None) -> re.Pattern:
    """A pattern matching any PFP wording (both word forms of each) as whole words."""
    extra = [extra] if isinstance(extra, str) else list(extra or [])
    wordings = pd.Series([*PFP_LABELS, *extra], dtype="str")
    forms = {f for joined in (False, True) for f in _words(wordings, joined) if f}
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<!\S)(?:{alternatives})(?!\S)")


_HEDGE = re.compile(
    r"(?<!\S)(?:"
    + "|".join(
        re.escape(w) for w in _words(pd.Series(list(PFP_HEDGES), dtype="str"), joined=False) if w
    )
    + r")(?!\S)"
)


def _pfp_wording(diagnosis: pd.Series, labels: re.Pattern) -> tuple[np.ndarray, np.ndarray]:
    """Per diagnosis: (names PFP and is not hedged, names PFP but is hedged).

    A diagnosis names PFP when either word form (:func:`_words`) contains a wording of
    ``labels``; it is hedged when what is left of either form once the wordings are taken
    out holds a word of :data:`PFP_HEDGES`, or when it contains "?". Computed once per
    distinct diagnosis.
    """
    codes, uniques = pd.factorize(diagnosis)
    if not len(uniques):
        none = np.zeros(len(diagnosis), dtype=bool)
        return none, none.copy()
    text = pd.Series(np.asarray(uniques, dtype=object), dtype="str")
    named = np.zeros(len(text), dtype=bool)
    hedged = text.str.contains("?", regex=False).to_numpy(dtype=bool, copy=True)
    for joined in (False, True):
        words = _words(text, joined)
        named |= words.str.contains(labels).to_numpy()
        rest = words.str.replace(labels, " ", regex=True)
        hedged |= rest.str.contains(_HEDGE).to_numpy()
    hedged &= named
    pick = np.where(codes >= 0, codes, 0)
    missing = codes < 0
    out_named = np.where(missing, False, (named & ~hedged)[pick])
    out_hedged = np.where(missing, False, hedged[pick])
    return out_named, out_hedged


def _roles(names: list[str], mapping: dict, problems: list[dict]) -> dict[str, int]:
    """Which column holds each injury variable (positions), with column problems."""
    roles: dict[str, list[int]] = {}
    mapped: dict[int, str | None] = {}
    for key, target in mapping.items():
        where = [i for i, c in enumerate(names) if c == key] or [
            i for i, c in enumerate(names) if normalise(c) == normalise(str(key))
        ]
        if not where:
            close = difflib.get_close_matches(str(key), names, n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            problems.append(
                _column_problem(
                    str(key),
                    f"mapping names a column {key!r} that is not in the data.{hint}",
                    f"use one of the data's columns: {', '.join(map(repr, names))}",
                )
            )
            continue
        if target is not None and target not in INJURY_COLUMNS:
            close = difflib.get_close_matches(str(target), INJURY_COLUMNS, n=2)
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
            problems.append(
                _column_problem(
                    names[where[0]],
                    f"mapping target {target!r} is not an injury column.{hint}",
                    f"use one of: {', '.join(INJURY_COLUMNS)}, or None to ignore the column",
                )
            )
            continue
        mapped[where[0]] = target
    for i, name in enumerate(names):
        role = mapped[i] if i in mapped else _ROLE_OF.get(normalise(name))
        if role is not None:
            roles.setdefault(role, []).append(i)
    out: dict[str, int] = {}
    for role, where in roles.items():
        if len(where) > 1:
            shown = ", ".join(repr(names[i]) for i in where)
            problems.append(
                _column_problem(
                    names[where[1]],
                    f"{len(where)} columns hold {role}: {shown}",
                    f"keep one; ignore the others with mapping={{{names[where[1]]!r}: None}}",
                )
            )
        out[role] = where[0]
    shown = ", ".join(map(repr, names))
    if "runner_id" not in out:
        problems.append(
            _column_problem(
                "runner_id",
                f"no column holds the runner id; the columns are {shown}",
                "name it 'runner_id', or pass mapping={'<your column>': 'runner_id'}",
            )
        )
    if "onset" not in out and "follow_up_end" not in out:
        problems.append(
            _column_problem(
                "onset",
                f"no column holds the injury onset date; the columns are {shown}",
                "name it 'onset', or pass mapping={'<your column>': 'onset'}",
            )
        )
    if "onset" in out and "diagnosis" not in out and "pfp" not in out:
        problems.append(
            _column_problem(
                "diagnosis",
                f"no column says what the injury was (a diagnosis or a pfp 0/1 column); the "
                f"columns are {shown}",
                "name it 'diagnosis', or pass mapping={'<your column>': 'diagnosis'}",
            )
        )
    return out


def _column_problem(column: str, problem: str, fix: str) -> dict:
    return {"row": None, "column": column, "value": None, "problem": problem, "fix": fix}


def _finish(
    raw,
    problems: list[dict],
    values: dict[str, pd.Series] | None,
    notes: list[str],
    blocked: np.ndarray,
    column_problem: tuple[str, str] | None = None,
    hedged: np.ndarray | None = None,
) -> InjuriesCheck:
    frame = raw.frame
    rows = np.asarray(frame.index, dtype=np.int64)
    table = problem_frame(problems)
    table = table.iloc[np.argsort(table["row"].fillna(-1).to_numpy(), kind="stable")]
    table = table.reset_index(drop=True)
    reasons = (
        table.dropna(subset=["row"])
        .assign(reason=lambda d: d["column"].astype(str) + ": " + d["problem"])
        .groupby("row")["reason"]
        .agg("; ".join)
    )
    whole = "; ".join(f"{p['column']}: {p['problem']}" for p in problems if p["row"] is None)
    bad = np.isin(rows, reasons.index.to_numpy(dtype=np.int64)) | blocked
    quarantined = frame.loc[bad].astype(object).copy()
    why = reasons.reindex(quarantined.index).to_numpy(dtype=object)
    if blocked.any() or values is None:
        extra = whole if values is None else f"day/month order: {column_problem[0]}"
        why = (
            np.array([w if isinstance(w, str) else extra for w in why], dtype=object)
            if len(why)
            else why
        )
    quarantined = quarantined.rename(
        columns={c: f"{c} (in the file)" for c in ("source_row", "reasons") if c in quarantined}
    )
    quarantined.insert(0, "reasons", why)
    quarantined.insert(0, "source_row", quarantined.index.to_numpy())
    quarantined = quarantined.reset_index(drop=True)
    if values is None:
        data = pd.DataFrame(
            {
                "runner_id": pd.Series(dtype="str"),
                "onset": pd.Series(dtype="datetime64[ns]"),
                "diagnosis": pd.Series(dtype="str"),
                "pfp": pd.Series(dtype=bool),
                "follow_up_end": pd.Series(dtype="datetime64[ns]"),
                "source_row": pd.Series(dtype="int64"),
            }
        )
    else:
        ok = np.flatnonzero(~bad)
        data = pd.DataFrame({k: v.iloc[ok].to_numpy() for k, v in values.items()})
        data["source_row"] = rows[ok]
        data["_hedged"] = np.zeros(len(ok), dtype=bool) if hedged is None else hedged[ok]
        data = data.astype(
            {
                "runner_id": "str",
                "onset": "datetime64[ns]",
                "diagnosis": "str",
                "pfp": bool,
                "follow_up_end": "datetime64[ns]",
                "source_row": "int64",
            }
        )
        data = data.sort_values(
            ["runner_id", "onset", "source_row"], na_position="last", kind="stable"
        ).reset_index(drop=True)
        n_pfp = int(data["pfp"].sum())
        is_hedged = data.pop("_hedged").to_numpy(dtype=bool)
        uncertain = data["diagnosis"][is_hedged].value_counts()
        if len(uncertain):
            shown = ", ".join(f"{d!r} ({c})" for d, c in list(uncertain.items())[:10])
            more = f" and {len(uncertain) - 10} more" if len(uncertain) > 10 else ""
            notes.append(
                f"Not counted as PFP because uncertain or negated: {shown}{more}; a pfp column "
                f"(1/0) in the file decides such cases."
            )
        not_pfp = data["diagnosis"][~data["pfp"] & ~is_hedged].dropna().value_counts()
        if len(not_pfp):
            shown = ", ".join(f"{d!r} ({c})" for d, c in list(not_pfp.items())[:10])
            more = f" and {len(not_pfp) - 10} more" if len(not_pfp) > 10 else ""
            notes.append(
                f"Diagnoses not counted as PFP: {shown}{more}; pass pfp_labels=[...] to count "
                f"a wording as PFP."
            )
        notes.append(
            f"{len(data)} rows accepted ({data['onset'].notna().sum()} injuries, {n_pfp} PFP; "
            f"{data['runner_id'].nunique()} runners), {len(quarantined)} quarantined (of "
            f"{len(frame)} read)."
        )
    data.attrs["notes"] = list(notes)
    return InjuriesCheck(
        data=data,
        quarantined=quarantined,
        problems=table,
        notes=notes,
        n_input=len(frame),
        source=raw.source,
    )
