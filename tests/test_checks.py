"""Shared argument checks."""

import pytest

from pfps_stats._checks import check_level


@pytest.mark.parametrize("level", [0.95, 0.5, 0.999])
def test_a_level_between_0_and_1_passes(level):
    assert check_level(level) == level


@pytest.mark.parametrize(
    ("level", "message"),
    [
        (95, "did you mean 0.95"),
        (1, "between 0 and 1"),
        (0, "between 0 and 1"),
        (-0.5, "between 0 and 1"),
        (float("nan"), "between 0 and 1"),
        ("high", "a number between 0 and 1"),
        (None, "a number between 0 and 1"),
    ],
)
def test_a_bad_level_says_what_to_write(level, message):
    with pytest.raises(ValueError, match=message):
        check_level(level)
