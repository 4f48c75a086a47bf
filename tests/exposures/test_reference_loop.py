"""The vectorised exposures against a slow, straightforward per-runner loop written from
docs/training-load.md section 3, on random logs (a few hundred runs) with random injuries.

The random times sit on a 6-hour grid, so runs exactly 30 × 24 h apart, several runs a day,
weeks without running and injuries on run days all occur."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pfps_stats.exposures.sessions import session_exposures
from pfps_stats.exposures.weeks import WEEKDAYS, weekly_exposures

DAY = pd.Timedelta(days=1)
BIG = pd.Timestamp.max


def _state(ratio: float) -> str | None:
    if math.isnan(ratio):
        return None
    r = round(ratio, 9) if math.isfinite(ratio) else ratio
    if r <= 0.10:
        return "<=10%"
    if r <= 0.30:
        return ">10-30%"
    if r <= 1.00:
        return ">30-100%"
    return ">100%"


def _ratio(new: float, old: float) -> float:
    if old == 0:
        return math.inf if new > 0 else math.nan
    return new / old - 1


def _end_of_risk(runner, starts, injuries):
    """(end, reason) of a runner's time at risk, or (None, None) when there is none."""
    first, last = starts[0], starts[-1]
    if injuries is None:
        return None, None
    mine = injuries[injuries["runner_id"] == runner]
    given = mine["follow_up_end"].dropna()
    follow_end = given.iloc[0].normalize() + DAY if len(given) else None
    candidates = []
    for onset, is_pfp in zip(mine["onset"], mine["pfp"], strict=True):
        if pd.isna(onset):
            continue
        end_of_day = onset.normalize() + DAY
        if end_of_day <= first or (follow_end is not None and end_of_day > follow_end):
            continue  # before the first run, or after follow-up: not counted
        candidates.append((end_of_day, 0 if is_pfp else 1))
    if follow_end is None:
        follow_end = last.normalize() + DAY
        if candidates:
            follow_end = max(follow_end, min(c[0] for c in candidates))
    candidates.append((follow_end, 2))
    end, reason = min(candidates)  # ties: PFP, then another injury, then end of follow-up
    if end <= first:
        return None, None
    return end, ["pfp", "other injury", "end of follow-up"][reason]


def reference_sessions(log: pd.DataFrame, injuries=None) -> pd.DataFrame:
    rows = []
    for runner in dict.fromkeys(log["runner_id"]):
        runs = log[log["runner_id"] == runner]
        starts, km = list(runs["start"]), list(runs["distance_km"])
        end, reason = _end_of_risk(runner, starts, injuries)
        if injuries is not None and end is None:
            continue
        kept = [i for i in range(len(starts)) if end is None or starts[i] < end]
        for i in kept:
            before = [
                km[k] for k in range(len(starts)) if starts[i] - 30 * DAY <= starts[k] < starts[i]
            ]
            longest = max(before) if before else math.nan
            ratio = km[i] / longest - 1 if before else math.nan
            row = {
                "runner_id": runner,
                "start": starts[i],
                "longest_30d_km": longest,
                "session_ratio": ratio,
                "session_state": _state(ratio),
            }
            if injuries is not None:
                stop = starts[i + 1] if i + 1 < len(starts) else BIG
                last_row = i == kept[-1]
                row |= {
                    "start_day": (starts[i] - starts[0]) / DAY,
                    "stop_day": (min(stop, end) - starts[0]) / DAY,
                    "event": int(last_row and reason == "pfp"),
                    "end_reason": reason if last_row else None,
                }
            rows.append(row)
    return pd.DataFrame(rows)


