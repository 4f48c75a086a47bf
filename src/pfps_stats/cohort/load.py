"""Loading a cohort: read, map columns, convert units, derive BMI, validate, quarantine.

:func:`check_cohort` does all of it and returns everything it found, without raising for bad
rows; :func:`load_cohort` is the everyday entry point that raises
:class:`~pfps_stats.validation.DataValidationError` or sets bad rows aside.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .._exceptions import DataQualityWarning
from .columns import ColumnMatch, MappingTarget, match_columns
from .readers import RawTable, read_frame, read_table
from .units import UNITS, conversion_note, convert
from .validation import CheckAccounting, problem_frame
from .variables import OUTCOME, VARIABLES, Variable

#: |recorded BMI - mass/height²| above this (kg/m²) is a problem. Rounding of height to 1 cm
#: and mass to 0.1 kg moves BMI by at most ~0.15 kg/m² in the plausible range.
BMI_TOLERANCE = 0.5

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", ".", "-", "missing", "#n/a"})
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_DECIMAL_COMMA = r"^([+-]?\d+),(\d+)$"


@dataclass
class CohortCheck(CheckAccounting):
    """Everything :func:`check_cohort` found.

    Attributes
    ----------
    data : DataFrame
        Accepted rows, canonical columns first (dictionary order), then extra columns in
        snake_case; indexed by ``source_row``.
    quarantined : DataFrame
        Rows with problems, values as in the source, plus ``source_row`` and ``reasons``.
    problems : DataFrame
        Every problem: row, column, value, problem (and fix).
    columns : DataFrame
        One row per source column: source, output, variable, unit, conversion, how.
    n_input : int
        Rows read (after skipping blank rows and collapsing REDCap events).
    notes : list of str
        What the reader did that a user should know (encoding, sheet, REDCap handling).
    source : str
    """

    data: pd.DataFrame
    quarantined: pd.DataFrame
    problems: pd.DataFrame
    columns: pd.DataFrame
    n_input: int
    source: str
    notes: list[str] = field(default_factory=list)


def _as_raw(source: str | os.PathLike | pd.DataFrame) -> RawTable:
    if isinstance(source, pd.DataFrame):
        return read_frame(source)
    return read_table(source)


def check_cohort(
    source: str | os.PathLike | pd.DataFrame,
    mapping: Mapping[str, MappingTarget] | None = None,
) -> CohortCheck:
    """Read and validate a cohort, returning accepted rows, quarantined rows and every problem.

    Unlike :func:`load_cohort` it does not raise for bad rows, so a data-quality report can
    show everything. It raises :class:`DataValidationError` only when the file cannot be read
    at all (missing, empty, unparseable, two columns with one name).

    A row the reader could not take as it stands (a value beyond the header's last column,
    a REDCap record whose events disagree) is quarantined with that reason alone: its values
    may be in the wrong columns, so they are not validated further.

    Parameters
    ----------
    source : path or DataFrame
        CSV, Excel (.xlsx), Parquet, SPSS (.sav), Stata (.dta) or REDCap CSV export; or a
        DataFrame, which is not modified.
    mapping : dict, optional
        ``{source column: canonical name | (canonical name, unit) | None}``.

    Returns
    -------
    CohortCheck
    """
    raw = _as_raw(source)
    frame = raw.frame
    matches, found = match_columns(list(frame.columns), raw.labels, mapping)
    ignored = {m.source for m in matches if m.how == "ignored (mapping)"}
    # What the reader found first: rows it could not read as they stand are set aside whole
    # with that reason, and not validated (their values may be in the wrong columns).
    problems = [p for p in raw.problems if p["row"] is not None or p["column"] not in ignored]
    problems += found
    set_aside = frame.index.isin([p["row"] for p in problems if p["row"] is not None])
    checked = frame.loc[~set_aside]
    values: dict[str, pd.Series] = {}
    by_variable = {m.variable: m for m in matches if m.variable}
    # Mass first: forces and torques need it.
    order = sorted(by_variable.values(), key=lambda m: m.variable != "mass_kg")
    for m in order:
        var = VARIABLES[m.variable]
        values[var.name] = _parse(checked[m.source], var, m, values.get("mass_kg"), problems)
    _derive_bmi(values, by_variable, checked, problems)
    _check_duplicates(values, by_variable, checked, problems)

    problems_df = problem_frame(problems)
    bad_rows = problems_df["row"].dropna().unique()
    ok = ~frame.index.isin(bad_rows)
    data = _assemble(values, matches, frame, frame.index[ok])
    quarantined = frame.loc[~ok].astype(object).copy()
    # The set-aside table leads with source_row and reasons: a source column of either name
    # is kept, renamed.
    quarantined = quarantined.rename(
        columns={c: f"{c} (in the file)" for c in ("source_row", "reasons") if c in quarantined}
    )
    reasons = (
        problems_df.dropna(subset=["row"])
        .assign(reason=lambda d: d["column"].astype(str) + ": " + d["problem"])
        .groupby("row")["reason"]
        .agg("; ".join)
    )
    quarantined.insert(0, "reasons", reasons.reindex(quarantined.index).to_numpy())
    quarantined = quarantined.reset_index()
    return CohortCheck(
        data=data,
        quarantined=quarantined,
        problems=problems_df,
        columns=_column_report(matches),
        n_input=len(frame),
        source=raw.source,
        notes=raw.notes,
    )


def load_cohort(
    path: str | os.PathLike | pd.DataFrame,
    mapping: Mapping[str, MappingTarget] | None = None,
    on_invalid: Literal["raise", "quarantine"] = "raise",
    quarantine_path: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Load a cohort file into a validated DataFrame with canonical columns and units.

    Parameters
    ----------
    path : path or DataFrame
        CSV (comma or semicolon, decimal comma, UTF-8 or Latin-1), Excel, Parquet, SPSS .sav,
        Stata .dta (value labels applied) or a REDCap CSV export; or a DataFrame (not modified).
    mapping : dict, optional
        Source column -> canonical name, ``(canonical name, unit)``, or None to ignore it.
        Columns not mapped are recognised by canonical name or known alias.
    on_invalid : {"raise", "quarantine"}
        "raise": any problem raises :class:`DataValidationError` listing all of them.
        "quarantine": rows with problems are set aside and written, values as in the source
        with their reasons, to ``quarantine_path``; a :class:`DataQualityWarning` gives the
        count. Problems with whole columns (a missing required column, an unknown unit) raise
        either way.
    quarantine_path : path, optional
        CSV file for the set-aside rows; required with ``on_invalid="quarantine"``. It must
        not be the input file (checked before anything is read or written).

    Returns
    -------
    DataFrame
        One row per runner (or knee), indexed by ``source_row`` (1 = first data row), with
        the canonical columns present (see :data:`pfps_stats.cohort.variables.VARIABLES`; numbers in
        canonical units, ``bmi`` derived when absent) and then extra columns in snake_case.
        Accepted plus quarantined rows equal the rows read.

    Raises
    ------
    DataValidationError
        With ``.problems`` (row, column, value, problem) for every problem found.
    ValueError
        For a bad ``on_invalid``, or a ``quarantine_path`` that is missing, a folder or the
        input file itself.
    """
    if on_invalid not in ("raise", "quarantine"):
        raise ValueError(f'on_invalid must be "raise" or "quarantine", not {on_invalid!r}')
    if on_invalid == "quarantine" and quarantine_path is None:
        raise ValueError(
            'on_invalid="quarantine" needs quarantine_path=..., a CSV file where '
            "the set-aside rows are kept with their reasons; or use "
            "ps.check_cohort(...) to see them in memory."
        )
    if on_invalid == "quarantine":
        check_quarantine_path(quarantine_path, path)
    check = check_cohort(path, mapping)
    data = check.settle(on_invalid, quarantine_path)
    _warn_outcome(data, check.source)
    return data


