"""Result tables as text for a paper or report, and the rules for writing numbers.

The rules (:func:`format_estimate_ci`, :func:`format_p_value`, :func:`format_n_events`, ...)
are written once, in :mod:`pfps_stats._format`, and shared with the figures. Small-cell
suppression is applied to the numbers (``min_cell=``) before any text is made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._format import SUPPRESSED, hidden_marker, protect
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
    "suppress_odds_ratio_counts",
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
        Small-cell suppression (:mod:`pfps_stats.report.suppression`): "n (events)" reads
        ``"<5"`` when n or events is below it, ``"suppressed"`` when it would give a small one
        back (a factor's levels add up to the cohort's events); the odds ratios of a row, and
        of every level of a factor, with hidden counts read ``"suppressed"``.

    Returns
    -------
    DataFrame
        label, n_events ("n (events)"), univariable, multivariable; each OR cell reads
        ``"0.53 (0.44-0.64, p<0.001)"``, reference levels ``"1 (reference)"``, and a model
        that could not be fitted ``"-"``.
    """
    small, hidden, estimates = _protect_odds_ratios(table, min_cell)

    def cell(i: int, row: pd.Series, side: str) -> str:
        ratio = row[f"or_{side}"]
        if pd.isna(ratio):
            return "-"
        if pd.isna(row[f"ci_low_{side}"]):
            return "1 (reference)"
        if i in estimates:
            return SUPPRESSED
        ci = format_estimate_ci(ratio, row[f"ci_low_{side}"], row[f"ci_high_{side}"], digits, "-")
        return f"{ci[:-1]}, {format_p_value(row[f'p_{side}'], prefix=True)})"

    rows = list(table.reset_index(drop=True).iterrows())
    return pd.DataFrame(
        {
            "label": table["label"].to_numpy(),
            "n_events": [
                hidden_marker(min_cell, i in small)
                if i in hidden
                else format_n_events(row["n"], row["events"])
                for i, row in rows
            ],
            "univariable": [cell(i, r, "uni") for i, r in rows],
            "multivariable": [cell(i, r, "multi") for i, r in rows],
        }
    )


def suppress_odds_ratio_counts(table: pd.DataFrame, min_cell: int | None) -> pd.DataFrame:
    """An :func:`~pfps_stats.odds_ratio_table` with what :func:`format_odds_ratio_table` hides
    set to NaN (n, events and odds ratios; a reference level keeps its 1), for a figure:
    ``ps.plot_forest(suppress_odds_ratio_counts(table, rs.min_cell))`` draws no hidden
    estimate and writes "-" for hidden "n (events)". The multivariable model's n (in
    ``attrs``, shown in the forest's legend) is dropped when it would give back a number of
    rows left out below ``min_cell``. Unchanged when ``min_cell`` is None."""
    _, hidden, estimates = _protect_odds_ratios(table, min_cell)
    out = table.copy()
    out.attrs = dict(table.attrs)
    cohort, multi = table.attrs.get("cohort") or {}, table.attrs.get("multivariable") or {}
    if min_cell is not None and cohort.get("n") is not None and multi.get("n") is not None:
        left_out = int(cohort["n"]) - int(multi["n"])
        if 0 < left_out < min_cell:  # the model's n would give the rows it dropped back
            out.attrs["multivariable"] = {**multi, "n": None}
    position = np.arange(len(out))
    out.loc[np.isin(position, list(hidden)), ["n", "events"]] = np.nan
    for side in ("uni", "multi"):
        reference = out[f"or_{side}"].notna() & out[f"ci_low_{side}"].isna()
        drop = np.isin(position, list(estimates)) & ~reference.to_numpy()
        columns = [f"or_{side}", f"ci_low_{side}", f"ci_high_{side}", f"p_{side}"]
        out.loc[drop, columns] = np.nan
    return out


def _protect_odds_ratios(table: pd.DataFrame, min_cell: int | None) -> tuple[set, set, set]:
    """Rows (by position) whose "n (events)" is small, hidden, and whose odds ratios are
    hidden. A factor with levels is a sum: its levels' n and events add up to the cohort's,
    which other tables show. When the table knows the cohort's totals
    (``attrs["cohort"]``, from :func:`~pfps_stats.odds_ratio_table`), each factor's rows
    with a missing value (cohort total minus the factor's n, events, non-events) are counts
    too, which the missing-value table shows: a row whose n (events) would give a small one
    back is hidden as well (its odds ratios are not: they say nothing of the count)."""
    if min_cell is None or len(table) == 0:
        return set(), set(), set()
    values, relations, shown, together, public = {}, [], [], [], []
    n, events = table["n"].to_numpy(float), table["events"].to_numpy(float)
    for i in range(len(table)):
        values[("n", i)], values[("e", i)] = n[i], events[i]
        values[("m", i)] = n[i] - events[i]  # non-events: never shown
        relations.append((("n", i), [("e", i), ("m", i)]))
        shown += [("n", i), ("e", i)]
        together.append([("n", i), ("e", i)])
    has_level = table["level"].notna().to_numpy()
    factors = table["factor"].to_numpy()
    levelled: dict = {}
    for i in range(len(table)):
        if has_level[i]:
            levelled.setdefault(factors[i], []).append(i)
    totals = []
    for factor, rows in levelled.items():
        for kind in ("n", "e", "m"):
            total = (f"{kind} of factor", factor)
            values[total] = sum(values[(kind, i)] for i in rows)
            relations.append((total, [(kind, i) for i in rows]))
            totals.append(total)
    small_cells, hidden_cells = protect(
        values, relations, min_cell, shown=shown, public=public + totals, together=together
    )
    estimates = {i for kind, i in hidden_cells if kind in ("n", "e")}
    for rows in levelled.values():
        if estimates & set(rows):
            estimates |= set(rows)  # a factor's odds ratios are functions of all its levels
    cohort = table.attrs.get("cohort")
    if cohort and {"n", "events"} <= set(cohort):
        whole = {"n": float(cohort["n"]), "e": float(cohort["events"])}
        whole["m"] = whole["n"] - whole["e"]
        gaps = []
        groups = [
            (("row", i), {k: (k, i) for k in "nem"}) for i in range(len(table)) if not has_level[i]
        ]
        groups += [(("factor", f), {k: (f"{k} of factor", f) for k in "nem"}) for f in levelled]
        for kind in "nem":
            values[("cohort", kind)] = whole[kind]
            public.append(("cohort", kind))
        for group, keys in groups:
            for kind, key in keys.items():
                gap = ("missing", kind, group)
                values[gap] = whole[kind] - values[key]
                relations.append((("cohort", kind), [key, gap]))
                gaps.append(gap)
        small_cells, hidden_cells = protect(
            values,
            relations,
            min_cell,
            shown=shown + gaps,
            public=public,
            zero_ok=gaps,
            together=together,
        )
    small = {key[1] for key in small_cells if key[0] in ("n", "e")}
    hidden = {key[1] for key in hidden_cells if key[0] in ("n", "e")}
    return small, hidden, estimates
