"""Training logs in (docs/training-load.md, section 1): formats, validation, quarantine."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pfps_stats._exceptions import DataQualityWarning, DataValidationError
from pfps_stats.cohort.training_log import (
    MAX_RUN_KM,
    check_training_log,
    load_training_log,
    looks_like_training_log,
)

DATA = Path(__file__).parent / "data" / "training"
COLUMNS = ["runner_id", "start", "distance_km", "duration_min", "activity_type", "source_row"]

# The header of Strava's bulk-export activities.csv (2024), with its repeated names: the first
# Distance is in the athlete's display unit, the second in metres; Elapsed Time, Max Heart Rate,
# Relative Effort and Commute appear twice too.
STRAVA_HEADER = (
    "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,"
    "Distance,Max Heart Rate,Relative Effort,Commute,Activity Private Note,Activity Gear,"
    "Filename,Athlete Weight,Bike Weight,Elapsed Time,Moving Time,Distance,Max Speed,"
    "Average Speed,Elevation Gain,Elevation Loss,Elevation Low,Elevation High,Max Grade,"
    "Average Grade,Average Positive Grade,Average Negative Grade,Max Cadence,Average Cadence,"
    "Max Heart Rate,Average Heart Rate,Max Watts,Average Watts,Calories,Max Temperature,"
    "Average Temperature,Relative Effort,Total Work,Number of Runs,Uphill Time,Downhill Time,"
    "Other Time,Perceived Exertion,Type,Start Time,Weighted Average Power,Power Count,"
    "Prefer Perceived Exertion,Perceived Relative Effort,Commute,Total Weight Lifted,"
    "From Upload,Grade Adjusted Distance,Weather Observation Time,Weather Condition,"
    "Weather Temperature,Apparent Temperature,Dewpoint,Humidity,Weather Pressure,Wind Speed,"
    "Wind Gust,Wind Bearing,Precipitation Intensity,Sunrise Time,Sunset Time,Moon Phase,Bike,"
    "Gear,Precipitation Probability,Precipitation Type,Cloud Cover,Weather Visibility,UV Index,"
    "Weather Ozone,Jump Count,Total Grit,Average Flow,Flagged,Average Elapsed Speed,"
    "Dirt Distance,Newly Explored Distance,Newly Explored Dirt Distance,Activity Count,"
    "Total Steps,Carbon Saved,Pool Length,Training Load,Intensity,"
    "Average Grade Adjusted Pace,Timer Time,Total Cycles,Media"
).split(",")

# (id, date, name, type, elapsed s, display distance, moving s, metres)
STRAVA_ROWS = [
    (14001, "Jul 1, 2025, 6:30:00 AM", "Morning Run", "Run", 2712, "8.12", 2650, 8120.5),
    (14002, "Jul 2, 2025, 5:10:00 PM", "Afternoon Ride", "Ride", 3930, "30.20", 3600, 30200.0),
    (14003, "Jul 3, 2025, 6:05:00 AM", "Pool", "Swim", 2100, "1,500", 1980, 1500.0),
    (14004, "Jul 4, 2025, 7:00:00 PM", "Trail loop", "Trail Run", 4510, "11.40", 4320, 11402.3),
    (14005, "Jul 5, 2025, 12:15:00 PM", "Lunch Walk", "Walk", 1800, "2.10", 1750, 2101.0),
    (14006, "Jul 6, 2025, 8:00:00 AM", "Zwift run", "Virtual Run", 1860, "5.00", 1860, 5000.0),
    (14007, "Jul 8, 2025, 6:40:00 AM", "Long Run", "Run", 7400, "21.10", 7205, 21097.5),
    (14008, "Jul 9, 2025, 9:00:00 PM", "Weights", "Weight Training", 2400, "0.00", 2400, 0.0),
]


def strava_row(
    activity_id, date, name, kind, elapsed, shown, moving, metres, header=STRAVA_HEADER
) -> list[str]:
    """One data row of a Strava export, as Strava writes it (floats with '.0', 'false')."""
    values = dict.fromkeys(range(len(header)), "")
    first = {name: i for i, name in reversed(list(enumerate(header)))}
    second = {name: i for i, name in enumerate(header)}
    values[first["Activity ID"]] = str(activity_id)
    values[first["Activity Date"]] = date
    values[first["Activity Name"]] = name
    values[first["Activity Type"]] = kind
    values[first["Elapsed Time"]] = str(elapsed)
    values[first["Commute"]] = "false"
    values[first["Filename"]] = f"activities/{activity_id}.fit.gz"
    values[first["Athlete Weight"]] = "61.0"
    if "Distance" in first:
        values[first["Distance"]] = shown
    if second.get("Distance", -1) != first.get("Distance", -1):
        values[second["Distance"]] = f"{metres:.1f}"
    if second["Elapsed Time"] != first["Elapsed Time"]:
        values[second["Elapsed Time"]] = f"{elapsed:.1f}"
    if "Moving Time" in first:
        values[first["Moving Time"]] = "" if moving is None else f"{moving:.1f}"
    values[first["Calories"]] = "512.0"
    values[first["From Upload"]] = "1.0"
    return [values[i] for i in range(len(header))]


def write_strava(path: Path, rows=STRAVA_ROWS, header=STRAVA_HEADER) -> Path:
    """Write an activities.csv with the csv module, so quoting is as Strava's ("Jul 1, 2025,
    ...")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(strava_row(*row, header=header))
    return path


def write_csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def assert_accounted(check) -> None:
    assert len(check.data) + len(check.set_aside) + len(check.quarantined) == check.n_input


def problems_of(check) -> list[tuple]:
    p = check.problems
    return list(zip(p["row"].astype("object"), p["column"], p["problem"], strict=True))


# ---------------------------------------------------------------------------------------------
# Strava


