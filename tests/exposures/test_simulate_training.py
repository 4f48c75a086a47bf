"""simulate_training: SYNTHETIC logs and injuries in the loaders' formats, realistic, with
onsets drawn from the stated hazard; the shipped demo files are what the documented command
makes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pfps_stats.cohort.injuries import load_injuries
from pfps_stats.cohort.synthetic import DEMO_COHORT, PROFILES, is_synthetic, simulate_cohort
from pfps_stats.cohort.training_log import check_training_log, load_training_log
from pfps_stats.exposures.sessions import session_exposures
from pfps_stats.exposures.states import SPIKE_STATES, spike_state
from pfps_stats.exposures.synthetic import (
    DEMO_INJURIES,
    DEMO_TRAINING_LOG,
    DEMO_TRAINING_RUNNERS,
    FRANDSEN_2025_HAZARD_RATIOS,
    OTHER_DIAGNOSES,
    demo_training,
    load_demo_training,
    simulate_training,
    write_demo_training,
)

LOG_COLUMNS = ["runner_id", "start", "distance_km", "duration_min", "activity_type", "source_row"]
INJURY_COLUMNS = ["runner_id", "onset", "diagnosis", "pfp", "follow_up_end", "source_row"]
SPIKES = list(SPIKE_STATES[1:])
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def year():
    """400 runners over a year, default truth, with other injuries."""
    return simulate_training(400, 52, other_injury_hazard=4e-4, seed=11)


def test_frames_have_the_loaders_columns_and_types(year):
    log, injuries = year
    assert list(log.columns) == [*LOG_COLUMNS, "data_source"]
    assert list(injuries.columns) == [*INJURY_COLUMNS, "data_source"]
    assert log["start"].dtype == "datetime64[ns]"
    assert injuries["onset"].dtype == injuries["follow_up_end"].dtype == "datetime64[ns]"
    assert injuries["pfp"].dtype == bool
    assert log["source_row"].tolist() == list(range(1, len(log) + 1))
    assert isinstance(log.index, pd.RangeIndex)
    # sorted by runner then start, as load_training_log returns it; one row per runner
    assert log.equals(log.sort_values(["runner_id", "start"], ignore_index=True))
    assert injuries["runner_id"].is_unique
    assert injuries["runner_id"].is_monotonic_increasing
    assert set(log["runner_id"]) == set(injuries["runner_id"])
    # onsets at midnight; follow-up ends on the last day of the 52 weeks for everybody
    assert (injuries["onset"].dropna() == injuries["onset"].dropna().dt.normalize()).all()
    assert (injuries["follow_up_end"] == pd.Timestamp("2025-01-06") + 52 * 7 * DAY - DAY).all()
    # a row without onset carries only the follow-up end
    no_onset = injuries["onset"].isna()
    assert injuries.loc[no_onset, "diagnosis"].isna().all()
    assert not injuries.loc[no_onset, "pfp"].any()


def test_same_seed_same_data_and_labelled_synthetic():
    a = simulate_training(30, 10, seed=3, other_injury_hazard=1e-3)
    b = simulate_training(30, 10, seed=3, other_injury_hazard=1e-3)
    c = simulate_training(30, 10, seed=4, other_injury_hazard=1e-3)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert not a[0]["distance_km"].equals(c[0]["distance_km"])
    for frame in a:
        assert is_synthetic(frame)
        assert (frame["data_source"] == "SYNTHETIC").all()
        assert frame["runner_id"].str.match(r"^SYN-\d{4}$").all()
        assert frame.attrs["truth"]["synthetic"] is True
        assert frame.attrs["truth"]["hazard_ratios"] == FRANDSEN_2025_HAZARD_RATIOS
        assert "SYNTHETIC" in frame.attrs["notes"][0]


def test_ids_sort_as_numbers_beyond_9999_runners():
    log, injuries = simulate_training(10_001, 1, seed=1)
    assert injuries["runner_id"].iloc[[0, -1]].tolist() == ["SYN-00001", "SYN-10001"]
    assert log["runner_id"].is_monotonic_increasing


def test_subgroup_ids_join_the_same_subgroups_synthetic_cohort():
    log, injuries = simulate_training(40, 4, subgroup="military", seed=2)
    cohort = simulate_cohort(40, subgroup="military", seed=2)
    assert injuries["runner_id"].tolist() == cohort["runner_id"].tolist()
    assert log.attrs["truth"]["subgroup"] == "military"


def test_the_log_looks_like_running(year):
    log, injuries = year
    day = log["start"].dt.normalize()
    assert not pd.concat([log["runner_id"], day], axis=1).duplicated().any()  # one run a day
    week = (day - pd.Timestamp("2025-01-06")) // pd.Timedelta(weeks=1)
    runs = log.groupby([log["runner_id"], week]).size()
    # whole weeks only: the week of a runner's onset may be cut short
    ended = injuries.set_index("runner_id")["onset"].dropna()
    ended_week = (ended - pd.Timestamp("2025-01-06")) // pd.Timedelta(weeks=1)
    cut = set(zip(ended_week.index, ended_week, strict=True))
    whole = [key not in cut for key in runs.index]
    assert runs[whole].between(3, 5).all()
    assert (runs[whole] == 4).mean() > 0.2
    assert log["distance_km"].between(1, 60).all()
    assert (log["distance_km"] == log["distance_km"].round(2)).all()
    pace = log["duration_min"] / log["distance_km"]
    assert pace.between(4.49, 7.01).all()
    hour = log["start"].dt.hour + log["start"].dt.minute / 60
    assert hour.between(5, 21.5).all()
    assert (hour < 12).mean() > 0.3
    assert (hour > 15).mean() > 0.2
    # the longest run of a week is mostly on the weekend
    longest = log.loc[log.groupby([log["runner_id"], week])["distance_km"].idxmax(), "start"]
    assert (longest.dt.day_of_week >= 5).mean() > 0.7
    # weekly distance around the subgroup's (recreational, PMID 29387447: 31.5 km/week)
    weekly = log.groupby([log["runner_id"], week])["distance_km"].sum()
    assert 25 < weekly.mean() < 40


def test_every_spike_state_is_populated(year):
    log, _ = year
    share = session_exposures(log)["session_state"].value_counts(normalize=True)
    assert share["<=10%"] > 0.85
    for state in SPIKES:
        assert 0.003 < share[state] < 0.08, state


def _longest_30d_by_loop(log: pd.DataFrame) -> np.ndarray:
    """docs/training-load.md section 3, run by run: the longest run of the same runner in
    [start - 30 days, start)."""
    out = np.full(len(log), np.nan)
    for i, (runner, start) in enumerate(zip(log["runner_id"], log["start"], strict=True)):
        before = log[
            (log["runner_id"] == runner)
            & (log["start"] >= start - 30 * DAY)
            & (log["start"] < start)
        ]
        if len(before):
            out[i] = before["distance_km"].max()
    return out


def test_the_states_the_truth_uses_follow_the_documented_definition():
    log, _ = simulate_training(12, 12, spike_rate=0.5, seed=5)
    longest = _longest_30d_by_loop(log)
    expected = spike_state(log["distance_km"].to_numpy() / longest - 1)
    got = session_exposures(log)
    np.testing.assert_allclose(got["longest_30d_km"], longest)
    assert got["session_state"].astype(object).equals(pd.Series(expected).astype(object))


def test_onsets_fit_the_time_at_risk_convention(year):
    """The log stops at the onset (runs later that day dropped), so the analysis, which puts
    the onset at the end of its day, drops no run and counts every injury."""
    log, injuries = year
    rows = session_exposures(log, injuries)
    assert len(rows) == len(log)  # no run at or after the end of time at risk
    reasons = rows["end_reason"].value_counts()
    assert rows["event"].sum() == reasons["pfp"] == injuries["pfp"].sum() > 0
    other_injury = injuries["onset"].notna() & ~injuries["pfp"]
    assert reasons["other injury"] == other_injury.sum() > 0
    assert reasons["end of follow-up"] == injuries["onset"].isna().sum()
    other = injuries.loc[injuries["onset"].notna() & ~injuries["pfp"], "diagnosis"]
    assert other.isin(OTHER_DIAGNOSES).all()
    last = log.groupby("runner_id")["start"].max().dt.normalize()
    onset = injuries.set_index("runner_id")["onset"].dropna()
    first = log.groupby("runner_id")["start"].min().dt.normalize()
    assert (last[onset.index] <= onset).all()
    assert (first[onset.index] <= onset).all()


def test_onset_rates_per_state_are_the_true_ones():
    """Events per person-day in each session state against the reference: the Poisson rate
    ratios agree with the true hazard ratios, and the reference rate with baseline_hazard."""
    truth = {">10-30%": 2.0, ">30-100%": 3.0, ">100%": 4.0}
    h0 = 2e-3
    log, injuries = simulate_training(
        6000,
        20,
        hazard_ratios=truth,
        baseline_hazard=h0,
        spike_rate=1.0,
        spike_sizes={">10-30%": 0.3, ">30-100%": 0.3, ">100%": 0.4},
        seed=7,
    )
    rows = session_exposures(log, injuries).dropna(subset=["session_state"])
    by = rows.groupby("session_state", observed=True)
    events = by["event"].sum()
    days = by.apply(lambda g: (g["stop_day"] - g["start_day"]).sum(), include_groups=False)
    assert events.min() >= 60, events  # 4 SE of a log rate ratio < log 2
    rate0 = events["<=10%"] / days["<=10%"]
    assert abs(math.log(rate0 / h0)) < 4 / math.sqrt(events["<=10%"])
    for state, hr in truth.items():
        log_rr = math.log(events[state] / days[state] / rate0)
        se = math.sqrt(1 / events[state] + 1 / events["<=10%"])
        assert abs(log_rr - math.log(hr)) < 4 * se, (state, math.exp(log_rr))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hazard_ratios": {">50%": 2.0}}, "unknown session state"),
        ({"hazard_ratios": {">100%": -1.0}}, "positive number"),
        ({"baseline_hazard": 0.0}, "baseline_hazard"),
        ({"other_injury_hazard": -1e-3}, "other_injury_hazard"),
        ({"spike_rate": 1.5}, "spike_rate"),
        ({"spike_sizes": {">100%": 0.5}}, "summing to 1"),
        ({"spike_sizes": {"huge": 1.0}}, "unknown spike state"),
        ({"subgroup": "elite"}, "subgroup must be one of"),
        ({"start": "not a date"}, "start must be a date"),
    ],
)
def test_bad_arguments_say_what_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_training(5, 2, seed=1, **kwargs)


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_sizes_must_be_positive_whole_numbers(n):
    with pytest.raises(ValueError, match="positive whole number"):
        simulate_training(n, 2, seed=1)


def test_default_baseline_rate_is_the_subgroups_incidence():
    for subgroup in ("military", "recreational"):
        log, _ = simulate_training(2, 1, subgroup=subgroup, seed=1)
        weeks = PROFILES[subgroup].followup_weeks[0]
        rate = log.attrs["truth"]["baseline_hazard"]
        expected = {"military": 0.11, "recreational": 0.06}[subgroup]
        assert 1 - math.exp(-rate * 7 * weeks) == pytest.approx(expected)


def test_round_trip_through_the_loaders(tmp_path):
    log, injuries = simulate_training(
        25, 20, baseline_hazard=4e-3, other_injury_hazard=2e-3, seed=9
    )
    assert injuries["pfp"].any()
    assert (injuries["onset"].notna() & ~injuries["pfp"]).any()
    log.drop(columns="source_row").to_csv(tmp_path / "log.csv", index=False)
    injuries.drop(columns="source_row").to_csv(tmp_path / "injuries.csv", index=False)
    loaded = load_training_log(tmp_path / "log.csv")
    pd.testing.assert_frame_equal(loaded[LOG_COLUMNS], log[LOG_COLUMNS])
    loaded = load_injuries(tmp_path / "injuries.csv")
    pd.testing.assert_frame_equal(loaded[INJURY_COLUMNS], injuries[INJURY_COLUMNS])


def test_shipped_demo_files_are_what_the_command_makes(tmp_path):
    made = write_demo_training(tmp_path / "log.csv", tmp_path / "injuries.csv")
    assert made[0].read_bytes() == DEMO_TRAINING_LOG.read_bytes()
    assert made[1].read_bytes() == DEMO_INJURIES.read_bytes()
    assert DEMO_TRAINING_LOG.stat().st_size < 3_000_000


def test_demo_loads_labelled_and_joins_the_demo_cohort():
    log, injuries = load_demo_training()
    assert is_synthetic(log)
    assert is_synthetic(injuries)
    assert (
        pd.read_csv(DEMO_TRAINING_LOG, usecols=["data_source"])["data_source"].eq("SYNTHETIC").all()
    )
    assert pd.read_csv(DEMO_INJURIES, usecols=["data_source"])["data_source"].eq("SYNTHETIC").all()
    cohort_ids = set(pd.read_csv(DEMO_COHORT)["runner_id"])
    assert injuries["runner_id"].nunique() == sum(DEMO_TRAINING_RUNNERS.values())
    assert set(injuries["runner_id"]) <= cohort_ids
    # as made: PFP recognised from every wording in the file
    made_log, made_injuries = demo_training()
    assert injuries["pfp"].tolist() == made_injuries["pfp"].tolist()
    pd.testing.assert_frame_equal(log[LOG_COLUMNS], made_log[LOG_COLUMNS])
    rows = session_exposures(log, injuries)
    assert 150 <= rows["event"].sum() <= 300
    # enough onsets in every spike state for the report to show its models (min_cell 5)
    per_state = rows.groupby("session_state", observed=False)["event"].sum()
    assert (per_state >= 5).all(), per_state
    events = rows.groupby("session_state", observed=False)["event"].sum()
    assert (events > 0).all(), events


def test_strava_exports_go_through_the_strava_reader(tmp_path):
    from pfps_stats.exposures.synthetic import write_strava_exports

    log, _ = simulate_training(12, 6, seed=4)
    write_strava_exports(log, tmp_path, seed=2)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.csv"))
    assert files == [f"{r}/activities.csv" for r in sorted(log["runner_id"].unique())]
    header = (tmp_path / files[0]).read_text().splitlines()[0].split(",")
    assert header.count("Distance") == 2
    assert header.count("Elapsed Time") == 2
    check = check_training_log(tmp_path)
    assert len(check.set_aside) > 0  # the rides and walks mixed in
    assert set(check.set_aside["Activity Type"]) <= {"Ride", "Walk"}
    assert is_synthetic(check.data)
    back = check.data.merge(log, on=["runner_id", "start"], suffixes=("", "_log"))
    assert len(back) == len(check.data) == len(log)
    np.testing.assert_allclose(back["distance_km"], back["distance_km_log"], atol=1e-9)
    np.testing.assert_allclose(back["duration_min"], back["duration_min_log"], atol=1 / 60)


def test_strava_exports_refuse_a_log_that_is_not_synthetic(tmp_path):
    from pfps_stats.exposures.synthetic import write_strava_exports

    log, _ = simulate_training(2, 1, seed=4)
    with pytest.raises(ValueError, match="SYNTHETIC"):
        write_strava_exports(log.drop(columns="data_source"), tmp_path)
