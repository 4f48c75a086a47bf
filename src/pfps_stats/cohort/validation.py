"""How problems with input data are recorded (the error types live in ``pfps_stats._exceptions``).

Every check in the package reports problems as rows ``{row, column, value, problem}`` plus a
``fix`` (what to do). :class:`DataValidationError` carries all of them at once, as a tidy
DataFrame in ``.problems``, with a message that groups them by column and says how to fix each.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from .._exceptions import PROBLEM_COLUMNS, DataQualityWarning, DataValidationError

__all__ = [
    "CheckAccounting",
    "DataQualityWarning",
    "DataValidationError",
    "problem_frame",
    "write_csv_atomic",
]


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

    Expects the attributes ``data``, ``quarantined``, ``problems``, ``n_input`` and
    ``source`` (and ``set_aside`` when rows of another kind, such as bike rides in a training
    log, are set aside).
    """

    data: pd.DataFrame
    quarantined: pd.DataFrame
    problems: pd.DataFrame
    n_input: int
    source: str

    def settle(self, on_invalid: str, quarantine_path=None) -> pd.DataFrame:
        """What a loader returns for ``on_invalid``: the accepted rows, or an error.

        "raise": any problem raises :class:`DataValidationError` listing all of them.
        "quarantine": the rows with problems are written, with their reasons, to
        ``quarantine_path`` and a :class:`DataQualityWarning` counts them; problems with a
        whole file or column raise either way. Shared by ``load_cohort``,
        ``load_training_log`` and ``load_injuries`` (which check ``on_invalid`` and the path
        first).
        """
        if len(self.problems) and (on_invalid == "raise" or len(self.file_problems)):
            raise DataValidationError(self.problems, source=self.source)
        if on_invalid == "quarantine" and len(self.quarantined):
            write_csv_atomic(self.quarantined, Path(quarantine_path))
            aside = getattr(self, "set_aside", None)
            left_out = f", {len(aside)} rows of another kind left out" if aside is not None else ""
            warnings.warn(
                f"{self.source}: set aside {len(self.quarantined)} of {self.n_input} rows "
                f"with problems; they are in {quarantine_path} with their reasons. "
                f"{len(self.data)} loaded{left_out}.",
                DataQualityWarning,
                stacklevel=3,
            )
        return self.data

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


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as CSV through a temporary file and an atomic rename, so a
    reader never sees a half-written file and a failure leaves the previous file in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # as an ordinary new file (mkstemp makes it 0600)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            frame.to_csv(handle, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
