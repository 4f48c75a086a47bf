"""injury_rates and poisson_rate_ci against R's poisson.test(x, T)$conf.int (exact Garwood
limits), 0 and 1 events included, and on the SYNTHETIC Cox reference data per state.

Reference values: tests/models/reference/rates_poisson.R (R 4.2.2), stored in
rates_poisson.json; R is not needed to run these tests. Tolerance: 1e-8 relative.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from pfps_stats._exceptions import ModelError
from pfps_stats.models.rates import injury_rates, poisson_rate_ci

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "rates_poisson.json").read_text())
STATES = ["<=10%", ">10-30%", ">30-100%", ">100%"]
TOL = {"rtol": 1e-8, "atol": 0}


def _data() -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / R["by_state"]["file"])
    d["session_state"] = pd.Categorical(d["session_state"], categories=STATES, ordered=True)
    return d


@pytest.mark.parametrize("case", R["cases"], ids=lambda c: f"x={c['events']},T={c['exposure']}")
def test_poisson_interval_matches_poisson_test(case):
    low, high = poisson_rate_ci(case["events"], case["exposure"], level=case["level"])
    assert_allclose(low, case["ci_low"], **TOL)
    assert_allclose(high, case["ci_high"], **TOL)
    if case["events"] == 0:
        assert low == 0


def test_poisson_interval_is_vectorised_and_nan_without_exposure():
    cases = [c for c in R["cases"] if c["level"] == 0.95]
    low, high = poisson_rate_ci([c["events"] for c in cases], [c["exposure"] for c in cases])
    assert_allclose(high, [c["ci_high"] for c in cases], **TOL)
    low, high = poisson_rate_ci([3, 0], [0.0, np.nan])
    assert np.isnan(low).all()
    assert np.isnan(high).all()


def test_rates_per_state_match_r():
    table = injury_rates(_data())
    assert list(table["session_state"]) == STATES
    assert table["session_state"].cat.ordered
    ref = pd.DataFrame(R["by_state"]["rows"])
    for column in ["rows", "events"]:
        assert table[column].tolist() == ref[column].tolist()
    for column in [
        "person_days",
        "km",
        "hours",
        "rate_per_1000_km",
        "ci_low_km",
        "ci_high_km",
        "rate_per_1000_h",
        "ci_low_h",
        "ci_high_h",
    ]:
        assert_allclose(table[column], ref[column], **TOL, err_msg=column)
    assert table.attrs["notes"] == []
    assert table.attrs["level"] == 0.95


def test_missing_state_empty_level_and_missing_duration_are_reported():
    d = _data()
    d.loc[[0, 1, 2], "session_state"] = np.nan
    d.loc[0, "event"] = 1
    d.loc[d["session_state"] == ">100%", "duration_min"] = np.nan
    d.loc[d.index[d["session_state"] == ">10-30%"][0], "duration_min"] = np.nan
    d["session_state"] = d["session_state"].cat.add_categories("other")
    table = injury_rates(d).set_index("session_state", drop=False)
    assert list(table.index) == [*STATES, "other", "missing"]
    assert table["rows"].sum() == len(d)  # nothing left out
    assert table["events"].sum() == d["event"].sum()
    missing = table.loc["missing"]
    assert missing["rows"] == 3
    assert missing["events"] == 1
    assert_allclose(missing["km"], d.loc[[0, 1, 2], "distance_km"].sum())
    other = table.loc["other"]
    assert other["rows"] == 0
    assert np.isnan(other["rate_per_1000_km"])
    assert np.isnan(other["ci_low_km"])
    for state in [">100%", ">10-30%"]:
        assert np.isnan(table.loc[state, "hours"])
        assert np.isnan(table.loc[state, "ci_high_h"])
        assert np.isfinite(table.loc[state, "rate_per_1000_km"])
    assert np.isfinite(table.loc["<=10%", "hours"])
    notes = " ".join(table.attrs["notes"])
    assert "3 rows with a missing session_state" in notes
    assert "'duration_min' is missing in some rows of '>10-30%', '>100%'" in notes


def test_zero_and_one_event_levels():
    """0 events over 1,332.7 km and 1 event over 601.75 km: R's cases (0, 1.3327), (1, 0.60175)."""
    d = pd.DataFrame(
        {
            "state": ["a", "a", "b", "b", "b"],
            "event": [0, 0, 1, 0, 0],
            "distance_km": [400.0, 932.7, 50.0, 20.0, 531.75],
        }
    )
    table = injury_rates(d, by="state", duration=None).set_index("state")
    for state, events, exposure in [("a", 0, 1.3327), ("b", 1, 0.60175)]:
        ref = next(
            c
            for c in R["cases"]
            if c["events"] == events and c["exposure"] == exposure and c["level"] == 0.95
        )
        row = table.loc[state]
        assert row["events"] == events
        assert_allclose(row["rate_per_1000_km"], ref["rate"], **TOL)
        assert_allclose(row["ci_low_km"], ref["ci_low"], **TOL)
        assert_allclose(row["ci_high_km"], ref["ci_high"], **TOL)
    assert table.loc["a", "ci_low_km"] == 0
    assert np.isnan(table["hours"]).all()
    assert np.isnan(table["ci_high_h"]).all()
    assert np.isnan(table["person_days"]).all()
    assert any("no duration column" in n for n in table.attrs["notes"])
    assert any("person_days is NaN" in n for n in table.attrs["notes"])


def test_weekly_rows_and_errors():
    d = _data().rename(columns={"distance_km": "weekly_km"})
    with pytest.raises(ModelError, match="distance='distance_km' is not a column.*weekly_km"):
        injury_rates(d)
    assert injury_rates(d, distance="weekly_km")["km"].sum() == pytest.approx(d["weekly_km"].sum())
    with pytest.raises(ModelError, match="must be 0/1"):
        injury_rates(_data().assign(event=2))
    with pytest.raises(ModelError, match="must be 0/1"):
        injury_rates(_data().assign(event=np.nan))
    with pytest.raises(ModelError, match="negative"):
        injury_rates(_data().assign(distance_km=-1.0))
    with pytest.raises(ModelError, match="by='state' is not a column"):
        injury_rates(_data(), by="state")
    with pytest.raises(ValueError, match="did you mean 0.95"):
        injury_rates(_data(), level=95)


def test_caller_frame_is_not_modified():
    d = _data()
    before = d.copy()
    injury_rates(d)
    pd.testing.assert_frame_equal(d, before)
