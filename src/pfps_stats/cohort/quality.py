"""Data-quality views of a loaded cohort: per-variable summaries, problem counts, outcome
counts, and subgroup selection."""

from __future__ import annotations

import pandas as pd

from .._format import SPEC_KEY, SUPPRESSED, count, rate_table_spec, suppress_rate_table
from .variables import OUTCOME, VARIABLES


def summarise_variables(data: pd.DataFrame, *, min_cell: int | None = None) -> pd.DataFrame:
    """Summarise every canonical numeric variable of a cohort, in its unit.

    Parameters
    ----------
    data : DataFrame
    min_cell : int, optional
        For reports: a missing count below it reads ``"<5"``; ``n`` (rows minus missing, which
        would give it back), ``min`` and ``max`` (one runner's value each) are left out, and so
        is the whole summary of a variable measured in fewer than ``min_cell`` runners.

    Returns
    -------
    DataFrame
        One row per numeric variable present: variable, label, unit, n, missing, mean, sd,
        min, median, max, plausible_low, plausible_high.
    """
    rows = []
    for name, var in VARIABLES.items():
        if var.kind != "numeric" or name not in data:
            continue
        x = pd.to_numeric(data[name], errors="coerce")
        rows.append(
            {
                "variable": name,
                "label": var.label,
                "unit": var.unit,
                "n": int(x.notna().sum()),
                "missing": int(x.isna().sum()),
                "mean": x.mean(),
                "sd": x.std(),
                "min": x.min(),
                "median": x.median(),
                "max": x.max(),
                "plausible_low": var.plausible[0] if var.plausible else None,
                "plausible_high": var.plausible[1] if var.plausible else None,
            }
        )
    table = pd.DataFrame(rows)
    if min_cell is None or table.empty:
        return table
    table = table.drop(columns=["n", "min", "max"])
    few = table["missing"].astype(int).to_numpy()
    measured = len(data) - few
    stats = ["mean", "sd", "median"]
    table[stats] = table[stats].astype(object)
    table.loc[measured < min_cell, stats] = SUPPRESSED
    table["missing"] = [count(k, min_cell) if k else "0" for k in few]  # none missing: public
    return table


def in_subgroup(data: pd.DataFrame, subgroup: str | None) -> pd.DataFrame:
    """Rows of one subgroup, or all rows when ``subgroup`` is None.

    Raises
    ------
    ValueError
        When the subgroup is unknown or has no rows, naming the subgroups present.
    """
    if subgroup is None:
        return data
    if "subgroup" not in data:
        raise ValueError(
            f"subgroup={subgroup!r} was asked for, but the data have no subgroup column"
        )
    present = sorted(data["subgroup"].dropna().astype(str).unique())
    if subgroup not in present:
        raise ValueError(
            f"subgroup {subgroup!r} has no rows; the data have: {', '.join(present) or 'none'}"
        )
    return data[data["subgroup"].astype(str) == subgroup]


#: What each row-level check of :mod:`pfps_stats.cohort.load` finds, without the row's value,
#: keyed by the start of its fix (each check writes one fixed fix text, with no value in it).
ROW_PROBLEM_KINDS = (
    ("give every row its runner's ID", "runner ID missing"),
    ("record 0 or 1 for every runner", "outcome missing"),
    ("code the outcome as 0/1", "outcome not coded 0/1 (or no/yes)"),
    ("use ", "not a level of the variable"),
    ("enter a number in", "not a number"),
    ("enter a measured value", "not a finite number"),
    ("record body mass for this runner", "needs body mass to convert its unit; mass missing"),
    ("correct the entry;", "impossible for the variable"),
    ("check the entry and its unit", "outside the plausible range (see the dictionary)"),
    ("correct BMI, height or mass", "BMI disagrees with height and mass"),
    ("keep one row per runner", "runner ID appears in more than one row"),
)
#: The description of a row-level problem of a kind not in :data:`ROW_PROBLEM_KINDS`.
OTHER_ROW_PROBLEM = "value not accepted (see the fix)"


def problem_kind(fix: str) -> str:
    """A row-level problem described without its value, from its fix."""
    for start, kind in ROW_PROBLEM_KINDS:
        if str(fix).startswith(start):
            return kind
    return OTHER_ROW_PROBLEM


def problem_counts(problems: pd.DataFrame) -> pd.DataFrame:
    """Problems counted by column and kind, with no identifier, row number or row value.

    A problem with a row is described by its kind (:data:`ROW_PROBLEM_KINDS`, from its
    fix; a ``kind`` column, when the problems have one, is used as it is), never by its
    text, which quotes the value. A problem with a whole column (no row) keeps its text: it
    names headers and units, not anyone's data.

    Returns
    -------
    DataFrame
        column, problem, fix, n_rows (rows with that problem; 1 for a column problem).
    """
    columns = ["column", "problem", "fix", "n_rows"]
    if len(problems) == 0:
        return pd.DataFrame(columns=columns)
    rowless = problems["row"].isna()
    if "kind" in problems:
        kinds = problems["kind"].where(problems["kind"].notna(), problems["fix"].map(problem_kind))
    else:
        kinds = problems["fix"].map(problem_kind)
    described = pd.DataFrame(
        {
            "column": problems["column"].fillna("(file)").astype(str).to_numpy(),
            "problem": problems["problem"].where(rowless, kinds).astype(str).to_numpy(),
            "fix": problems["fix"].fillna("").astype(str).to_numpy(),
        }
    )
    grouped = described.groupby(["column", "problem", "fix"], sort=False)
    return grouped.size().rename("n_rows").reset_index()[columns]


def outcome_counts(
    data: pd.DataFrame,
    outcome: str = OUTCOME,
    by: str = "subgroup",
    *,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Runners and cases by group, with the crude incidence in percent.

    Parameters
    ----------
    min_cell : int, optional
        Small-cell suppression for reports (:mod:`pfps_stats.report.suppression`): counts
        below it read ``"<5"``, cells that would give one back read ``"suppressed"``, and so
        does the percentage of a row with a hidden count.

    Returns
    -------
    DataFrame
        by, runners, cases, incidence_pct; a final row ``all`` for the whole cohort.
    """
    if outcome not in data:
        raise ValueError(f"the data have no outcome column {outcome!r}")
    groups = data[by].astype(str) if by in data else pd.Series("all", index=data.index)
    table = data.groupby(groups)[outcome].agg(runners="size", cases="sum")
    table.loc["all"] = [len(data), int(data[outcome].sum())]
    table["incidence_pct"] = (100 * table["cases"] / table["runners"]).round(1)
    label = by if by in data else "group"
    table = table.rename_axis(label).reset_index()
    table.attrs[SPEC_KEY] = rate_table_spec(label, "runners", "cases", ["incidence_pct"], "all")
    return table if min_cell is None else suppress_rate_table(table, min_cell)