def check_quarantine_path(
    quarantine_path: str | os.PathLike, source: str | os.PathLike | pd.DataFrame | None = None
) -> Path:
    """Return ``quarantine_path`` as a Path when the set-aside rows can be written there.

    Raises
    ------
    ValueError
        When it is a folder, or the same file as ``source`` (after resolving symbolic links,
        ``..`` and hard links): writing there would replace the data with the rows set aside.
    """
    target = Path(quarantine_path)
    if target.is_dir():
        raise ValueError(
            f"quarantine_path {str(target)!r} is a folder; give a CSV file name inside it, "
            f"e.g. {str(target / 'quarantine.csv')!r}"
        )
    if source is None or isinstance(source, pd.DataFrame):
        return target
    source = Path(source)
    same = target.resolve() == source.resolve()
    if not same and target.exists() and source.exists():
        try:
            same = os.path.samefile(target, source)
        except OSError:  # pragma: no cover - a file vanishing between the two checks
            same = False
    if same:
        raise ValueError(
            f"quarantine_path {str(target)!r} is the input file {str(source)!r}; writing the "
            f"set-aside rows there would replace your data. Give another file, e.g. "
            f"{str(source.with_name(source.stem + '_quarantine.csv'))!r}"
        )
    return target


def _warn_outcome(data: pd.DataFrame, source: str) -> None:
    if OUTCOME in data and len(data) and data[OUTCOME].nunique() == 1:
        only = int(data[OUTCOME].iloc[0])
        warnings.warn(
            f"{source}: every runner has pfp = {only}; odds ratios cannot be estimated from a "
            f"single-class outcome. Check the outcome coding or the follow-up.",
            DataQualityWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------------------------
# Parsing one column


_STRING = pd.StringDtype("pyarrow")  # vectorised string kernels (pyarrow is a dependency)


def _text(raw: pd.Series) -> pd.Series:
    """Values as stripped text ('' for missing: None, NaN, NaT), whole floats without '.0'."""
    if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):
        return raw.astype(_STRING).fillna("").str.strip()

    def one(v: object) -> str:
        if v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return raw.map(one).astype(_STRING).str.strip()


