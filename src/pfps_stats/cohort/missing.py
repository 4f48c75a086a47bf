"""Missing data described: how much of each variable is missing, overall and by outcome, and
whether missingness relates to the outcome (the first step before multiple imputation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._checks import check_frame
from .describe import _categorical_test
from .variables import OUTCOME, VARIABLES

#: The count columns of :func:`missing_table`, for small-cell suppression in reports.
MISSING_COUNT_COLUMNS = ("n", "n_missing", "n_missing_cases", "n_missing_noncases")

NOTHING_MISSING = "none: nothing missing"
ALL_MISSING = "none: all missing"


def missing_table(
    data: pd.DataFrame,
    outcome: str = OUTCOME,
    variables: Sequence[str] | None = None,
    *,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Missing values per variable, overall and by outcome, with a test of whether
    missingness relates to the outcome.

    Mirrors finalfit's ``missing_compare`` for a binary outcome: each variable's missing
    indicator is cross-tabulated with the outcome and the 2×2 table tested.

    Parameters
    ----------
    data : DataFrame
        One row per runner (or knee). A value is missing when pandas says so (None, NaN,
        NaT, NA); blank text is a value here, so read files with ``ps.load_cohort``, which
        turns blanks and "NA" into missing values.
    outcome : str
        The 0/1 outcome column (1 = runner with the outcome, a case); bool is accepted.
    variables : list of str, optional
        Columns to describe, in this order. Default: every column of the variable
        dictionary present in ``data``, in dictionary order, except the runner ID and the
        outcome. Columns outside the dictionary may be named; their label is their name.
    min_cell : int, optional
        Counts are left as numbers here; ``min_cell`` is recorded in ``attrs["min_cell"]``
        and small-cell suppression is applied by the report layer (``rs.small`` of
        :mod:`pfps_stats.report`), on the count columns listed in ``attrs["count_columns"]``.

    Returns
    -------
    DataFrame
        One row per variable:

        - ``variable``, ``label`` (from the dictionary);
        - ``n``: rows, ``n_missing``, ``pct_missing`` (percent of ``n``);
        - ``n_missing_cases``, ``pct_missing_cases``: missing among runners with the
          outcome (percent of the cases), ``n_missing_noncases``, ``pct_missing_noncases``:
          among runners without it (NaN when there are none);
        - ``p_value``, ``test``: the test of missingness against the outcome.

        Percentages are not rounded. ``attrs`` holds ``outcome``, ``n_cases``,
        ``n_noncases``, ``n_outcome_missing``, ``count_columns``, ``min_cell`` and
        ``notes`` (a list of sentences; rows with a missing outcome are counted there).

    Raises
    ------
    ValueError
        When ``outcome`` is not a column or not coded 0/1, when every outcome is missing,
        when a variable is not a column (or is the outcome, or is named twice), or when
        ``min_cell`` is not a positive whole number.

    Notes
    -----
    The test is on the 2×2 table of missing/observed by outcome 1/0, among runners with a
    known outcome. Fisher's exact test (two-sided: the tables no more probable than the one
    observed, as R's ``fisher.test``) is used when any expected count is below 5, where the
    chi-square approximation is poor; otherwise Pearson's chi-square test without
    continuity correction (as R's ``chisq.test(correct = FALSE)``; Yates's correction makes
    it conservative), the same rule as :func:`~pfps_stats.table_one`. ``test`` names the
    test used. No test is possible, and ``p_value`` is NaN, when nothing is missing
    (``test`` "none: nothing missing"), everything is missing ("none: all missing"), the
    same holds among runners with a known outcome only (the text says so), or the outcome
    has a single level.

    Rows with a missing outcome count in ``n`` and ``n_missing`` but not in the columns by
    outcome nor in the test; ``attrs["notes"]`` says how many there are.

    Validated against R 4.2's ``fisher.test`` and ``chisq.test(correct = FALSE)`` (p-values
    equal to 1e-10) and counts, on the SYNTHETIC demo cohort and hand-made 2×2 tables
    (``tests/cohort/reference/missing_table.R``).
    """
    check_frame(data)
    if min_cell is not None and not (
        isinstance(min_cell, int) and not isinstance(min_cell, bool) and min_cell >= 1
    ):
        raise ValueError(f"min_cell must be a positive whole number or None, not {min_cell!r}")
    y = _outcome_values(data, outcome)
    names = _variables(data, outcome, variables)
    known = ~np.isnan(y)
    if len(data) and not known.any():
        raise ValueError(
            f"every row's outcome {outcome!r} is missing, so nothing can be compared by "
            f"outcome; record 0 or 1 for each runner"
        )
    cases, noncases = known & (y == 1), known & (y == 0)
    n_cases, n_noncases = int(cases.sum()), int(noncases.sum())
    n = len(data)

    rows = []
    for name in names:
        missing = data[name].isna().to_numpy()
        n_missing = int(missing.sum())
        k_cases = int((missing & cases).sum())
        k_noncases = int((missing & noncases).sum())
        var = VARIABLES.get(name)
        p_value, test = _test(n_missing, n, k_cases, k_noncases, n_cases, n_noncases)
        rows.append(
            {
                "variable": name,
                "label": var.label if var else str(name),
                "n": n,
                "n_missing": n_missing,
                "pct_missing": _pct(n_missing, n),
                "n_missing_cases": k_cases,
                "pct_missing_cases": _pct(k_cases, n_cases),
                "n_missing_noncases": k_noncases,
                "pct_missing_noncases": _pct(k_noncases, n_noncases),
                "p_value": p_value,
                "test": test,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "variable",
            "label",
            "n",
            "n_missing",
            "pct_missing",
            "n_missing_cases",
            "pct_missing_cases",
            "n_missing_noncases",
            "pct_missing_noncases",
            "p_value",
            "test",
        ],
    )
    counts = list(MISSING_COUNT_COLUMNS)
    table[counts] = table[counts].astype("int64")
    table["p_value"] = table["p_value"].astype(float)

    notes = []
    n_unknown = int((~known).sum())
    if n_unknown:
        notes.append(
            f"{n_unknown} row{'s' if n_unknown != 1 else ''} with a missing outcome "
            f"({outcome!r}) count in n and n_missing but are left out of the columns by "
            f"outcome and of the tests."
        )
    if n and (n_cases == 0 or n_noncases == 0):
        level = 0 if n_cases == 0 else 1
        notes.append(
            f"every runner with a known outcome has {outcome} = {level}: missingness cannot "
            f"be compared by outcome."
        )
    table.attrs.update(
        {
            "outcome": outcome,
            "n_cases": n_cases,
            "n_noncases": n_noncases,
            "n_outcome_missing": n_unknown,
            "count_columns": counts,
            "min_cell": min_cell,
            "notes": notes,
        }
    )
    return table


