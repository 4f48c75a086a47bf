"""Readers: turn a file in any supported format into a raw table of untouched values.

Every reader returns a :class:`RawTable`: the values as read (strings for text formats, so that
nothing is coerced before validation can see it), a label per column where the format has them
(SPSS and Stata variable labels), and the rows numbered from 1 for the first data row.

A file that cannot be read raises :class:`~pfps_stats.validation.DataValidationError` with
what went wrong and how to fix it; no parser traceback reaches the user.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._exceptions import DataValidationError
from .validation import problem_frame

TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
SUFFIXES = TEXT_SUFFIXES | EXCEL_SUFFIXES | {".parquet", ".pq", ".sav", ".zsav", ".dta"}

# REDCap's housekeeping columns, as raw variable names and as their export labels.
REDCAP_HOUSEKEEPING = re.compile(
    r"^(redcap_(event_name|repeat_instrument|repeat_instance|data_access_group|survey_identifier)"
    r"|.*_complete|.*_timestamp|event name|repeat instrument|repeat instance|data access group"
    r"|survey identifier|complete\?|survey timestamp)$",
    re.IGNORECASE,
)


@dataclass
class RawTable:
    """A table as read: values untouched, rows labelled from 1, plus what the reader noticed."""

    frame: pd.DataFrame
    source: str
    format: str
    labels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    csv_separator: str | None = None


def _fail(source: str, problem: str) -> DataValidationError:
    return DataValidationError(
        problem_frame([{"row": None, "column": None, "value": None, "problem": problem}]),
        source=source,
    )


def read_table(path: str | Path) -> RawTable:
    """Read a cohort file into a :class:`RawTable`.

    Supported: CSV (comma, semicolon, tab or pipe separated; UTF-8, Windows-1252 or Latin-1;
    decimal commas are handled later, per numeric column), Excel (.xlsx, first sheet), Parquet,
    SPSS (.sav, value labels applied) and Stata (.dta, value labels applied). A REDCap CSV
    export is a CSV: its housekeeping columns are set aside and repeated events collapsed.

    Raises
    ------
    DataValidationError
        When the file is missing, empty, of an unknown type or cannot be parsed.
    """
    path = Path(path)
    source = path.name
    if not path.exists():
        raise _fail(
            source, f"file not found: {path}. Check the path (it is relative to {Path.cwd()})."
        )
    if path.is_dir():
        raise _fail(source, f"{path} is a folder, not a file.")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise _fail(
            source,
            f"unsupported file type {suffix or '(none)'!r}. Supported: "
            f"{', '.join(sorted(SUFFIXES))}. Save the data as CSV or .xlsx.",
        )
    if path.stat().st_size == 0:
        raise _fail(source, "the file is empty (0 bytes).")
    if suffix in TEXT_SUFFIXES:
        table = _read_csv(path.read_bytes(), source)
    elif suffix in EXCEL_SUFFIXES:
        table = _read_excel(path, source)
    elif suffix in {".parquet", ".pq"}:
        table = _read_parquet(path, source)
    else:
        table = _read_stat(path, source, suffix)
    return _finish(table)


def read_frame(frame: pd.DataFrame) -> RawTable:
    """Wrap a caller's DataFrame as a :class:`RawTable` (a deep copy: the caller's is untouched).

    Rows keep their index labels when these are unique integers, else are numbered from 1.
    """
    frame = frame.copy(deep=True)
    keep_index = frame.index.is_unique and pd.api.types.is_integer_dtype(frame.index)
    return _finish(RawTable(frame, "DataFrame", "dataframe"), renumber=not keep_index)


def _finish(table: RawTable, renumber: bool = True) -> RawTable:
    frame = table.frame
    what = "DataFrame" if table.format == "dataframe" else "file"
    if frame.shape[1] == 0:
        raise _fail(table.source, f"the {what} has no columns. Is it a data table with a header?")
    if len(frame) == 0:
        raise _fail(table.source, f"the {what} has a header but no data rows.")
    if renumber:
        frame.index = pd.RangeIndex(1, len(frame) + 1)
    frame.index.name = "source_row"
    frame.columns = [str(c).strip() for c in frame.columns]
    repeated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if repeated:
        raise _fail(
            table.source,
            f"column name(s) {', '.join(map(repr, repeated))} appear more "
            f"than once; give every column its own name.",
        )
    blank = frame.isna() | frame.astype(str).apply(lambda s: s.str.strip().eq(""))
    if blank.all(axis=1).any():
        n_blank = int(blank.all(axis=1).sum())
        frame = frame.loc[~blank.all(axis=1)]
        table.notes.append(f"skipped {n_blank} blank row(s)")
        if len(frame) == 0:
            raise _fail(table.source, f"the {what} has a header but every row is blank.")
    table.frame = frame
    if _looks_like_redcap(frame.columns):
        table = _tidy_redcap(table)
    return table


def _decode(data: bytes, source: str) -> tuple[str, str]:
    if b"\x00" in data:
        raise _fail(
            source,
            "the file contains NUL bytes, so it is not a text CSV. Is it an "
            "Excel or other binary file renamed to .csv? Save it as CSV, or "
            "use its real extension.",
        )
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _separator(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()][:50]
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _read_csv(data: bytes, source: str) -> RawTable:
    text, encoding = _decode(data, source)
    if not text.strip():
        raise _fail(source, "the file contains only blank space; there is no header or data.")
    sep = _separator(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as exc:
        detail = " ".join(str(exc).split())
        raise _fail(
            source,
            f"the file could not be read as a {_sep_name(sep)}-separated CSV: "
            f"{detail}. Check for unbalanced quotes or rows with more fields "
            f"than the header.",
        ) from None
    table = RawTable(frame, source, "csv", csv_separator=sep)
    if encoding != "utf-8-sig":
        table.notes.append(f"read as {encoding} text (not valid UTF-8)")
    return table


def _sep_name(sep: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[sep]


def _read_excel(path: Path, source: str) -> RawTable:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise _fail(
            source,
            f"the file could not be read as an Excel workbook ({exc}). Open it "
            f"in Excel and save it again as .xlsx, or export CSV.",
        ) from None
    if not sheets:
        raise _fail(source, "the workbook has no sheets.")
    name, frame = next(iter(sheets.items()))
    table = RawTable(frame, source, "excel")
    if len(sheets) > 1:
        table.notes.append(f"read the first sheet, {name!r}, of {len(sheets)}")
    return table


def _read_parquet(path: Path, source: str) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own error types
        raise _fail(source, f"the file could not be read as Parquet ({exc}).") from None
    return RawTable(frame.reset_index(drop=True), source, "parquet")


def _read_stat(path: Path, source: str, suffix: str) -> RawTable:
    import pyreadstat

    reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
    kind = "Stata" if suffix == ".dta" else "SPSS"
    try:
        frame, meta = reader(str(path), apply_value_formats=True, formats_as_category=False)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise _fail(source, f"the file could not be read as {kind} data ({exc}).") from None
    labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    return RawTable(frame, source, kind.lower(), labels=labels)


def _looks_like_redcap(columns: pd.Index) -> bool:
    folded = {str(c).lower() for c in columns}
    return (
        bool(
            folded & {"record_id", "redcap_event_name", "record id", "event name"}
            and any(REDCAP_HOUSEKEEPING.match(str(c)) for c in columns)
        )
        or "redcap_event_name" in folded
    )


def _tidy_redcap(table: RawTable) -> RawTable:
    """Drop REDCap's housekeeping columns and collapse one-row-per-event exports to one row per
    record (a value found in two events must agree)."""
    frame = table.frame
    event_col = next(
        (c for c in frame.columns if c.lower() in ("redcap_event_name", "event name")), None
    )
    repeat_col = next(
        (
            c
            for c in frame.columns
            if c.lower() in ("redcap_repeat_instrument", "repeat instrument")
        ),
        None,
    )
    if repeat_col is not None and frame[repeat_col].astype(str).str.strip().ne("").any():
        raise _fail(
            table.source,
            "this REDCap export has repeating-instrument rows, which have no "
            "single value per runner. Export without the repeating "
            "instruments, or one row per record.",
        )
    housekeeping = [c for c in frame.columns if REDCAP_HOUSEKEEPING.match(c)]
    table.format = "redcap"
    table.notes.append(
        "REDCap export: set aside housekeeping columns " + ", ".join(repr(c) for c in housekeeping)
    )
    kept = frame.drop(columns=housekeeping)
    if kept.shape[1] == 0:
        raise _fail(
            table.source,
            "this REDCap export has only housekeeping columns "
            "(event, instrument status); export the study's fields too.",
        )
    id_col = kept.columns[0]  # REDCap exports the record ID first
    if event_col is not None and kept[id_col].duplicated().any():
        kept = _collapse_events(kept, id_col, table)
    table.frame = kept
    return table


def _collapse_events(frame: pd.DataFrame, id_col: str, table: RawTable) -> pd.DataFrame:
    ids = frame[id_col].astype(str).str.strip()
    # Rows without a record ID are not merged with anything; validation reports them.
    keys = ids.where(ids.ne("") & ids.ne("nan"), "\x00row" + frame.index.astype(str))
    values = frame.drop(columns=[id_col])
    blank = values.astype(str).apply(lambda s: s.str.strip().isin(["", "nan", "None"]))
    filled = values.mask(blank)
    grouped = filled.groupby(keys.to_numpy(), sort=False)
    conflicts = []
    distinct = grouped.nunique()
    for column in distinct.columns:
        for record in distinct.index[distinct[column] > 1]:
            in_record = keys.to_numpy() == record
            shown = sorted(map(str, filled.loc[in_record, column].dropna().unique()))
            rows = frame.index[in_record].tolist()
            conflicts.append(
                {
                    "row": rows[0],
                    "column": column,
                    "value": " / ".join(shown),
                    "problem": f"REDCap events disagree for record {record} (rows {rows})",
                    "fix": "correct the record in REDCap and export again",
                }
            )
    if conflicts:
        raise DataValidationError(problem_frame(conflicts), source=table.source)
    collapsed = grouped.first().reindex(columns=values.columns)
    first_row = (
        pd.Series(frame.index, index=frame.index).groupby(keys.to_numpy(), sort=False).first()
    )
    collapsed.insert(0, id_col, [k if not k.startswith("\x00row") else "" for k in collapsed.index])
    collapsed = collapsed.astype(object).where(collapsed.notna(), "")
    collapsed.index = pd.Index(first_row.reindex(collapsed.index).to_numpy(), name="source_row")
    table.notes.append(f"REDCap events collapsed: {len(frame)} rows -> {len(collapsed)} records")
    return collapsed