def _problem(row, column: str, value, problem: str, fix: str) -> dict:
    return {"row": row, "column": column, "value": value, "problem": problem, "fix": fix}


def _parse(
    raw: pd.Series, var: Variable, m: ColumnMatch, mass_kg: pd.Series | None, problems: list[dict]
) -> pd.Series:
    if var.kind == "numeric":
        return _parse_numeric(raw, var, m, mass_kg, problems)
    text = _text(raw)
    missing = text.str.lower().isin(MISSING_TOKENS)
    if var.kind == "id":
        for row in text.index[missing]:
            problems.append(
                _problem(
                    row, m.source, raw[row], "missing runner ID", "give every row its runner's ID"
                )
            )
        return text.where(~missing)
    if var.kind == "text":
        return text.where(~missing)
    lookup = {
        spelling: level
        for level, spellings in var.levels.items()
        for spelling in (*spellings, level.lower())
    }
    folded = text.str.lower()
    if folded.str.contains(r"\s\s", regex=True).any():
        folded = folded.str.replace(r"\s+", " ", regex=True)
    parsed = folded.map(lookup)
    levels = "/".join(var.levels)
    if var.kind == "binary":
        for row in text.index[missing]:
            problems.append(
                _problem(
                    row,
                    m.source,
                    raw[row],
                    "outcome is missing",
                    "record 0 or 1 for every runner; runners lost to "
                    "follow-up belong in a separate file",
                )
            )
        for row in text.index[~missing & parsed.isna()]:
            problems.append(
                _problem(
                    row,
                    m.source,
                    raw[row],
                    f"{text[row]!r} is not a binary outcome (0/1)",
                    "code the outcome as 0/1 (or no/yes)",
                )
            )
        return parsed.astype(float)
    for row in text.index[~missing & parsed.isna()]:
        fix = f"use {levels}"
        if text[row].replace(".", "", 1).isdigit():
            fix += (
                "; numeric codes are ambiguous, so apply the value labels "
                "(or export with labels) first"
            )
        problems.append(
            _problem(
                row,
                m.source,
                raw[row],
                f"{text[row]!r} is not a {var.label.lower()} ({levels})",
                fix,
            )
        )
    return parsed


