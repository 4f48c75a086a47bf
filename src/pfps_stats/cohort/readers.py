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
import warnings
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
    #: Problems the reader found, as ``{row, column, value, problem, fix}``. A row named here
    #: cannot be read as it stands (a value beyond the header, REDCap events that disagree):
    #: it is set aside whole, with this reason only. A problem with no row concerns a column.
    problems: list[dict] = field(default_factory=list)


def _fail(source: str, problem: str) -> DataValidationError:
    return DataValidationError(
        problem_frame([{"row": None, "column": None, "value": None, "problem": problem}]),
        source=source,
    )


def _letters(position: int) -> str:
    """Spreadsheet letters of a 1-based column position: 1 -> A, 28 -> AB."""
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _header_names(cells: list[object]) -> list[str]:
    """Column names from a raw header row: text stripped, whole numbers without '.0', and a
    blank name replaced by ``Unnamed: <position from 0>`` (as pandas names it)."""
    names = []
    for i, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and cell != cell):
            text = ""
        elif isinstance(cell, float) and cell.is_integer():
            text = str(int(cell))
        else:
            text = str(cell).strip()
        names.append(text or f"Unnamed: {i}")
    return names


def _refuse_duplicate_names(names: list[str], source: str, letters: bool = True) -> None:
    """Raise when two columns have the same name, naming the positions of each (from 1, and
    as spreadsheet letters with ``letters``)."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        positions.setdefault(name, []).append(i)
    problems = []
    for name, where in positions.items():
        if len(where) < 2:
            continue
        shown = _and([str(i) for i in where])
        if letters:
            shown += f" ({_and([_letters(i) for i in where])})"
        problems.append(
            {
                "row": None,
                "column": name,
                "value": name,
                "problem": f"the column name {name!r} appears more than once: columns "
                f"{shown}; pfps_stats cannot tell which one holds the data",
                "fix": "give every column its own name: rename or delete the extra column(s)",
            }
        )
    if problems:
        raise DataValidationError(problem_frame(problems), source=source)


def read_table(path: str | Path, *, keep_duplicate_names: bool = False) -> RawTable:
    """Read a cohort file into a :class:`RawTable`.

    Supported: CSV (comma, semicolon, tab or pipe separated; UTF-8, Windows-1252 or Latin-1;
    decimal commas are handled later, per numeric column), Excel (.xlsx, first sheet), Parquet,
    SPSS (.sav, value labels applied) and Stata (.dta, value labels applied). A REDCap CSV
    export is a CSV: its housekeeping columns are set aside and repeated events collapsed.

    Columns never shift: a CSV row with a value beyond the header's last column, and every row
    of a REDCap record whose events disagree, are kept as they are with the reason in
    ``.problems``; fields beyond the header that are empty everywhere (a trailing separator)
    are ignored with a note. Excel formula cells without a computed value are a problem of
    their column.

    With ``keep_duplicate_names=True`` two columns may share a name (Strava's
    ``activities.csv`` repeats ``Distance`` and ``Elapsed Time``): the frame then has repeated
    column labels, to be told apart by position.

    Raises
    ------
    DataValidationError
        When the file is missing, empty, of an unknown type or cannot be parsed, or when two
        columns have the same name (unless ``keep_duplicate_names``).
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
        table = _read_csv(path.read_bytes(), source, keep_duplicate_names)
    elif suffix in EXCEL_SUFFIXES:
        table = _read_excel(path, source, keep_duplicate_names)
    elif suffix in {".parquet", ".pq"}:
        table = _read_parquet(path, source)
    else:
        table = _read_stat(path, source, suffix)
    return _finish(table, keep_duplicate_names=keep_duplicate_names)


