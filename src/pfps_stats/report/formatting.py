"""Result tables as text for a paper or report, and the rules for writing numbers.

The rules (:func:`format_estimate_ci`, :func:`format_p_value`, :func:`format_n_events`, ...)
are written once, in :mod:`pfps_stats._format`, and shared with the figures. Small-cell
suppression is applied to the numbers (``min_cell=``) before any text is made.
"""

from __future__ import annotations

import pandas as pd

from .._format import count as format_count
from .._format import count_percent as format_count_percent
from .._format import estimate_ci as format_estimate_ci
from .._format import n_events as format_n_events
from .._format import number as format_number
from .._format import p_value as format_p_value

__all__ = [
    "format_count",
    "format_count_percent",
    "format_estimate_ci",
    "format_n_events",
    "format_number",
    "format_odds_ratio_table",
    "format_p_value",
]


def format_odds_ratio_table(
    table: pd.DataFrame, digits: int = 2, *, min_cell: int | None = None
) -> pd.DataFrame:
    """An :func:`~pfps_stats.odds_ratio_table` as text for a paper, as finalfit prints it.

    Parameters
    ----------
    table : DataFrame
        From :func:`~pfps_stats.odds_ratio_table`.
    digits : int
    min_cell : int, optional
        Small-cell suppression: "n (events)" reads ``"<5"`` when n or events is below it.

    Returns
    -------
    DataFrame
        label, n_events ("n (events)"), univariable, multivariable; each OR cell reads
        ``"0.53 (0.44-0.64, p<0.001)"``, reference levels ``"1 (reference)"``, and a model
        that could not be fitted ``"-"``.
    """

    def cell(row: pd.Series, side: str) -> str:
        ratio = row[f"or_{side}"]
        if pd.isna(ratio):
            return "-"
        if pd.isna(row[f"ci_low_{side}"]):
            return "1 (reference)"
        ci = format_estimate_ci(ratio, row[f"ci_low_{side}"], row[f"ci_high_{side}"], digits, "-")
        return f"{ci[:-1]}, {format_p_value(row[f'p_{side}'], prefix=True)})"

    return pd.DataFrame(
        {
            "label": table["label"],
            "n_events": [
                format_n_events(n, e, min_cell)
                for n, e in zip(table["n"], table["events"], strict=True)
            ],
            "univariable": [cell(r, "uni") for _, r in table.iterrows()],
            "multivariable": [cell(r, "multi") for _, r in table.iterrows()],
        }
    )
