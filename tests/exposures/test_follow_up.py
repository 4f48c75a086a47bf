"""Time at risk: each way it can end, on hand-made logs and injuries with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pfps_stats import DataValidationError
from pfps_stats.exposures.follow_up import END_REASONS, follow_up
from pfps_stats.exposures.sessions import session_exposures
from pfps_stats.exposures.weeks import weekly_exposures

H = 1 / 24  # one hour in days


def make_injuries(rows) -> pd.DataFrame:
    """Injuries in ps.load_injuries' form from (runner, onset, pfp, follow_up_end) tuples."""
    inj = pd.DataFrame(rows, columns=["runner_id", "onset", "pfp", "follow_up_end"])
    for column in ("onset", "follow_up_end"):
        inj[column] = pd.to_datetime(inj[column]).astype("datetime64[us]")
    inj["pfp"] = inj["pfp"].astype(bool)
    diagnosis = np.where(inj["pfp"], "patellofemoral pain", "ankle sprain")
    inj.insert(2, "diagnosis", np.where(inj["onset"].isna(), None, diagnosis))  # follow-up only
    inj["source_row"] = np.arange(1, len(inj) + 1)
    return inj


@pytest.fixture
def log(make_log) -> pd.DataFrame:
    """2025-03-03 is a Monday; every runner's first run is on it at 08:00."""
    return make_log(
        [
            # p: PFP onset on Friday 7 March, a run day
            ("p", "2025-03-03 08:00", 10.0),
            ("p", "2025-03-05 18:00", 8.0),
            ("p", "2025-03-07 07:00", 12.0),
            ("p", "2025-03-07 19:00", 5.0),  # the evening of the onset day: before the onset
            ("p", "2025-03-08 08:00", 9.0),  # after it: left out
            # o: another injury on 12 March censors
            ("o", "2025-03-03 08:00", 10.0),
            ("o", "2025-03-10 08:00", 10.0),
            ("o", "2025-03-20 08:00", 10.0),
            # b: a PFP before the first run is not counted
            ("b", "2025-03-03 08:00", 10.0),
            ("b", "2025-03-04 08:00", 10.0),
            # f: follow-up ends on 10 March; a PFP on 11 March is not counted
            ("f", "2025-03-03 08:00", 10.0),
            ("f", "2025-03-06 08:00", 10.0),
            # l: no follow_up_end, a PFP on 20 March, after the last run: counted
            ("l", "2025-03-03 08:00", 10.0),
            ("l", "2025-03-04 08:00", 10.0),
            # n: no injury
            ("n", "2025-03-03 08:00", 10.0),
            ("n", "2025-03-05 08:00", 10.0),
        ]
    )


@pytest.fixture
def injuries() -> pd.DataFrame:
    return make_injuries(
        [
            ("p", "2025-03-07", True, None),
            ("p", "2025-03-09", False, None),  # after the end of time at risk
            ("o", "2025-03-12", False, None),
            ("b", "2025-03-01", True, None),
            ("f", "2025-03-11", True, "2025-03-10"),
            ("l", "2025-03-20", True, None),
            ("x", "2025-03-05", True, None),  # absent from the log
        ]
    )


def test_where_time_at_risk_ends(log, injuries):
    out = session_exposures(log, injuries)
    risk = follow_up(
        out.groupby("runner_id", sort=False)["start"].min(),
        out.groupby("runner_id", sort=False)["start"].max(),
        injuries,
    )
    assert risk.index.tolist() == ["p", "o", "b", "f", "l", "n"]
    assert risk["end"].dt.strftime("%m-%d %H:%M").tolist() == [
        "03-08 00:00",  # end of the PFP onset day
        "03-13 00:00",  # end of the other injury's day
        "03-05 00:00",  # end of the last run's day (the injury before the first run ignored)
        "03-11 00:00",  # end of the follow_up_end day
        "03-21 00:00",  # the PFP after the last run
        "03-06 00:00",  # end of the last run's day
    ]
    assert risk["end_reason"].astype(str).tolist() == [
        "pfp",
        "other injury",
        "end of follow-up",
        "end of follow-up",
        "pfp",
        "end of follow-up",
    ]
    np.testing.assert_allclose(risk["end_day"], [4 + 16 * H, 9 + 16 * H, 1 + 16 * H, 7 + 16 * H,
                                                 17 + 16 * H, 2 + 16 * H])  # fmt: skip
    assert list(END_REASONS) == ["pfp", "other injury", "end of follow-up"]