def read_frame(frame: pd.DataFrame, *, keep_duplicate_names: bool = False) -> RawTable:
    """Wrap a caller's DataFrame as a :class:`RawTable` (a deep copy: the caller's is untouched).

    Rows keep their index labels when these are unique integers, else are numbered from 1.
    ``keep_duplicate_names`` as for :func:`read_table`.
    """
    frame = frame.copy(deep=True)
    keep_index = frame.index.is_unique and pd.api.types.is_integer_dtype(frame.index)
    return _finish(
        RawTable(frame, "DataFrame", "dataframe"),
        renumber=not keep_index,
        keep_duplicate_names=keep_duplicate_names,
    )


def _finish(table: RawTable, renumber: bool = True, keep_duplicate_names: bool = False) -> RawTable:
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
    if not keep_duplicate_names:
        _refuse_duplicate_names(list(frame.columns), table.source, table.format != "dataframe")
    blank = frame.isna() | frame.astype(str).apply(lambda s: s.str.strip().eq(""))
    # A row the reader found a problem with is never blank: it is set aside with its reason.
    blank_rows = blank.all(axis=1) & ~frame.index.isin(_flagged_rows(table))
    if blank_rows.any():
        n_blank = int(blank_rows.sum())
        frame = frame.loc[~blank_rows]
        table.notes.append(f"skipped {n_blank} blank row(s)")
        if len(frame) == 0:
            raise _fail(table.source, f"the {what} has a header but every row is blank.")
    table.frame = frame
    if _looks_like_redcap(frame.columns):
        table = _tidy_redcap(table)
    return table


def _flagged_rows(table: RawTable) -> set:
    return {p["row"] for p in table.problems if p["row"] is not None}


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
    # The first 50 non-blank lines decide; a long file is not split whole to find them.
    head = text[: 1 << 16]
    if len(text) > len(head):
        head = head[: head.rfind("\n") + 1] or head
    lines = [ln for ln in head.splitlines() if ln.strip()][:50]
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _read_csv(data: bytes, source: str, keep_duplicate_names: bool = False) -> RawTable:
    text, encoding = _decode(data, source)
    if not text.strip():
        raise _fail(source, "the file contains only blank space; there is no header or data.")
    sep = _separator(text)
    options = {
        "sep": sep,
        "header": None,  # the header is read as a row: pandas would rename 'pfp,pfp' to pfp.1
        "index_col": False,  # never the first column as the index, whatever the row lengths
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": True,
    }
    try:
        with warnings.catch_warnings():
            # With index_col=False pandas drops fields beyond `names` with only a warning.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            header = pd.read_csv(io.StringIO(text), nrows=1, **options)
            try:
                cells = pd.read_csv(io.StringIO(text), names=range(header.shape[1]), **options)
            except (pd.errors.ParserError, pd.errors.ParserWarning):
                # A row has more fields than the header: read them all, to report them.
                width = max(_widest_record(text, sep), header.shape[1])
                cells = pd.read_csv(io.StringIO(text), names=range(width), **options)
    except (
        pd.errors.ParserError,
        pd.errors.ParserWarning,
        pd.errors.EmptyDataError,
        csv.Error,
        ValueError,
    ) as exc:
        detail = " ".join(str(exc).split())
        raise _fail(
            source,
            f"the file could not be read as a {_sep_name(sep)}-separated CSV: "
            f"{detail}. Check for unbalanced quotes.",
        ) from None
    n_columns = header.shape[1]
    names = _header_names(list(cells.iloc[0, :n_columns]))
    if not keep_duplicate_names:
        _refuse_duplicate_names(names, source)
    rows = cells.iloc[1:]
    frame = rows.iloc[:, :n_columns].set_axis(names, axis=1)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    table = RawTable(frame, source, "csv", csv_separator=sep)
    if encoding != "utf-8-sig":
        table.notes.append(f"read as {encoding} text (not valid UTF-8)")
    extra = rows.iloc[:, n_columns:].set_axis(frame.index, axis=0)
    if extra.shape[1]:
        _check_extra_fields(table, extra, names)
    return table


