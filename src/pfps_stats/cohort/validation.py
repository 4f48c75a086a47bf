"""How problems with input data are recorded (the error types live in ``pfps_stats._exceptions``).

Every check in the package reports problems as rows ``{row, column, value, problem}`` plus a
``fix`` (what to do). :class:`DataValidationError` carries all of them at once, as a tidy
DataFrame in ``.problems``, with a message that groups them by column and says how to fix each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from .._exceptions import PROBLEM_COLUMNS, DataQualityWarning, DataValidationError

__all__ = ["CheckAccounting", "DataQualityWarning", "DataValidationError", "problem_frame"]


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


class CheckAccounting:
    """What every check result (``CohortCheck``, ``TrainingLogCheck``, ``InjuriesCheck``)
    says about its rows: the problems no quarantine fixes, and where every row read went.

    Expects the attributes ``data``, ``quarantined``, ``problems`` and ``n_input`` (and
    ``set_aside`` when rows of another kind, such as bike rides in a training log, are set
    aside).
    """

    data: pd.DataFrame
    quarantined: pd.DataFrame
    problems: pd.DataFrame
    n_input: int

    @property
    def file_problems(self) -> pd.DataFrame:
        """Problems with a whole file or column (no row), which no quarantine fixes."""
        return self.problems[self.problems["row"].isna()]

    def summary(self) -> pd.Series:
        """Row accounting: n_input, n_accepted, (n_set_aside,) n_quarantined, n_problems."""
        counts = {"n_input": self.n_input, "n_accepted": len(self.data)}
        if hasattr(self, "set_aside"):
            counts["n_set_aside"] = len(self.set_aside)
        counts |= {"n_quarantined": len(self.quarantined), "n_problems": len(self.problems)}
        return pd.Series(counts)
