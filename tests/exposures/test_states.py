"""Spike states: the edges of docs/training-load.md section 3, on hand-picked ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pfps_stats.exposures.states import SPIKE_STATES, spike_state


def test_states_are_ordered_with_the_reference_first():
    states = spike_state([0.5])
    assert list(SPIKE_STATES) == ["<=10%", ">10-30%", ">30-100%", ">100%"]
    assert states.categories.tolist() == list(SPIKE_STATES)
    assert states.ordered
    assert isinstance(states, pd.Categorical)


@pytest.mark.parametrize(
    ("ratio", "state"),
    [
        (-1.0, "<=10%"),  # stopped altogether
        (-0.5, "<=10%"),  # regression
        (0.0, "<=10%"),
        (0.10, "<=10%"),  # exactly 10 %
        (11 / 10 - 1, "<=10%"),  # 0.10000000000000009 in floating point: rounded to 10 %
        (0.1000000001, "<=10%"),  # below the 9th decimal: rounded away
        (0.100000001, ">10-30%"),
        (0.2, ">10-30%"),
        (0.30, ">10-30%"),
        (13 / 10 - 1, ">10-30%"),  # 0.30000000000000004
        (0.300000001, ">30-100%"),
        (1.0, ">30-100%"),  # doubling is an increase of 100 %
        (20 / 10 - 1, ">30-100%"),
        (1.000000001, ">100%"),
        (2.5, ">100%"),
        (np.inf, ">100%"),  # running after a week of none
    ],
)
def test_each_ratio_falls_in_its_state(ratio, state):
    assert spike_state([ratio])[0] == state


def test_an_undefined_ratio_has_a_missing_state():
    states = spike_state([np.nan, 0.5, np.nan])
    assert states.isna().tolist() == [True, False, True]
    assert states[1] == ">30-100%"


def test_takes_a_series_a_list_or_an_array():
    ratios = [0.05, 0.2, 0.5, 3.0]
    expected = list(SPIKE_STATES)
    assert spike_state(ratios).tolist() == expected
    assert spike_state(np.array(ratios)).tolist() == expected
    assert spike_state(pd.Series(ratios, index=[9, 8, 7, 6])).tolist() == expected
    assert len(spike_state([])) == 0