def _widest_record(text: str, sep: str) -> int:
    """The most fields in any record, counted as a CSV reader does (quotes respected)."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        return max((len(record) for record in reader), default=1)
    except csv.Error:  # a field too large, e.g. an unbalanced quote: pandas reports it
        return 1


def _check_extra_fields(table: RawTable, extra: pd.DataFrame, names: list[str]) -> None:
    """Fields beyond the header's last column: empty ones (a trailing separator) are ignored
    with a note; a row with a value there is a problem of that row, never a shifted column."""
    filled = extra.apply(lambda s: s.str.strip().ne(""))
    rows = filled.index[filled.any(axis=1)]
    n_columns = len(names)
    if not len(rows):
        table.notes.append(
            f"data rows end with more separators than the header's {n_columns} columns; the "
            f"extra field after column {n_columns} ({names[-1]!r}) is an empty field everywhere, "
            f"so it was ignored"
        )
    for row in rows:
        values = [v.strip() for v in extra.loc[row]]
        n_fields = n_columns + max(i for i, v in enumerate(values) if v) + 1
        shown = ", ".join(v for v in values if v)
        table.problems.append(
            {
                "row": row,
                "column": "(no header)",
                "value": shown,
                "problem": f"the row has {n_fields} fields but the header has {n_columns}: "
                f"{shown!r} comes after the last column ({names[-1]!r}), so the row's values "
                f"may be in the wrong columns",
                "fix": "quote values that contain the separator (a decimal comma: "
                '"72,5"), remove the stray separator, or give the extra column a header',
            }
        )


def _sep_name(sep: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[sep]


def _read_excel(path: Path, source: str, keep_duplicate_names: bool = False) -> RawTable:
    try:
        sheets, uncomputed = _excel_formulas(path)
        # header=None: the header row is read as it is (pandas would rename 'pfp' to 'pfp.1').
        cells = pd.read_excel(path, sheet_name=0, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise _fail(
            source,
            f"the file could not be read as an Excel workbook ({exc}). Open it "
            f"in Excel and save it again as .xlsx, or export CSV.",
        ) from None
    if not sheets:
        raise _fail(source, "the workbook has no sheets.")
    if cells.empty:
        frame = pd.DataFrame()
    else:
        names = _header_names(list(cells.iloc[0]))
        if not keep_duplicate_names:
            _refuse_duplicate_names(names, source)
        frame = cells.iloc[1:].set_axis(names, axis=1)
    table = RawTable(frame, source, "excel")
    if len(sheets) > 1:
        table.notes.append(f"read the first sheet, {sheets[0]!r}, of {len(sheets)}")
    by_column: dict[int, list[tuple[str, str]]] = {}
    for (row, column), formula in uncomputed.items():
        by_column.setdefault(column, []).append((f"{_letters(column)}{row}", formula))
    for column, found in sorted(by_column.items()):
        name = frame.columns[column - 1] if column <= frame.shape[1] else _letters(column)
        shown = ", ".join(cell for cell, _ in found[:5]) + (", ..." if len(found) > 5 else "")
        n = len(found)
        table.problems.append(
            {
                "row": None,
                "column": str(name),
                "value": found[0][1],
                "problem": f"{n} formula cell{'s' if n != 1 else ''} ({shown}) "
                f"{'have' if n != 1 else 'has'} no computed value, so "
                f"{'they read' if n != 1 else 'it reads'} as empty: the workbook was saved by a "
                f"program that does not calculate formulas",
                "fix": "open and save the file in Excel or LibreOffice so the values are "
                "computed, or export CSV",
            }
        )
    return table


def _excel_formulas(path: Path) -> tuple[list[str], dict[tuple[int, int], str]]:
    """The workbook's sheet names, and the formula cells of its first sheet that have no
    cached value, as ``{(row, column): formula}`` (1-based)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    try:
        names = [sheet.title for sheet in book.worksheets]
        if not names:
            return names, {}
        formulas = {
            (r, c): _formula_text(value)
            for r, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1)
            for c, value in enumerate(row, start=1)
            if _formula_text(value) is not None
        }
    finally:
        book.close()
    if not formulas:
        return names, {}
    book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        for r, row in enumerate(book.worksheets[0].iter_rows(), start=1):
            for c, cell in enumerate(row, start=1):
                # A computed empty text is stored as an empty value of type "str"; a formula
                # never computed has no value and no type.
                computed = cell.value is not None or getattr(cell, "data_type", "n") == "str"
                if computed and (r, c) in formulas:
                    del formulas[(r, c)]
    finally:
        book.close()
    return names, formulas