def _parse_numeric(
    raw: pd.Series, var: Variable, m: ColumnMatch, mass_kg: pd.Series | None, problems: list[dict]
) -> pd.Series:
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        number = raw.astype(float)
        bad = pd.Series(False, index=raw.index)
        missing = number.isna()
    else:
        text = _text(raw)
        missing = text.str.lower().isin(MISSING_TOKENS)
        text = text.str.replace(_DECIMAL_COMMA, r"\1.\2", regex=True)
        ok = text.str.fullmatch(_NUMBER).astype(bool)
        bad = ~missing & ~ok
        number = pd.to_numeric(text.where(ok), errors="coerce").astype(float)
    for row in raw.index[bad]:
        problems.append(
            _problem(
                row,
                m.source,
                raw[row],
                f"{raw[row]!r} is not a number",
                f"enter a number in {UNITS[m.unit].symbol if m.unit else ''}"
                " or leave the cell empty; a decimal comma is fine",
            )
        )
    infinite = np.isinf(number)
    for row in raw.index[infinite]:
        problems.append(
            _problem(
                row,
                m.source,
                raw[row],
                "not a finite number",
                "enter a measured value or leave the cell empty",
            )
        )
    number = number.where(~infinite)
    if m.unit is None or (UNITS[m.unit].per_mass and mass_kg is None):
        # The whole column's unit problem is reported already; never pass on a guess.
        return pd.Series(np.nan, index=raw.index)
    target = var.units[0]
    if UNITS[m.unit].per_mass:
        no_mass = number.notna() & mass_kg.isna()
        for row in raw.index[no_mass]:
            problems.append(
                _problem(
                    row,
                    m.source,
                    raw[row],
                    f"needs body mass to convert {UNITS[m.unit].symbol} to "
                    f"{var.unit}, and body mass is missing",
                    "record body mass for this runner",
                )
            )
    converted = convert(number, m.unit, target, mass_kg)
    _check_range(raw, converted, var, m, problems)
    return converted


def _check_range(
    raw: pd.Series, values: pd.Series, var: Variable, m: ColumnMatch, problems: list[dict]
) -> None:
    shown_unit = var.unit
    gap = "" if var.unit in ("°", "%") else " "
    from_note = "" if m.unit == var.units[0] else f" (from {UNITS[m.unit].symbol})"
    if var.possible:
        lo, hi = var.possible
        impossible = (values < lo) | (values > hi)
        for row in values.index[impossible]:
            problems.append(
                _problem(
                    row,
                    m.source,
                    raw[row],
                    f"{values[row]:.4g}{gap}{shown_unit}{from_note} is impossible for {var.label}",
                    "correct the entry; leave the cell empty if it was not measured",
                )
            )
    else:
        impossible = pd.Series(False, index=values.index)
    if var.plausible:
        lo, hi = var.plausible
        odd = ((values < lo) | (values > hi)) & ~impossible
        for row in values.index[odd]:
            fix = "check the entry and its unit"
            if var.name == "height_cm" and 1.2 <= values[row] <= 2.2:
                fix += "; it looks like metres: correct the entry, or if the whole column is in metres, name it 'Height (m)'"
            problems.append(
                _problem(
                    row,
                    m.source,
                    raw[row],
                    f"{values[row]:.4g}{gap}{shown_unit}{from_note} is outside the plausible range "
                    f"{lo:g} to {hi:g}{gap}{shown_unit} for {var.label}",
                    fix,
                )
            )


