"""session_exposures and weekly_exposures on a Dask training log partitioned by runner: the
same rows, notes and counts as in memory on the SYNTHETIC demo log, runners spanning
partitions refused with the fix, a partition's validation error raised as in memory, and the
weekly frame fitted by fit_logistic on Dask. One LocalCluster for the module."""

from __future__ import annotations

import warnings

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import pfps_stats as ps


@pytest.fixture(scope="module")
def demo():
    return ps.load_demo_training()


def by_runner(log: pd.DataFrame, n: int = 4) -> list[pd.DataFrame]:
    """The log in n pieces, each runner's runs in one piece."""
    groups = np.array_split(log["runner_id"].unique(), n)
    return [log[log["runner_id"].isin(g)] for g in groups]


@pytest.fixture(scope="module")
def parquet_log(demo, tmp_path_factory):
    """The demo log as 4 Parquet files (whole runners in each), read back by Dask."""
    folder = tmp_path_factory.mktemp("SYNTHETIC_training_log")
    for i, piece in enumerate(by_runner(demo[0])):
        piece.to_parquet(folder / f"part-{i}.parquet", index=False)
    log = dd.read_parquet(str(folder))
    assert log.npartitions == 4
    return log


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as objects: Dask reads text as string[pyarrow], the loaders give str."""
    text = [
        c for c in frame if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)
    ]
    return frame.astype(dict.fromkeys(text, object))


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(plain(got), plain(expected), check_exact=False, rtol=1e-12)
    assert got.attrs["notes"] == expected.attrs["notes"]
    counts, reference = got.attrs["counts"], expected.attrs["counts"]
    assert list(counts) == list(reference)
    for key, value in reference.items():
        assert counts[key] == pytest.approx(value, rel=1e-12), key


@pytest.mark.parametrize("function", ["session_exposures", "weekly_exposures"])
@pytest.mark.parametrize("with_injuries", [False, True])
def test_dask_exposures_equal_the_in_memory_ones(
    dask_client, demo, parquet_log, function, with_injuries
):
    log, injuries = demo
    injuries = injuries if with_injuries else None
    func = getattr(ps, function)
    result = func(parquet_log, injuries)
    assert result.n_partitions == 4
    assert result.frame.npartitions == 4
    assert_same(result.compute(), func(log, injuries))


def test_injuries_outside_the_log_are_noted_for_the_whole_log(dask_client, demo):
    """Time at risk is decided once for all runners: an injury of a runner absent from the log
    (absent from every partition) and one before a runner's first run are noted once, as in
    memory, and a Sunday week start travels to the partitions."""
    log, injuries = demo
    extra = injuries.iloc[[3, 3]].copy()
    extra["runner_id"] = ["SYN-NOT-IN-LOG", injuries["runner_id"].iloc[10]]
    extra["onset"] = pd.to_datetime(["2025-03-01", "2024-06-01"])
    extra["follow_up_end"] = pd.NaT
    more = pd.concat([injuries, extra], ignore_index=True)
    ddf = dd.from_delayed([dask.delayed(p) for p in by_runner(log, 3)], meta=log.iloc[:0])
    result = ps.weekly_exposures(ddf, more, week_start="sunday").compute()
    expected = ps.weekly_exposures(log, more, week_start="sunday")
    assert_same(result, expected)
    assert any("SYN-NOT-IN-LOG" in note for note in result.attrs["notes"])
    assert result.attrs["counts"]["injuries_absent_runner"] == 1


def test_runner_id_as_a_sorted_index(dask_client, demo):
    log, injuries = demo
    assert log["runner_id"].is_monotonic_increasing  # from_pandas will not reorder the runs
    ddf = dd.from_pandas(log.set_index("runner_id"), npartitions=3)
    assert ddf.known_divisions
    assert_same(ps.session_exposures(ddf, injuries).compute(), ps.session_exposures(log, injuries))


def test_a_runner_spanning_partitions_is_refused_with_the_fix(dask_client, demo):
    log, _ = demo
    cut = dd.from_pandas(log, npartitions=5, sort=False)  # rows cut anywhere: runners in two
    with pytest.raises(ps.DataValidationError, match=r"has runs in partitions 0, 1") as info:
        ps.weekly_exposures(cut)
    assert "log.shuffle('runner_id')" in str(info.value)


def test_a_partitions_validation_error_is_the_in_memory_one(dask_client, demo):
    log, _ = demo
    pieces = by_runner(log)
    row = pieces[2].index[5]
    bad = log.copy()
    bad.loc[row, "distance_km"] = -3.0
    broken = [pieces[0], pieces[1], bad.loc[pieces[2].index], pieces[3]]
    ddf = dd.from_delayed([dask.delayed(p) for p in broken], meta=log.iloc[:0])
    with pytest.raises(ps.DataValidationError) as on_dask:
        ps.session_exposures(ddf)
    with pytest.raises(ps.DataValidationError) as in_memory:
        ps.session_exposures(bad)
    pd.testing.assert_frame_equal(on_dask.value.problems, in_memory.value.problems)
    assert "In partition 2 (of 4" in "\n".join(on_dask.value.__notes__)
    with pytest.raises(ValueError, match="week_start must be the name of a weekday"):
        ps.weekly_exposures(ddf, week_start="someday")


def test_weekly_frame_fits_on_dask_as_in_memory(dask_client, demo, parquet_log):
    """The weekly Dask frame stays partitioned by runner: a clustered fit of the risk in a
    week on the previous week's spike equals the in-memory fit."""
    log, injuries = demo
    weeks = ps.weekly_exposures(parquet_log, injuries)
    frame = weeks.frame.persist()  # each Newton iteration reads it: computed once, kept
    formula = "event ~ prior_week_state + weekly_km"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        on_dask = ps.fit_logistic(frame, formula, cluster="runner_id")
        in_memory = ps.fit_logistic(
            ps.weekly_exposures(log, injuries), formula, cluster="runner_id"
        )
    assert on_dask.columns == in_memory.columns
    assert on_dask.n_dropped == in_memory.n_dropped > 0
    assert_allclose(on_dask.params_, in_memory.params_, rtol=1e-8, atol=1e-10)
    assert_allclose(on_dask.bse_, in_memory.bse_, rtol=1e-8, atol=1e-10)