def _outcome_values(data: pd.DataFrame, outcome: str) -> np.ndarray:
    """The outcome as floats 0, 1 or NaN (missing); a clear error when it is not 0/1."""
    if outcome not in data:
        raise ValueError(
            f"the outcome {outcome!r} is not a column of the data; columns: "
            f"{', '.join(map(str, data.columns))}. Pass outcome= with the 0/1 column."
        )
    column = data[outcome]
    if isinstance(column, pd.DataFrame):
        raise ValueError(f"the data have more than one column named {outcome!r}; rename one")
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=float, na_value=np.nan)
    present = column.notna()
    numeric = pd.to_numeric(column.where(present), errors="coerce")
    bad = present & ~numeric.isin([0, 1])
    if bad.any():
        shown = ", ".join(map(repr, pd.unique(column[bad].astype(str))[:5]))
        where = ", ".join(map(str, column.index[bad.to_numpy()][:5]))
        raise ValueError(
            f"the outcome {outcome!r} must be coded 0/1 (1 = the runner has the outcome); "
            f"it also has {shown} in {int(bad.sum())} rows (first index labels: {where}). "
            f"Recode it, or load the data with ps.load_cohort, which reads yes/no outcomes."
        )
    return numeric.to_numpy(dtype=float, na_value=np.nan)


def named_variables(data: pd.DataFrame, variables, outcome: str, why_not_outcome: str) -> list:
    """``variables`` (a name or a list) checked against ``data``: columns of it, each named
    once, not the outcome (``why_not_outcome`` says why); shared by missing_table and impute.

    Raises
    ------
    ValueError
        Naming the absent columns (and listing the data's), the outcome, or repeated names.
    """
    names = [variables] if isinstance(variables, str) else list(variables)
    absent = [v for v in names if v not in data.columns]
    if absent:
        raise ValueError(
            f"not columns of the data: {', '.join(map(repr, absent))}; columns: "
            f"{', '.join(map(str, data.columns))}"
        )
    if outcome in names:
        raise ValueError(why_not_outcome)
    twice = sorted({str(v) for v in names if names.count(v) > 1})
    if twice:
        raise ValueError(f"variables named more than once: {', '.join(map(repr, twice))}")
    return names


def _variables(data: pd.DataFrame, outcome: str, variables) -> list:
    """The variables to describe, checked: columns of the data, each once, not the outcome."""
    if variables is None:
        return [
            name
            for name, var in VARIABLES.items()
            if name in data and var.kind != "id" and name != outcome
        ]
    names = named_variables(
        data,
        variables,
        outcome,
        f"{outcome!r} is the outcome; its missing rows are counted in attrs['notes'], so leave "
        f"it out of variables=",
    )
    duplicated = [v for v in names if isinstance(data[v], pd.DataFrame)]
    if duplicated:
        raise ValueError(
            f"the data have more than one column named {', '.join(map(repr, duplicated))}; "
            f"rename them"
        )
    return names


def _pct(k: int, n: int) -> float:
    return 100 * k / n if n else np.nan


def _test(
    n_missing: int, n: int, k_cases: int, k_noncases: int, n_cases: int, n_noncases: int
) -> tuple[float, str]:
    """p-value and test name for one variable (see :func:`missing_table`'s Notes)."""
    if n_missing == 0:
        return np.nan, NOTHING_MISSING
    if n_missing == n:
        return np.nan, ALL_MISSING
    if n_cases == 0 or n_noncases == 0:
        return np.nan, "none: the outcome has one level"
    k = k_cases + k_noncases
    if k == 0:
        return np.nan, f"{NOTHING_MISSING} among runners with a known outcome"
    if k == n_cases + n_noncases:
        return np.nan, f"{ALL_MISSING} among runners with a known outcome"
    table = np.array([[k_cases, k_noncases], [n_cases - k_cases, n_noncases - k_noncases]])
    return _categorical_test(pd.DataFrame(table))
