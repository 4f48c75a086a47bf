"""Small-cell suppression: counts below a minimum are hidden in reports (disclosure control).

The rule
--------
1. **Small cells.** A count below ``min_cell`` (default 5), zero included, reads ``"<5"``.
   A missing-value count of 0 is shown: it says nothing about anyone.
2. **What is computed from a hidden count goes with it.** A percentage, rate or interval
   on the same row (incidence and its CIs, "n (%)", the odds ratios of a factor), the SMD
   and p-value of a Table-1 variable, and a percentage whose denominator is hidden (a
   percentage beside its count gives the denominator away), read ``"suppressed"``. A mean,
   SD, median or IQR of fewer than ``min_cell`` runners reads ``"<5"``, and the overall
   summary beside it ``"suppressed"`` (the overall and the other group's would give it back).
3. **Complementary suppression.** Counts that add up to a total (groups to the ``all`` row,
   cases plus non-cases to n, levels plus missing to a column's n, a factor's levels to the
   cohort's events) must never leave exactly one hidden cell: the next smallest shown cell
   of that sum is hidden too, reading ``"suppressed"``. This repeats until no hidden count
   takes one value in every integer solution of all the table's sums at once, with the
   shown and public values and the bounds the markers give away (0-4 for ``"<5"``, 5 or
   more for ``"suppressed"``): an exact audit, one integer program per hidden cell. The
   cohort's n is public (the report's header gives it), and so are the events and
   non-events totals unless one is small (the incidence and odds-ratio tables show them):
   they are never hidden to protect another cell.

Suppression works on numbers, before anything is formatted: formatted cells such as
"n (events)" are made by :mod:`pfps_stats.report.formatting` and :func:`~pfps_stats.table_one`
with the same ``min_cell``, so no text is parsed back. The rule itself lives in
:mod:`pfps_stats._format` (``protect``), a leaf that the cohort layer's tables use too.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .._format import (
    COUNT_COLUMNS,
    DONE_KEY,
    SPEC_KEY,
    SUPPRESSED,
    hidden_marker,
    protect,
    suppress_rate_table,
)

__all__ = ["SUPPRESSED", "suppress_small_counts"]


def suppress_small_counts(
    table: pd.DataFrame, min_count: int = 5, columns: Sequence[str] = COUNT_COLUMNS
) -> pd.DataFrame:
    """Hide counts below ``min_count``, and what would give them back, in ``table``.

    A table that says how its counts add up (``ps.incidence``, ``outcome_counts``: groups and
    an ``all`` row) is protected by that structure. A table whose ``attrs["count_columns"]``
    names its count columns (``ps.missing_table``) has those checked. Any other table is treated cautiously:
    each count column is taken as parts of a total a reader may know, so it never has exactly
    one hidden cell, and every other number on a row with a hidden count is hidden.

    Returns
    -------
    DataFrame
        A copy; each small count reads ``"<5"``, each cell hidden to protect one reads
        ``"suppressed"`` (its column becomes object). Text columns are unchanged: format
        "n (events)" cells with ``min_cell=`` instead
        (:func:`~pfps_stats.report.formatting.format_odds_ratio_table`,
        :func:`~pfps_stats.table_one`). A table already suppressed is returned as it is.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame, not {type(table).__name__}")
    if not (isinstance(min_count, int) and min_count >= 1):
        raise ValueError(f"min_count must be a positive whole number, not {min_count!r}")
    if DONE_KEY in table.attrs:
        return table.copy()
    if columns is COUNT_COLUMNS and "count_columns" in table.attrs:
        columns = tuple(table.attrs["count_columns"])  # a table that names its counts
    if SPEC_KEY in table.attrs:
        return suppress_rate_table(table, min_count)
    counts = [
        c
        for c in columns
        if c in table
        and pd.api.types.is_numeric_dtype(table[c])
        and not pd.api.types.is_bool_dtype(table[c])
    ]
    out = table.copy()
    if not counts:
        return out
    values, relations, shown = {}, [], []
    for c in counts:
        cells = [(c, i) for i in range(len(table)) if pd.notna(table[c].iloc[i])]
        for cell in cells:
            values[cell] = float(table[c].iloc[cell[1]])
        values[(c, "total")] = sum(values[cell] for cell in cells)
        relations.append(((c, "total"), cells))
        shown += cells
    public = [(c, "total") for c in counts]
    small, hidden = protect(values, relations, min_count, shown=shown, public=public)
    hidden -= set(public)
    if not hidden:
        out.attrs[DONE_KEY] = min_count
        return out
    rows = {i for _, i in hidden}
    for c in out.columns:
        column = list(out[c])
        if c in counts:
            marks = {i: hidden_marker(min_count, (cc, i) in small) for cc, i in hidden if cc == c}
        elif pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]):
            marks = {i: SUPPRESSED for i in rows if pd.notna(column[i])}
        else:
            continue
        if marks:
            out[c] = pd.Series(
                [marks.get(i, v) for i, v in enumerate(column)], index=out.index, dtype=object
            )
    out.attrs[DONE_KEY] = min_count
    return out