def _formula_text(value: object) -> str | None:
    """The formula of a cell read with ``data_only=False``, or None when it holds a value."""
    if isinstance(value, str):
        return value if value.startswith("=") else None
    text = getattr(value, "text", None)  # openpyxl's ArrayFormula and DataTableFormula
    return str(text) if text is not None else None


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
    """One row per record. A record whose events disagree (or with a row the reader could not
    read) is not collapsed: each of its rows is kept as it is, with the reason in
    ``table.problems``, so that it can be set aside whole."""
    ids = frame[id_col].astype(str).str.strip()
    # Rows without a record ID are not merged with anything; validation reports them.
    keys = ids.where(ids.ne("") & ids.ne("nan"), "\x00row" + frame.index.astype(str))
    values = frame.drop(columns=[id_col])
    blank = values.astype(str).apply(lambda s: s.str.strip().isin(["", "nan", "None"]))
    filled = values.mask(blank)
    grouped = filled.groupby(keys.to_numpy(), sort=False)
    keep_rows = pd.Series(False, index=frame.index)
    distinct = grouped.nunique()
    for column in distinct.columns:
        for record in distinct.index[distinct[column] > 1]:
            in_record = keys.to_numpy() == record
            shown = sorted(map(str, filled.loc[in_record, column].dropna().unique()))
            rows = frame.index[in_record].tolist()
            keep_rows |= in_record
            for row in rows:
                table.problems.append(
                    {
                        "row": row,
                        "column": column,
                        "value": " / ".join(shown),
                        "problem": f"REDCap events disagree for record {record} "
                        f"(rows {', '.join(map(str, rows))}): {column} has more than one value",
                        "fix": "correct the record in REDCap and export again (when "
                        "quarantining, every row of the record is set aside)",
                    }
                )
    flagged = frame.index.isin(_flagged_rows(table))
    keep_rows |= keys.isin(keys[flagged])
    n_kept = int(keep_rows.sum())
    merge = ~keep_rows.to_numpy()
    collapsed = filled[merge].groupby(keys.to_numpy()[merge], sort=False).first()
    collapsed = collapsed.reindex(columns=values.columns)
    first_row = (
        pd.Series(frame.index[merge], index=frame.index[merge])
        .groupby(keys.to_numpy()[merge], sort=False)
        .first()
    )
    collapsed.insert(0, id_col, [k if not k.startswith("\x00row") else "" for k in collapsed.index])
    collapsed = collapsed.astype(object).where(collapsed.notna(), "")
    collapsed.index = pd.Index(first_row.reindex(collapsed.index).to_numpy(), name="source_row")
    note = f"REDCap events collapsed: {len(frame)} rows -> {len(collapsed)} records"
    if n_kept:
        n_records = keys[keep_rows].nunique()
        note = (
            f"REDCap events collapsed: {len(frame)} rows -> {len(collapsed) + n_kept} rows "
            f"({len(collapsed)} records, and the {n_kept} rows of {n_records} record(s) with "
            f"problems kept as they are, to be set aside)"
        )
        kept = frame.loc[keep_rows].astype(object)
        collapsed = pd.concat([collapsed, kept]).sort_index()
        collapsed.index.name = "source_row"
    table.notes.append(note)
    return collapsed
