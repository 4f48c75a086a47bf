"""Every error and warning pfps_stats raises, in one place.

All errors derive from :class:`PfpsError` and all warnings from :class:`PfpsWarning`, so a
caller can catch or filter the toolkit's own conditions in one line::

    try:
        cohort = ps.load_cohort(path)
    except ps.PfpsError as err:
        print(err)

Errors about bad input are also ``ValueError`` (as before 0.2), so existing ``except
ValueError`` code keeps working. This module imports nothing from the package: every layer
may use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Columns of the problems table every check reports (plus a ``fix`` column kept internally).
PROBLEM_COLUMNS = ["row", "column", "value", "problem"]


class PfpsError(Exception):
    """Base class of every error raised by pfps_stats."""


class PfpsWarning(UserWarning):
    """Base class of every warning issued by pfps_stats."""


# -- data ------------------------------------------------------------------------------------
class DataValidationError(PfpsError, ValueError):
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

    def __reduce__(self):
        # rebuilt from its problems, so that it can be pickled (a Dask worker or a process
        # pool sends it back to the caller)
        return (type(self), (self._all, self.source))

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


class DataQualityWarning(PfpsWarning):
    """Data were loaded, but something deserves a look (single-class outcome, rows set aside)."""


# -- models ----------------------------------------------------------------------------------
class ModelError(PfpsError, ValueError):
    """The data or formula cannot be fitted as asked; the message names the terms or rows."""


class ModelWarning(PfpsWarning):
    """The fit went ahead, with something to know (rows dropped, Firth used, low EPV)."""


# -- evidence --------------------------------------------------------------------------------
class EvidenceError(PfpsError, ValueError):
    """A registry file is invalid; the message names the file, line and field."""


class MetaWarning(PfpsWarning):
    """A meta-analysis went ahead, with something to know (few studies, tau² on a boundary)."""


# -- batch -----------------------------------------------------------------------------------
class ConfigError(PfpsError, ValueError):
    """``reports.yml`` is invalid; nothing was run."""


class ClusterError(ConfigError):
    """The Dask cluster given for a batch cannot run it (unreachable scheduler, no workers,
    workers that see other files or packages); nothing was run."""


class LockedError(PfpsError, RuntimeError):
    """Another run is writing to the same output folder."""


class PdfError(PfpsError, RuntimeError):
    """Chromium could not print a report to PDF (it failed, wrote no PDF, or took too long);
    the previous PDF, if any, is unchanged."""
