"""Training-load figures, checked through their numbers and artists on hand-made inputs."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from pfps_stats.plots.training import (
    WEEKS_BEFORE_COLUMNS,
    _pooled_quantiles,
    plot_injury_rates,
    plot_weeks_before_onset,
    weeks_before_onset,
)

MONDAY = pd.Timestamp("2025-01-06")  # a Monday


def _weeks(km: dict[str, list[float]], start: dict[str, int] | None = None) -> pd.DataFrame:
    """weekly_exposures-shaped rows: km[runner] = weekly km from week start[runner] on."""
    start = start or {}
    rows = [
        (runner, MONDAY + pd.Timedelta(weeks=start.get(runner, 0) + i), v)
        for runner, values in km.items()
        for i, v in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["runner_id", "week", "weekly_km"])


def _injuries(rows: list[tuple[str, str, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "runner_id": [r for r, _, _ in rows],
            "onset": pd.to_datetime([d for _, d, _ in rows]),
            "diagnosis": ["PFP" if p else "ITBS" for _, _, p in rows],
            "pfp": [p for _, _, p in rows],
        }
    )


@pytest.fixture
def known():
    """Two PFP runners, A (onset in week 4, a Thursday) and B (onset on the Monday of week 5),
    three runners without PFP (C has another injury), 2 weeks before onset."""
    weeks = _weeks(
        {
            "A": [10, 20, 30, 40, 50, 60],
            "B": [5, 6, 7, 8, 9, 10],
            "C": [1, 2, 3, 4, 5, 6],
            "D": [11, 12, 13, 14, 15, 16],
            "E": [100, 100, 100, 100, 100, 100],
        }
    )
    injuries = _injuries(
        [
            ("A", "2025-02-06", True),  # week 4 (Mon 3 Feb): weeks 2, 3 before it
            ("A", "2025-02-20", True),  # a later PFP onset: only the first counts
            ("B", "2025-02-10", True),  # Monday of week 5: weeks 3, 4 before it
            ("C", "2025-01-20", False),
        ]
    )
    return weeks, injuries


def test_weeks_before_onset_known_answers(known):
    weeks, injuries = known
    table = weeks_before_onset(weeks, injuries, n_weeks=2)
    assert list(table.columns) == list(WEEKS_BEFORE_COLUMNS)
    table = table.set_index(["group", "relative_week"])
    # PFP: week -2 is A's week 2 (30 km) and B's week 3 (8 km); week -1: 40 and 9 km
    assert table.loc[("PFP", -2), "median"] == pytest.approx(19.0)
    assert table.loc[("PFP", -1), ["q1", "q3"]].tolist() == pytest.approx([16.75, 32.25])
    assert table.loc[("PFP", -1), "runners"] == 2
    # no PFP, week -2: calendar weeks 2 (A) and 3 (B) of C, D, E, pooled
    pooled = [3, 13, 100, 4, 14, 100]
    assert table.loc[("no PFP", -2), "values"] == 6
    assert table.loc[("no PFP", -2), ["median", "q1", "q3"]].tolist() == pytest.approx(
        np.quantile(pooled, [0.5, 0.25, 0.75])
    )
    assert table.loc[("no PFP", -2), "runners"] == 3
    assert table.attrs["runners"] == {"PFP": 2, "no PFP": 3}


def test_a_control_week_counts_once_per_case_whose_window_holds_it():
    weeks = _weeks({"A": [1, 2, 3], "B": [4, 5, 6], "C": [10, 20, 30]})
    injuries = _injuries([("A", "2025-01-20", True), ("B", "2025-01-21", True)])
    table = weeks_before_onset(weeks, injuries, n_weeks=2).set_index(["group", "relative_week"])
    assert table.loc[("no PFP", -1), "values"] == 2  # C's week 1, twice
    assert table.loc[("no PFP", -1), "median"] == 20
    assert table.loc[("PFP", -1), "median"] == pytest.approx(3.5)  # 2 and 5


def test_weeks_before_the_log_are_unknown_not_zero():
    weeks = _weeks({"A": [10, 20], "C": [1, 2, 3, 4]}, start={"A": 2})
    injuries = _injuries([("A", "2025-02-03", True)])  # week 4: weeks 2, 3 known, 0, 1 not
    table = weeks_before_onset(weeks, injuries, n_weeks=4).set_index(["group", "relative_week"])
    assert table.loc[("PFP", -4), "runners"] == 0
    assert np.isnan(table.loc[("PFP", -4), "median"])
    assert table.loc[("PFP", -2), "median"] == 10
    assert table.loc[("no PFP", -4), "median"] == 1


def test_weeks_starting_on_sunday():
    sunday = MONDAY - pd.Timedelta(days=1)
    weeks = _weeks({"A": [1, 2, 3], "C": [7, 8, 9]})
    weeks["week"] = weeks["week"] - pd.Timedelta(days=1)
    injuries = _injuries([("A", str((sunday + pd.Timedelta(days=20)).date()), True)])  # a Sat
    table = weeks_before_onset(weeks, injuries, n_weeks=1)
    assert table["median"].tolist() == [2, 8]


def test_no_pfp_case_is_a_clear_error(known):
    weeks, injuries = known
    with pytest.raises(ValueError, match="at least one PFP case"):
        weeks_before_onset(weeks, injuries.assign(pfp=False))
    with pytest.raises(ValueError, match="at least one PFP case"):
        weeks_before_onset(weeks, injuries.assign(runner_id="Z"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w, i: (w.drop(columns="weekly_km"), i), "no column.*'weekly_km'"),
        (lambda w, i: (w, i.drop(columns="onset")), "no column.*'onset'"),
    ],
)
def test_bad_inputs_are_named(known, change, message):
    weeks, injuries = change(*known)
    with pytest.raises(ValueError, match=message):
        weeks_before_onset(weeks, injuries)


def test_week_starts_on_different_weekdays_are_refused(known):
    weeks, injuries = known
    weeks.loc[3, "week"] += pd.Timedelta(days=2)
    with pytest.raises(ValueError, match="same weekday"):
        weeks_before_onset(weeks, injuries)
    with pytest.raises(ValueError, match="n_weeks"):
        weeks_before_onset(*known, n_weeks=0)


def test_plot_weeks_before_onset(known):
    weeks, injuries = known
    ax = plot_weeks_before_onset(weeks, injuries, n_weeks=2, ax=plt.figure().gca())
    assert ax.get_xlabel() == "Weeks before PFP onset"
    assert ax.get_ylabel() == "Weekly distance (km)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "runners without PFP, same weeks (n = 3): median, IQR",
        "runners with PFP (n = 2): median, IQR",
    ]
    (cases,) = [line for line in ax.get_lines() if "with PFP" in line.get_label()]
    assert cases.get_xdata().tolist() == [-2, -1]
    assert cases.get_ydata().tolist() == pytest.approx([19.0, 24.5])
    assert len(ax.collections) == 2  # the two IQR bands


def test_pooled_quantiles_equal_numpy_on_the_repeated_values():
    rng = np.random.default_rng(7)
    for _ in range(20):
        values = rng.normal(size=rng.integers(1, 12))
        counts = rng.integers(1, 5, size=len(values))
        expected = np.quantile(np.repeat(values, counts), [0.25, 0.5, 0.75])
        assert _pooled_quantiles(values, counts, (0.25, 0.5, 0.75)) == pytest.approx(expected)


# -- injury rates ---------------------------------------------------------------------------


@pytest.fixture
def rates():
    states = pd.Categorical(
        ["<=10%", ">10-30%", ">30-100%", ">100%"],
        categories=["<=10%", ">10-30%", ">30-100%", ">100%"],
        ordered=True,
    )
    return pd.DataFrame(
        {
            "session_state": states,
            "rows": [500, 100, 40, 10],
            "events": [10, 4, 1, 0],
            "person_days": [900.0, 200.0, 60.0, 20.0],
            "km": [5000.0, 1000.0, 500.0, 100.0],
            "hours": np.nan,
            "rate_per_1000_km": [2.0, 4.0, 2.0, 0.0],
            "ci_low_km": [0.96, 1.09, 0.05, 0.0],
            "ci_high_km": [3.68, 10.24, 11.14, 36.89],
            "rate_per_1000_h": np.nan,
            "ci_low_h": np.nan,
            "ci_high_h": np.nan,
        }
    )


def test_plot_injury_rates(rates):
    ax = plot_injury_rates(rates, ax=plt.figure().gca())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["<=10%", ">10-30%", ">30-100%", ">100%"]
    assert ax.get_ylabel() == "PFP onsets per 1,000 km (95% CI)"
    assert "Single run vs longest run of past 30 days" in ax.get_xlabel()
    (bars,) = [c for c in ax.collections if len(c.get_segments()) == 4]
    tops = [seg[:, 1].max() for seg in bars.get_segments()]
    lows = [seg[:, 1].min() for seg in bars.get_segments()]
    assert tops == pytest.approx(rates["ci_high_km"].tolist())
    assert lows == pytest.approx(rates["ci_low_km"].tolist())
    assert [t.get_text() for t in ax.texts] == ["10 events", "4 events", "1 event", "0 events"]


def test_plot_injury_rates_per_hour_and_bad_tables(rates):
    with pytest.raises(ValueError, match="no durations"):
        plot_injury_rates(rates, per="h")
    with pytest.raises(ValueError, match='per must be "km" or "h"'):
        plot_injury_rates(rates, per="mi")
    with pytest.raises(ValueError, match="ci_high_km"):
        plot_injury_rates(rates.drop(columns="ci_high_km"))
    with pytest.raises(ValueError, match="pass by="):
        plot_injury_rates(rates.assign(extra="x"))
    hours = rates.assign(
        rate_per_1000_h=[20.0, 40.0, 20.0, 0.0],
        ci_low_h=[9.6, 10.9, 0.5, 0.0],
        ci_high_h=[36.8, 102.4, 111.4, 368.9],
    )
    ax = plot_injury_rates(hours.assign(extra="x"), per="h", by="session_state")
    assert ax.get_ylabel() == "PFP onsets per 1,000 hours (95% CI)"
    indexed = rates.set_index("session_state")
    ax = plot_injury_rates(indexed, ax=plt.figure().gca())
    assert len(ax.get_xticklabels()) == 4


def test_only_onsets_counted_as_events_make_cases():
    monday = pd.Timestamp("2025-03-03")
    weeks = pd.DataFrame(
        {
            "runner_id": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
            "week": [monday + pd.Timedelta(weeks=k) for k in range(3)] * 3,
            "weekly_km": [10.0, 20, 30, 40, 50, 60, 5, 5, 5],
            "event": [0, 0, 1, 0, 0, 0, 0, 0, 0],  # b's PFP came after another injury
        }
    )
    injuries = pd.DataFrame(
        {
            "runner_id": ["a", "b"],
            "onset": [monday + pd.Timedelta(days=15), monday + pd.Timedelta(days=16)],
            "pfp": [True, True],
        }
    )
    table = weeks_before_onset(weeks, injuries, n_weeks=2)
    cases = table[table["group"] == "PFP"]
    controls = table[table["group"] == "no PFP"]
    assert cases["median"].tolist() == [10.0, 20.0]  # a only
    assert controls["median"].tolist() == [5.0, 5.0]  # c only: b is in neither group