def test_session_rows_pfp_on_a_run_day(log, injuries):
    out = session_exposures(log, injuries)
    p = out[out["runner_id"] == "p"]
    assert p["distance_km"].tolist() == [10.0, 8.0, 12.0, 5.0]  # the run on 8 March is out
    np.testing.assert_allclose(p["start_day"], [0, 2 + 10 * H, 3 + 23 * H, 4 + 11 * H])
    np.testing.assert_allclose(p["stop_day"], [2 + 10 * H, 3 + 23 * H, 4 + 11 * H, 4 + 16 * H])
    assert p["event"].tolist() == [0, 0, 0, 1]
    assert p["end_reason"].isna().tolist() == [True, True, True, False]
    assert p["end_reason"].iloc[-1] == "pfp"
    # the spike of the run on the onset day's evening is computed as usual
    assert p["longest_30d_km"].iloc[-1] == 12.0


def test_session_rows_for_every_other_end(log, injuries):
    out = session_exposures(log, injuries)
    by = {r: g for r, g in out.groupby("runner_id", sort=False)}
    assert by["o"]["distance_km"].size == 2
    assert by["o"]["event"].sum() == 0
    assert by["o"]["end_reason"].iloc[-1] == "other injury"
    np.testing.assert_allclose(by["o"]["stop_day"], [7, 9 + 16 * H])
    assert by["b"]["event"].sum() == 0
    assert by["b"]["end_reason"].iloc[-1] == "end of follow-up"
    np.testing.assert_allclose(by["f"]["stop_day"], [3, 7 + 16 * H])
    assert by["f"]["event"].sum() == 0
    np.testing.assert_allclose(by["l"]["stop_day"], [1, 17 + 16 * H])
    assert by["l"]["event"].tolist() == [0, 1]
    np.testing.assert_allclose(by["n"]["stop_day"], [2, 2 + 16 * H])


def test_events_person_time_and_notes(log, injuries):
    out = session_exposures(log, injuries)
    assert (out["stop_day"] > out["start_day"]).all()
    assert out.groupby("runner_id", sort=False)["event"].sum().tolist() == [1, 0, 0, 0, 1, 0]
    assert out["end_reason"].notna().sum() == 6  # one per runner, on its last row
    last = out.groupby("runner_id", sort=False).tail(1)
    assert last["end_reason"].notna().all()
    # person-time of each runner = its end of time at risk - 0
    person_days = (out["stop_day"] - out["start_day"]).groupby(out["runner_id"], sort=False).sum()
    np.testing.assert_allclose(
        person_days, [4 + 16 * H, 9 + 16 * H, 1 + 16 * H, 7 + 16 * H, 17 + 16 * H, 2 + 16 * H]
    )
    counts = out.attrs["counts"]
    assert counts["events"] == 2
    assert counts["censored_other_injury"] == 1
    assert counts["censored_end_of_follow_up"] == 3
    assert counts["injuries_absent_runner"] == 1
    assert counts["injuries_before_first_run"] == 1
    assert counts["injuries_after_follow_up_end"] == 1
    assert counts["injuries_after_last_run_counted"] == 1
    assert counts["injuries_after_end_of_risk"] == 1
    assert counts["runners_without_injury"] == 3
    assert counts["runs_after_end_of_risk"] == 2  # p's run on 8 March, o's on 20 March
    missing = out["session_state"].isna()
    assert counts["runs_missing_session_state"] == missing.sum() == 6
    np.testing.assert_allclose(
        counts["person_days_missing_session_state"],
        (out["stop_day"] - out["start_day"])[missing].sum(),
    )
    notes = "\n".join(out.attrs["notes"])
    for text in (
        "1 runner of the injuries table absent from the training log (x): their 1 injury not",
        "before the runner's first run not counted (b)",
        "after the runner's follow_up_end not counted (f)",
        "after the runner's last run counted",
        "3 runners without an injury",
        "2 runs at or after the end",
        "person-days not at risk for this exposure",
    ):
        assert text in notes, text


