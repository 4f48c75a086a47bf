"""The headline numbers of a report, recorded for the report site.

A report notebook ends with ``display(report.record_summary(...))``: readers of the report see
the numbers as one line ("In brief: ..."), and the report batch finds the same numbers as JSON
under the MIME type :data:`SUMMARY_MIMETYPE` in the executed notebook and shows them on the
index's card for that report (:func:`pfps_stats.batch.site.render_index`), so the index never
scrapes HTML.

The record::

    {"version": 1, "analysis": "risk-factors", "subgroup": "military" or None,
     "synthetic": True, "headlines": [{"label": "Runners", "text": "1,200", "value": 1200},
                                      ...]}

``text`` is what is shown (formatted, and small-cell suppressed by the notebook); ``value`` is
the number for machines, or None when it is suppressed or not a number.
"""

from __future__ import annotations

import html
import math
from numbers import Real

SUMMARY_MIMETYPE = "application/vnd.pfps-stats.summary+json"

#: Version of the record's shape, for readers of older manifests.
SUMMARY_VERSION = 1


def headline(label: str, text: str, value: float | None = None) -> dict:
    """One headline number: ``label`` ("Cases"), the ``text`` shown ("120 (10.0%)"), and the
    raw ``value`` (None when suppressed or not a number).

    Returns
    -------
    dict
        ``{"label", "text", "value"}``, JSON-ready (a NaN value becomes None).

    Raises
    ------
    TypeError
        When ``label`` or ``text`` is not text, or ``value`` is not a real number or None.
    """
    if not isinstance(label, str) or not label.strip():
        raise TypeError(f"a headline's label must be non-empty text, got {label!r}")
    if not isinstance(text, str):
        raise TypeError(f"the headline {label!r} must be shown as text, got {text!r}")
    if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
        raise TypeError(f"the headline {label!r} has a value that is not a number: {value!r}")
    if value is not None:
        value = float(value)
        if math.isnan(value):
            value = None
        elif value.is_integer() and abs(value) < 2**53:
            value = int(value)
    return {"label": label, "text": text, "value": value}


class ReportSummary:
    """The headline numbers of one report: shown as one line, carried as JSON
    (``_repr_mimebundle_``: text/html, text/plain and :data:`SUMMARY_MIMETYPE`)."""

    def __init__(self, record: dict):
        self.record = record

    def _line(self) -> str:
        return " · ".join(f"{h['label']}: {h['text']}" for h in self.record["headlines"])

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        items = " · ".join(
            f"{html.escape(h['label'])}: <strong>{html.escape(h['text'])}</strong>"
            for h in self.record["headlines"]
        )
        return {
            "text/html": f'<p class="pfps-summary">In brief: {items}</p>',
            "text/plain": f"In brief: {self._line()}",
            SUMMARY_MIMETYPE: self.record,
        }

    def __repr__(self) -> str:
        return f"ReportSummary({self._line()})"


def record_summary(
    analysis: str,
    headlines: list[dict],
    *,
    subgroup: str | None = None,
    synthetic: bool = False,
) -> ReportSummary:
    """The headline numbers of a report, to ``display`` as its last output.

    Parameters
    ----------
    analysis : str
        The report's analysis, in the words of the index ("data-quality", "risk-factors",
        "evidence", "training-load", "study-planning").
    headlines : list of dict
        Two or three :func:`headline` items, in the order the index shows them.
    subgroup : str, optional
        The subgroup analysed (None: all runners).
    synthetic : bool
        Whether the data are SYNTHETIC (the index then says so on the card).

    Returns
    -------
    ReportSummary
        Displays as "In brief: ..." and carries the record for the batch.

    Raises
    ------
    TypeError
        When ``headlines`` is not a list of :func:`headline` items.
    """
    if not isinstance(headlines, list | tuple) or not all(
        isinstance(h, dict) and set(h) == {"label", "text", "value"} for h in headlines
    ):
        raise TypeError("headlines must be a list of report.headline(label, text, value) items")
    return ReportSummary(
        {
            "version": SUMMARY_VERSION,
            "analysis": str(analysis),
            "subgroup": None if subgroup is None else str(subgroup),
            "synthetic": bool(synthetic),
            "headlines": list(headlines),
        }
    )


def notebook_summary(nb) -> dict | None:
    """The last summary an executed notebook displayed under :data:`SUMMARY_MIMETYPE`, or
    None when it displayed none (an older notebook, or one that failed before its end)."""
    found = None
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("data", {}).get(SUMMARY_MIMETYPE)
            if isinstance(record, dict) and isinstance(record.get("headlines"), list):
                found = record
    return found


