"""Weekly exposures on hand-made logs with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pfps_stats import DataValidationError
from pfps_stats.exposures.weeks import weekly_exposures


def _states(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series.astype(object)]


@pytest.fixture
def log(make_log) -> pd.DataFrame:
    """Runner a: 2025-01-06 is a Monday. Weeks: 10 km, 11 km, none, 5 km, 20 km, 26 km."""
    return make_log(
        [
            ("a", "2025-01-06 07:00", 4.0),  # Mon, week 1
            ("a", "2025-01-12 20:00", 6.0),  # Sun, week 1
            ("a", "2025-01-13 07:00", 11.0),  # Mon, week 2
            ("a", "2025-01-29 07:00", 5.0),  # week 4 (week 3 without running)
            ("a", "2025-02-03 07:00", 20.0),  # week 5
            ("a", "2025-02-10 07:00", 26.0),  # week 6
        ]
    )


def test_weekly_km_ratios_and_states(log):
    out = weekly_exposures(log)
    assert out["week"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-01-06",
        "2025-01-13",
        "2025-01-20",  # no running: inserted with 0 km
        "2025-01-27",
        "2025-02-03",
        "2025-02-10",
    ]
    assert out["weekly_km"].tolist() == [10.0, 11.0, 0.0, 5.0, 20.0, 26.0]
    assert out["n_runs"].tolist() == [2, 1, 0, 1, 1, 1]
    assert out["duration_min"].tolist() == [60.0, 66.0, 0.0, 30.0, 120.0, 156.0]
    np.testing.assert_allclose(out["week_ratio"], [np.nan, 0.1, -1.0, np.inf, 3.0, 0.3])
    np.testing.assert_allclose(out["weekly_km_change_pct"], [np.nan, 10, -100, np.inf, 300, 30])
    # 11 after 10 is exactly 10 %; 5 after 0 is inf; 26 after 20 is exactly 30 %
    assert _states(out["week_state"]) == [None, "<=10%", "<=10%", ">100%", ">100%", ">10-30%"]
    # ACWR: NaN for the first 3 weeks; then 5 / mean(10, 11, 0) - 1, 20 / mean(11, 0, 5) - 1,
    # 26 / mean(0, 5, 20) - 1
    np.testing.assert_allclose(
        out["acwr"], [np.nan, np.nan, np.nan, 5 / 7 - 1, 20 / (16 / 3) - 1, 26 / (25 / 3) - 1]
    )
    assert _states(out["acwr_state"]) == [None, None, None, "<=10%", ">100%", ">100%"]
    assert out.attrs["counts"]["weeks_without_running"] == 1
    # The previous week's states, known when a week starts (for models of a week's risk)
    assert _states(out["prior_week_state"]) == [None, None, "<=10%", "<=10%", ">100%", ">100%"]
    assert _states(out["prior_acwr_state"]) == [None, None, None, None, "<=10%", ">100%"]


def test_prior_states_do_not_cross_runners(make_log):
    log = make_log(
        [
            ("a", "2025-01-06 07:00", 10.0),
            ("a", "2025-01-13 07:00", 30.0),  # a's week 2: > 100 %
            ("b", "2025-01-20 07:00", 5.0),  # b's first week: no prior state
            ("b", "2025-01-27 07:00", 5.0),
        ]
    )
    out = weekly_exposures(log)
    assert _states(out["prior_week_state"]) == [None, None, None, None]
    assert _states(out["week_state"]) == [None, ">100%", None, "<=10%"]


def test_zero_after_zero_is_undefined_and_a_run_after_zeros_is_inf(make_log):
    log = make_log(
        [
            ("z", "2025-01-06 07:00", 10.0),  # week 1
            ("z", "2025-02-03 07:00", 8.0),  # week 5, after 3 weeks of none
        ]
    )
    out = weekly_exposures(log)
    assert out["weekly_km"].tolist() == [10.0, 0.0, 0.0, 0.0, 8.0]
    np.testing.assert_array_equal(out["week_ratio"], [np.nan, -1.0, np.nan, np.nan, np.inf])
    assert _states(out["week_state"]) == [None, "<=10%", None, None, ">100%"]
    np.testing.assert_array_equal(out["acwr"], [np.nan, np.nan, np.nan, -1.0, np.inf])
    assert _states(out["acwr_state"]) == [None, None, None, "<=10%", ">100%"]
    log = make_log([("z", "2025-01-06 07:00", 10.0), ("z", "2025-02-10 07:00", 8.0)])
    out = weekly_exposures(log)
    assert np.isnan(out["acwr"].iloc[4])  # 0 km after 3 weeks summing to 0: undefined
    assert out["acwr"].iloc[5] == np.inf


def test_week_start_sunday(log):
    out = weekly_exposures(log, week_start="Sunday")
    assert out["week"].dt.strftime("%a %Y-%m-%d").tolist() == [
        "Sun 2025-01-05",
        "Sun 2025-01-12",  # Sunday 12th 20:00 and Monday 13th now share a week
        "Sun 2025-01-19",
        "Sun 2025-01-26",
        "Sun 2025-02-02",
        "Sun 2025-02-09",
    ]
    assert out["weekly_km"].tolist() == [4.0, 17.0, 0.0, 5.0, 20.0, 26.0]
    assert weekly_exposures(log, week_start=" SUNDAY ")["weekly_km"].tolist()[1] == 17.0
    assert "Sunday to Saturday" in out.attrs["notes"][0]


@pytest.mark.parametrize("bad", ["sun", "Montag", 0, None, ""])
def test_a_bad_week_start_is_refused(log, bad):
    with pytest.raises(ValueError, match="week_start must be the name of a weekday"):
        weekly_exposures(log, week_start=bad)


def test_one_run_all_on_one_day_and_several_runners(make_log):
    log = make_log(
        [
            ("solo", "2025-02-01 09:00", 7.0),
            ("day", "2025-02-01 06:00", 5.0),
            ("day", "2025-02-01 18:00", 8.0),
        ]
    )
    out = weekly_exposures(log)
    assert out["runner_id"].tolist() == ["solo", "day"]
    assert out["weekly_km"].tolist() == [7.0, 13.0]
    assert out["week_state"].isna().all()
    assert out["week"].tolist() == [pd.Timestamp("2025-01-27")] * 2


def test_weeks_across_daylight_saving_changes_follow_the_calendar(make_log):
    """Sunday 30 March 2025 23:30 (the short day in Europe) belongs to the week of Monday 24
    March; 02:30 on 26 October (a time that happened twice) to the week of 20 October."""
    log = make_log(
        [
            ("a", "2025-03-24 07:00", 10.0),
            ("a", "2025-03-30 02:30", 5.0),
            ("a", "2025-03-30 23:30", 5.0),
            ("a", "2025-03-31 00:00", 12.0),
        ]
    )
    out = weekly_exposures(log)
    assert out["weekly_km"].tolist() == [20.0, 12.0]
    log = make_log([("b", "2025-10-26 02:30", 10.0), ("b", "2025-10-27 00:00", 10.0)])
    assert weekly_exposures(log)["weekly_km"].tolist() == [10.0, 10.0]


def test_columns_and_the_log_untouched(log):
    before = log.copy(deep=True)
    out = weekly_exposures(log)
    pd.testing.assert_frame_equal(log, before)
    assert out.columns.tolist() == [
        "runner_id",
        "week",
        "weekly_km",
        "n_runs",
        "duration_min",
        "week_ratio",
        "weekly_km_change_pct",
        "week_state",
        "acwr",
        "acwr_state",
        "prior_week_state",
        "prior_acwr_state",
    ]
    assert out["week"].dtype == log["start"].dtype
    assert out["week_state"].cat.ordered


def test_a_missing_duration_makes_the_week_total_missing(log):
    log.loc[1, "duration_min"] = np.nan
    out = weekly_exposures(log)
    assert np.isnan(out["duration_min"].iloc[0])
    assert out["duration_min"].iloc[1] == 66.0
    assert "duration_min" not in weekly_exposures(log.drop(columns="duration_min"))


def test_bad_logs_are_refused(log):
    with pytest.raises(DataValidationError, match="no runs"):
        weekly_exposures(log.iloc[:0])
    with pytest.raises(DataValidationError, match="sort"):
        weekly_exposures(log.iloc[::-1])
