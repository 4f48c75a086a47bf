"""What every report notebook does first: read and check the data, choose the subgroup, and
settle small-cell suppression, in one call, so the notebooks' cells stay thin."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from ..cohort.load import CohortCheck, check_cohort
from ..cohort.quality import in_subgroup
from ..cohort.synthetic import DEMO_COHORT
from ..cohort.variables import OUTCOME
from .display import quiet_warnings, synthetic_banner
from .suppression import suppress_small_counts


@dataclass(frozen=True)
class ReportSetup:
    """The data of one report.

    Attributes
    ----------
    check : CohortCheck
        Everything read from the file: accepted and set-aside rows, problems, columns.
    cohort : DataFrame
        The accepted rows of the chosen subgroup (all subgroups when ``subgroup`` is None).
    subgroup : str or None
    min_cell : int or None
        Counts below this are shown as "<min_cell", and cells that would give one back as
        "suppressed" (:mod:`pfps_stats.report.suppression`); None when suppression is off.
    """

    check: CohortCheck
    cohort: pd.DataFrame
    subgroup: str | None
    min_cell: int | None

    def small(self, table: pd.DataFrame) -> pd.DataFrame:
        """``table`` with small-cell suppression (unchanged when suppression is off): small
        counts, the cells that would give them back and the rates beside them are hidden, as
        :func:`~pfps_stats.report.suppress_small_counts`. Tables that take ``min_cell=``
        (``ps.incidence``, ``ps.table_one``, ``outcome_counts``, ``format_odds_ratio_table``)
        give the same with ``min_cell=rs.min_cell``."""
        return table if self.min_cell is None else suppress_small_counts(table, self.min_cell)

    def too_few_cases(self, outcome: str = OUTCOME) -> str:
        """Why models are withheld from this report, or '' when they are not.

        With suppression on, a cohort with fewer than ``min_cell`` runners with (or without)
        the outcome gets no models: their estimates, intervals, notes ("events per variable
        0.4") and error messages would give the hidden count back.
        """
        if self.min_cell is None or outcome not in self.cohort:
            return ""
        y = pd.to_numeric(self.cohort[outcome], errors="coerce").dropna()
        cases, others = int((y == 1).sum()), int((y == 0).sum())
        if min(cases, others) >= self.min_cell:
            return ""
        who = "runners with PFP" if cases < self.min_cell else "runners without PFP"
        return (
            f"Not shown: fewer than {self.min_cell} {who} in this group, so models, intervals "
            "and their notes could reveal the count. Pool subgroups, or run without "
            "small-cell suppression for internal use."
        )

    def header(self) -> str:
        """HTML: the SYNTHETIC banner (when simulated) and one line on what is analysed."""
        import html

        line = (
            f"{self.check.source}: {len(self.cohort)} runners "
            f"({self.subgroup or 'all subgroups'}); {len(self.check.quarantined)} rows of the "
            f"file set aside for problems."
        )
        return synthetic_banner(self.cohort) + f"<p>{html.escape(line)}</p>"

    def _repr_html_(self) -> str:
        return self.header()


def setup_report(
    data_path: str | os.PathLike | None = None,
    subgroup: str | None = None,
    *,
    min_cell: int | None = 5,
) -> ReportSetup:
    """Read and check a cohort file for a report and choose its subgroup.

    Parameters
    ----------
    data_path : path, optional
        A cohort file (any format :func:`~pfps_stats.load_cohort` reads); default the
        SYNTHETIC demo cohort shipped with pfps_stats.
    subgroup : str, optional
        One subgroup of the dictionary; None for all.
    min_cell : int or None
        Small-cell suppression threshold (default 5); None turns suppression off.

    Returns
    -------
    ReportSetup

    Raises
    ------
    DataValidationError
        When the file has problems that no quarantine fixes (they are all listed).
    ValueError
        When the subgroup has no rows.

    Notes
    -----
    Also sets warnings to show without file paths (:func:`~pfps_stats.report.quiet_warnings`),
    so a warning in a report never prints where the server keeps its code or data.
    """
    if min_cell is not None and not (isinstance(min_cell, int) and min_cell >= 1):
        raise ValueError(f"min_cell must be a positive whole number or None, not {min_cell!r}")
    quiet_warnings()
    check = check_cohort(DEMO_COHORT if data_path is None else data_path)
    return ReportSetup(check, in_subgroup(check.data, subgroup), subgroup, min_cell)