# ---------------------------------------------------------------------------------------------
# The summary of each analysis: the notebooks' last cell calls one of these.

#: Shown for a headline whose analysis was withheld or could not be estimated.
NOT_ESTIMATED = "not estimated"


def _cases_text(
    cases: int, n: int, min_cell: int | None, *, percent: bool = True
) -> tuple[str, int | None]:
    """Cases (with their percentage unless ``percent`` is False), small-cell suppressed: "<5"
    when fewer than ``min_cell``, "suppressed" when the non-cases (``n - cases``) are: the
    runners' count on the same card would give them back by subtraction."""
    from .._format import SUPPRESSED, count_percent, is_small, small_marker

    if is_small(cases, min_cell):
        return small_marker(min_cell), None
    if is_small(n - cases, min_cell):
        return SUPPRESSED, None
    return (count_percent(cases, n) if percent else f"{cases:,}"), cases


def _runners_text(n: int, min_cell: int | None) -> tuple[str, int | None]:
    """The runners analysed, "<5" when fewer than ``min_cell`` (as the report's tables show
    a subgroup's total, and :func:`data_quality_summary` the subgroup's runners)."""
    from .._format import is_small, small_marker

    if is_small(n, min_cell):
        return small_marker(min_cell), None
    return f"{n:,}", n


def _outcome_counts(cohort, outcome: str) -> tuple[int, int]:
    """(runners with the outcome known, cases)."""
    import pandas as pd

    if outcome not in cohort:
        return 0, 0
    y = pd.to_numeric(cohort[outcome], errors="coerce").dropna()
    return len(y), int((y == 1).sum())


def data_quality_summary(rs) -> ReportSummary:
    """The data-quality report's summary: rows read, rows accepted (and the subgroup's), rows
    set aside.

    Parameters
    ----------
    rs : ReportSetup
        From :func:`~pfps_stats.report.setup_report`.

    Returns
    -------
    ReportSummary
        Analysis "data-quality"; SYNTHETIC when any accepted row is simulated. The file's
        rows are shown as the report shows them; the subgroup's runners read "<5" when fewer
        than ``rs.min_cell``.
    """
    from ..cohort.synthetic import is_synthetic

    check = rs.check
    accepted = f"{len(check.data):,}"
    value = len(check.data)
    if rs.subgroup is not None:
        accepted += f" ({_runners_text(len(rs.cohort), rs.min_cell)[0]} {rs.subgroup})"
    aside = len(check.quarantined) + len(getattr(check, "set_aside", ()))
    return record_summary(
        "data-quality",
        [
            headline("Rows read", f"{check.n_input:,}", check.n_input),
            headline("Accepted", accepted, value),
            headline("Set aside", f"{aside:,}", aside),
        ],
        subgroup=rs.subgroup,
        synthetic=bool(is_synthetic(check.data)),
    )


def strongest_odds_ratio(table, min_cell: int | None = None) -> dict | None:
    """The multivariable odds ratio furthest from 1 (on the log scale) of an
    :func:`~pfps_stats.odds_ratio_table`, among those a report shows (small-cell suppression
    applied as :func:`~pfps_stats.report.suppress_odds_ratio_counts`): among those whose 95%
    CI excludes 1 when there are any, else among all, flagged so that a caller does not
    promote a null result.

    Returns
    -------
    dict or None
        ``{"label", "odds_ratio", "ci_low", "ci_high", "ci_excludes_1"}``; ``ci_excludes_1``
        is False when no shown estimate's 95% CI excludes 1 (the row is then the furthest
        from 1 of all, which is not evidence of an association). None when the table has no
        multivariable estimate to show (model not fitted, or every estimate hidden).
    """
    import numpy as np

    from .formatting import suppress_odds_ratio_counts

    if table is None or len(table) == 0 or "or_multi" not in table:
        return None
    shown = suppress_odds_ratio_counts(table, min_cell)
    rows = shown[shown["or_multi"].notna() & shown["ci_low_multi"].notna()]
    rows = rows[rows["or_multi"] > 0]
    if rows.empty:
        return None
    clear = rows[(rows["ci_low_multi"] > 1) | (rows["ci_high_multi"] < 1)]
    rows = clear if len(clear) else rows  # an interval that excludes 1 first
    row = rows.loc[np.abs(np.log(rows["or_multi"].astype(float))).idxmax()]
    return {
        "label": str(row["label"]),
        "odds_ratio": float(row["or_multi"]),
        "ci_low": float(row["ci_low_multi"]),
        "ci_high": float(row["ci_high_multi"]),
        "ci_excludes_1": bool(len(clear)),
    }