def reference_weeks(log: pd.DataFrame, injuries=None, week_start="monday") -> pd.DataFrame:
    weekday = WEEKDAYS.index(week_start)

    def week_of(t: pd.Timestamp) -> pd.Timestamp:
        return t.normalize() - (t.day_of_week - weekday) % 7 * DAY

    rows = []
    for runner in dict.fromkeys(log["runner_id"]):
        runs = log[log["runner_id"] == runner]
        starts, km = list(runs["start"]), list(runs["distance_km"])
        end, reason = _end_of_risk(runner, starts, injuries)
        if injuries is not None and end is None:
            continue
        last_week = week_of(starts[-1]) if end is None else week_of(end - pd.Timedelta(1, "ns"))
        weeks = []
        week = week_of(starts[0])
        while week <= last_week:
            weeks.append(week)
            week += 7 * DAY
        totals = []
        for w in weeks:
            counted = [
                km[i]
                for i in range(len(starts))
                if week_of(starts[i]) == w and (end is None or starts[i] < end)
            ]
            totals.append((sum(counted), len(counted)))
        for j, w in enumerate(weeks):
            this = totals[j][0]
            week_ratio = _ratio(this, totals[j - 1][0]) if j >= 1 else math.nan
            acwr = (
                _ratio(this, (totals[j - 3][0] + totals[j - 2][0] + totals[j - 1][0]) / 3)
                if j >= 3
                else math.nan
            )
            row = {
                "runner_id": runner,
                "week": w,
                "weekly_km": this,
                "n_runs": totals[j][1],
                "week_ratio": week_ratio,
                "weekly_km_change_pct": 100 * week_ratio,
                "week_state": _state(week_ratio),
                "acwr": acwr,
                "acwr_state": _state(acwr),
            }
            if injuries is not None:
                last_row = j == len(weeks) - 1
                row |= {
                    "start_day": (max(w, starts[0]) - starts[0]) / DAY,
                    "stop_day": (min(w + 7 * DAY, end) - starts[0]) / DAY,
                    "event": int(last_row and reason == "pfp"),
                    "end_reason": reason if last_row else None,
                }
            rows.append(row)
    return pd.DataFrame(rows)


