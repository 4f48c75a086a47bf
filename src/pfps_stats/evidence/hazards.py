"""Local hazard ratios of the training-load spike states beside the published ones.

A Cox model's hazard ratios (:meth:`CoxFit.hazard_ratios`) per spike state are set beside
the published hazard ratios of the same exposure definition, on the log scale: Frandsen 2025
(single session against the longest run of the past 30 days, three HRRs) and Nielsen 2014
(weekly progression > 30 % vs < 10 %). Where a study states a finding without a number
(Frandsen 2025 on the week-to-week ratio and the ACWR) the finding is given as text, untested.

The difference is tested exactly as :func:`~pfps_stats.compare_with_evidence` tests SMDs, with
the same function, here on log hazard ratios.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from .._format import estimate_ci, p_value
from ..exposures.states import SPIKE_STATES
from ..plots.forest import draw_forest
from ..plots.training import EXPOSURE_LABELS
from .compare import _versus
from .registry import load_evidence, load_studies

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from matplotlib.axes import Axes


@dataclass(frozen=True)
class PublishedDefinition:
    """A published exposure definition that a local spike-state exposure is compared with.

    Attributes
    ----------
    study : str
        Key of ``studies.csv``.
    definition : str
        The published exposure, in words.
    outcome : str
        The published outcome (what the hazard ratio is of).
    levels : dict
        Local state -> the registry ``level`` of the published HR it is compared with;
        empty when the study gives no number (then ``finding`` says what it found).
    finding : str
        A finding the study states without a number; empty when it gives numbers.
    caveat : str
        What differs between the local and the published definition.
    """

    study: str
    definition: str
    outcome: str
    levels: dict[str, str] = field(default_factory=dict)
    finding: str = ""
    caveat: str = ""


_FRANDSEN_OUTCOME = "overuse injury (all overuse injuries, not PFP specifically)"

#: Which published definitions each local exposure is compared with (the one home of this
#: mapping; the numbers themselves are in the registry's ``estimates.csv``).
PUBLISHED_DEFINITIONS: dict[str, tuple[PublishedDefinition, ...]] = {
    "session_state": (
        PublishedDefinition(
            "frandsen2025",
            "one session's distance against the longest run in the past 30 days",
            _FRANDSEN_OUTCOME,
            levels={state: state for state in SPIKE_STATES[1:]},
            caveat="published outcome: all overuse injuries, not PFP specifically",
        ),
    ),
    "week_state": (
        PublishedDefinition(
            "nielsen2014",
            "progression of weekly distance, >30% vs <10% (or regression)",
            "distance-related injuries (PFP among them), not PFP alone",
            levels={">30-100%": ">30%", ">100%": ">30%"},
            caveat=(
                "category mismatch: Nielsen's '>30%' group (vs '<10%') spans both our "
                "'>30-100%' and '>100%', and it gives no number for 10-30%; published outcome: "
                "distance-related injuries (PFP among them), not PFP alone"
            ),
        ),
        PublishedDefinition(
            "frandsen2025",
            "the week-to-week ratio",
            _FRANDSEN_OUTCOME,
            finding="no relationship with injury",
            caveat="published outcome: all overuse injuries, not PFP specifically",
        ),
    ),
    "acwr_state": (
        PublishedDefinition(
            "frandsen2025",
            "the acute:chronic workload ratio (one week against the three before it)",
            _FRANDSEN_OUTCOME,
            finding="negative dose-response: spikes had lower injury rates",
            caveat="published outcome: all overuse injuries, not PFP specifically",
        ),
    ),
}
# The previous week's states (weekly_exposures' prior_week_state and prior_acwr_state, the
# ones to model a week's risk with) are compared with the same published definitions.
PUBLISHED_DEFINITIONS["prior_week_state"] = PUBLISHED_DEFINITIONS["week_state"]
PUBLISHED_DEFINITIONS["prior_acwr_state"] = PUBLISHED_DEFINITIONS["acwr_state"]

#: Columns of :func:`compare_hazard_ratios`.
HAZARD_COMPARISON_COLUMNS = (
    "exposure",
    "level",
    "events",
    "person_days",
    "local_hr",
    "local_low",
    "local_high",
    "local_p",
    "published_study",
    "published_level",
    "published_hr",
    "published_low",
    "published_high",
    "published_outcome",
    "citation",
    "stated_finding",
    "difference",
    "difference_low",
    "difference_high",
    "difference_z",
    "difference_p",
    "ratio_of_hrs",
    "ratio_low",
    "ratio_high",
    "verdict",
    "note",
)
_LOCAL_COLUMNS = ("variable", "level", "hazard_ratio", "ci_low", "ci_high")


def _local_rows(local: pd.DataFrame, exposure: str) -> pd.DataFrame:
    rows = local[local["variable"] == exposure]
    if rows.empty:
        found = ", ".join(map(str, dict.fromkeys(local["variable"].dropna()))) or "none"
        raise ValueError(
            f"the local table has no hazard ratio for {exposure!r} (variables: {found}); fit "
            f"a Cox model with C({exposure}), e.g. fit_cox(rows, 'C({exposure})'), and pass "
            "its hazard_ratios()"
        )
    repeated = rows["level"][rows["level"].duplicated()]
    if len(repeated):
        raise ValueError(
            f"the local table has more than one hazard ratio for {exposure} = "
            f"{repeated.iloc[0]!r}; pass the hazard_ratios() of one model with "
            f"C({exposure}) as a main effect"
        )
    rows = rows.set_index(rows["level"].astype(str))
    reference = SPIKE_STATES[0]
    if reference in rows.index and np.isfinite(float(rows.loc[reference, "ci_low"])):
        raise ValueError(
            f"the local model of {exposure} estimates a hazard ratio for {reference!r}, so its "
            f"reference is another state; the published ratios are against {reference!r}: "
            f"refit with C({exposure}) (reference first)"
        )
    unknown = [lv for lv in rows.index if lv not in SPIKE_STATES]
    if unknown:
        raise ValueError(
            f"the local table has level(s) {unknown} of {exposure}, not spike states "
            f"({', '.join(SPIKE_STATES)})"
        )
    return rows


def _published_row(registry: pd.DataFrame, study: str, exposure: str, level: str):
    match = registry[
        (registry["study"] == study)
        & (registry["factor"] == exposure)
        & (registry["measure"] == "HR")
        & (registry["level"] == level)
        & registry["verified"].astype(bool)
    ]
    return None if match.empty else match.iloc[0]


def compare_hazard_ratios(
    local: pd.DataFrame,
    registry: pd.DataFrame | None = None,
    *,
    exposure: str | Sequence[str] | None = "session_state",
) -> pd.DataFrame:
    """Local hazard ratios of the spike states beside the published ones, on the log scale.

    Parameters
    ----------
    local : DataFrame
        :meth:`CoxFit.hazard_ratios` of a model with the exposure as a categorical (columns
        variable, level, hazard_ratio, ci_low, ci_high; p_value, events, person_days are
        carried when present). Its CI is read as a Wald interval, symmetric on the log scale,
        at ``local.attrs["level"]`` (default 0.95).
    registry : DataFrame, optional
        Default :func:`~pfps_stats.load_evidence`; verified "HR" rows are used.
    exposure : str, list of str or None
        "session_state", "week_state", "acwr_state" (keys of :data:`PUBLISHED_DEFINITIONS`),
        several, or None for every one of them that ``local`` holds.

    Returns
    -------
    DataFrame
        One row per exposure, spike state (``level``, the reference left out) and published
        definition (:data:`HAZARD_COMPARISON_COLUMNS`):

        - exposure, level, events, person_days; local_hr, local_low, local_high, local_p;
        - published_study, published_level (the study's category), published_hr,
          published_low, published_high, published_outcome, citation;
        - stated_finding: a finding the study states without a number (then no test);
        - difference, difference_low, difference_high: log(local HR) - log(published HR)
          and its 95% CI; difference_z, difference_p: the two-sided z test; ratio_of_hrs,
          ratio_low, ratio_high: the same on the ratio scale (local / published);
        - verdict: "differs" when difference_p < 0.05, else "consistent" (no evidence of a
          difference at the 5% level, not evidence of equality); None without a number;
        - note: the verdict in words, and what differs between the definitions.

    Notes
    -----
    The local and published estimates are independent. Each standard error of a log hazard
    ratio is read from its CI, (log high - log low) / (2 z), and the difference has se
    √(se_local² + se_published²): the test of :func:`~pfps_stats.compare_with_evidence`
    (the same function; validated there against R's metafor), applied to log hazard ratios.
    Checked on hand-made tables with known answers (tests/evidence/test_hazards.py).
    """
    missing = [c for c in _LOCAL_COLUMNS if c not in local]
    if missing:
        raise ValueError(
            f"the local table has no column(s) {', '.join(missing)}; pass "
            "CoxFit.hazard_ratios() (columns term, label, variable, level, hazard_ratio, "
            "ci_low, ci_high, ...)"
        )
    if exposure is None:
        exposures = [e for e in PUBLISHED_DEFINITIONS if (local["variable"] == e).any()]
        if not exposures:
            raise ValueError(
                "the local table has none of the exposures "
                f"{', '.join(PUBLISHED_DEFINITIONS)}; fit fit_cox(rows, 'C(session_state)')"
            )
    else:
        exposures = [exposure] if isinstance(exposure, str) else list(exposure)
    unknown = [e for e in exposures if e not in PUBLISHED_DEFINITIONS]
    if unknown:
        raise ValueError(
            f"no published definition for {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(PUBLISHED_DEFINITIONS)}"
        )
    registry = load_evidence() if registry is None else registry
    lacking = [c for c in ("study", "factor", "measure", "level", "verified") if c not in registry]
    if lacking:
        raise ValueError(f"the registry has no column(s) {', '.join(lacking)}; see load_evidence")
    citations = _citations(registry)
    conf = float(local.attrs.get("level", 0.95))
    z_local = float(stats.norm.ppf(0.5 + conf / 2))
    rows = []
    for name in exposures:
        own = _local_rows(local, name)
        for state in SPIKE_STATES[1:]:
            loc = own.loc[state] if state in own.index else None
            base = {
                "exposure": name,
                "level": state,
                "events": _get(loc, "events"),
                "person_days": _get(loc, "person_days"),
                "local_hr": _get(loc, "hazard_ratio"),
                "local_low": _get(loc, "ci_low"),
                "local_high": _get(loc, "ci_high"),
                "local_p": _get(loc, "p_value"),
            }
            for source in PUBLISHED_DEFINITIONS[name]:
                if source.levels and state not in source.levels:
                    continue
                row = {
                    **base,
                    "published_study": source.study,
                    "published_outcome": source.outcome,
                    "citation": citations.get(source.study, ""),
                }
                rows.append(row)
                if not source.levels:
                    row.update(
                        stated_finding=source.finding,
                        note=f"{source.study} on {source.definition}: {source.finding}; no number "
                        f"is published, so there is no test; {source.caveat}",
                    )
                    continue
                level = source.levels[state]
                pub = _published_row(registry, source.study, name.removeprefix("prior_"), level)
                row["published_level"] = level
                if pub is None:
                    row["note"] = (
                        f"no verified HR of {source.study} for {name} = {level!r} in the registry"
                    )
                    continue
                row.update(
                    published_hr=float(pub["estimate"]),
                    published_low=float(pub["ci_low"]),
                    published_high=float(pub["ci_high"]),
                )
                row.update(_test(row, z_local, source))
    table = pd.DataFrame(rows, columns=list(HAZARD_COMPARISON_COLUMNS))
    for column in ("published_level", "stated_finding", "verdict"):  # None, not NaN, for text
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    table.attrs["level"] = 0.95
    return table


def _get(row: pd.Series | None, column: str) -> float:
    if row is None or column not in row.index:
        return np.nan
    return float(row[column]) if pd.notna(row[column]) else np.nan


def _citations(registry: pd.DataFrame) -> dict[str, str]:
    """Study key -> citation: the registry's, else the shipped ``studies.csv``'s."""
    shipped = load_studies().set_index("key")["citation"].to_dict()
    if "citation" in registry:
        shipped.update(registry.drop_duplicates("study").set_index("study")["citation"].to_dict())
    return shipped


def _test(row: dict, z_local: float, source: PublishedDefinition) -> dict:
    """The z test of log(local HR) - log(published HR), or why there is none."""
    hr, lo, hi = row["local_hr"], row["local_low"], row["local_high"]
    if not all(np.isfinite(v) and v > 0 for v in (hr, lo, hi)) or not lo < hi:
        why = (
            "no local estimate"
            if np.isnan(hr)
            else f"the local HR ({hr:g}) has no CI (no events in the level or the reference)"
        )
        return {"note": f"{why} for {row['exposure']} = {row['level']}: no test; {source.caveat}"}
    local_vi = ((math.log(hi) - math.log(lo)) / (2 * z_local)) ** 2
    versus = _versus(
        math.log(hr),
        local_vi,
        math.log(row["published_hr"]),
        math.log(row["published_low"]),
        math.log(row["published_high"]),
    )
    differs = versus["difference_p"] < 0.05
    out = {
        "difference": versus["difference"],
        "difference_low": versus["difference_low"],
        "difference_high": versus["difference_high"],
        "difference_z": versus["difference_z"],
        "difference_p": versus["difference_p"],
        "ratio_of_hrs": math.exp(versus["difference"]),
        "ratio_low": math.exp(versus["difference_low"]),
        "ratio_high": math.exp(versus["difference_high"]),
        "verdict": "differs" if differs else "consistent",
    }
    words = "differs from" if differs else "no evidence of a difference from"
    published = f"{row['published_study']} ({row['published_level']})"
    ratio = estimate_ci(out["ratio_of_hrs"], out["ratio_low"], out["ratio_high"])
    out["note"] = (
        f"{words} {published}: ratio of hazard ratios (local / published) {ratio}, "
        f"{p_value(out['difference_p'], prefix=True)}; {source.caveat}"
    )
    return out


#: Characters per line of the comparison plot's row labels and notes: wrapped so that the
#: figure stays narrow enough to be read on an 800-pixel page.
_WRAP_LABEL, _WRAP_NOTE = 30, 34


def plot_hazard_comparison(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Local and published hazard ratios per exposure and spike state, with 95% CIs, on a log
    axis with a line at 1, drawn by the toolkit's one forest renderer; the published source
    of each line (with its category when it differs, and a finding stated without a number)
    is named at the right.

    Parameters
    ----------
    table : DataFrame
        :func:`compare_hazard_ratios` (one exposure or several, concatenated).
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    needed = ("exposure", "level", "local_hr", "local_low", "local_high", "published_study")
    missing = [
        c for c in (*needed, "published_hr", "published_low", "published_high") if c not in table
    ]
    if missing:
        raise ValueError(
            f"plot_hazard_comparison needs the table of compare_hazard_ratios; missing: {missing}"
        )
    table = table.reset_index(drop=True)
    labels = [
        textwrap.fill(f"{EXPOSURE_LABELS.get(e, e)}: {lv}", _WRAP_LABEL)
        for e, lv in zip(table["exposure"], table["level"], strict=True)
    ]
    table = table.assign(_label=labels)
    notes: dict[str, list[str]] = {}
    for _, row in table.iterrows():
        text = row["published_study"] if isinstance(row["published_study"], str) else ""
        if text and isinstance(row.get("stated_finding"), str) and row["stated_finding"]:
            text = f"{text}: {row['stated_finding']}"
        elif (
            text and pd.notna(row.get("published_level")) and row["published_level"] != row["level"]
        ):
            text = f"{text} ({row['published_level']})"
        if text:
            notes.setdefault(row["_label"], []).append(text)
    annotation = table["_label"].map(
        lambda lab: textwrap.fill("; ".join(notes.get(lab, [])), _WRAP_NOTE)
    )
    local = table.drop_duplicates("_label")
    parts = [
        pd.DataFrame(
            {
                "label": local["_label"],
                "estimate": local["local_hr"].to_numpy(float),
                "ci_low": local["local_low"].to_numpy(float),
                "ci_high": local["local_high"].to_numpy(float),
                "series": "local cohort",
                "annotation": annotation[local.index],
            }
        )
    ]
    published = table[table["published_hr"].notna()]
    parts.append(
        pd.DataFrame(
            {
                "label": published["_label"],
                "estimate": published["published_hr"].to_numpy(float),
                "ci_low": published["published_low"].to_numpy(float),
                "ci_high": published["published_high"].to_numpy(float),
                "series": "published",
                "annotation": annotation[published.index],
            }
        )
    )
    rows = pd.concat(parts, ignore_index=True)
    if not np.isfinite(rows["estimate"].to_numpy(float)).any():
        raise ValueError("nothing to draw: no local or published hazard ratio in the table")
    return draw_forest(
        rows,
        ax,
        log_scale=True,
        null=1.0,
        xlabel="Hazard ratio (log scale)",
        annotation_title="published",
    )