#: The strongest odds ratio's headline when no factor's 95% CI excludes 1.
NO_CLEAR_FACTOR = "no factor with a 95% CI excluding 1"


def risk_factors_summary(rs, table=None, *, outcome: str | None = None) -> ReportSummary:
    """The risk-factor report's summary: runners, cases (incidence), and the strongest
    multivariable odds ratio.

    Parameters
    ----------
    rs : ReportSetup
    table : DataFrame, optional
        The :func:`~pfps_stats.odds_ratio_table` the report shows (of multiple imputation
        when it shows that one); None when the models were withheld or not estimated: the
        headline then reads "not estimated".
    outcome : str, optional
        Default the dictionary's outcome (pfp).

    Returns
    -------
    ReportSummary
        Analysis "risk-factors". Runners and cases read "<5" below ``rs.min_cell`` (cases
        "suppressed" when the non-cases are that few); the odds ratio is one the report shows,
        among those whose 95% CI excludes 1 (:data:`NO_CLEAR_FACTOR`, value None, when none
        does).
    """
    from .._format import estimate_ci
    from ..cohort.synthetic import is_synthetic
    from ..cohort.variables import OUTCOME

    outcome = outcome or OUTCOME
    n, cases = _outcome_counts(rs.cohort, outcome)
    cases_text, cases_value = _cases_text(cases, n, rs.min_cell)
    best = None if rs.too_few_cases(outcome) else strongest_odds_ratio(table, rs.min_cell)
    how = " (multiple imputation)" if table is not None and "imputation" in table.attrs else ""
    if best is None:
        strongest = headline(f"Strongest odds ratio{how}", NOT_ESTIMATED)
    elif not best["ci_excludes_1"]:
        strongest = headline(f"Strongest odds ratio{how}", NO_CLEAR_FACTOR)
    else:
        ratio = estimate_ci(best["odds_ratio"], best["ci_low"], best["ci_high"])
        text = f"OR {ratio} for {best['label']}"
        strongest = headline(f"Strongest odds ratio{how}", text, best["odds_ratio"])
    return record_summary(
        "risk-factors",
        [
            headline("Runners", *_runners_text(len(rs.cohort), rs.min_cell)),
            headline("Cases", cases_text, cases_value),
            strongest,
        ],
        subgroup=rs.subgroup,
        synthetic=bool(is_synthetic(rs.cohort)),
    )


#: The evidence summary's headline counting the verdicts "consistent": no evidence of a
#: difference, which is not agreement (the CI of the difference may be wide).
NO_DIFFERENCE_LABEL = "No evidence of a difference from published"


