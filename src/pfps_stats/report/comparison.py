"""The local-vs-published comparison as a compact table for a report."""

from __future__ import annotations

import pandas as pd

from .._format import SUPPRESSED
from .._format import estimate_ci as format_estimate_ci
from .._format import n_events as format_n_events
from .._format import p_value as format_p_value

_ESTIMATES = (
    "local_smd",
    "local_or_per_sd",
    "difference",
    "verdict",
    "updated_smd",
)


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
        Small-cell suppression of "n (events)", as :func:`format_odds_ratio_table`; a factor
        with fewer than ``min_cell`` cases (or non-cases) also has its local estimates,
        difference, verdict and update shown as "suppressed".

    Returns
    -------
    DataFrame
        factor (label), n_events, local_smd, local_or_per_sd, published, difference,
        verdict, updated_smd; estimates read "-0.32 (-0.47, -0.17)". difference is local
        minus published with its 95% CI and z-test p-value, "-0.48 (-0.89, -0.08), p=0.019";
        verdict is "differs" (p < 0.05) or "consistent" (no evidence of a difference, not
        evidence of equal effects), followed by "(another population)" when the published
        estimate is for another subgroup than the cohort's; updated_smd is the common-effect
        (inverse-variance) pool of the two, which assumes they estimate the same true effect.
        "-" where there is no published estimate.
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
        difference = ci(row, "difference", "difference_low", "difference_high")
        if difference != "-":
            difference += f", {format_p_value(row['difference_p'], prefix=True)}"
        verdict = row.get("verdict")
        if pd.isna(verdict):
            note = row.get("note")
            # Say why a row is empty (too few cases), without the reason's counts.
            estimable = not (isinstance(note, str) and note.startswith("not estimable"))
            verdict = "-" if estimable else "not estimable in these data"
        elif not pd.isna(row.get("same_population")) and not row["same_population"]:
            verdict += " (another population)"
        if min_cell is not None and min(row["events"], row["n"] - row["events"]) < min_cell:
            # Estimates from fewer than min_cell cases (or non-cases) could give them back.
            rows.append(
                {
                    "factor": row["label"],
                    "n_events": format_n_events(row["n"], row["events"], min_cell),
                    **dict.fromkeys(_ESTIMATES, SUPPRESSED),
                }
            )
            continue
        rows.append(
            {
                "factor": row["label"],
                "n_events": format_n_events(row["n"], row["events"], min_cell),
                "local_smd": ci(row, "smd", "smd_low", "smd_high"),
                "local_or_per_sd": ci(row, "or_per_sd", "or_per_sd_low", "or_per_sd_high"),
                "published": published,
                "difference": difference,
                "verdict": verdict,
                "updated_smd": ci(row, "updated_smd", "updated_low", "updated_high"),
            }
        )
    return pd.DataFrame(rows)
