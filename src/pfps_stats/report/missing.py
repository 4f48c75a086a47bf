"""Missing values in a risk-factor report: whether to analyse complete cases, multiply imputed
data or both, the two sets of odds ratios side by side, and how the imputation was made.

>>> handling, reason = missing_handling(cohort, "pfp", factors)         # doctest: +SKIP
>>> report.show(format_missing_comparison(table, imputed_table, min_cell=5))  # doctest: +SKIP
>>> display(imputation_provenance(imputed, min_cell=5))                # doctest: +SKIP

:func:`imputation_provenance` shows the settings table and carries the same settings as JSON
(MIME type :data:`PROVENANCE_MIMETYPE`), which the report batch copies into the report's
provenance (its footer and ``manifest.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pandas as pd

from .._format import SUPPRESSED, hidden_marker, is_small, protect
from ..cohort.imputation import ImputedCohort
from ..cohort.variables import label
from ..plots.forest import COMPLETE_CASES, MULTIPLE_IMPUTATION
from .display import show
from .formatting import format_odds_ratio_table

__all__ = [
    "MISSING_HANDLINGS",
    "MISSING_THRESHOLD",
    "PROVENANCE_MIMETYPE",
    "format_missing_comparison",
    "imputation_diagnostics",
    "imputation_provenance",
    "imputation_settings",
    "imputation_settings_table",
    "missing_handling",
    "suppress_missing_table",
]

#: The values of a report's ``missing`` parameter.
MISSING_HANDLINGS = ("complete", "impute", "both")
#: Share of missing values in a model variable above which a report shows multiple
#: imputation beside complete cases by default (the issue's 5%).
MISSING_THRESHOLD = 0.05
#: MIME type of the provenance a notebook shows (a JSON object); the report batch copies
#: every such output of an executed notebook into the report's provenance.
PROVENANCE_MIMETYPE = "application/vnd.pfps-stats.provenance+json"


def missing_handling(
    data: pd.DataFrame,
    outcome: str,
    factors: str | Sequence[str],
    missing: str | None = None,
    threshold: float = MISSING_THRESHOLD,
    *,
    min_cell: int | None = None,
) -> tuple[str, str]:
    """How a report handles missing values of the model's variables, and why.

    Parameters
    ----------
    data : DataFrame
        The cohort analysed.
    outcome : str
        The outcome column (checked to be a column; its missing values are not counted here:
        rows without an outcome are left out of every model).
    factors : str or list of str
        The model's variables.
    missing : {"complete", "impute", "both"} or None
        What was asked for. None chooses: "both" when a factor has more than ``threshold``
        of its values missing, else "complete".
    threshold : float
        A share between 0 and 1 (default 0.05): "more than" is strict, so exactly 5% missing
        gives "complete".
    min_cell : int, optional
        Small-cell suppression: when the most-missing variable has fewer than ``min_cell``
        missing values, the reason says "fewer than 5" instead of a percentage (which, with
        the cohort's n, would give the count back).

    Returns
    -------
    handling : str
        "complete", "impute" or "both". When nothing is missing in the factors, "complete"
        whatever was asked: there is nothing to impute, and the model is fitted once.
    reason : str
        One sentence naming the variable with the most missing values and its percentage.

    Raises
    ------
    ValueError
        When ``missing`` is not one of the allowed values, ``threshold`` is not between 0 and
        1, or ``outcome`` or a factor is not a column of ``data``.
    """
    if missing is not None and missing not in MISSING_HANDLINGS:
        allowed = ", ".join(f'"{h}"' for h in MISSING_HANDLINGS)
        raise ValueError(
            f'missing must be one of {allowed} or None (None: "both" when a model variable '
            f'has more than {threshold:.0%} missing, else "complete"), not {missing!r}'
        )
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ValueError(f"threshold must be a share between 0 and 1, not {threshold!r}")
    if not 0 <= threshold < 1:
        raise ValueError(
            f"threshold must be a share between 0 and 1 (0.05 for 5%), not {threshold!r}"
        )
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a DataFrame, not {type(data).__name__}")
    names = [factors] if isinstance(factors, str) else list(factors)
    if not names:
        raise ValueError("factors is empty; name the model's variables")
    absent = [c for c in [outcome, *names] if c not in data.columns]
    if absent:
        raise ValueError(
            f"not columns of the data: {', '.join(map(repr, absent))}; check the report's "
            f"outcome and factors parameters"
        )
    counts = data[names].isna().sum()
    n = len(data)
    worst = str(counts.idxmax()) if n else names[0]
    k = int(counts.max()) if n else 0
    share = k / n if n else 0.0
    name = label(worst, unit=False)
    asked = f' (missing="{missing}" was asked for)' if missing in ("impute", "both") else ""
    if k == 0:
        return "complete", (
            f"Nothing is missing in the model variables, so there is nothing to impute: the "
            f"model is fitted once, to all {n} runners{asked}."
        )
    amount = (
        f"fewer than {min_cell} runners"
        if is_small(k, min_cell)
        else f"{_percent(share, threshold)} of runners"
    )
    most = f"{name} has the most missing values ({amount})"
    if missing is None:
        if share > threshold:
            return "both", (
                f"Complete cases and multiple imputation side by side: {most}, more than "
                f"{threshold:.0%}."
            )
        return "complete", (
            f"Complete cases only: {most}, not more than {threshold:.0%} (set "
            f'missing="both" to compare with multiple imputation).'
        )
    what = {
        "complete": "Complete cases only",
        "impute": "Multiple imputation",
        "both": "Complete cases and multiple imputation side by side",
    }[missing]
    return missing, f'{what}, as asked (missing="{missing}"): {most}.'


def _percent(share: float, threshold: float) -> str:
    """``share`` as a percentage with one decimal, or more when one decimal would read as the
    threshold itself ("5.0%" for 5.04%, which is more than 5%)."""
    for digits in (1, 2, 3):
        text = f"{100 * share:.{digits}f}"
        if share == threshold or float(text) != round(100 * threshold, digits):
            break
    return f"{text}%"


def suppress_missing_table(table: pd.DataFrame, min_cell: int | None) -> pd.DataFrame:
    """A :func:`~pfps_stats.missing_table` with small-cell suppression on the sums it is made
    of, for a report.

    Each row is n = missing + observed, and missing = missing among runners with the
    outcome + among those without (+ among rows whose outcome is missing); the cohort's n
    and its numbers of runners with and without the outcome are public (the report's header
    and incidence table give them), and so is each variable's number missing unless small
    (Table 1 shows it). A missing count below ``min_cell`` reads ``"<5"`` (0 is shown: it
    says nothing about anyone), a count that would give one back ``"suppressed"`` (the exact
    audit of :mod:`pfps_stats.report.suppression`), and the percentage of a hidden count,
    and the row's p-value (a function of its 2×2 table), ``"suppressed"``.

    Returns
    -------
    DataFrame
        A copy, the same columns; unchanged when ``min_cell`` is None.

    Notes
    -----
    ``report.suppress_small_counts`` (``rs.small``) treats each count column of this table
    as parts of one total and does not know that ``n_missing`` is the sum of the two columns
    by outcome, so it can show 52 missing and 51 missing among runners without PFP beside
    "<5" among runners with it.
    """
    needed = {"n", "n_missing", "n_missing_cases", "n_missing_noncases"}
    if not isinstance(table, pd.DataFrame) or needed - set(table.columns):
        raise ValueError(
            "table must be a ps.missing_table (columns n, n_missing, n_missing_cases, "
            "n_missing_noncases, ...)"
        )
    if min_cell is None or table.empty:
        return table.copy()
    unknown = int(table.attrs.get("n_outcome_missing", 0) or 0)
    totals = {"cases": table.attrs.get("n_cases"), "noncases": table.attrs.get("n_noncases")}
    values, relations, ranges = {}, [], {}
    shown, public, zero_ok = [], [], []
    for i, row in enumerate(table.itertuples(index=False)):
        n, k = int(row.n), int(row.n_missing)
        by = {"cases": int(row.n_missing_cases), "noncases": int(row.n_missing_noncases)}
        values.update({("n", i): n, ("missing", i): k, ("observed", i): n - k})
        values[("unknown", i)] = k - by["cases"] - by["noncases"]
        ranges[("unknown", i)] = (0.0, float(unknown))
        relations.append((("n", i), [("missing", i), ("observed", i)]))
        relations.append((("missing", i), [("cases", i), ("noncases", i), ("unknown", i)]))
        for side, count in by.items():
            values[(side, i)] = count
            if totals[side] is not None:  # the rest of the side, never shown
                values[(f"all {side}", i)] = int(totals[side])
                values[(f"observed {side}", i)] = int(totals[side]) - count
                relations.append(((f"all {side}", i), [(side, i), (f"observed {side}", i)]))
                public.append((f"all {side}", i))
        shown += [("n", i), ("missing", i), ("cases", i), ("noncases", i)]
        public += [("n", i), ("missing", i)]
        zero_ok += [("missing", i), ("cases", i), ("noncases", i)]
    small, hidden = protect(
        values,
        relations,
        min_cell,
        shown=shown,
        public=public,
        zero_ok=zero_ok,
        ranges=ranges,
    )
    out = table.copy()
    columns = {
        "n": ("n", None),
        "missing": ("n_missing", "pct_missing"),
        "cases": ("n_missing_cases", "pct_missing_cases"),
        "noncases": ("n_missing_noncases", "pct_missing_noncases"),
    }
    marks: dict[str, dict[int, str]] = {}
    for kind, i in hidden:
        if kind not in columns:  # a count never shown (e.g. all runners with the outcome)
            continue
        count, pct = columns[kind]
        marks.setdefault(count, {})[i] = hidden_marker(min_cell, (kind, i) in small)
        if pct is not None:
            marks.setdefault(pct, {})[i] = SUPPRESSED
        if "p_value" in out:
            marks.setdefault("p_value", {})[i] = SUPPRESSED
    for column, cells in marks.items():
        out[column] = pd.Series(
            [cells.get(i, v) for i, v in enumerate(out[column])], index=out.index, dtype=object
        )
    return out


def format_missing_comparison(
    complete_table: pd.DataFrame,
    imputed_table: pd.DataFrame,
    digits: int = 2,
    *,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Multivariable odds ratios of complete cases and of multiple imputation side by side,
    as text for a report.

    Parameters
    ----------
    complete_table : DataFrame
        :func:`~pfps_stats.odds_ratio_table` of the cohort (complete cases).
    imputed_table : DataFrame
        :func:`~pfps_stats.odds_ratio_table` of the same factors on the
        :func:`~pfps_stats.impute`\\ d cohort (its ``attrs["imputation"]`` holds ``m``).
    digits : int
    min_cell : int, optional
        Small-cell suppression exactly as :func:`~pfps_stats.report.format_odds_ratio_table`
        applies it (both columns are formatted by it): hidden "n (events)" read ``"<5"`` or
        ``"suppressed"``, and the odds ratios computed from them ``"suppressed"`` in both
        columns.

    Returns
    -------
    DataFrame
        label, n_events ("n (events)" of the runners with the factor observed, the same in
        both analyses), ``"complete cases (n=...)"`` and ``"multiple imputation (m=..., n=...)"``:
        cells as :func:`~pfps_stats.report.format_odds_ratio_table`'s multivariable column
        (``"0.53 (0.44-0.64, p<0.001)"``, ``"1 (reference)"``, ``"-"`` for a model not fitted).
        The headers name each model's n (rows fitted) and m, as the forest plot's legend
        does; with ``min_cell``, the complete-case n is left out when fewer than ``min_cell``
        rows (but some) were left out of it (the imputed n less it would give that count).
        ``attrs``: ``n_complete``, ``n_imputed``, ``m``, ``columns`` (the two headers)
        and ``caption`` (a sentence on who each model includes and its intervals).

    Raises
    ------
    ValueError
        When a table is not an odds-ratio table, ``imputed_table`` is not from imputed data
        (or ``complete_table`` is), or the two do not have the same rows with the same
        counts.
    """
    needed = {"factor", "level", "label", "n", "events", "or_multi", "ci_low_multi"}
    needed |= {"ci_high_multi", "p_multi", "or_uni", "ci_low_uni", "ci_high_uni", "p_uni"}
    for name, frame in (("complete_table", complete_table), ("imputed_table", imputed_table)):
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(
                f"{name} must be a ps.odds_ratio_table DataFrame, not {type(frame).__name__}"
            )
        lacking = sorted(needed - set(frame.columns))
        if lacking:
            raise ValueError(
                f"{name} is not a ps.odds_ratio_table (it lacks {', '.join(lacking)}); pass "
                f"the table itself, not its formatted text"
            )
    if "imputation" in complete_table.attrs:
        raise ValueError(
            "complete_table was made from imputed data; pass the complete-case table first "
            "and the imputed one second"
        )
    settings = imputed_table.attrs.get("imputation")
    if not isinstance(settings, dict) or "m" not in settings:
        raise ValueError(
            "imputed_table was not made from an ImputedCohort (its attrs['imputation'] with m "
            "is missing); make it with ps.odds_ratio_table(ps.impute(data, ...), outcome, "
            "factors)"
        )
    keys = _row_keys(complete_table)
    if keys != _row_keys(imputed_table):
        raise ValueError(
            "the two tables do not have the same factor and level rows in the same order; "
            "make both with the same outcome, factors and adjust="
        )
    for column in ("n", "events"):
        a, b = complete_table[column].to_numpy(float), imputed_table[column].to_numpy(float)
        differ = [k for k, x, y in zip(keys, a, b, strict=True) if x != y]
        if differ:
            raise ValueError(
                f"the tables count different {column} for {differ[0]} (both count runners "
                f"with the factor observed): they were not made from the same cohort"
            )
    complete = format_odds_ratio_table(complete_table, digits, min_cell=min_cell)
    imputed = format_odds_ratio_table(imputed_table, digits, min_cell=min_cell)
    m = int(settings["m"])
    n_complete = _model_n(complete_table)
    n_imputed = _model_n(imputed_table)
    dropped = None if None in (n_complete, n_imputed) else n_imputed - n_complete
    hide_n = dropped is not None and dropped > 0 and is_small(dropped, min_cell)
    shown_n = None if hide_n else n_complete  # n imputed - n complete: rows left out
    head_complete = COMPLETE_CASES + (f" (n={shown_n})" if shown_n is not None else "")
    head_imputed = f"{MULTIPLE_IMPUTATION} (m={m}" + (
        f", n={n_imputed})" if n_imputed is not None else ")"
    )
    out = pd.DataFrame(
        {
            "label": complete["label"].to_numpy(),
            "n_events": complete["n_events"].to_numpy(),
            head_complete: complete["multivariable"].to_numpy(),
            head_imputed: imputed["multivariable"].to_numpy(),
        }
    )
    who_complete = (
        "the model could not be fitted"
        if n_complete is None
        else f"the {f'{shown_n} ' if shown_n is not None else ''}runners with every model "
        f"variable recorded"
    )
    who_imputed = f"{m} completed datasets" + (
        f" of {n_imputed} runners" if n_imputed is not None else ""
    )
    caption = (
        f"Multivariable odds ratios (95% CI, p-value). Complete cases: {who_complete} "
        f"(intervals: {complete_table.attrs.get('intervals', 'profile likelihood')}). "
        f"Multiple imputation: {who_imputed}, pooled "
        f"({imputed_table.attrs.get('intervals', 'Rubin’s rules')})."
    )
    out.attrs.update(
        n_complete=n_complete,
        n_imputed=n_imputed,
        m=m,
        columns=(head_complete, head_imputed),
        caption=caption,
    )
    return out


def _row_keys(table: pd.DataFrame) -> list[tuple[str, str | None]]:
    return [
        (str(f), None if pd.isna(level) else str(level))
        for f, level in zip(table["factor"], table["level"], strict=True)
    ]


def _model_n(table: pd.DataFrame) -> int | None:
    n = (table.attrs.get("multivariable") or {}).get("n")
    return None if n is None or pd.isna(n) else int(n)


def imputation_diagnostics(
    imputed: ImputedCohort,
    variables: str | Sequence[str] | None = None,
    *,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Observed against imputed values (:meth:`~pfps_stats.ImputedCohort.diagnostics`) for a
    report, with small-cell suppression.

    Parameters
    ----------
    imputed : ImputedCohort
    variables : str or list of str, optional
        Rows for these variables, those that were imputed (default: every imputed variable).
    min_cell : int, optional
        A variable with fewer than ``min_cell`` values imputed (but not 0) has its
        ``n_imputed`` read ``"<5"``, and its ``n_observed`` (which with the number of rows
        gives the count back), ``imputed_mean`` and ``imputed_sd`` (summaries of fewer than
        5 values a dataset) read ``"suppressed"``; likewise the observed values' summaries
        when fewer than ``min_cell`` were observed. The rule and its audit are
        :mod:`pfps_stats.report.suppression`'s.

    Returns
    -------
    DataFrame
        The diagnostics' columns (variable, label, coding, n_observed, n_imputed,
        observed_mean, observed_sd, imputed_mean, imputed_sd). ``attrs["plottable"]``: the
        variables whose imputed values may be drawn (at least one imputed, and their count
        not hidden), for :func:`~pfps_stats.plot_imputation_diagnostics`.
    """
    table = _diagnostics(imputed, variables, min_cell)
    plottable = [
        v
        for v, k in zip(table["variable"], table["n_imputed"], strict=True)
        if not isinstance(k, str) and k > 0
    ]
    table.attrs["plottable"] = plottable
    return table


def _diagnostics(imputed, variables, min_cell: int | None) -> pd.DataFrame:
    if not isinstance(imputed, ImputedCohort):
        raise TypeError(
            f"imputed must be the ImputedCohort that ps.impute returns, not "
            f"{type(imputed).__name__}"
        )
    table = imputed.diagnostics()
    if variables is not None:
        names = [variables] if isinstance(variables, str) else list(variables)
        table = table[table["variable"].isin(names)].reset_index(drop=True)
    if min_cell is None or table.empty:
        return table
    # n observed + n imputed = the rows imputed, which the report's header gives: a small
    # n imputed hides n observed too; a count of 0 imputed is shown (it says nothing).
    values, relations = {}, []
    for i, (observed, missing) in enumerate(
        zip(table["n_observed"], table["n_imputed"], strict=True)
    ):
        values[("observed", i)], values[("imputed", i)] = observed, missing
        values[("rows", i)] = observed + missing
        relations.append((("rows", i), [("observed", i), ("imputed", i)]))
    small, hidden = protect(
        values,
        relations,
        min_cell,
        shown=[k for k in values if k[0] != "rows"],
        public=[k for k in values if k[0] == "rows"],
        zero_ok=[k for k in values if k[0] == "imputed"],
    )
    out = table.astype({c: object for c in table.columns if c not in ("variable", "label")})
    for kind, i in hidden:
        column = f"n_{kind}"
        out.loc[i, column] = hidden_marker(min_cell, (kind, i) in small)
        if (kind, i) in small:  # summaries of fewer than min_cell values
            out.loc[i, [f"{kind}_mean", f"{kind}_sd"]] = SUPPRESSED
    return out


def imputation_settings(imputed: ImputedCohort, *, min_cell: int | None = None) -> dict:
    """How a multiple imputation was made, as a JSON-safe dict for a report's provenance.

    Parameters
    ----------
    imputed : ImputedCohort
    min_cell : int, optional
        Counts below it (values missing in a variable, rows excluded) read ``"<5"``, the same
        as in :func:`imputation_settings_table` and :func:`imputation_diagnostics`; zero is
        shown.

    Returns
    -------
    dict
        m, method, donors, perturbation, max_iter, seed, outcome, imputed (variable: values
        missing, i.e. imputed in each dataset), predictors, bmi (how BMI was handled), engine,
        excluded_outcome_missing (rows left out for a missing outcome). Settings not recorded
        (datasets made elsewhere and wrapped with ``from_datasets``) are None.
    """
    table = _diagnostics(imputed, None, min_cell)
    counts = dict(zip(table["variable"], table["n_imputed"], strict=True))
    s = imputed.settings
    excluded = s.get("n_excluded_outcome_missing")
    if excluded is not None and excluded > 0 and is_small(excluded, min_cell):
        excluded = hidden_marker(min_cell, True)
    record = {
        "m": imputed.m,
        "method": s.get("method"),
        "donors": s.get("donors"),
        "perturbation": s.get("perturbation"),
        "max_iter": s.get("max_iter"),
        "seed": s.get("seed"),
        "outcome": s.get("outcome"),
        "imputed": {str(v): counts.get(v) for v in imputed.variables},
        "predictors": s.get("predictors"),
        "bmi": s.get("bmi"),
        "engine": s.get("engine"),
        "excluded_outcome_missing": excluded,
    }
    return json.loads(json.dumps(record, default=_json_value))


def _json_value(value):
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return str(value)


def imputation_settings_table(
    imputed: ImputedCohort, *, min_cell: int | None = None
) -> pd.DataFrame:
    """How a multiple imputation was made, one setting a row, for a report.

    Parameters
    ----------
    imputed : ImputedCohort
    min_cell : int, optional
        As :func:`imputation_settings`. The imputation's notes are shown, unless suppression
        is on and fewer than ``min_cell`` rows were excluded for a missing outcome (a note
        counts them).

    Returns
    -------
    DataFrame
        setting, value (text): the number of datasets (m), method, donors, perturbation,
        iterations per chain (max_iter), seed, the imputed variables (label, name and the
        number of values imputed: "Q angle (q_angle_deg): 52"), predictors (labels), BMI
        handling, engine and version, rows excluded for a missing outcome, and notes.
        ``attrs["settings"]``: :func:`imputation_settings` (with the variables' names).
    """
    record = imputation_settings(imputed, min_cell=min_cell)

    def text(value) -> str:
        return "not recorded" if value is None else str(value)

    def names(values) -> str:  # the dictionary's labels (the record keeps the names)
        if values is None:
            return "not recorded"
        return ", ".join(label(str(v), unit=False) for v in values) or "none"

    method = record["method"]
    rows = [
        ("imputed datasets (m)", text(record["m"])),
        (
            "method",
            "predictive mean matching (pmm)" if method == "pmm" else text(method),
        ),
        ("donors", text(record["donors"])),
        ("perturbation of the imputation models", text(record["perturbation"])),
        ("iterations per chain (max_iter)", text(record["max_iter"])),
        ("seed", text(record["seed"])),
        (
            "imputed variables (values imputed)",
            "; ".join(
                f"{label(v, unit=False)} ({v}): {text(k)}" for v, k in record["imputed"].items()
            )
            or "none",
        ),
        ("predictors", names(record["predictors"])),
        ("BMI", text(record["bmi"])),
        ("engine", text(record["engine"])),
        ("rows excluded: outcome missing", text(record["excluded_outcome_missing"])),
    ]
    if imputed.notes and not isinstance(record["excluded_outcome_missing"], str):
        rows.append(("notes", " ".join(imputed.notes)))
    table = pd.DataFrame(rows, columns=["setting", "value"])
    table.attrs["settings"] = record
    return table


class _Provenance:
    """A table for the report and the same record as JSON for the batch (one output)."""

    def __init__(self, table: pd.DataFrame, record: dict):
        self.table, self.record = table, record

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {
            "text/html": show(self.table).to_html(),
            "text/plain": self.table.to_string(index=False),
            PROVENANCE_MIMETYPE: self.record,
        }


def imputation_provenance(imputed: ImputedCohort, *, min_cell: int | None = None) -> _Provenance:
    """The imputation settings, to ``display`` in a report: shown as
    :func:`imputation_settings_table`, and carried as ``{"imputation":``
    :func:`imputation_settings` ``}`` under the MIME type :data:`PROVENANCE_MIMETYPE`, which
    the report batch adds to the report's provenance (footer and ``manifest.json``).

    Returns
    -------
    object
        Displayable (``_repr_mimebundle_``): text/html, text/plain and the provenance JSON.
    """
    table = imputation_settings_table(imputed, min_cell=min_cell)
    return _Provenance(table, {"imputation": table.attrs["settings"]})
