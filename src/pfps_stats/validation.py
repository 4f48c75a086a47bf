"""The error and warning types for bad input, and how their messages are written.

Every check in the package reports problems as rows ``{row, column, value, problem}`` plus a
``fix`` (what to do). :class:`DataValidationError` carries all of them at once, as a tidy
DataFrame in ``.problems``, with a message that groups them by column and says how to fix each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

PROBLEM_COLUMNS = ["row", "column", "value", "problem"]


class DataQualityWarning(UserWarning):
    """Data were loaded, but something deserves a look (single-class outcome, rows set aside)."""


def problem_frame(problems: Iterable[Mapping]) -> pd.DataFrame:
    """Return problems as a DataFrame with columns row, column, value, problem (and fix).

    ``row`` is the source row (1 = first data row below the header) or NA for a problem with
    the whole file or column; ``value`` is the value as it stood in the file, as text.
    """
    frame = pd.DataFrame(list(problems), columns=[*PROBLEM_COLUMNS, "fix"])
    frame["row"] = frame["row"].astype("Int64")
    frame["value"] = frame["value"].map(lambda v: None if v is None else str(v)).astype(object)
    frame["fix"] = frame["fix"].astype(object).where(frame["fix"].notna(), "")
    return frame


class DataValidationError(ValueError):
    """Input data failed validation; every problem found is listed, not just the first.

    Attributes
    ----------
    problems : DataFrame
        One row per problem: row (source row, 1 = first data row; NA for whole-file or
        whole-column problems), column, value (as in the file), problem.
    source : str or None
        The file or object that was read.
    """

    def __init__(self, problems: pd.DataFrame, source: str | None = None):
        self._all = problems.reset_index(drop=True)
        self.problems = self._all[PROBLEM_COLUMNS].copy()
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.source}: " if self.source else ""
        p = self._all
        n = len(p)
        columns = [c for c in dict.fromkeys(p["column"].dropna())]
        head = f"{where}{n} problem{'s' if n != 1 else ''}"
        if columns:
            head += f" in column{'s' if len(columns) != 1 else ''} " + ", ".join(
                repr(c) for c in columns
            )
        lines = [head + "; nothing was loaded."]
        groups = p.groupby([p["column"].fillna("(file)"), p["fix"]], sort=False, dropna=False)
        for (column, fix), group in list(groups)[:12]:
            first = group.iloc[0]
            rows = group["row"].dropna().astype(int).tolist()
            where_rows = ""
            if rows:
                shown = ", ".join(map(str, rows[:8])) + (" ..." if len(rows) > 8 else "")
                where_rows = f" [{len(rows)} row{'s' if len(rows) != 1 else ''}: {shown}]"
            lines.append(f"- {column}: {first['problem']}{where_rows}")
            if fix:
                lines.append(f"  Fix: {fix}")
        if groups.ngroups > 12:
            lines.append(f"- ... and {groups.ngroups - 12} more kinds of problem.")
        lines.append(
            "Rows are counted from 1 for the first data row below the header. Every problem is "
            "listed in this error's .problems DataFrame."
        )
        if p["row"].notna().all():
            lines.append(
                "To load the valid rows and set the others aside with their reasons, pass "
                'on_invalid="quarantine", quarantine_path="quarantine.csv".'
            )
        return "\n".join(lines)
