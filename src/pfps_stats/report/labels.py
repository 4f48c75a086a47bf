"""Tables as a reader sees them: human column names, p-values as journals print them, and
intervals in one column.

:func:`readable` is what :func:`~pfps_stats.report.show` applies to every table: field names
such as ``auc_ci_low``, ``tau2`` or ``q_p`` never reach a report. Column names come from
:data:`STATISTIC_NAMES`, from the variable dictionary (a variable's label) and from the
training-load exposures' labels; a table may name its own columns in
``table.attrs["names"]`` (the report's formatted tables do). Values of label-like columns
(factor, exposure, metric, item, ...) that are a variable's canonical name are shown by its
label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from .._format import is_p_column, level_percent, number, p_value
from ..cohort.variables import OUTCOME, VARIABLES
from ..cohort.variables import label as variable_label
from ..plots.training import EXPOSURE_LABELS

#: The ``DataFrame.attrs`` key under which a table gives its columns' human names.
NAMES_KEY = "names"

#: Human names of the statistics and fields that reach report tables.
STATISTIC_NAMES: dict[str, str] = {
    # counts and groups
    "n": "n",
    "k": "k",
    "rows": "Rows",
    "runners": "Runners",
    "cases": "Cases",
    "events": "Events",
    "n_events": "n (events)",
    "group": "Group",
    "subgroup": "Subgroup",
    "item": "",
    "value": "Value",
    "setting": "Setting",
    "count": "Count",
    "n_rows": "Rows",
    "incidence": "Incidence",
    "incidence_pct": "Incidence (%)",
    # variables
    "label": "Variable",
    "variable": "Name",
    "name": "Name",
    "level": "Level",
    "kind": "Kind",
    "unit": "Unit",
    "source_units": "Units read",
    "increment": "Increment",
    "required": "Required",
    "description": "Description",
    "evidence": "Evidence",
    "coding": "Coding",
    "column": "Column",
    "problem": "Problem",
    "fix": "Fix",
    "conversion": "Conversion",
    "how": "How",
    "output": "Read as",
    # descriptive
    "overall": "Overall",
    "missing": "Missing",
    "mean": "Mean",
    "sd": "SD",
    "median": "Median",
    "min": "Minimum",
    "max": "Maximum",
    "smd": "SMD",
    "n_missing": "Missing",
    "pct_missing": "Missing (%)",
    "n_missing_cases": "Missing, cases",
    "pct_missing_cases": "Missing, cases (%)",
    "n_missing_noncases": "Missing, non-cases",
    "pct_missing_noncases": "Missing, non-cases (%)",
    "n_observed": "Observed",
    "n_imputed": "Imputed",
    "observed_mean": "Observed mean",
    "observed_sd": "Observed SD",
    "imputed_mean": "Imputed mean",
    "imputed_sd": "Imputed SD",
    # tests and estimates
    "p": "p",
    "p_value": "p",
    "q_p": "Q p-value",
    "test": "Test",
    "statistic": "Statistic",
    "df": "df",
    "chi2": "χ²",
    "term": "Term",
    "estimate": "Estimate",
    "se": "SE",
    "std_error": "SE",
    "odds_ratio": "Odds ratio",
    "hazard_ratio": "Hazard ratio",
    "univariable": "Univariable OR (95% CI, p)",
    "multivariable": "Multivariable OR (95% CI, p)",
    "tau2": "τ²",
    "i2": "I² (%)",
    "h2": "H²",
    "q": "Q",
    "yi": "Effect",
    "weight": "Weight (%)",
    "left_out": "Left out",
    # model performance
    "metric": "Measure",
    "auc": "AUC",
    "dxy": "Somers' Dxy",
    "brier": "Brier score",
    "calibration_intercept": "Calibration intercept",
    "calibration_slope": "Calibration slope",
    "hosmer_lemeshow": "Hosmer-Lemeshow χ²",
    "hosmer_lemeshow_p": "Hosmer-Lemeshow p",
    "apparent": "Apparent",
    "training": "Training",
    "optimism": "Optimism",
    "corrected": "Optimism-corrected",
    "n_boot": "Bootstrap samples",
    # evidence
    "study": "Study",
    "factor": "Factor",
    "measure": "Measure",
    "design": "Design",
    "source": "Source",
    "doi": "DOI",
    "url": "Link",
    "source_url": "Link",
    "evidence_level": "Evidence level",
    "published": "Published (95% CI)",
    "verdict": "Verdict",
    "local_smd": "Local SMD (95% CI)",
    "local_or_per_sd": "Local OR per SD (95% CI)",
    "difference": "Difference (95% CI), p",
    "updated_smd": "Updated SMD (95% CI)",
    # training load
    "exposure": "Exposure",
    "local": "Local HR (95% CI)",
    "local_over_published": "Local / published HR (95% CI), p",
    "person_years": "Person-years",
    "person_days": "Person-days",
    "km": "km",
    "hours": "Hours",
    "rate_per_1000_km": "Rate per 1,000 km",
    "rate_per_1000_h": "Rate per 1,000 h",
    # row accounting of a file (CohortCheck.summary)
    "n_input": "Rows read",
    "n_accepted": "Accepted",
    "n_set_aside": "Set aside (another kind of row)",
    "n_quarantined": "Set aside for problems",
    "n_problems": "Problems found",
}

#: Interval columns shown as one column ``"low to high"``: the stem of their bounds and the
#: name of the interval (``{pct}``: the table's level, ``attrs["level"]``, default 95%).
_INTERVALS = {
    "ci": "{pct} CI",
    "exact": "Exact {pct} CI",
    "wilson": "Wilson {pct} CI",
    "pi": "{pct} prediction interval",
    "plausible": "Plausible range",
}

#: The ``DataFrame.attrs`` key under which a table gives the confidence level of its
#: intervals (0.95; Cox tables and :class:`~pfps_stats.MetaResult`'s tables set it).
LEVEL_KEY = "level"

#: Suffixes of per-unit interval columns (``ci_low_km``): the unit they are per.
_PER = {"km": "per 1,000 km", "h": "per 1,000 h", "uni": "univariable", "multi": "multivariable"}

#: Columns whose values are names (of variables, exposures or statistics) shown by label.
VALUE_COLUMNS = ("item", "metric", "factor", "exposure", "term", "label", "setting")

_SNAKE_PREFIX = re.compile(r"^([a-z][a-z0-9]*(?:_[a-z0-9]+)*): (.*)$", re.S)


def human_name(column, outcome: str = OUTCOME) -> str:
    """The name a reader sees for a table's column: :data:`STATISTIC_NAMES`, a dictionary
    variable's label (with its unit), an exposure's label, ``"PFP"``/``"No PFP"`` for the
    outcome's columns of Table 1 (``pfp_1``, ``pfp_0``), else the name with its
    underscores as spaces and a capital first letter. Names that are not snake_case
    (``"runners analysed"``, ``"Q p-value"``) keep their words, with a capital first letter.
    """
    if not isinstance(column, str):
        return column
    if column in STATISTIC_NAMES:
        return STATISTIC_NAMES[column]
    if column in VARIABLES:
        return variable_label(column)
    if column in EXPOSURE_LABELS:
        return EXPOSURE_LABELS[column]
    match = re.fullmatch(r"(.+)_([01])", column)
    if match and match.group(1) == outcome:
        short = "PFP" if outcome == OUTCOME else variable_label(outcome, unit=False)
        return short if match.group(2) == "1" else f"No {short}"
    words = column.replace("_", " ").strip()
    if words[:1].isascii() and words[:1].islower():  # "τ² (95% CI)" keeps its tau
        return words[:1].upper() + words[1:]
    return words


def human_value(value):
    """A value of a label-like column as a reader sees it: a variable's canonical name as its
    label (``"knee_ext_strength_nmkg"`` -> ``"Knee extension strength (Nm/kg)"``), an
    exposure's name as its label, a statistic's name as in :data:`STATISTIC_NAMES`, and
    ``"session_state: >100% vs <=10%"`` with its name replaced the same way; anything else
    unchanged."""
    if not isinstance(value, str):
        return value
    whole = _name_label(value, unit=True)
    if whole is not None:
        return whole
    match = _SNAKE_PREFIX.match(value)
    if match:
        head = _name_label(match.group(1), unit=False)
        if head is not None:
            return f"{head}: {match.group(2)}"
    return value


def _name_label(name: str, *, unit: bool) -> str | None:
    if name in VARIABLES:
        return variable_label(name, unit=unit)
    if name in EXPOSURE_LABELS:
        return EXPOSURE_LABELS[name]
    if "_" in name and name in STATISTIC_NAMES:
        return STATISTIC_NAMES[name]
    if name in ("auc", "dxy", "brier"):
        return STATISTIC_NAMES[name]
    return None


def readable(
    table: pd.DataFrame,
    precision: int = 2,
    names: Mapping[str, str] | None = None,
    outcome: str = OUTCOME,
) -> pd.DataFrame:
    """A copy of ``table`` as a reader sees it.

    - Each interval (``ci_low``/``ci_high``, ``auc_ci_low``/``auc_ci_high``,
      ``exact_low``/``exact_high``, ``pi_low``/``pi_high``, ``ci_low_km``/``ci_high_km``, ...)
      becomes one column reading ``"0.60 to 0.68"`` (``precision`` decimals), named after
      its estimate (``"AUC 95% CI"``, ``"95% CI"``, ``"Exact 95% CI"``), at the table's
      level (``table.attrs["level"]``, e.g. ``"90% CI"``; 95% when not given); a hidden
      bound ("<5", "suppressed") shows its marker.
    - p-value columns (``p``, ``p_value``, ``q_p``, ``p_multi``, ``..._p``) are text as
      journals print them (:func:`~pfps_stats.report.format_p_value`): ``"<0.001"``,
      ``"0.012"``, ``">0.99"``; text already there ("suppressed") stays, missing is blank.
    - Values of label-like columns (:data:`VALUE_COLUMNS`; ``variable`` too when the table
      has no ``label`` beside it) are shown by :func:`human_value`.
    - Columns are renamed by ``names``, then ``table.attrs["names"]``, then
      :func:`human_name`; two columns that would read the same keep their field name in
      parentheses.

    Returns
    -------
    DataFrame
        Text and numbers to display; the caller's table is not changed.
    """
    out = table.copy()
    given = {**dict(table.attrs.get(NAMES_KEY) or {}), **dict(names or {})}
    pct = level_percent(table.attrs.get(LEVEL_KEY, 0.95))
    out, interval_names = _combine_intervals(out, precision, given, pct)
    given = {**interval_names, **given}
    for column in out.columns:
        if is_p_column(column):
            out[column] = out[column].map(_p_text).astype(object)
    value_columns = [c for c in VALUE_COLUMNS if c in out.columns]
    if "variable" in out.columns and "label" not in out.columns:
        value_columns.append("variable")  # labels shown instead of names: call it so
        given.setdefault("variable", "Variable")
    for column in value_columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(human_value)
    shown = [given.get(c, human_name(c, outcome)) if isinstance(c, str) else c for c in out]
    counts = pd.Series(shown).value_counts()
    shown = [
        f"{s} ({c})" if isinstance(s, str) and counts[s] > 1 and s != c else s
        for s, c in zip(shown, out.columns, strict=True)
    ]
    out.columns = shown
    return out


def _p_text(value):
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return p_value(value)


def _interval_pairs(columns, pct: str = "95%") -> list[tuple[str, str, str]]:
    """(low, high, name) of each interval in ``columns``, in the order of the low column."""
    present = set(columns)
    pairs = []
    for low in columns:
        if not isinstance(low, str):
            continue
        if low.endswith("_low"):
            high = low[: -len("_low")] + "_high"
            stem = low[: -len("_low")]
        elif low.startswith("ci_low_"):
            high = "ci_high_" + low[len("ci_low_") :]
            stem = low
        else:
            continue
        if high not in present:
            continue
        pairs.append((low, high, _interval_name(stem, pct)))
    return pairs


def _interval_name(stem: str, pct: str = "95%") -> str:
    if stem.startswith("ci_low_"):
        per = stem[len("ci_low_") :]
        return f"{pct} CI ({_PER.get(per, per.replace('_', ' '))})"
    if stem in _INTERVALS:
        return _INTERVALS[stem].format(pct=pct)
    if stem.endswith("_ci"):
        stem = stem[: -len("_ci")]
    return f"{_bare(human_name(stem))} {pct} CI"


_CELL_TAIL = re.compile(r"(?: \([0-9.]+% CI(?:, p)?\)(?:, p)?|, p)$")


def _bare(name: str) -> str:
    """A column's name without what its cells add ("Published (95% CI)" -> "Published")."""
    return _CELL_TAIL.sub("", name)


def _combine_intervals(table: pd.DataFrame, precision: int, given: Mapping, pct: str) -> tuple:
    names = {}
    for low, high, name in _interval_pairs(list(table.columns), pct):
        if low in given or high in given:
            continue  # the table names its bounds itself
        digits = None if low.startswith("plausible") else precision
        text = [
            _interval_text(a, b, digits)
            for a, b in zip(table[low].tolist(), table[high].tolist(), strict=True)
        ]
        at = list(table.columns).index(low)
        table = table.drop(columns=[low, high])
        table.insert(at, low, pd.Series(text, index=table.index, dtype=object))
        names[low] = name
    return table, names


def _interval_text(low, high, digits: int | None):
    def text(v):
        if isinstance(v, str):
            return v
        if v is None or pd.isna(v):
            return None
        return f"{float(v):g}" if digits is None else number(v, digits)

    a, b = text(low), text(high)
    if a is None and b is None:
        return None
    if isinstance(low, str) or isinstance(high, str):  # a hidden bound: show its marker
        marker = low if isinstance(low, str) else high
        return marker
    return f"{a or '-'} to {b or '-'}"
