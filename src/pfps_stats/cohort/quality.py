"""Data-quality views of a loaded cohort: per-variable summaries, problem counts, outcome
counts, and subgroup selection."""

from __future__ import annotations

import pandas as pd

from .variables import OUTCOME, VARIABLES


def summarise_variables(data: pd.DataFrame) -> pd.DataFrame:
    """Summarise every canonical numeric variable of a cohort, in its unit.

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
    return pd.DataFrame(rows)


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


def problem_counts(problems: pd.DataFrame) -> pd.DataFrame:
    """Problems counted by column and kind, without row values (no identifiers).

    Returns
    -------
    DataFrame
        column, fix, n_rows, example (the first problem's text, its value removed when the
        column holds identifiers).
    """
    if len(problems) == 0:
        return pd.DataFrame(columns=["column", "fix", "n_rows", "example"])
    grouped = problems.groupby([problems["column"].fillna("(file)"), "fix"], sort=False)
    return grouped.agg(n_rows=("row", "size"), example=("problem", "first")).reset_index()


def outcome_counts(
    data: pd.DataFrame, outcome: str = OUTCOME, by: str = "subgroup"
) -> pd.DataFrame:
    """Runners and cases by group, with the crude incidence in percent.

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
    return table.rename_axis(by if by in data else "group").reset_index()
