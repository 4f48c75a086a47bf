"""Training-load figures: weekly distance before PFP onset, and injury rates by spike state.

Both take the tidy frames of the exposures and models layers (``weekly_exposures``,
``load_injuries``, ``injury_rates``), draw on ``ax`` (default the current Axes) and return it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..cohort.variables import OUTCOME
from .theme import PALETTE, get_axes, legend_below

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Short display names of the training-load exposures (the spike-state columns of
#: ``session_exposures`` and ``weekly_exposures``), for axes and forest-plot lines.
EXPOSURE_LABELS = {
    "session_state": "Single run vs longest run of past 30 days",
    "week_state": "Week vs previous week",
    "acwr_state": "Week vs mean of 3 weeks before (ACWR)",
    "prior_week_state": "Last week vs the week before",
    "prior_acwr_state": "Last week vs mean of 3 weeks before (ACWR)",
}

#: Columns of :func:`weeks_before_onset`.
WEEKS_BEFORE_COLUMNS = ("group", "relative_week", "runners", "values", "median", "q1", "q3")

_CASES, _CONTROLS = "PFP", "no PFP"
_DAY = pd.Timedelta(days=1)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str, source: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame ({source}), not {type(frame).__name__}")
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(
            f"{name} has no column(s) {', '.join(map(repr, missing))}; it needs "
            f"{', '.join(columns)}, as {source} returns"
        )


def _pooled_quantiles(values: np.ndarray, counts: np.ndarray, qs: tuple[float, ...]) -> list:
    """Quantiles of ``values`` each repeated ``counts`` times, exactly as ``np.quantile`` of
    the repeated values (linear interpolation, R type 7), without building them."""
    order = np.argsort(values, kind="stable")
    v, cum = values[order], np.cumsum(counts[order])
    h = (cum[-1] - 1) * np.asarray(qs, dtype=float)
    lo, hi = np.floor(h), np.ceil(h)
    v_lo = v[np.searchsorted(cum, lo, side="right")]
    v_hi = v[np.searchsorted(cum, hi, side="right")]
    return list(v_lo + (h - lo) * (v_hi - v_lo))


def weeks_before_onset(
    weeks: pd.DataFrame, injuries: pd.DataFrame, *, n_weeks: int = 8
) -> pd.DataFrame:
    """Weekly distance in the ``n_weeks`` calendar weeks before each first PFP onset, for the
    runners with PFP and, in the same calendar weeks, for the runners without PFP.

    Parameters
    ----------
    weeks : DataFrame
        runner_id, week (the first day of the calendar week, 00:00), weekly_km: one row per
        runner and week, as ``weekly_exposures`` returns.
    injuries : DataFrame
        runner_id, onset, pfp, as ``load_injuries`` returns.
    n_weeks : int
        How many weeks before the onset week.

    Returns
    -------
    DataFrame
        One row per group ("PFP", "no PFP") and relative week (-n_weeks .. -1; -1 is the
        calendar week before the one holding the onset, which is left out because it is
        partly after it): runners (how many contributed), values, median, q1, q3 of weekly_km.

        - PFP: each runner's first PFP onset (with ``weeks`` from ``weekly_exposures(log,
          injuries)``: only onsets counted as events); their own weeks -n_weeks..-1. Weeks before the
          runner's first logged week are unknown, not 0 km, and are left out.
        - no PFP: runners with no PFP onset (other injuries included). For relative week k,
          every such runner's weekly_km in calendar week (onset week + k weeks) of every
          PFP runner, pooled: a control week counts once per PFP runner whose window holds it.

        Quantiles are those of numpy (linear interpolation); checked against ``np.quantile``
        of the explicitly pooled values (tests/plots/test_training.py).

    Raises
    ------
    ValueError
        A missing column, week starts on different weekdays, or no PFP onset among the
        runners of ``weeks``.
    """
    _require(weeks, ("runner_id", "week", "weekly_km"), "weeks", "weekly_exposures")
    _require(injuries, ("runner_id", "onset", OUTCOME), "injuries", "load_injuries")
    if isinstance(n_weeks, bool) or not isinstance(n_weeks, int | np.integer) or n_weeks < 1:
        raise ValueError(f"n_weeks must be a whole number of weeks >= 1, not {n_weeks!r}")
    week = pd.to_datetime(weeks["week"], errors="coerce")
    if week.isna().any():
        raise ValueError(
            f"weeks: {int(week.isna().sum())} row(s) with no valid 'week' date; pass the "
            "frame of weekly_exposures"
        )
    data = pd.DataFrame(
        {
            "runner_id": weeks["runner_id"].astype(str).to_numpy(),
            "week": week.dt.normalize().to_numpy(),
            "km": pd.to_numeric(weeks["weekly_km"], errors="coerce").to_numpy(),
        }
    ).dropna(subset=["km"])
    if data.empty:
        raise ValueError("weeks has no row with a weekly_km: nothing to plot")
    anchor = data["week"].iloc[0]
    off = ((data["week"] - anchor) // _DAY) % 7
    if off.ne(0).any():
        raise ValueError(
            "weeks: the 'week' column must hold the first day of each calendar week, all on "
            f"the same weekday; {int(off.ne(0).sum())} row(s) fall on another weekday"
        )
    is_pfp = injuries[OUTCOME].astype("boolean").fillna(False).to_numpy(bool)
    onsets = pd.to_datetime(injuries["onset"], errors="coerce")
    first = (
        pd.DataFrame({"runner_id": injuries["runner_id"].astype(str), "onset": onsets})[
            is_pfp & onsets.notna().to_numpy()
        ]
        .groupby("runner_id")["onset"]
        .min()
    )
    first = first[first.index.isin(data["runner_id"])]
    if "event" in weeks:
        # Counting-process rows: the cases are the onsets counted as events. A PFP onset after
        # another injury (or before the first run) is not one; that runner is in neither group.
        counted = set(weeks.loc[weeks["event"] == 1, "runner_id"].astype(str))
        data = data[~data["runner_id"].isin(first.index.difference(list(counted)))]
        first = first[first.index.isin(counted)]
    if first.empty:
        raise ValueError(
            "no runner of weeks has a PFP onset in injuries (pfp True with an onset date): "
            "the figure compares runners with PFP against those without, so it needs at "
            "least one PFP case"
        )
    day = first.dt.normalize()
    onset_week = day - ((day - anchor) // _DAY % 7) * _DAY
    rel = np.arange(-n_weeks, 0)
    window = pd.DataFrame(
        {
            "runner_id": np.repeat(onset_week.index.to_numpy(), n_weeks),
            "relative_week": np.tile(rel, len(onset_week)),
            "week": np.repeat(onset_week.to_numpy(), n_weeks)
            + np.tile(rel, len(onset_week)) * np.timedelta64(7, "D"),
        }
    )
    cases = window.merge(data, on=["runner_id", "week"], how="inner").assign(count=1)
    calendar = window.groupby(["relative_week", "week"]).size().rename("count").reset_index()
    controls = calendar.merge(data[~data["runner_id"].isin(first.index)], on="week", how="inner")
    rows = []
    for group, frame in ((_CASES, cases), (_CONTROLS, controls)):
        by_week = {k: part for k, part in frame.groupby("relative_week")}
        for k in rel:
            part = by_week.get(k)
            if part is None or part.empty:
                rows.append((group, int(k), 0, 0, np.nan, np.nan, np.nan))
                continue
            median, q1, q3 = _pooled_quantiles(
                part["km"].to_numpy(float), part["count"].to_numpy(np.int64), (0.5, 0.25, 0.75)
            )
            rows.append(
                (
                    group,
                    int(k),
                    part["runner_id"].nunique(),
                    int(part["count"].sum()),
                    median,
                    q1,
                    q3,
                )
            )
    table = pd.DataFrame(rows, columns=list(WEEKS_BEFORE_COLUMNS))
    table.attrs["runners"] = {
        _CASES: cases["runner_id"].nunique(),
        _CONTROLS: controls["runner_id"].nunique(),
    }
    return table


def plot_weeks_before_onset(
    weeks: pd.DataFrame, injuries: pd.DataFrame, *, n_weeks: int = 8, ax: Axes | None = None
) -> Axes:
    """Weekly distance in the weeks before PFP onset: the median (line) and interquartile
    range (band) of runners with PFP, against the same calendar weeks of runners without PFP.

    Parameters
    ----------
    weeks, injuries, n_weeks
        As :func:`weeks_before_onset`, which computes what is drawn.
    ax : Axes, optional

    Returns
    -------
    Axes
        x: weeks before PFP onset (-n_weeks .. -1), y: weekly distance (km); the legend gives
        the number of runners in each group.
    """
    table = weeks_before_onset(weeks, injuries, n_weeks=n_weeks)
    ax = get_axes(ax)
    for group, colour in ((_CONTROLS, PALETTE[0]), (_CASES, PALETTE[3])):
        part = table[table["group"] == group]
        n = table.attrs["runners"][group]
        name = "runners with PFP" if group == _CASES else "runners without PFP, same weeks"
        x = part["relative_week"].to_numpy()
        ax.fill_between(
            x, part["q1"].to_numpy(float), part["q3"].to_numpy(float), color=colour, alpha=0.2
        )
        ax.plot(
            x,
            part["median"].to_numpy(float),
            marker="o",
            color=colour,
            label=f"{name} (n = {n}): median, IQR",
        )
    ax.set_xticks(np.arange(-n_weeks, 0))
    ax.set_xlabel("Weeks before PFP onset")
    ax.set_ylabel("Weekly distance (km)")
    ax.set_ylim(bottom=0)
    legend_below(ax)
    return ax


#: Column suffixes of an ``injury_rates`` table per ``per``.
_PER = {"km": ("km", "1,000 km"), "h": ("h", "1,000 hours")}


def plot_injury_rates(
    rates: pd.DataFrame, ax: Axes | None = None, *, per: str = "km", by: str | None = None
) -> Axes:
    """Injury rate per 1,000 km (or per 1,000 hours) by state, with the exact Poisson 95%
    CIs of the table as error bars and the number of events above each point.

    Parameters
    ----------
    rates : DataFrame
        As ``injury_rates`` returns: the ``by`` column (the states), events, and
        rate_per_1000_km with ci_low_km and ci_high_km (per="h": rate_per_1000_h, ci_low_h,
        ci_high_h). Every row is drawn, a "missing" state included.
    ax : Axes, optional
    per : {"km", "h"}
        Per 1,000 km run or per 1,000 hours run.
    by : str, optional
        The state column; default ``rates.attrs["by"]``, else the one column that is not a
        count, a person-time or a rate.

    Returns
    -------
    Axes
        One point per state in the table's order (a categorical's order of categories).

    Raises
    ------
    ValueError
        A column missing, ``by`` not found, or per="h" when the log has no durations.
    """
    if per not in _PER:
        raise ValueError(f'per must be "km" or "h", not {per!r}')
    if not isinstance(rates, pd.DataFrame):
        raise TypeError(f"rates must be the DataFrame of injury_rates, not {type(rates).__name__}")
    suffix, unit = _PER[per]
    rate = f"rate_per_1000_{suffix}"
    needed = ("events", rate, f"ci_low_{suffix}", f"ci_high_{suffix}")
    frame = rates.reset_index() if rates.index.name and rates.index.name not in rates else rates
    _require(frame, needed, "rates", "injury_rates")
    by = by if by is not None else rates.attrs.get("by")
    if by is None:
        other = [
            c
            for c in frame.columns
            if not str(c).startswith(("rate_", "ci_low_", "ci_high_"))
            and c not in ("rows", "events", "person_days", "km", "hours")
        ]
        if len(other) != 1:
            raise ValueError(
                f"cannot tell which column holds the states (candidates: {other}); pass by="
            )
        by = other[0]
    if by not in frame:
        raise ValueError(f"by={by!r} is not a column of rates: {list(frame.columns)}")
    est = frame[rate].to_numpy(float)
    if per == "h" and np.isnan(est).all():
        raise ValueError("no rate per 1,000 hours: the training log has no durations; use per='km'")
    low = frame[f"ci_low_{suffix}"].to_numpy(float)
    high = frame[f"ci_high_{suffix}"].to_numpy(float)
    ax = get_axes(ax)
    x = np.arange(len(frame))
    ax.errorbar(
        x,
        est,
        yerr=[np.clip(est - low, 0, None), np.clip(high - est, 0, None)],
        fmt="o",
        color=PALETTE[0],
        capsize=4,
        lw=1.4,
        label="rate (exact 95% CI)",
    )
    for xi, top, k in zip(x, high, frame["events"], strict=True):
        if np.isfinite(top):
            ax.annotate(
                f"{int(k)} events" if k != 1 else "1 event",
                (xi, top),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize="small",
            )
    ax.set_xticks(x, labels=[str(v) for v in frame[by]])
    ax.set_xlim(-0.5, len(frame) - 0.5)
    tops = high[np.isfinite(high)]
    ax.set_ylim(0, tops.max() * 1.12 if len(tops) and tops.max() > 0 else None)
    ax.set_xlabel(f"State: {EXPOSURE_LABELS.get(by, by)}")
    ax.set_ylabel(f"PFP onsets per {unit} (95% CI)")
    return ax
