"""The local-vs-published comparison as a compact table for a report."""

from __future__ import annotations

import pandas as pd

from .._format import estimate_ci as format_estimate_ci
from .._format import n_events as format_n_events


def comparison_summary(
    table: pd.DataFrame, digits: int = 2, *, min_cell: int | None = None
) -> pd.DataFrame:
    """:func:`~pfps_stats.compare_with_evidence` as a compact table for a report.

    Parameters
    ----------
    table : DataFrame
        From :func:`~pfps_stats.compare_with_evidence`.
    digits : int
    min_cell : int, optional
        Small-cell suppression of "n (events)", as :func:`format_odds_ratio_table`.

    Returns
    -------
    DataFrame
        factor (label), n_events, local_smd, local_or_per_sd, published, agrees, updated_smd;
        estimates read "-0.32 (-0.47, -0.17)".
    """

    def ci(row, est, lo, hi):
        if est not in row or pd.isna(row.get(est)):
            return "-"
        return format_estimate_ci(row[est], row[lo], row[hi], digits)

    rows = []
    for _, row in table.iterrows():
        published = ci(row, "published_smd", "published_low", "published_high")
        if published != "-":
            published += f" {row['published_study']} ({row['published_subgroup']})"
        agrees = row.get("agrees")
        rows.append(
            {
                "factor": row["label"],
                "n_events": format_n_events(row["n"], row["events"], min_cell),
                "local_smd": ci(row, "smd", "smd_low", "smd_high"),
                "local_or_per_sd": ci(row, "or_per_sd", "or_per_sd_low", "or_per_sd_high"),
                "published": published,
                "agrees": "-" if pd.isna(agrees) else ("yes" if agrees else "no"),
                "updated_smd": ci(row, "updated_smd", "updated_low", "updated_high"),
            }
        )
    return pd.DataFrame(rows)
