"""The training-load report's data in one call: the log and injuries read and checked, the
runners of one subgroup, and their session and weekly exposures with time at risk."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._exceptions import DataValidationError
from ..cohort.injuries import InjuriesCheck, check_injuries
from ..cohort.load import check_cohort
from ..cohort.quality import in_subgroup
from ..cohort.synthetic import DEMO_COHORT
from ..cohort.training_log import TrainingLogCheck, check_training_log
from ..cohort.validation import problem_frame
from ..cohort.variables import OUTCOME
from ..exposures.sessions import session_exposures
from ..exposures.synthetic import DEMO_INJURIES, DEMO_TRAINING_LOG
from ..exposures.weeks import weekly_exposures
from ..models.cox import CoxFit
from .display import quiet_warnings, run_or_explain, synthetic_banner
from .formatting import format_estimate_ci, format_p_value
from .suppression import SUPPRESSED, suppress_small_counts


@dataclass(frozen=True)
class TrainingReportSetup:
    """The data of one training-load report.

    Attributes
    ----------
    log_check, injuries_check : TrainingLogCheck, InjuriesCheck
        Everything read from the files: accepted, set-aside and quarantined rows, notes.
    cohort : DataFrame or None
        Runner-level covariates (one row per runner), when a cohort file is given.
    subgroup : str or None
    min_cell : int or None
        Small-cell suppression threshold; None when suppression is off.
    log, injuries : DataFrame
        Accepted runs and injuries of the chosen runners.
    sessions, weeks : DataFrame
        :func:`~pfps_stats.session_exposures` and :func:`~pfps_stats.weekly_exposures` with
        time at risk, runner-level covariates joined by ``runner_id`` when a cohort is given.
    log_path : str or None
        The log's file or folder (None for the demo); a folder's paths are hidden in notes.
    """

    log_check: TrainingLogCheck
    injuries_check: InjuriesCheck
    cohort: pd.DataFrame | None
    subgroup: str | None
    min_cell: int | None
    log: pd.DataFrame
    injuries: pd.DataFrame
    sessions: pd.DataFrame
    weeks: pd.DataFrame
    log_path: str | None = None

    @property
    def n_runners(self) -> int:
        return int(self.log["runner_id"].nunique())

    def small(self, table: pd.DataFrame) -> pd.DataFrame:
        """``table`` with small-cell suppression (unchanged when suppression is off), as
        :meth:`ReportSetup.small <pfps_stats.report.ReportSetup.small>`."""
        return table if self.min_cell is None else suppress_small_counts(table, self.min_cell)

    def summary(self) -> pd.DataFrame:
        """One row per item, as text: runners, runs, km, weeks, PFP onsets counted, other
        injuries that ended time at risk (each ``"<5"`` when below ``min_cell``), and the
        person-time at risk (session rows)."""
        s = self.sessions
        last = s.dropna(subset=["end_reason"])
        items = {
            "runners": self.n_runners,
            "runs": len(self.log),
            "distance (km)": round(float(self.log["distance_km"].sum()), 1),
            "runner-weeks": len(self.weeks),
            "PFP onsets (events)": int(s["event"].sum()),
            "censored by another injury": int((last["end_reason"] == "other injury").sum()),
            "person-years at risk": float((s["stop_day"] - s["start_day"]).sum()) / 365.25,
        }
        people = ("PFP onsets (events)", "censored by another injury")
        text = {}
        for k, v in items.items():
            if k in people and self.min_cell is not None and v < self.min_cell:
                text[k] = f"<{self.min_cell}"  # small-cell suppression
            elif (
                k == "PFP onsets (events)"
                and self.min_cell is not None
                and self.n_runners - v < self.min_cell
            ):
                # runners minus onsets would give back the few runners without PFP (a runner
                # has at most one onset)
                text[k] = SUPPRESSED
            else:
                text[k] = f"{v:,.1f}" if k == "person-years at risk" else f"{v:,.0f}"
        return pd.DataFrame({"item": list(text), "value": list(text.values())})

    def too_few_cases(self) -> str:
        """Why models are withheld from this report, or '' when they are not: with
        suppression on, fewer than ``min_cell`` PFP onsets or runners without one."""
        if self.min_cell is None:
            return ""
        cases = int(self.sessions["event"].sum())
        others = self.n_runners - cases
        if min(cases, others) >= self.min_cell:
            return ""
        who = "PFP onsets" if cases < self.min_cell else "runners without PFP"
        return (
            f"Not shown: fewer than {self.min_cell} {who} in this group, so models, rates and "
            "their notes could reveal the count. Pool subgroups, or run without small-cell "
            "suppression for internal use."
        )

    def too_few_events(self, fit: CoxFit) -> str:
        """Why a Cox model is withheld from this report, or '' when it is not: with
        suppression on, a model with fewer than ``min_cell`` events in any level of a
        categorical term is not shown (its hazard ratios, comparisons and notes would give
        the count back, or a hidden level's count could be worked out from the others)."""
        if self.min_cell is None:
            return ""
        counts = fit.counts()
        small = counts[counts["events"] < self.min_cell]
        if small.empty:
            return ""
        names = ", ".join(dict.fromkeys(small["variable"].astype(str)))
        return (
            f"Not shown: fewer than {self.min_cell} PFP onsets in at least one state of "
            f"{names}, so its hazard ratios could reveal the count. Pool subgroups, merge "
            "states, or run without small-cell suppression for internal use."
        )

    def header(self) -> str:
        """HTML: the SYNTHETIC banner (when simulated) and what was read and set aside."""
        lc, ic = self.log_check, self.injuries_check
        quarantined = f"{len(lc.quarantined)} row{'' if len(lc.quarantined) == 1 else 's'}"
        line = (
            f"{lc.source}: {len(lc.data)} runs accepted of {lc.n_input} rows read "
            f"({len(lc.set_aside)} other activities set aside, {quarantined} quarantined for "
            f"problems); {ic.source}: {len(ic.data)} injury rows. "
            f"Analysed: {self.n_runners} runners ({self.subgroup or 'all subgroups'})."
        )
        line = self._clean(line)  # a file may be named by its runner; few injury rows
        banner = synthetic_banner(self.log) or synthetic_banner(self.sessions)
        return banner + f"<p>{html.escape(line)}</p>"

    def notes(self) -> list[str]:
        """What was noticed on the way (the loaders' notes, then the exposures'), fit for a
        report: runner ids are not shown, and with suppression on, a count of fewer than
        ``min_cell`` injuries of one diagnosis reads ``"<5"``. The full notes are in
        ``log_check.notes``, ``injuries_check.notes`` and the exposures' ``attrs["notes"]``."""
        notes = [
            *self.log_check.notes,
            *self.injuries_check.notes,
            *self.sessions.attrs.get("notes", []),
            *self.weeks.attrs.get("notes", []),
        ]
        notes = list(dict.fromkeys(notes))  # both exposures say how time at risk ended
        return [self._clean(note) for note in notes]

    def notes_of(self, fit) -> list[str]:
        """A fit's notes, fit for a report (as :meth:`notes`: no runner ids, small counts
        hidden)."""
        return [self._clean(note) for note in getattr(fit, "notes", fit)]

    def attempt(self, what: str, func, /, *args, **kwargs):
        """:func:`~pfps_stats.report.attempt` with the reason shown as :meth:`notes` are: an
        error about the data ("'ANNA-SMITH' is the only cluster") names no runner. With
        small-cell suppression on, the reason is not shown at all: "no events in '>100%'"
        would give a hidden count away."""
        if self.min_cell is None:
            return run_or_explain(what, func, args, kwargs, self._clean)
        hidden = (
            "The data of this group cannot support it. The reason is not shown with small-cell "
            "suppression on, as it could reveal a count; run without suppression for internal "
            "use to see it."
        )
        return run_or_explain(what, func, args, kwargs, lambda _: hidden)

    def _clean(self, text: str) -> str:
        return _for_report(text, self._ids, self.min_cell, self._files)

    @property
    def _ids(self) -> set:
        return {*self.log_check.data["runner_id"], *self.injuries_check.data["runner_id"]}

    @property
    def _files(self) -> list[str]:
        """Every path in the log's folder (files and folders, relative), when it is one."""
        if self.log_path is None or not Path(self.log_path).is_dir():
            return []
        root = Path(self.log_path)
        return [p.relative_to(root).as_posix() for p in root.rglob("*")]

    def _repr_html_(self) -> str:
        return self.header()


def setup_training_report(
    log_path: str | os.PathLike | None = None,
    injuries_path: str | os.PathLike | None = None,
    cohort_path: str | os.PathLike | None = None,
    subgroup: str | None = None,
    *,
    min_cell: int | None = 5,
    dayfirst: bool | None = None,
    log_mapping: Mapping[str, object] | None = None,
    pfp_labels: Sequence[str] | None = None,
) -> TrainingReportSetup:
    """Read a training log, its injuries and (optionally) a cohort, and build the exposures.

    Parameters
    ----------
    log_path, injuries_path : path, optional
        A training log (anything :func:`~pfps_stats.load_training_log` reads, a folder of
        per-runner exports included) and its injuries file. Both None: the SYNTHETIC demo
        log and injuries shipped with pfps_stats (and the demo cohort for subgroups).
    cohort_path : path, optional
        A cohort file with ``runner_id`` whose runner-level columns (subgroup, sex, BMI, ...)
        are joined to the exposures; needed for ``subgroup``.
    subgroup : str, optional
        Analyse the runners of one subgroup of the cohort; None for all.
    min_cell : int or None
        Small-cell suppression threshold (default 5); None turns suppression off.
    dayfirst : bool, optional
        For logs with dates such as 03/04/2025 (see :func:`~pfps_stats.load_training_log`).
    log_mapping : dict, optional
        The log's ``mapping`` (e.g. ``{"Distance": ("distance_km", "km")}`` for a Garmin
        export, whose header gives no unit).
    pfp_labels : list of str, optional
        Further diagnoses to count as PFP (see :func:`~pfps_stats.load_injuries`).

    Returns
    -------
    TrainingReportSetup

    Raises
    ------
    DataValidationError
        When a file has problems that no quarantine fixes (they are all listed).
    ValueError
        For a log without an injuries file, or a subgroup without a cohort.
    """
    if min_cell is not None and not (isinstance(min_cell, int) and min_cell >= 1):
        raise ValueError(f"min_cell must be a positive whole number or None, not {min_cell!r}")
    if (log_path is None) != (injuries_path is None):
        raise ValueError(
            "give both log_path and injuries_path (the training log and the injuries of the "
            "same runners), or neither for the SYNTHETIC demo"
        )
    quiet_warnings()
    demo = log_path is None
    log_check = check_training_log(
        DEMO_TRAINING_LOG if demo else log_path, log_mapping, dayfirst=dayfirst
    )
    injuries_check = check_injuries(
        DEMO_INJURIES if demo else injuries_path, pfp_labels=pfp_labels, dayfirst=dayfirst
    )
    for check in (log_check, injuries_check):
        # Rows with problems are set aside (and counted in the header); a problem with a whole
        # file or column, or nothing left to analyse, stops the report with every problem.
        if len(check.file_problems) or check.data.empty:
            problems = check.problems if len(check.problems) else _nothing_left(check)
            raise DataValidationError(problems, source=check.source)
    if cohort_path is None and demo:
        cohort_path = DEMO_COHORT
    cohort = None
    if cohort_path is not None:
        cohort = check_cohort(cohort_path).data
        if "runner_id" not in cohort:
            raise ValueError(
                f"the cohort {os.fspath(cohort_path)!r} has no runner_id column, so its "
                "runners cannot be matched to the training log"
            )
        cohort = in_subgroup(cohort, subgroup)
    elif subgroup is not None:
        raise ValueError(
            f"subgroup={subgroup!r} needs cohort_path=..., a cohort file with runner_id and "
            "subgroup columns, to know each runner's subgroup"
        )
    log, injuries = log_check.data, injuries_check.data
    if cohort is not None and subgroup is not None:
        keep = set(cohort["runner_id"].astype(str))
        log = log[log["runner_id"].isin(keep)].reset_index(drop=True)
        injuries = injuries[injuries["runner_id"].isin(keep)].reset_index(drop=True)
        if log.empty:
            raise ValueError(f"no runner of subgroup {subgroup!r} has runs in the training log")
    sessions = session_exposures(log, injuries)
    weeks = weekly_exposures(log, injuries)
    if cohort is not None:
        # Runner-level covariates only: not the cohort's own outcome and static mileage,
        # which the log measures afresh.
        static = {OUTCOME, "weekly_km", "weekly_km_change_pct", "followup_weeks"}
        covariates = cohort.drop(columns=[c for c in cohort if c in static])
        covariates = covariates.drop_duplicates("runner_id").astype({"runner_id": str})
        sessions = _join(sessions, covariates)
        weeks = _join(weeks, covariates)
    return TrainingReportSetup(
        log_check,
        injuries_check,
        cohort,
        subgroup,
        min_cell,
        log,
        injuries,
        sessions,
        weeks,
        None if demo else os.fspath(log_path),
    )


_PARENTHESES = re.compile(r"\(([^()]*)\)")
_DIAGNOSIS_COUNT = re.compile(r"('[^']*'|\"[^\"]*\") \((\d+)\)")
# A count of runners, injuries or onsets ("2 runners", "0 censored at another injury",
# "4 at the end of follow-up").
_PEOPLE_COUNT = re.compile(
    r"(?<![\w.,<-])(\d[\d,]*)(?=\s+(?:(?:[\w()=-]+\s+){0,2}?"
    r"(?:runners?|injur(?:y|ies)|PFP|onsets?|censored|events?|rows?|quarantined)\b"
    r"|at the end of follow-up))"
)
# After "<5", the singular would say the count was 1.
_SINGULAR = re.compile(r"(<\d+ (?:[\w-]+ ){0,2}?)(runner|injury|onset|event|row)\b(?!s)")
_PLURAL = {
    "runner": "runners",
    "injury": "injuries",
    "onset": "onsets",
    "event": "events",
    "row": "rows",
}
_MORE = re.compile(r"^and \d+ more$")


def _for_report(note: str, ids: set, min_cell: int | None, files: Sequence[str] = ()) -> str:
    """``note`` as a report may show it.

    - Paths of files in the log's folder (``files``; folders are named by runner) read
      "[a file]".
    - A listing of runner ids in parentheses reads "(runner ids not shown)"; any other
      mention of an id that is not a plain number reads "[runner]" (a plain-number id cannot
      be told from a count, so only listings of those are hidden).
    - With ``min_cell``: a count of runners, injuries, onsets or events below it, and a
      per-diagnosis count below it ("'calf strain' (2)"), read ``"<5"``, with the noun in the
      plural. Counts are hidden one by one: a note is not audited for counts that could be
      worked out from others (see docs/training-load.md, Known limits).
    """
    for name in sorted(files, key=len, reverse=True):  # a folder of runners: paths name them
        note = note.replace(name, "[a file]")
    ids = {str(i) for i in ids}
    if ids:

        def listing(m: re.Match) -> str:
            items = [x.strip() for x in re.split(r",| and (?=\d+ more)", m.group(1))]
            items = [x for x in items if x and not _MORE.match("and " + x) and x != ""]
            named = [x for x in items if x.strip("'\"") in ids]
            if named and len(named) >= len(items) - 1:
                return "(runner ids not shown)"
            return m.group(0)

        note = _PARENTHESES.sub(listing, note)
        words = sorted((i for i in ids if not i.isdigit()), key=len, reverse=True)
        if words:
            named = re.compile(
                r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w-])"
            )
            note = named.sub("[runner]", note)
    if min_cell is not None:
        small = f"<{min_cell}"
        note = _DIAGNOSIS_COUNT.sub(
            lambda m: f"{m.group(1)} ({small})" if int(m.group(2)) < min_cell else m.group(0),
            note,
        )
        note = _PEOPLE_COUNT.sub(
            lambda m: small if int(m.group(1).replace(",", "")) < min_cell else m.group(0), note
        )
        note = _SINGULAR.sub(lambda m: m.group(1) + _PLURAL[m.group(2)], note)
    return note