def _derive_bmi(
    values: dict[str, pd.Series],
    by_variable: dict[str, ColumnMatch],
    frame: pd.DataFrame,
    problems: list[dict],
) -> None:
    height, mass = values.get("height_cm"), values.get("mass_kg")
    if height is None or mass is None:
        return
    computed = mass / (height / 100) ** 2
    if "bmi" not in values:
        values["bmi"] = computed.round(2)
        return
    recorded = values["bmi"]
    source = by_variable["bmi"].source
    disagree = (recorded - computed).abs() > BMI_TOLERANCE
    for row in recorded.index[disagree]:
        problems.append(
            _problem(
                row,
                source,
                frame.loc[row, source],
                f"BMI {recorded[row]:.1f} kg/m² disagrees with height {height[row]:.1f} cm and mass "
                f"{mass[row]:.1f} kg (mass/height² = {computed[row]:.1f})",
                "correct BMI, height or mass; if BMI is from another visit, leave it out and it "
                "is derived from height and mass",
            )
        )
    values["bmi"] = recorded.fillna(computed.round(2))


def _check_duplicates(
    values: dict[str, pd.Series],
    by_variable: dict[str, ColumnMatch],
    frame: pd.DataFrame,
    problems: list[dict],
) -> None:
    ids = values.get("runner_id")
    if ids is None:
        return
    keys = pd.DataFrame({"runner_id": ids})
    if "knee" in values:
        keys["knee"] = values["knee"]
    keys = keys.dropna()
    dup = keys.duplicated(keep=False)
    source = by_variable["runner_id"].source
    for key, group in keys[dup].groupby(list(keys.columns), sort=False):
        rows = group.index.tolist()
        what = f"runner {key[0]!r}" + (f", knee {key[1]}" if len(key) > 1 else "")
        for row in rows:
            problems.append(
                _problem(
                    row,
                    source,
                    frame.loc[row, source],
                    f"{what} appears in {len(rows)} rows ({', '.join(map(str, rows))})",
                    "keep one row per runner, or add a 'knee' column (L/R) when the rows are the "
                    "two knees of one runner",
                )
            )


def _assemble(
    values: dict[str, pd.Series],
    matches: list[ColumnMatch],
    frame: pd.DataFrame,
    accepted: pd.Index,
) -> pd.DataFrame:
    out = pd.DataFrame(index=accepted)
    for name, var in VARIABLES.items():
        if name not in values:
            continue
        column = values[name].loc[accepted]
        if var.kind == "category":
            column = pd.Categorical(column, categories=list(var.levels))
        elif var.kind == "binary":
            column = column.astype("int64") if column.notna().all() else column.astype("Int64")
        elif var.kind == "numeric":
            column = column.astype("float64")
        else:
            column = column.astype(object)
        out[name] = column
    for m in matches:
        if m.variable is None and m.output:
            out[m.output] = _extra(frame.loc[accepted, m.source])
    out.index.name = "source_row"
    return out


def _extra(raw: pd.Series) -> pd.Series:
    """An extra column: numbers if every filled cell is a number, else text."""
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_datetime64_any_dtype(raw):
        return raw
    text = _text(raw)
    missing = text.str.lower().isin(MISSING_TOKENS)
    converted = text.str.replace(_DECIMAL_COMMA, r"\1.\2", regex=True)
    if len(text) and (converted.str.fullmatch(_NUMBER).fillna(False) | missing).all():
        return pd.to_numeric(converted.where(~missing), errors="coerce").astype(float)
    return text.where(~missing)


def _column_report(matches: list[ColumnMatch]) -> pd.DataFrame:
    rows = []
    for m in matches:
        conversion = ""
        if m.variable and m.unit:
            conversion = conversion_note(m.unit, VARIABLES[m.variable].units[0])
        rows.append(
            {
                "source": m.source,
                "output": m.output,
                "variable": m.variable,
                "unit": UNITS[m.unit].symbol if m.unit else "",
                "conversion": conversion,
                "how": m.how,
            }
        )
    return pd.DataFrame(rows)