def test_week_rows(log, injuries):
    out = weekly_exposures(log, injuries)
    by = {r: g for r, g in out.groupby("runner_id", sort=False)}
    p = by["p"]  # one week: only runs before the onset count (not Saturday's 9 km)
    assert p["weekly_km"].tolist() == [35.0]
    assert p["n_runs"].tolist() == [4]
    np.testing.assert_allclose(p[["start_day", "stop_day"]].to_numpy(), [[0, 4 + 16 * H]])
    assert p["event"].tolist() == [1]
    o = by["o"]  # the week of 17 March (20 March's run) is after the end: left out
    assert o["weekly_km"].tolist() == [10.0, 10.0]
    np.testing.assert_allclose(o["stop_day"], [7 - 8 * H, 9 + 16 * H])
    assert o["event"].sum() == 0
    assert o["end_reason"].iloc[-1] == "other injury"
    f = by["f"]  # follow-up to Monday 10 March: a second week of one day, 0 km
    assert f["weekly_km"].tolist() == [20.0, 0.0]
    np.testing.assert_allclose(f[["start_day", "stop_day"]].to_numpy()[1], [7 - 8 * H, 7 + 16 * H])
    l_ = by["l"]  # followed to the PFP on 20 March: two weeks without running added
    assert l_["week"].dt.strftime("%m-%d").tolist() == ["03-03", "03-10", "03-17"]
    assert l_["weekly_km"].tolist() == [20.0, 0.0, 0.0]
    assert l_["event"].tolist() == [0, 0, 1]
    assert by["n"]["weekly_km"].tolist() == [20.0]
    person_days = (out["stop_day"] - out["start_day"]).groupby(out["runner_id"], sort=False).sum()
    np.testing.assert_allclose(
        person_days, [4 + 16 * H, 9 + 16 * H, 1 + 16 * H, 7 + 16 * H, 17 + 16 * H, 2 + 16 * H]
    )
    counts = out.attrs["counts"]
    assert counts["runs_after_end_of_risk"] == 2
    assert counts["weeks_after_end_of_risk"] == 1  # o's week of 17 March
    assert counts["events"] == 2
    assert out["end_reason"].notna().sum() == 6


def test_onset_on_the_first_run_day_and_ties(make_log):
    log = make_log(
        [
            ("s", "2025-03-03 08:00", 10.0),  # PFP the same day: the run counts before it
            ("s", "2025-03-05 08:00", 10.0),
            ("t", "2025-03-03 08:00", 10.0),  # PFP and another injury the same day
            ("t", "2025-03-05 08:00", 10.0),
            ("g", "2025-03-03 08:00", 10.0),  # PFP on the follow_up_end day
        ]
    )
    injuries = make_injuries(
        [
            ("s", "2025-03-03", True, None),
            ("t", "2025-03-04", False, None),
            ("t", "2025-03-04", True, None),
            ("g", "2025-03-10", True, "2025-03-10"),
        ]
    )
    out = session_exposures(log, injuries)
    assert out["runner_id"].tolist() == ["s", "t", "g"]
    np.testing.assert_allclose(out["stop_day"], [16 * H, 1 + 16 * H, 7 + 16 * H])
    assert out["event"].tolist() == [1, 1, 1]
    assert out.attrs["counts"]["injuries_after_end_of_risk"] == 1  # t's other injury


def test_follow_up_end_before_the_first_run_or_before_the_last(make_log):
    log = make_log(
        [
            ("e", "2025-03-03 08:00", 10.0),
            ("d", "2025-03-03 08:00", 10.0),
            ("d", "2025-03-05 08:00", 10.0),
            ("d", "2025-03-20 08:00", 10.0),
        ]
    )
    injuries = make_injuries(
        [  # follow-up only; "ghost" never logged a run
            ("e", None, False, "2025-03-02"),
            ("d", None, False, "2025-03-05"),
            ("ghost", None, False, "2025-03-05"),
        ]
    )
    out = session_exposures(log, injuries)
    assert out["runner_id"].tolist() == ["d", "d"]
    np.testing.assert_allclose(out["stop_day"], [2, 2 + 16 * H])
    assert out["end_reason"].iloc[-1] == "end of follow-up"
    counts = out.attrs["counts"]
    assert counts["runners_without_time_at_risk"] == 1
    assert counts["runners_absent_from_log"] == 1
    assert counts["injuries_absent_runner"] == 0
    assert counts["runs_after_end_of_risk"] == 2
    assert "have no time at risk; their runs are left out (e)" in "\n".join(out.attrs["notes"])
    weeks = weekly_exposures(log, injuries)
    assert weeks["runner_id"].tolist() == ["d"]
    assert weeks["weekly_km"].tolist() == [20.0]
    assert weeks.attrs["counts"]["weeks_after_end_of_risk"] == 3  # d's 2 weeks, e's 1