def _nothing_left(check) -> pd.DataFrame:
    return problem_frame(
        [
            {
                "row": None,
                "column": None,
                "value": None,
                "problem": "no row is left to analyse",
                "fix": "check the file holds runs (or injuries) of the runners analysed",
            }
        ]
    )


def _join(rows: pd.DataFrame, covariates: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the runner-level columns they do not have, joined by runner_id."""
    covariates = covariates[["runner_id", *(c for c in covariates if c not in rows)]]
    out = rows.merge(covariates, on="runner_id", how="left", validate="many_to_one")
    out.attrs = dict(rows.attrs)
    return out


def hazard_ratio_rows(fit: CoxFit) -> pd.DataFrame:
    """Every level of each categorical term (reference included) and each numeric term of a
    Cox fit, with its events, person-years and hazard ratio, as numbers.

    Returns
    -------
    DataFrame
        label, events, person_years, hazard_ratio, ci_low, ci_high, p_value; reference levels
        have hazard ratio 1 and no interval; numeric terms have no events or person-years.
    """
    hr = fit.hazard_ratios()
    counts = fit.counts()
    rows = []
    for _, c in counts.iterrows():
        if c["reference"]:
            rows.append(
                {
                    "label": f"{c['variable']}: {c['level']} (reference)",
                    "events": c["events"],
                    "person_years": c["person_days"] / 365.25,
                    "hazard_ratio": 1.0,
                }
            )
            continue
        match = hr[(hr["variable"] == c["variable"]) & (hr["level"].astype(str) == str(c["level"]))]
        for _, h in match.iterrows():
            rows.append(
                {
                    "label": h["label"],
                    "events": c["events"],
                    "person_years": c["person_days"] / 365.25,
                    "hazard_ratio": h["hazard_ratio"],
                    "ci_low": h["ci_low"],
                    "ci_high": h["ci_high"],
                    "p_value": h["p_value"],
                }
            )
    numeric = hr[hr["level"].isna()] if "level" in hr else hr.iloc[:0]
    for _, h in numeric.iterrows():
        rows.append({"label": h["label"], **h[["hazard_ratio", "ci_low", "ci_high", "p_value"]]})
    columns = ["label", "events", "person_years", "hazard_ratio", "ci_low", "ci_high", "p_value"]
    return pd.DataFrame(rows, columns=columns)


def format_hazard_ratio_table(
    fit: CoxFit, digits: int = 2, *, min_cell: int | None = None
) -> pd.DataFrame:
    """A Cox fit's hazard ratios as text for a report: one row per level, reference included.

    Parameters
    ----------
    fit : CoxFit
    digits : int
    min_cell : int, optional
        Small-cell suppression (:mod:`pfps_stats.report.suppression`): a level's events below
        it read ``"<5"``, the levels hidden to protect it ``"suppressed"``, and the person-years
        and hazard ratio of a hidden level ``"suppressed"``.

    Returns
    -------
    DataFrame
        label, events, person_years, hazard_ratio ("1.64 (1.31, 2.05)"; "1 (reference)"), p.
    """
    table = hazard_ratio_rows(fit)
    if min_cell is not None:
        table = suppress_small_counts(table, min_cell, columns=("events",))

    def text(row: pd.Series) -> tuple[str, str]:
        if row["hazard_ratio"] == SUPPRESSED:
            return SUPPRESSED, SUPPRESSED
        if "(reference)" in str(row["label"]):
            return "1 (reference)", ""
        ratio = format_estimate_ci(row["hazard_ratio"], row["ci_low"], row["ci_high"], digits)
        return ratio, format_p_value(row["p_value"])

    cells = [text(row) for _, row in table.iterrows()]
    years = table["person_years"].map(
        lambda v: v if isinstance(v, str) else ("" if pd.isna(v) else f"{v:.1f}")
    )
    events = table["events"].map(
        lambda v: v if isinstance(v, str) else ("" if pd.isna(v) else f"{v:.0f}")
    )
    out = pd.DataFrame(
        {
            "label": table["label"],
            "events": events,
            "person_years": years,
            "hazard_ratio": [c[0] for c in cells],
            "p": [c[1] for c in cells],
        }
    )
    out.attrs["names"] = {"hazard_ratio": "Hazard ratio (95% CI)"}  # for report.show
    return out


def hazard_comparison_summary(
    table: pd.DataFrame, digits: int = 2, *, min_cell: int | None = None
) -> pd.DataFrame:
    """:func:`~pfps_stats.compare_hazard_ratios` as a compact table for a report.

    Parameters
    ----------
    table : DataFrame
        From :func:`~pfps_stats.compare_hazard_ratios`.
    digits : int
    min_cell : int, optional
        A level with fewer than ``min_cell`` events has its local estimate, difference and
        verdict shown as "suppressed".

    Returns
    -------
    DataFrame
        exposure, level, local (HR and 95% CI), published (HR and CI, source), ratio of the
        hazard ratios (local / published, CI, z-test p-value), verdict ("differs" when
        p < 0.05, "consistent" otherwise: no evidence of a difference), or the published
        finding in words where there is no published number.
    """

    def ci(row, est, lo, hi):
        return (
            "-" if pd.isna(row.get(est)) else format_estimate_ci(row[est], row[lo], row[hi], digits)
        )

    rows = []
    for _, row in table.iterrows():
        published = ci(row, "published_hr", "published_low", "published_high")
        if published != "-":
            published += f" {row['published_study']} ({row['published_level']})"
        elif isinstance(row.get("stated_finding"), str):
            published = row["stated_finding"]
        hidden = min_cell is not None and not row["events"] >= min_cell
        ratio = ci(row, "ratio_of_hrs", "ratio_low", "ratio_high")
        if ratio != "-":
            ratio += f", {format_p_value(row['difference_p'], prefix=True)}"
        verdict = row.get("verdict")
        rows.append(
            {
                "exposure": row["exposure"],
                "level": row["level"],
                "local": SUPPRESSED if hidden else ci(row, "local_hr", "local_low", "local_high"),
                "published": published,
                "local_over_published": SUPPRESSED if hidden else ratio,
                "verdict": SUPPRESSED if hidden else ("-" if pd.isna(verdict) else verdict),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["names"] = {"published": "Published HR (95% CI)"}  # for report.show
    return out
