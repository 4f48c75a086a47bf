"""Small-cell suppression: counts below a minimum are hidden in reports (disclosure control).

Suppression works on numbers, before anything is formatted: a count column's small values
become the marker ``"<5"``; formatted cells such as "n (events)" are made by
:mod:`pfps_stats.report.formatting` with the same ``min_cell``, so no text is parsed back.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .._format import COUNT_COLUMNS, small_marker


def suppress_small_counts(
    table: pd.DataFrame, min_count: int = 5, columns: Sequence[str] = COUNT_COLUMNS
) -> pd.DataFrame:
    """Hide counts below ``min_count`` in the numeric count ``columns`` of ``table``.

    Returns
    -------
    DataFrame
        A copy; each suppressed cell reads ``"<5"`` (its column becomes object). Other
        columns, and text columns, are unchanged: format "n (events)" cells with
        ``min_cell=`` instead (:func:`~pfps_stats.report.formatting.format_odds_ratio_table`,
        :func:`~pfps_stats.table_one`).
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame, not {type(table).__name__}")
    if not (isinstance(min_count, int) and min_count >= 1):
        raise ValueError(f"min_count must be a positive whole number, not {min_count!r}")
    out = table.copy()
    for column in columns:
        if column not in out or not pd.api.types.is_numeric_dtype(out[column]):
            continue
        small = out[column].notna() & (out[column] < min_count)
        if small.any():
            out[column] = out[column].astype(object).where(~small, small_marker(min_count))
    return out