def test_the_shipped_strava_fixture_has_the_real_repeated_header():
    with (DATA / "strava" / "R001" / "activities.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header == STRAVA_HEADER
    assert header.count("Distance") == 2
    assert header.count("Elapsed Time") == 2


def test_strava_export_is_read_with_metres_and_moving_time():
    log = load_training_log(DATA / "strava" / "R001" / "activities.csv")
    assert list(log.columns) == COLUMNS
    assert log["runner_id"].unique().tolist() == ["R001"]  # from the folder
    assert log["activity_type"].tolist() == ["Run", "Trail Run", "Virtual Run", "Run"]
    # The second Distance (metres) is used, not the display value.
    np.testing.assert_allclose(log["distance_km"], [8.1205, 11.4023, 5.0, 21.0975])
    np.testing.assert_allclose(log["duration_min"], [2650 / 60, 4320 / 60, 31.0, 7205 / 60])
    assert log["start"].tolist() == [
        pd.Timestamp("2025-07-01 06:30"),
        pd.Timestamp("2025-07-04 19:00"),
        pd.Timestamp("2025-07-06 08:00"),
        pd.Timestamp("2025-07-08 06:40"),
    ]
    assert log["source_row"].tolist() == [1, 4, 6, 7]
    notes = " ".join(log.attrs["notes"])
    assert "Strava" in notes
    assert "UTC" in notes
    assert "Ride 1" in notes
    assert "Swim 1" in notes
    assert "Weight Training 1" in notes


def test_strava_dtypes_and_index():
    log = load_training_log(DATA / "strava" / "R001" / "activities.csv")
    assert log["start"].dtype == "datetime64[ns]"
    assert log["distance_km"].dtype == "float64"
    assert log["duration_min"].dtype == "float64"
    assert log["source_row"].dtype == "int64"
    assert pd.api.types.is_string_dtype(log["runner_id"])
    assert pd.api.types.is_string_dtype(log["activity_type"])
    assert isinstance(log.index, pd.RangeIndex)
    assert log.index[0] == 0


def test_strava_non_runs_are_set_aside_and_counted():
    check = check_training_log(DATA / "strava" / "R001" / "activities.csv")
    assert len(check.set_aside) == 4
    assert check.set_aside["source_row"].tolist() == [2, 3, 5, 8]
    assert check.set_aside["reasons"].iloc[0] == "not a run: activity type 'Ride'"
    assert "Distance #2" in check.set_aside.columns  # the repeated name is kept apart
    assert len(check.quarantined) == 0
    assert len(check.problems) == 0
    assert_accounted(check)


def test_activity_types_overrides_the_runs(tmp_path):
    path = DATA / "strava" / "R001" / "activities.csv"
    log = load_training_log(path, activity_types=["run", "WALK"])
    assert log["activity_type"].tolist() == ["Run", "Walk", "Run"]
    one = load_training_log(path, activity_types="Trail Run")
    assert one["activity_type"].tolist() == ["Trail Run"]


def test_strava_with_only_the_display_distance_needs_a_unit(tmp_path):
    header = [h for i, h in enumerate(STRAVA_HEADER) if not (h == "Distance" and i > 10)]
    path = write_strava(tmp_path / "R9" / "activities.csv", header=header)
    with pytest.raises(DataValidationError, match="display unit") as err:
        load_training_log(path)
    assert "mapping={'Distance': ('distance_km', 'km')}" in str(err.value)
    # Quarantine cannot fix a column: it raises too.
    with pytest.raises(DataValidationError, match="display unit"):
        load_training_log(path, on_invalid="quarantine", quarantine_path=tmp_path / "q.csv")
    log = load_training_log(path, mapping={"Distance": ("distance_km", "mi")})
    np.testing.assert_allclose(log["distance_km"].iloc[0], 8.12 * 1.609344)
    assert any("mi -> km" in note for note in log.attrs["notes"])


def test_strava_elapsed_time_fills_a_missing_moving_time(tmp_path):
    rows = [list(r) for r in STRAVA_ROWS[:1]]
    rows[0][6] = None
    path = write_strava(tmp_path / "R1" / "activities.csv", rows=rows)
    log = load_training_log(path)
    assert log["duration_min"].iloc[0] == pytest.approx(2712 / 60)
    assert any("elapsed time" in note for note in log.attrs["notes"])


def test_strava_unreadable_rows_are_quarantined(tmp_path):
    rows = [list(r) for r in STRAVA_ROWS]
    rows[0][1] = "yesterday morning"
    rows[6][7] = float("nan")  # an empty second Distance
    path = write_strava(tmp_path / "R1" / "activities.csv", rows=rows)
    out = tmp_path / "quarantine.csv"
    with pytest.warns(DataQualityWarning, match="set aside 2 of 8 rows"):
        log = load_training_log(path, on_invalid="quarantine", quarantine_path=out)
    assert log["source_row"].tolist() == [4, 6]
    written = pd.read_csv(out)
    assert written["source_row"].tolist() == [1, 7]
    assert "Activity Date: not a date" in written["reasons"].iloc[0]
    assert "Distance #2: the distance is missing" in written["reasons"].iloc[1]
    check = check_training_log(path)
    assert (len(check.data), len(check.set_aside), len(check.quarantined)) == (2, 4, 2)
    assert_accounted(check)


def test_a_folder_of_strava_exports_takes_runners_from_sub_folders(tmp_path):
    write_strava(tmp_path / "strava" / "R001" / "activities.csv")
    write_strava(tmp_path / "strava" / "R002" / "activities.csv", rows=STRAVA_ROWS[:2])
    (tmp_path / "strava" / "README.md").write_text("exported 2025-07-10")
    check = check_training_log(tmp_path / "strava")
    log = check.data
    assert list(log.columns) == [*COLUMNS[:-1], "source_file", "source_row"]
    assert log.groupby("runner_id").size().to_dict() == {"R001": 4, "R002": 1}
    assert log["source_file"].iloc[-1] == "R002/activities.csv"
    assert check.set_aside["source_file"].tolist().count("R002/activities.csv") == 1
    assert_accounted(check)
    assert any("names of the folders holding them" in note for note in check.notes)


# ---------------------------------------------------------------------------------------------
# Garmin Connect


def test_garmin_distance_needs_its_unit_stated():
    with pytest.raises(DataValidationError, match="display setting") as err:
        load_training_log(DATA / "garmin_Activities.csv")
    assert "mapping={'Distance': ('distance_km', 'km')}" in str(err.value)


def test_garmin_export_with_the_unit_given():
    check = check_training_log(
        DATA / "garmin_Activities.csv", mapping={"Distance": ("distance_km", "km")}
    )
    log = check.data
    assert log["runner_id"].unique().tolist() == ["garmin_Activities"]
    assert log["activity_type"].tolist() == [
        "Track Running",
        "Running",
        "Trail Running",
        "Treadmill Running",
        "Running",
    ]
    assert log["start"].iloc[0] == pd.Timestamp("2025-07-11 18:30")
    np.testing.assert_allclose(log["distance_km"], [6.40, 10.02, 12.40, 8.00, 21.10])
    # Moving Time (h:mm:ss); where it is "--", Time.
    np.testing.assert_allclose(
        log["duration_min"], [27 + 50 / 60, 52 + 13 / 60, 73 + 55 / 60, 44 + 10 / 60, 111 + 40 / 60]
    )
    assert len(check.set_aside) == 3  # swim ("1,500" m), ride, strength ("--")
    assert_accounted(check)


def test_garmin_in_miles_converts():
    log = load_training_log(DATA / "garmin_Activities.csv", mapping={"Distance": "distance_km"})
    miles = load_training_log(
        DATA / "garmin_Activities.csv", mapping={"Distance": ("distance_km", "mi")}
    )
    np.testing.assert_allclose(miles["distance_km"], log["distance_km"] * 1.609344)


def test_thousands_separators_and_dashes_in_a_garmin_export(tmp_path):
    text = (DATA / "garmin_Activities.csv").read_text(encoding="utf-8")
    text = text.replace(
        '"Running","2025-07-20 07:05:12","false","Oslo Running","21.10"',
        '"Running","2025-07-20 07:05:12","false","Oslo Running","21,100"',
    )
    path = write_csv(tmp_path / "R5.csv", text)
    log = load_training_log(path, mapping={"Distance": ("distance_km", "m")})
    assert log["distance_km"].iloc[-1] == pytest.approx(21.1)


# ---------------------------------------------------------------------------------------------
# Long tables, Excel, Parquet, folders


def test_long_csv():
    check = check_training_log(DATA / "long_log.csv")
    log = check.data
    assert list(log.columns) == COLUMNS
    assert log.groupby("runner_id").size().to_dict() == {"R001": 4, "R002": 3, "R003": 2}
    # Sorted by runner, then start (the file's R003 runs are in order already; R001's too).
    resorted = log.sample(frac=1, random_state=1).sort_values(["runner_id", "start"])
    pd.testing.assert_frame_equal(log, resorted.reset_index(drop=True))
    assert check.set_aside["activity_type"].tolist() == ["Walk"]
    assert_accounted(check)


def test_dst_changes_parse_as_local_wall_clock_times():
    log = load_training_log(DATA / "long_log.csv")
    r1 = log[log["runner_id"] == "R001"]["start"].tolist()
    # 2025-03-30 02:30 does not exist in Europe/Berlin; it is kept as exported.
    assert pd.Timestamp("2025-03-30 02:30") in r1
    assert pd.Timestamp("2025-03-30 03:30") in r1
    assert pd.Timestamp("2025-10-26 02:30") in log["start"].tolist()


def test_zoned_times_across_a_dst_change_go_to_utc(tmp_path):
    path = write_csv(
        tmp_path / "log.csv",
        "runner_id,start,distance_km\n"
        "A,2025-10-26T02:30:00+02:00,5\n"
        "A,2025-10-26T02:30:00+01:00,6\n"
        "A,2025-03-30T01:30:00Z,7\n",
    )
    log = load_training_log(path)
    assert log["start"].tolist() == [
        pd.Timestamp("2025-03-30 01:30"),
        pd.Timestamp("2025-10-26 00:30"),
        pd.Timestamp("2025-10-26 01:30"),
    ]
    assert any("UTC" in note for note in log.attrs["notes"])


@pytest.mark.parametrize(
    ("header", "factor"),
    [
        ("distance_km", 1.0),
        ("Distance (mi)", 1.609344),
        ("distance [m]", 0.001),
        ("miles", 1.609344),
    ],
)
def test_distance_units_from_the_header(tmp_path, header, factor):
    path = write_csv(tmp_path / "log.csv", f"athlete id,date,{header}\nA,2025-05-01,10\n")
    log = load_training_log(path)
    assert log["distance_km"].iloc[0] == pytest.approx(10 * factor)


@pytest.mark.parametrize(
    ("header", "value", "minutes"),
    [
        ("duration_min", "45.5", 45.5),
        ("Moving time (s)", "2730", 45.5),
        ("duration (h)", "1,5", 90.0),
        ("duration", "0:45:30", 45.5),
        ("elapsed time", "45:30", 45.5),
    ],
)
def test_duration_units_and_clock_values(tmp_path, header, value, minutes):
    path = write_csv(
        tmp_path / "log.csv",
        f'runner_id,start,distance_km,{header}\nA,2025-05-01 07:00,10,"{value}"\n',
    )
    assert load_training_log(path)["duration_min"].iloc[0] == pytest.approx(minutes)


def test_a_duration_without_unit_is_a_column_problem(tmp_path):
    path = write_csv(
        tmp_path / "log.csv", "runner_id,start,distance_km,duration\nA,2025-05-01,10,45\n"
    )
    with pytest.raises(DataValidationError, match="unit of the duration column"):
        load_training_log(path)
    log = load_training_log(path, mapping={"duration": ("duration_min", "min")})
    assert log["duration_min"].iloc[0] == 45


def test_a_distance_without_unit_is_an_error(tmp_path):
    path = write_csv(tmp_path / "log.csv", "runner_id,start,distance\nA,2025-05-01,10\n")
    with pytest.raises(DataValidationError, match="does not guess") as err:
        load_training_log(path)
    assert err.value.problems["row"].isna().all()
    log = load_training_log(path, mapping={"distance": ("distance_km", "km")})
    assert log["distance_km"].iloc[0] == 10
    # The canonical name states the unit, as for cohorts.
    assert load_training_log(path, mapping={"distance": "distance_km"})["distance_km"][0] == 10


def test_excel_long_table_with_date_cells(tmp_path):
    frame = pd.DataFrame(
        {
            "Runner": ["B", "A", "A"],
            "Start": pd.to_datetime(["2025-05-02 07:00", "2025-05-01 06:00", "2025-05-03 18:00"]),
            "Distance (km)": [5.5, 10.0, 7.25],
        }
    )
    path = tmp_path / "log.xlsx"
    frame.to_excel(path, index=False)
    log = load_training_log(path)
    assert log["runner_id"].tolist() == ["A", "A", "B"]
    assert log["start"].tolist() == [
        pd.Timestamp("2025-05-01 06:00"),
        pd.Timestamp("2025-05-03 18:00"),
        pd.Timestamp("2025-05-02 07:00"),
    ]
    assert log["source_row"].tolist() == [2, 3, 1]
    assert log["duration_min"].isna().all()
    assert log["activity_type"].eq("Run").all()


def test_parquet_long_table_with_a_time_zone(tmp_path):
    frame = pd.DataFrame(
        {
            "runner_id": [101, 101, 102],
            "start_time": pd.to_datetime(
                ["2025-03-29 07:00", "2025-03-31 07:00", "2025-04-01 07:00"]
            ).tz_localize("Europe/Oslo"),
            "distance_km": [8.0, 9.5, 12.0],
        }
    )
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    log = load_training_log(path)
    assert log["runner_id"].tolist() == ["101", "101", "102"]
    # CET (+1) before the change, CEST (+2) after: both to UTC.
    assert log["start"].tolist() == [
        pd.Timestamp("2025-03-29 06:00"),
        pd.Timestamp("2025-03-31 05:00"),
        pd.Timestamp("2025-04-01 05:00"),
    ]
    assert any("Europe/Oslo" in note for note in log.attrs["notes"])


def test_a_folder_of_per_runner_files(tmp_path):
    folder = tmp_path / "logs"
    write_csv(folder / "R001.csv", "date,distance_km\n2025-05-01,5\n2025-05-03,8\n")
    write_csv(folder / "R002.csv", "date,distance_km\n2025-05-02,6\n")
    check = check_training_log(folder)
    assert check.data["runner_id"].tolist() == ["R001", "R001", "R002"]
    assert check.data["source_file"].tolist() == ["R001.csv", "R001.csv", "R002.csv"]
    assert any("file names" in note for note in check.notes)
    assert_accounted(check)


def test_problems_in_a_folder_name_their_file(tmp_path):
    folder = tmp_path / "logs"
    write_csv(folder / "R001.csv", "date,distance_km\n2025-05-01,5\n2025-05-03,-8\n")
    write_csv(folder / "R002.csv", "date,distance_km\n2025-05-02,six\n")
    check = check_training_log(folder)
    assert problems_of(check) == [
        (2, "R001.csv: distance_km", "the distance -8 km is zero or negative"),
        (1, "R002.csv: distance_km", "the distance is not a number"),
    ]
    assert check.quarantined["source_file"].tolist() == ["R001.csv", "R002.csv"]
    assert_accounted(check)


def test_in_a_folder_a_file_with_only_a_header_gives_no_runs_and_is_named(tmp_path):
    folder = tmp_path / "strava"
    write_strava(folder / "R1" / "activities.csv", rows=STRAVA_ROWS[:1])
    write_strava(folder / "R2" / "activities.csv", rows=STRAVA_ROWS[:1])
    write_strava(folder / "R3" / "activities.csv", rows=[])  # no activities yet
    check = check_training_log(folder)
    assert check.data["runner_id"].tolist() == ["R1", "R2"]
    assert "R3/activities.csv: no data rows" in " ".join(check.notes)
    assert len(check.problems) == 0
    assert_accounted(check)
    assert len(load_training_log(folder)) == 2
    # A single file with no rows stays an error; so does a folder of such files only.
    with pytest.raises(DataValidationError, match="no data rows"):
        load_training_log(folder / "R3" / "activities.csv")
    only = tmp_path / "only"
    write_strava(only / "R3" / "activities.csv", rows=[])
    with pytest.raises(DataValidationError, match="holds no runs") as err:
        load_training_log(only)
    assert "R3/activities.csv" in str(err.value)


def test_in_a_folder_an_unreadable_file_is_named_by_its_path_in_the_folder(tmp_path):
    folder = tmp_path / "logs"
    write_csv(folder / "R1" / "activities.csv", "date,distance_km\n2025-05-01,5\n")
    write_csv(folder / "R2" / "activities.csv", "")  # 0 bytes
    write_csv(folder / "R3" / "activities.csv", "   \n")
    with pytest.raises(DataValidationError) as err:
        check_training_log(folder)
    assert err.value.problems["column"].tolist() == ["R2/activities.csv", "R3/activities.csv"]
    assert "R2/activities.csv: the file is empty" in str(err.value)
    assert "R3/activities.csv: the file contains only blank space" in str(err.value)


def test_nested_folders_take_the_runner_from_the_folder_holding_the_file(tmp_path):
    folder = tmp_path / "nested"
    write_strava(folder / "site1" / "R1" / "activities.csv", rows=STRAVA_ROWS[:1])
    write_strava(folder / "site1" / "R2" / "activities.csv", rows=STRAVA_ROWS[:1])
    write_strava(folder / "site2" / "R3" / "Activities.CSV", rows=STRAVA_ROWS[:1])
    log = load_training_log(folder)
    assert log["runner_id"].tolist() == ["R1", "R2", "R3"]
    assert log["source_file"].tolist() == [
        "site1/R1/activities.csv",
        "site1/R2/activities.csv",
        "site2/R3/Activities.CSV",
    ]
    # A file with its own name is its runner, wherever it lies.
    other = tmp_path / "long"
    write_csv(other / "site1" / "R7.csv", "date,distance_km\n2025-05-01,5\n")
    write_csv(other / "site2" / "R8.csv", "date,distance_km\n2025-05-01,5\n")
    assert load_training_log(other)["runner_id"].tolist() == ["R7", "R8"]


def test_two_files_giving_one_runner_id_are_an_error(tmp_path):
    folder = tmp_path / "logs"
    write_csv(folder / "site1" / "R1.csv", "date,distance_km\n2025-05-01,5\n")
    write_csv(folder / "site2" / "R1.csv", "date,distance_km\n2025-05-02,6\n")
    write_csv(folder / "R2.csv", "date,distance_km\n2025-05-02,6\n")
    check = check_training_log(folder)
    assert check.problems["row"].isna().all()
    assert check.problems["column"].tolist() == [
        "site1/R1.csv: runner_id",
        "site2/R1.csv: runner_id",
    ]
    assert (
        "comes from the names of 2 files: site1/R1.csv and site2/R1.csv"
        in (problems_of(check)[0][2])
    )
    assert check.data["runner_id"].tolist() == ["R2"]
    assert_accounted(check)
    with pytest.raises(DataValidationError, match="would be merged"):
        load_training_log(folder, on_invalid="quarantine", quarantine_path=tmp_path / "q.csv")
    # With a runner_id column in the files, their names do not matter.
    ids = tmp_path / "ids"
    write_csv(ids / "site1" / "R1.csv", "runner_id,date,distance_km\nA,2025-05-01,5\n")
    write_csv(ids / "site2" / "R1.csv", "runner_id,date,distance_km\nB,2025-05-02,6\n")
    assert load_training_log(ids)["runner_id"].tolist() == ["A", "B"]


def test_a_strava_bulk_export_folder_reads_only_its_activities(tmp_path):
    folder = tmp_path / "export"
    write_strava(folder / "R1" / "activities.csv", rows=STRAVA_ROWS[:2])
    write_csv(
        folder / "R1" / "profile.csv",
        "Athlete ID,Email Address,First Name,Last Name,Sex,Weight\n"
        "123,ann@example.org,Ann,Lee,F,60\n",
    )
    write_csv(folder / "R1" / "shoes.csv", "Shoe Name,Shoe Brand\nPegasus,Nike\n")
    write_csv(folder / "R1" / "bikes.csv", "Bike Name,Bike Brand\nRoad,Trek\n")
    (folder / "R1" / "activities").mkdir()
    (folder / "R1" / "activities" / "14001.gpx").write_text("<gpx/>")
    check = check_training_log(folder)
    assert check.data["source_file"].tolist() == ["R1/activities.csv"]
    assert len(check.problems) == 0
    assert check.n_input == 2
    assert_accounted(check)
    assert "Skipped 3 other files of activity-export folders" in " ".join(check.notes)
    rows = pd.concat([check.quarantined, check.set_aside]).astype(str)
    assert not rows.apply(lambda c: c.str.contains("ann@example.org|Pegasus")).any().any()
    out = tmp_path / "q.csv"
    load_training_log(folder, on_invalid="quarantine", quarantine_path=out)
    assert not out.exists()


def test_files_beside_a_strava_export_are_skipped_and_other_runners_read(tmp_path):
    folder = tmp_path / "export"
    write_strava(folder / "R9" / "activities.csv", rows=STRAVA_ROWS[:1])
    for i in range(3):
        write_csv(folder / "R9" / f"other{i}.csv", "a,b\n1,2\n")
    write_csv(folder / "R1.csv", "date,distance_km\n2025-05-01,5\n")  # another runner's file
    write_csv(folder / "Olga" / "profile.csv", "Athlete ID,Email Address\n1,o@example.org\n")
    check = check_training_log(folder)
    notes = " ".join(check.notes)
    assert "Skipped 4 other files of activity-export folders" in notes
    assert "other0.csv" not in notes  # paths name runners: counted, not listed
    assert set(check.data["runner_id"]) == {"R1", "R9"}
    assert_accounted(check)


def test_a_folder_without_activity_exports_reads_every_file(tmp_path):
    folder = tmp_path / "logs"
    write_csv(folder / "R1.csv", "date,distance_km\n2025-05-01,5\n")
    write_csv(folder / "notes.csv", "name,comment\nfoo,bar\n")
    check = check_training_log(folder)
    assert {p[1] for p in problems_of(check)} == {"notes.csv: start", "notes.csv: distance_km"}
    assert check.quarantined["source_file"].tolist() == ["notes.csv"]


def test_runner_ids_are_text_and_match_the_injuries_ids():
    from pfps_stats.cohort.injuries import load_injuries

    log = load_training_log(
        pd.DataFrame({"runner_id": [20, 3], "start": ["2025-05-01", "2025-05-02"], "km": [5, 6]})
    )
    injuries = load_injuries(
        pd.DataFrame({"runner_id": ["20"], "onset": ["2025-05-03"], "diagnosis": ["PFP"]})
    )
    assert log["runner_id"].tolist() == ["20", "3"]
    assert pd.api.types.is_string_dtype(log["runner_id"])
    assert set(injuries["runner_id"]) <= set(log["runner_id"])


def test_a_dataframe_is_read_and_not_modified():
    frame = pd.DataFrame(
        {"runner_id": ["A", "A"], "start": ["2025-05-01 07:00", "2025-05-02 07:00"], "km": [5, 6]}
    )
    before = frame.copy()
    log = load_training_log(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert log["distance_km"].tolist() == [5.0, 6.0]


def test_a_dataframe_needs_a_runner_column():
    frame = pd.DataFrame({"start": ["2025-05-01"], "distance_km": [5]})
    with pytest.raises(DataValidationError, match="no column holds the runner id"):
        load_training_log(frame)


# ---------------------------------------------------------------------------------------------
# Bad input: every problem, in one pass

BAD_LOG = (
    "runner_id,start,distance_km,duration_min\n"
    "A,2025-05-01 07:00,10,50\n"  # 1 fine
    "A,,8,40\n"  # 2 missing start
    "A,2025-13-45 07:00,8,40\n"  # 3 unreadable start
    "A,2025-05-02 07:00,,40\n"  # 4 missing distance
    "A,2025-05-03 07:00,ten,40\n"  # 5 not a number
    "A,2025-05-04 07:00,0,40\n"  # 6 zero
    "A,2025-05-05 07:00,-3,40\n"  # 7 negative
    "A,2025-05-06 07:00,251,40\n"  # 8 above 250 km
    "A,2099-05-07 07:00,10,40\n"  # 9 future
    "A,2025-05-01 07:00,10,50\n"  # 10 duplicate of row 1
    "Z,2025-05-08 07:00,10,40\n"  # 11 unknown runner
    ",2025-05-09 07:00,10,40\n"  # 12 missing runner id
    "A,2025-05-10 07:00,10,soon\n"  # 13 unreadable duration
    "A,2025-05-11 07:00,10,-5\n"  # 14 negative duration
    "A,2025-05-12 07:00,12.5,60\n"  # 15 fine
)


def test_every_problem_is_reported_in_one_pass(tmp_path):
    path = write_csv(tmp_path / "bad.csv", BAD_LOG)
    check = check_training_log(path, runners=["A", "B"])
    found = {(row, column): problem for row, column, problem in problems_of(check)}
    expected = {
        (2, "start"): "the start (date) is missing",
        (3, "start"): "not a valid calendar date",
        (4, "distance_km"): "the distance is missing",
        (5, "distance_km"): "the distance is not a number",
        (6, "distance_km"): "the distance 0 km is zero or negative",
        (7, "distance_km"): "the distance -3 km is zero or negative",
        (8, "distance_km"): f"251 km in one run is implausible (above {MAX_RUN_KM:g} km)",
        (9, "start"): "the start 2099-05-07 07:00:00 is in the future",
        (11, "runner_id"): "runner 'Z' is not among the known runners (runners=)",
        (12, "runner_id"): "runner id is missing",
        (13, "duration_min"): "the duration is not a number or h:mm:ss time",
        (14, "duration_min"): "the duration -5 min is negative",
    }
    for key, problem in expected.items():
        assert found.pop(key) == problem
    # The second copy of a session names the first.
    assert found.pop((10, "start")) == (
        "duplicate session: runner 'A' has a run with the same start (2025-05-01 07:00:00) in row 1"
    )
    assert found == {}
    assert check.data["source_row"].tolist() == [1, 15]
    assert_accounted(check)
    assert check.problems["fix"].str.len().gt(0).all()


def test_raise_lists_every_problem(tmp_path):
    path = write_csv(tmp_path / "bad.csv", BAD_LOG)
    with pytest.raises(DataValidationError) as err:
        load_training_log(path, runners=["A"])
    assert len(err.value.problems) == 13
    assert "bad.csv" in str(err.value)
    assert 'on_invalid="quarantine"' in str(err.value)


def test_quarantine_writes_the_rows_with_reasons(tmp_path):
    path = write_csv(tmp_path / "bad.csv", BAD_LOG)
    out = tmp_path / "q" / "quarantine.csv"
    with pytest.warns(DataQualityWarning, match="set aside 13 of 15 rows"):
        log = load_training_log(path, on_invalid="quarantine", quarantine_path=out, runners=["A"])
    assert len(log) == 2
    written = pd.read_csv(out, dtype=str)
    assert written["source_row"].astype(int).tolist() == list(range(2, 15))
    assert list(written.columns[:2]) == ["source_row", "reasons"]
    assert written.loc[0, "reasons"] == "start: the start (date) is missing"


def test_duplicates_keep_the_first_clean_copy(tmp_path):
    path = write_csv(
        tmp_path / "log.csv",
        "runner_id,start,distance_km\n"
        "A,2025-05-01 07:00,-1\n"  # bad: quarantined for its distance
        "A,2025-05-01 07:00,10\n"  # the first clean copy: kept
        "A,2025-05-01 07:00,10\n"  # duplicate of row 2
        "B,2025-05-01 07:00,10\n",  # another runner: not a duplicate
    )
    check = check_training_log(path)
    assert check.data["source_row"].tolist() == [2, 4]
    assert problems_of(check)[-1][0] == 3
    assert "in row 2" in problems_of(check)[-1][2]


def test_date_only_runs_on_one_day_are_duplicates_only_with_the_same_distance(tmp_path):
    path = write_csv(
        tmp_path / "log.csv",
        "runner_id,date,distance_km\nA,2025-05-01,5\nA,2025-05-01,8\nA,2025-05-01,5\n",
    )
    check = check_training_log(path)
    assert check.data["distance_km"].tolist() == [5.0, 8.0]
    assert [p[0] for p in problems_of(check)] == [3]
    assert "same date and distance" in problems_of(check)[0][2]
    assert check.data["start"].tolist() == [
        pd.Timestamp("2025-05-01 00:00:00"),
        pd.Timestamp("2025-05-01 00:00:01"),
    ]


def test_date_only_runs_of_a_runner_on_one_date_start_1_s_apart_in_file_order(tmp_path):
    path = write_csv(
        tmp_path / "log.csv",
        "runner_id,date,distance_km\n"
        "A,2025-03-01,10\n"  # 1: A's first run that day, 00:00:00
        "B,2025-03-01,4\n"  # 2: B's only run that day, midnight
        "A,2025-03-01,-1\n"  # 3: quarantined, not counted
        "A,2025-03-01,5\n"  # 4: A's second, 00:00:01
        "A,2025-03-03,6\n"  # 5: A's only run that day, midnight
        "A,2025-03-01,12\n",  # 6: A's third, 00:00:02
    )
    check = check_training_log(path)
    log = check.data
    assert log["source_row"].tolist() == [1, 4, 6, 5, 2]
    assert log["start"].tolist() == [
        pd.Timestamp("2025-03-01 00:00:00"),
        pd.Timestamp("2025-03-01 00:00:01"),
        pd.Timestamp("2025-03-01 00:00:02"),
        pd.Timestamp("2025-03-03"),
        pd.Timestamp("2025-03-01"),
    ]
    assert not log.duplicated(["runner_id", "start"]).any()
    assert (
        "3 runs share their date with another run of the same runner (1 runner-day): the "
        "source gives no times; runs of one runner on one date are ordered as in the file, 1 s "
        "apart" in " ".join(check.notes)
    )
    assert_accounted(check)


def test_date_only_runs_on_one_date_go_through_the_exposures(tmp_path):
    from pfps_stats.exposures.sessions import session_exposures
    from pfps_stats.exposures.weeks import weekly_exposures

    path = write_csv(
        tmp_path / "log.csv",
        "runner_id,date,distance_km\nA,2025-03-01,5\nA,2025-03-01,10\nA,2025-03-03,6\n"
        "B,2025-03-02,4\n",
    )
    log = load_training_log(path)
    sessions = session_exposures(log)
    # The second run of 2025-03-01 counts the first as its past (the file's order).
    assert sessions["longest_30d_km"].tolist()[:3] == pytest.approx(
        [np.nan, 5.0, 10.0], nan_ok=True
    )
    assert weekly_exposures(log)["weekly_km"].sum() == pytest.approx(25.0)


def test_times_of_day_are_kept_as_given(tmp_path):
    path = write_csv(
        tmp_path / "log.csv",
        "runner_id,start,distance_km\nA,2025-03-01 00:00,5\nA,2025-03-01 07:00,10\n",
    )
    log = load_training_log(path)
    assert log["start"].dt.strftime("%H:%M:%S").tolist() == ["00:00:00", "07:00:00"]
    assert not any("1 s apart" in note for note in log.attrs["notes"])


@pytest.mark.parametrize("dayfirst", [None, True, False])
def test_ambiguous_day_month_dates(tmp_path, dayfirst):
    path = write_csv(
        tmp_path / "log.csv", "runner_id,start,distance_km\nA,03/04/2025 07:00,5\nA,05/05/2025,6\n"
    )
    if dayfirst is None:
        with pytest.raises(DataValidationError, match="dayfirst=True") as err:
            load_training_log(path)
        assert err.value.problems["row"].isna().all()
        with pytest.raises(DataValidationError, match="both as day/month"):
            load_training_log(path, on_invalid="quarantine", quarantine_path=tmp_path / "q.csv")
        check = check_training_log(path)
        assert len(check.quarantined) == 2
        assert len(check.data) == 0
        assert_accounted(check)
    else:
        log = load_training_log(path, dayfirst=dayfirst)
        expected = "2025-04-03 07:00" if dayfirst else "2025-03-04 07:00"
        assert log["start"].iloc[0] == pd.Timestamp(expected)


def test_a_day_above_12_decides_the_order(tmp_path):
    path = write_csv(
        tmp_path / "log.csv", "runner_id,start,distance_km\nA,03/04/2025,5\nA,13/04/2025,6\n"
    )
    log = load_training_log(path)
    assert log["start"].tolist() == [pd.Timestamp("2025-04-03"), pd.Timestamp("2025-04-13")]
    assert any("day first" in note for note in log.attrs["notes"])


def test_both_orders_in_one_column_is_an_error(tmp_path):
    path = write_csv(
        tmp_path / "log.csv", "runner_id,start,distance_km\nA,13/04/2025,5\nA,04/14/2025,6\n"
    )
    with pytest.raises(DataValidationError, match="both day/month orders"):
        load_training_log(path)
    check = check_training_log(path, dayfirst=True)
    assert problems_of(check) == [
        (2, "start", "not a valid date when read day first (dayfirst=True)")
    ]


def test_a_log_with_no_runs_is_a_clear_error(tmp_path):
    path = write_strava(tmp_path / "R1" / "activities.csv", rows=[STRAVA_ROWS[1], STRAVA_ROWS[2]])
    with pytest.raises(DataValidationError, match="the log has no runs") as err:
        load_training_log(path, on_invalid="quarantine", quarantine_path=tmp_path / "q.csv")
    assert "activity_types" in str(err.value)
    check = check_training_log(path)
    assert len(check.set_aside) == 2
    assert_accounted(check)


def test_a_log_whose_runs_all_fail_is_an_error_even_in_quarantine(tmp_path):
    path = write_csv(tmp_path / "log.csv", "runner_id,start,distance_km\nA,2025-05-01,-1\n")
    with pytest.raises(DataValidationError, match="no run passed validation"):
        load_training_log(path, on_invalid="quarantine", quarantine_path=tmp_path / "q.csv")


def test_a_single_run_and_all_runs_on_one_day(tmp_path):
    one = write_csv(tmp_path / "one.csv", "runner_id,start,distance_km\nA,2025-05-01 07:00,5\n")
    assert len(load_training_log(one)) == 1
    day = write_csv(
        tmp_path / "day.csv",
        "runner_id,start,distance_km\nA,2025-05-01 18:00,5\nA,2025-05-01 07:00,6\n"
        "A,2025-05-01 12:00,3\n",
    )
    log = load_training_log(day)
    assert log["start"].dt.hour.tolist() == [7, 12, 18]
    assert log["source_row"].tolist() == [2, 3, 1]


def test_missing_activity_type_is_a_problem(tmp_path):
    path = write_csv(
        tmp_path / "log.csv",
        "runner_id,start,distance_km,type\nA,2025-05-01,5,Run\nA,2025-05-02,6,\n",
    )
    check = check_training_log(path)
    assert problems_of(check) == [
        (2, "type", "the activity type is missing, so it is not known whether this was a run")
    ]


def test_missing_columns_are_reported_together(tmp_path):
    path = write_csv(tmp_path / "log.csv", "who,when,how far\nA,2025-05-01,5\n")
    with pytest.raises(DataValidationError) as err:
        load_training_log(path)
    problems = err.value.problems["problem"].tolist()
    assert any("no column holds the start" in p for p in problems)
    assert any("no column holds the distance" in p for p in problems)
    # A single file gives a runner id from its name, so that is not a problem.
    assert not any("runner id" in p for p in problems)


def test_two_columns_for_one_thing(tmp_path):
    path = write_csv(
        tmp_path / "log.csv", "runner_id,date,start_time,distance_km\nA,2025-05-01,07:00,5\n"
    )
    with pytest.raises(DataValidationError, match="2 columns hold start"):
        load_training_log(path)
    log = load_training_log(path, mapping={"start_time": None})
    assert log["start"].iloc[0] == pd.Timestamp("2025-05-01")


def test_mapping_problems(tmp_path):
    path = write_csv(tmp_path / "log.csv", "runner_id,start,distance_km\nA,2025-05-01,5\n")
    with pytest.raises(DataValidationError, match="not in the data. Did you mean 'start'"):
        load_training_log(path, mapping={"strat": "start"})
    with pytest.raises(DataValidationError, match="not a training-log column"):
        load_training_log(path, mapping={"start": "start_date"})
    with pytest.raises(DataValidationError, match="not a distance unit"):
        load_training_log(path, mapping={"distance_km": ("distance_km", "furlong")})


def test_unreadable_sources(tmp_path):
    header_only = write_csv(tmp_path / "h.csv", "runner_id,start,distance_km\n")
    with pytest.raises(DataValidationError, match="no data rows"):
        load_training_log(header_only)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataValidationError, match="holds no training-log files"):
        load_training_log(tmp_path / "empty")
    with pytest.raises(DataValidationError, match="file not found"):
        load_training_log(tmp_path / "missing.csv")


def test_bad_quarantine_arguments(tmp_path):
    folder = tmp_path / "logs"
    write_csv(folder / "R1.csv", "date,distance_km\n2025-05-01,-5\n")
    with pytest.raises(ValueError, match="inside the input folder"):
        load_training_log(folder, on_invalid="quarantine", quarantine_path=folder / "q.csv")
    with pytest.raises(ValueError, match="needs quarantine_path"):
        load_training_log(folder, on_invalid="quarantine")
    with pytest.raises(ValueError, match='must be "raise" or "quarantine"'):
        load_training_log(folder, on_invalid="drop")
    path = folder / "R1.csv"
    with pytest.raises(ValueError, match="is the input file"):
        load_training_log(path, on_invalid="quarantine", quarantine_path=path)


def test_counts_add_up_for_a_messy_export(tmp_path):
    rows = [list(r) for r in STRAVA_ROWS] + [list(r) for r in STRAVA_ROWS[:3]]
    rows[1][1] = "garbage"  # a ride with a bad date: set aside, not quarantined
    rows[4][7] = 10**6  # a walk of 1000 km: set aside
    rows[6][7] = 300_000.0  # a 300 km run: quarantined
    path = write_strava(tmp_path / "R1" / "activities.csv", rows=rows)
    check = check_training_log(path)
    assert check.summary()["n_input"] == 11
    assert (len(check.data), len(check.set_aside), len(check.quarantined)) == (3, 6, 2)
    assert_accounted(check)
    assert any("not a run" in r for r in check.set_aside["reasons"])


def test_header_detection():
    assert looks_like_training_log(STRAVA_HEADER)
    assert looks_like_training_log(["athlete id", "date", "Distance (mi)"])
    assert not looks_like_training_log(["runner_id", "pfp", "weekly_km", "age"])


def test_future_tolerates_time_zones_ahead_of_utc(tmp_path):
    soon = (pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(hours=10)).floor("s")
    path = write_csv(tmp_path / "log.csv", f"runner_id,start,distance_km\nA,{soon},5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_training_log(path)) == 1


def test_a_row_with_a_value_beyond_the_header_is_quarantined_whole(tmp_path):
    path = write_csv(
        tmp_path / "log.csv",
        "runner_id,start,distance_km\nA,2025-05-01,5\nA,2025-05-02,5,5\nA,2025-05-03,6\n",
    )
    check = check_training_log(path)
    assert check.data["source_row"].tolist() == [1, 3]
    assert problems_of(check)[0][:2] == (2, "(no header)")
    assert "the row has 4 fields" in check.quarantined["reasons"].iloc[0]
    assert_accounted(check)


def test_a_mapping_onto_a_recognised_column_is_a_clash(tmp_path):
    path = write_csv(
        tmp_path / "log.csv", "runner_id,start,distance_km,dist_mi\nA,2025-05-01,8.05,5\n"
    )
    with pytest.raises(DataValidationError, match="2 columns hold distance_km"):
        load_training_log(path, mapping={"dist_mi": ("distance_km", "mi")})
    log = load_training_log(path, mapping={"dist_mi": ("distance_km", "mi"), "distance_km": None})
    assert log["distance_km"].iloc[0] == pytest.approx(5 * 1.609344)