def test_the_inputs_are_not_modified(log, injuries):
    log_before, injuries_before = log.copy(deep=True), injuries.copy(deep=True)
    session_exposures(log, injuries)
    weekly_exposures(log, injuries)
    pd.testing.assert_frame_equal(log, log_before)
    pd.testing.assert_frame_equal(injuries, injuries_before)


def test_integer_runner_ids_match_across_the_two_frames(make_log):
    log = make_log([(1, "2025-03-03 08:00", 10.0), (2, "2025-03-03 08:00", 10.0)])
    out = session_exposures(log, make_injuries([(2, "2025-03-04", True, None)]))
    assert out["event"].tolist() == [0, 1]


def test_pfp_may_be_true_false_objects_or_one_zero(log, injuries):
    expected = session_exposures(log, injuries)["event"]
    for pfp in (injuries["pfp"].astype(object), injuries["pfp"].astype(int)):
        out = session_exposures(log, injuries.assign(pfp=pfp))
        pd.testing.assert_series_equal(out["event"], expected)


# -- bad injuries ------------------------------------------------------------------------------


def test_injuries_without_the_needed_columns(log, injuries):
    with pytest.raises(DataValidationError, match="load_injuries") as excinfo:
        session_exposures(log, injuries.drop(columns=["pfp", "onset"]))
    assert excinfo.value.problems["column"].tolist() == ["onset", "pfp"]
    with pytest.raises(TypeError, match="load_injuries"):
        weekly_exposures(log, "injuries.csv")


def test_bad_injury_values_are_listed_with_their_rows(log, injuries):
    bad = injuries.copy()
    bad["pfp"] = bad["pfp"].astype(object)
    bad.loc[1, "pfp"] = None
    bad.loc[2, "follow_up_end"] = pd.Timestamp("2025-04-01")  # o gets a second follow-up end
    bad = pd.concat([bad, make_injuries([("o", None, True, None)])], ignore_index=True)
    bad["source_row"] = np.arange(1, len(bad) + 1)
    bad["pfp"] = bad["pfp"].astype(float)
    with pytest.raises(DataValidationError) as excinfo:
        session_exposures(log, bad)
    problems = excinfo.value.problems
    assert list(zip(problems["row"], problems["column"], strict=True)) == [
        (2, "pfp"),
        (8, "onset"),
    ]
    bad = injuries.copy()
    bad.loc[[0, 1], "follow_up_end"] = [pd.Timestamp("2025-04-01"), pd.Timestamp("2025-04-02")]
    with pytest.raises(DataValidationError, match="more than one follow_up_end") as excinfo:
        session_exposures(log, bad)
    assert excinfo.value.problems["row"].tolist() == [1, 2]
    with pytest.raises(DataValidationError, match="True/False") as excinfo:
        session_exposures(log, injuries.assign(pfp=injuries["diagnosis"]))
    assert excinfo.value.problems["row"].tolist() == list(range(1, 8))
    undated = injuries.assign(onset=injuries["onset"].where(injuries["runner_id"] != "o"))
    with pytest.raises(DataValidationError, match="without an onset date") as excinfo:
        session_exposures(log, undated)  # o's other injury has no date
    assert excinfo.value.problems["row"].tolist() == [3]
    aware = injuries.assign(onset=injuries["onset"].dt.tz_localize("UTC"))
    with pytest.raises(DataValidationError, match="time zone"):
        session_exposures(log, aware)


def test_runner_ids_that_match_nothing_are_an_error(log, injuries):
    with pytest.raises(DataValidationError, match="none of the 6 runners"):
        session_exposures(log, injuries.assign(runner_id=injuries["runner_id"] + "_"))


def test_an_injury_after_the_last_run_before_follow_up_end_is_counted_and_said(make_log):
    log = make_log([("a", "2025-01-06 08:00", 5.0), ("a", "2025-01-09 08:00", 6.0)])
    injuries = make_injuries([("a", "2025-05-01", True, "2025-06-30")])
    rows = session_exposures(log, injuries)
    assert rows["event"].tolist() == [0, 1]
    # the last run's state holds from its start to the end of the onset day
    onset_end = (pd.Timestamp("2025-05-02") - pd.Timestamp("2025-01-06 08:00")) / pd.Timedelta(
        days=1
    )
    assert rows["stop_day"].iloc[-1] == pytest.approx(onset_end)
    assert rows.attrs["counts"]["injuries_after_last_run_counted"] == 1
    assert any("after the runner's last run (and before" in n for n in rows.attrs["notes"])