def evidence_summary(
    rs, comparison=None, meta=None, *, outcome: str | None = None
) -> ReportSummary:
    """The evidence report's summary: runners and cases, how many factors show no evidence
    of a difference from their published estimate (verdict "consistent"), and the
    heterogeneity of the meta-analysis across subgroups when there is one.

    Parameters
    ----------
    rs : ReportSetup
    comparison : DataFrame, optional
        :func:`~pfps_stats.compare_with_evidence`; None when withheld or not estimated.
    meta : MetaResult, optional
        The meta-analysis across the cohort's subgroups, when the report shows one.
    outcome : str, optional

    Returns
    -------
    ReportSummary
        Analysis "evidence". Runners read "<5" below ``rs.min_cell``, and the runners with
        PFP as the risk-factor summary's cases. The headline :data:`NO_DIFFERENCE_LABEL`
        reads "k of m factors", with "; j of the m vs another population" when j published
        estimates are for another population than the cohort's (``same_population`` False).
        A factor counts when the report shows its verdict: one with a published estimate,
        and (with suppression on) at least ``rs.min_cell`` cases and non-cases, as
        :func:`~pfps_stats.report.comparison_summary` shows it.
    """
    import pandas as pd

    from ..cohort.synthetic import is_synthetic
    from ..cohort.variables import OUTCOME

    outcome = outcome or OUTCOME
    n, cases = _outcome_counts(rs.cohort, outcome)
    cases_text, _ = _cases_text(cases, n, rs.min_cell)
    with_pfp = cases_text.split(" (")[0]  # "200", "<5" or "suppressed"
    runners, runners_value = _runners_text(len(rs.cohort), rs.min_cell)
    if runners_value is not None:
        runners += " " + (
            "(with PFP: suppressed)" if with_pfp == "suppressed" else f"({with_pfp} with PFP)"
        )
    headlines = [headline("Runners", runners, runners_value)]
    label = NO_DIFFERENCE_LABEL
    if comparison is None or rs.too_few_cases(outcome):
        headlines.append(headline(label, NOT_ESTIMATED))
    else:
        rows = comparison[comparison["verdict"].notna()] if "verdict" in comparison else []
        if rs.min_cell is not None and len(rows):
            enough = (rows["events"] >= rs.min_cell) & (rows["n"] - rows["events"] >= rs.min_cell)
            rows = rows[enough]
        total = len(rows)
        if total == 0:
            headlines.append(headline(label, "no published estimate to compare"))
        else:
            agree = int(pd.Series(rows["verdict"]).astype(str).str.startswith("consistent").sum())
            text = f"{agree} of {total} factor{'s' if total > 1 else ''}"
            if "same_population" in rows:  # False: another population stands in (NA: unknown)
                other = int(pd.Series(rows["same_population"]).astype("boolean").eq(False).sum())
                if other:
                    which = "all" if other == total else f"{other} of the {total}"
                    text += f"; {which} vs another population"
            headlines.append(headline(label, text, agree))
    if meta is not None and getattr(meta, "k", 0) > 1:
        headlines.append(
            headline("Heterogeneity across subgroups", f"I² {meta.i2:.0f}%", float(meta.i2))
        )
    return record_summary(
        "evidence",
        headlines,
        subgroup=rs.subgroup,
        synthetic=bool(is_synthetic(rs.cohort)),
    )


def training_load_summary(rs, fits=None) -> ReportSummary:
    """The training-load report's summary: runners, PFP onsets, and the hazard ratio of a
    run more than twice the longest of the 30 days before it (session state ">100%").

    Parameters
    ----------
    rs : TrainingReportSetup
    fits : dict, optional
        The Cox fits the report shows, by exposure (``{"session_state": fit, ...}``); the
        headline reads "not estimated" when ``session_state``'s is not among them.

    Returns
    -------
    ReportSummary
        Analysis "training-load". Runners and onsets read "<5" below ``rs.min_cell``, and
        onsets "suppressed" when the runners without one are that few (a runner has at
        most one onset: runners minus onsets would give them back).
    """
    from .._format import estimate_ci
    from ..cohort.synthetic import is_synthetic
    from ..exposures.states import SPIKE_STATES

    onsets = int(rs.sessions["event"].sum())
    headlines = [
        headline("Runners", *_runners_text(rs.n_runners, rs.min_cell)),
        headline("PFP onsets", *_cases_text(onsets, rs.n_runners, rs.min_cell, percent=False)),
    ]
    label = f"Hazard ratio, run {SPIKE_STATES[-1]} over 30-day longest"
    fit = (fits or {}).get("session_state")
    row = None
    if fit is not None and not rs.too_few_cases():
        ratios = fit.hazard_ratios()
        match = ratios[ratios["level"].astype(str) == SPIKE_STATES[-1]]
        row = None if match.empty else match.iloc[0]
    if row is None:
        headlines.append(headline(label, NOT_ESTIMATED))
    else:
        text = estimate_ci(row["hazard_ratio"], row["ci_low"], row["ci_high"])
        headlines.append(headline(label, text, float(row["hazard_ratio"])))
    synthetic = bool(is_synthetic(rs.log)) or bool(is_synthetic(rs.sessions))
    return record_summary("training-load", headlines, subgroup=rs.subgroup, synthetic=synthetic)


def study_planning_summary(plan) -> ReportSummary:
    """The study-planning report's summary: runners to recruit, expected cases, power.

    Parameters
    ----------
    plan : Series
        From :func:`~pfps_stats.plan_study`.

    Returns
    -------
    ReportSummary
        Analysis "study-planning", the plan's subgroup; not SYNTHETIC (the plan rests on
        published estimates).
    """
    events = float(plan["events"])
    return record_summary(
        "study-planning",
        [
            headline("Runners to recruit", f"{int(plan['n']):,}", int(plan["n"])),
            headline("Expected cases", f"about {events:.0f}", events),
            headline("Power", f"{float(plan['power']):.0%}", float(plan["power"])),
        ],
        subgroup=None if plan.get("subgroup") is None else str(plan["subgroup"]),
        synthetic=False,
    )
