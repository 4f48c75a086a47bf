"""Per-session exposures on hand-made logs with hand-computed answers, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pfps_stats import DataValidationError
from pfps_stats.exposures.sessions import session_exposures


def test_the_30_day_window_edges(make_log):
    log = make_log(
        [
            ("a", "2025-01-01 08:00:00", 20.0),
            ("a", "2025-01-01 18:00:00", 5.0),  # same day, later: the morning run counts
            ("a", "2025-01-31 08:00:00", 11.0),  # exactly 30 × 24 h after the first: included
            ("a", "2025-01-31 08:00:01", 30.0),  # 30 days + 1 s: the first run is out
        ]
    )
    out = session_exposures(log)
    assert out["longest_30d_km"].tolist()[1:] == [20.0, 20.0, 11.0]
    assert np.isnan(out["longest_30d_km"].iloc[0])  # the run itself is never in its window
    np.testing.assert_allclose(out["session_ratio"][1:], [5 / 20 - 1, 11 / 20 - 1, 30 / 11 - 1])
    assert out["session_state"].tolist()[1:] == ["<=10%", "<=10%", ">100%"]
    assert out["session_state"].isna().tolist() == [True, False, False, False]


def test_exactly_ten_percent_is_the_reference(make_log):
    out = session_exposures(make_log([("a", "2025-05-01 07:00", 10.0), ("a", "2025-05-03", 11.0)]))
    assert out["session_state"].iloc[1] == "<=10%"
    out = session_exposures(make_log([("a", "2025-05-01 07:00", 10.0), ("a", "2025-05-03", 13.0)]))
    assert out["session_state"].iloc[1] == ">10-30%"  # exactly 30 %


def test_one_run_and_all_runs_on_one_day(make_log):
    log = make_log(
        [
            ("solo", "2025-02-01 09:00", 7.0),
            ("sameday", "2025-02-01 06:00", 5.0),
            ("sameday", "2025-02-01 12:00", 10.0),
            ("sameday", "2025-02-01 18:00", 8.0),
        ]
    )
    out = session_exposures(log)
    assert out["runner_id"].tolist() == ["solo", "sameday", "sameday", "sameday"]
    np.testing.assert_array_equal(out["longest_30d_km"], [np.nan, np.nan, 5.0, 10.0])
    np.testing.assert_allclose(out["session_ratio"], [np.nan, np.nan, 1.0, -0.2])
    assert out["session_state"].astype(object).tolist()[2:] == [">30-100%", "<=10%"]
    assert out.attrs["counts"]["runs_missing_session_state"] == 2
    assert "2 of 4 runs" in out.attrs["notes"][0]


def test_runners_do_not_see_each_others_runs(make_log):
    log = make_log([("a", "2025-03-01", 30.0), ("b", "2025-03-02", 10.0), ("b", "2025-03-03", 9)])
    out = session_exposures(log)
    np.testing.assert_array_equal(out["longest_30d_km"], [np.nan, np.nan, 10.0])


def test_a_log_across_daylight_saving_changes_uses_wall_clock_time(make_log):
    """Europe's 2025 changes: 30 March (02:00 -> 03:00) and 26 October (03:00 -> 02:00).
    02:30 on 30 March does not exist locally; 02:30 on 26 October happened twice. Naive
    wall-clock times are taken as they stand: 08:00 thirty days earlier is in the window."""
    log = make_log(
        [
            ("a", "2025-03-01 08:00", 10.0),
            ("a", "2025-03-30 02:30", 10.0),
            ("a", "2025-03-31 08:00", 12.0),  # exactly 30 wall-clock days after 1 March
            ("a", "2025-10-25 08:00", 10.0),
            ("a", "2025-10-26 02:30", 10.0),
            ("a", "2025-11-24 08:00", 11.0),  # 30 wall-clock days after 25 October
        ]
    )
    out = session_exposures(log)
    np.testing.assert_array_equal(out["longest_30d_km"], [np.nan, 10, 10, np.nan, 10, 10])
    assert out["session_state"].astype(object).tolist()[2] == ">10-30%"
    assert out["session_state"].astype(object).tolist()[5] == "<=10%"


def test_nanosecond_edges_on_a_century_long_log(make_log):
    """Exact at 1 ns, even when the packed (runner, time) key needs a coarser unit."""
    log = make_log(
        [
            ("a", "1950-01-01 00:00:00", 20.0),
            ("a", "1950-01-31 00:00:00", 10.0),  # exactly 30 days: included
            ("a", "2050-01-01 00:00:00", 5.0),
            ("b", "1950-01-01 00:00:00", 20.0),
            ("b", "1950-01-31 00:00:00.000000001", 10.0),  # 30 days + 1 ns: excluded
            ("b", "1950-01-31 00:00:00.000000002", 8.0),
            ("b", "2050-01-01 00:00:00", 5.0),
        ],
        unit="ns",
    )
    out = session_exposures(log)
    np.testing.assert_array_equal(
        out["longest_30d_km"], [np.nan, 20, np.nan, np.nan, np.nan, 10, np.nan]
    )


def test_columns_order_and_the_log_untouched(make_log):
    log = make_log([("b", "2025-03-01", 5.0), ("a", "2025-02-01", 6.0), ("a", "2025-02-02", 7.0)])
    log.index = [10, 11, 12]
    log.attrs["notes"] = ["from the loader"]
    before = log.copy(deep=True)
    out = session_exposures(log)
    pd.testing.assert_frame_equal(log, before)
    assert log.attrs == {"notes": ["from the loader"]}
    assert out.columns.tolist() == [
        "runner_id",
        "start",
        "distance_km",
        "duration_min",
        "source_row",
        "longest_30d_km",
        "session_ratio",
        "session_state",
    ]
    assert out.index.tolist() == [0, 1, 2]
    assert out["runner_id"].tolist() == ["b", "a", "a"]  # the log's order: runners kept together
    assert out["start"].dtype == log["start"].dtype
    assert "from the loader" not in out.attrs["notes"]


def test_runner_ids_may_be_numbers_or_categories(make_log):
    log = make_log([(7, "2025-03-01", 5.0), (7, "2025-03-02", 6.0), (3, "2025-03-01", 4.0)])
    assert session_exposures(log)["longest_30d_km"].tolist()[1] == 5.0
    log["runner_id"] = log["runner_id"].astype("category")
    assert session_exposures(log)["longest_30d_km"].tolist()[1] == 5.0


# -- bad input ---------------------------------------------------------------------------------


def _problems(excinfo) -> list[str]:
    return excinfo.value.problems["problem"].tolist()


def test_an_empty_log_is_refused_clearly(make_log):
    with pytest.raises(DataValidationError, match="no runs") as excinfo:
        session_exposures(make_log([]))
    assert "load_training_log" in str(excinfo.value)


def test_not_a_dataframe_is_refused():
    with pytest.raises(TypeError, match="load_training_log"):
        session_exposures({"runner_id": ["a"]})


def test_missing_columns_are_listed(make_log):
    log = make_log([("a", "2025-03-01", 5.0)]).drop(columns=["start", "distance_km"])
    with pytest.raises(DataValidationError) as excinfo:
        session_exposures(log)
    assert excinfo.value.problems["column"].tolist() == ["start", "distance_km"]
    assert "ps.load_training_log" in str(excinfo.value)


def test_wrong_dtypes_are_refused(make_log):
    log = make_log([("a", "2025-03-01", 5.0)])
    text = log.assign(start=log["start"].astype(str), distance_km=log["distance_km"].astype(str))
    with pytest.raises(DataValidationError) as excinfo:
        session_exposures(text)
    assert excinfo.value.problems["column"].tolist() == ["start", "distance_km"]
    assert "pd.to_datetime" in str(excinfo.value)
    aware = log.assign(start=log["start"].dt.tz_localize("Europe/Copenhagen"))
    with pytest.raises(DataValidationError, match="time zone"):
        session_exposures(aware)


def test_unsorted_and_duplicate_runs_are_refused_with_their_rows(make_log):
    log = make_log(
        [
            ("a", "2025-03-02", 5.0),
            ("a", "2025-03-01", 6.0),  # before the run above it
            ("b", "2025-03-01", 6.0),
            ("b", "2025-03-01", 7.0),  # duplicate session
            ("a", "2025-03-05", 6.0),  # runner a again: not together
        ]
    )
    with pytest.raises(DataValidationError) as excinfo:
        session_exposures(log)
    problems = excinfo.value.problems
    assert problems["row"].tolist() == [5, 2, 4]
    assert "sort_values" in str(excinfo.value)
    assert any("duplicate" in p for p in _problems(excinfo))


def test_missing_values_are_refused_with_their_rows(make_log):
    log = make_log([("a", "2025-03-01", 5.0), ("a", "2025-03-02", 6.0), ("a", "2025-03-03", 1)])
    log.loc[1, "distance_km"] = np.nan
    log.loc[2, "distance_km"] = -3.0
    log.loc[0, "start"] = pd.NaT
    log["runner_id"] = log["runner_id"].astype(object)
    log.loc[2, "runner_id"] = None
    with pytest.raises(DataValidationError) as excinfo:
        session_exposures(log)
    problems = excinfo.value.problems
    assert list(zip(problems["row"], problems["column"], strict=True)) == [
        (3, "runner_id"),
        (1, "start"),
        (2, "distance_km"),
        (3, "distance_km"),
    ]


def test_runner_ids_in_a_nullable_string_dtype(make_log):
    """string[pyarrow] ids (Dask's and Parquet's default text type) give the same exposures;
    the first run's comparison with the row before it is NA, not an error."""
    log = make_log([("a", "2025-03-01", 30.0), ("b", "2025-03-02", 10.0), ("b", "2025-03-03", 9)])
    arrow = log.assign(runner_id=log["runner_id"].astype("string[pyarrow]"))
    out = session_exposures(arrow)
    np.testing.assert_array_equal(out["longest_30d_km"], [np.nan, np.nan, 10.0])


def test_a_validation_error_survives_pickling():
    """Dask workers and process pools send errors back pickled: the problems and the message
    must come through."""
    import pickle

    from pfps_stats.cohort.validation import problem_frame

    problems = problem_frame([{"row": 3, "column": "distance_km", "value": "-1", "problem": "x"}])
    err = DataValidationError(problems, source="log.csv")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is DataValidationError
    assert str(back) == str(err)
    assert back.source == "log.csv"
    pd.testing.assert_frame_equal(back.problems, err.problems)