def random_log(seed: int, n_runners: int = 14) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random log on a 6-hour grid and random injuries covering every case."""
    rng = np.random.default_rng(seed)
    parts = []
    for r in range(n_runners):
        n = int(rng.integers(1, 45))
        # steps of 0 to 12 days in quarter days, sometimes a long break
        steps = rng.integers(1, 48, n) * 0.25
        steps[rng.random(n) < 0.08] += rng.integers(10, 40)
        days = np.cumsum(np.r_[rng.integers(0, 20), steps[1:]])
        start = pd.Timestamp("2024-10-01") + pd.to_timedelta(days, unit="D")
        km = rng.choice([5.0, 8.0, 10.0, 11.0, 12.0, 13.0, 20.0, 4.4], n)
        parts.append(pd.DataFrame({"runner_id": f"r{r:02d}", "start": start, "distance_km": km}))
    log = pd.concat(parts, ignore_index=True)
    log["start"] = log["start"].astype("datetime64[us]")
    log["duration_min"] = log["distance_km"] * 6.0
    log["source_row"] = np.arange(1, len(log) + 1)

    runners = sorted(set(log["runner_id"]))
    injuries = []
    for i, runner in enumerate(runners):
        starts = log.loc[log["runner_id"] == runner, "start"]
        first, last = starts.iloc[0].normalize(), starts.iloc[-1].normalize()
        if i == 3:  # no follow_up_end, the only injury 9 days after the last run
            injuries.append((runner, last + 9 * DAY, True, pd.NaT))
            continue
        span = (last - first).days
        follow = first + int(rng.integers(-3, span + 30)) * DAY if rng.random() < 0.4 else pd.NaT
        for _ in range(int(rng.integers(0, 3))):
            onset = first + int(rng.integers(-5, span + 25)) * DAY
            injuries.append((runner, onset, bool(rng.random() < 0.5), follow))
        if rng.random() < 0.3 and not pd.isna(follow):
            injuries.append((runner, pd.NaT, False, follow))  # a follow-up-only row
    injuries.append(("absent", pd.Timestamp("2024-11-01"), True, pd.NaT))
    inj = pd.DataFrame(injuries, columns=["runner_id", "onset", "pfp", "follow_up_end"])
    inj["diagnosis"] = np.where(inj["onset"].isna(), None, np.where(inj["pfp"], "PFP", "other"))
    # one follow-up end per runner (copied to every row of the runner)
    inj["follow_up_end"] = inj.groupby("runner_id")["follow_up_end"].transform("first")
    inj["source_row"] = np.arange(1, len(inj) + 1)
    return log, inj


def _labels(values: pd.Series) -> list:
    return [None if pd.isna(v) else str(v) for v in values]


def _compare(ours: pd.DataFrame, expected: pd.DataFrame, numeric, states, exact=()) -> None:
    assert len(ours) == len(expected)
    assert ours["runner_id"].tolist() == expected["runner_id"].tolist()
    for column in numeric:
        np.testing.assert_allclose(
            ours[column].to_numpy(dtype=float),
            expected[column].to_numpy(dtype=float),
            rtol=1e-12,
            atol=1e-12,
            err_msg=column,
        )
    for column in states:
        assert _labels(ours[column]) == _labels(expected[column]), column
    for column in exact:
        assert ours[column].tolist() == expected[column].tolist(), column


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sessions_match_the_per_runner_loop(seed):
    log, injuries = random_log(seed)
    assert 200 <= len(log) <= 700
    ours, expected = session_exposures(log), reference_sessions(log)
    assert ours["start"].tolist() == expected["start"].tolist()
    _compare(ours, expected, ["longest_30d_km", "session_ratio"], ["session_state"])
    assert ours["session_state"].notna().sum() > 100  # the comparison covers real spikes

    ours, expected = session_exposures(log, injuries), reference_sessions(log, injuries)
    assert ours["start"].tolist() == expected["start"].tolist()
    _compare(
        ours,
        expected,
        ["longest_30d_km", "session_ratio", "start_day", "stop_day"],
        ["session_state", "end_reason"],
        ["event"],
    )


@pytest.mark.parametrize(("seed", "week_start"), [(1, "monday"), (2, "sunday"), (3, "thursday")])
def test_weeks_match_the_per_runner_loop(seed, week_start):
    log, injuries = random_log(seed)
    numeric = ["weekly_km", "n_runs", "week_ratio", "weekly_km_change_pct", "acwr"]
    states = ["week_state", "acwr_state"]
    ours = weekly_exposures(log, week_start=week_start)
    expected = reference_weeks(log, week_start=week_start)
    assert ours["week"].tolist() == expected["week"].tolist()
    _compare(ours, expected, numeric, states)
    assert (ours["weekly_km"] == 0).sum() > 5  # weeks without running are in the comparison

    ours = weekly_exposures(log, injuries, week_start=week_start)
    expected = reference_weeks(log, injuries, week_start=week_start)
    assert ours["week"].tolist() == expected["week"].tolist()
    _compare(
        ours, expected, [*numeric, "start_day", "stop_day"], [*states, "end_reason"], ["event"]
    )


def test_the_random_injuries_cover_every_case():
    """The reference comparison above is only as good as the cases the random data hold."""
    seen: dict[str, int] = {}
    for seed in (1, 2, 3):
        log, injuries = random_log(seed)
        counts = session_exposures(log, injuries).attrs["counts"]
        for key, value in counts.items():
            seen[key] = seen.get(key, 0) + value
    for key in (
        "events",
        "censored_other_injury",
        "censored_end_of_follow_up",
        "injuries_before_first_run",
        "injuries_after_follow_up_end",
        "injuries_absent_runner",
        "injuries_after_last_run_counted",
        "runs_after_end_of_risk",
    ):
        assert seen[key] > 0, key
