import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from pfps_stats.cohort.units import UNITS, conversion_note, convert, normalise, parse_unit

# (source unit, target unit, value, expected) from the definitions: 1 lb = 0.45359237 kg,
# 1 in = 2.54 cm, 1 mi = 1.609344 km, g0 = 9.80665 m/s², 1 ft·lbf = 1.3558179483314004 N·m.
CASES = [
    ("lb", "kg", 150.0, 68.0388555),
    ("st", "kg", 10.0, 63.5029318),
    ("g", "kg", 70500.0, 70.5),
    ("in", "cm", 70.0, 177.8),
    ("ft", "cm", 6.0, 182.88),
    ("m", "cm", 1.75, 175.0),
    ("mm", "cm", 1750.0, 175.0),
    ("mi", "km", 20.0, 32.18688),
    ("m", "km", 25000.0, 25.0),
    ("months", "years", 186.0, 15.5),
    ("days", "weeks", 98.0, 14.0),
    ("months", "weeks", 12.0, 52.178571428571),
    ("years", "weeks", 1.0, 52.178571428571),
    ("pctBW", "N/kg", 25.0, 2.4516625),
    ("kgf/kg", "N/kg", 0.25, 2.4516625),
]


@pytest.mark.parametrize(("source", "target", "value", "expected"), CASES)
def test_conversion_factors(source, target, value, expected):
    out = convert(pd.Series([value]), source, target)
    assert_allclose(out.iloc[0], expected, rtol=1e-9)


@pytest.mark.parametrize(
    ("source", "target", "value", "mass", "expected"),
    [
        ("N", "N/kg", 150.0, 60.0, 2.5),
        ("kgf", "N/kg", 15.0, 60.0, 15 * 9.80665 / 60),
        ("lbf", "N/kg", 30.0, 60.0, 30 * 4.4482216152605 / 60),
        ("Nm", "Nm/kg", 180.0, 60.0, 3.0),
        ("ftlbf", "Nm/kg", 100.0, 60.0, 100 * 1.3558179483314004 / 60),
    ],
)
def test_force_and_torque_need_body_mass(source, target, value, mass, expected):
    out = convert(pd.Series([value, value]), source, target, pd.Series([mass, np.nan]))
    assert_allclose(out.iloc[0], expected, rtol=1e-12)
    assert np.isnan(out.iloc[1]), "a missing body mass gives a missing value, not a guess"
    with pytest.raises(ValueError, match="needs body mass"):
        convert(pd.Series([value]), source, target)


def test_conversion_across_quantities_is_refused():
    with pytest.raises(ValueError, match="different quantities"):
        convert(pd.Series([1.0]), "kg", "cm")


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("lb", "lb"),
        ("LBS", "lb"),
        ("%BW", "pctBW"),
        ("% body weight", "pctBW"),
        ("N/kg", "N/kg"),
        ("Nm/kg", "Nm/kg"),
        ("N·m", "Nm"),
        ("ft-lb", "ftlbf"),
        ("kg/m²", "kg/m2"),
        ("°", "deg"),
        ("miles", "mi"),
        ("km/week", "km"),
        ("inches", "in"),
        ("furlongs", None),
        ("", None),
    ],
)
def test_parse_unit(text, unit):
    assert parse_unit(text) == unit


def test_every_spelling_parses_to_its_own_unit():
    for key, unit in UNITS.items():
        for spelling in unit.spellings:
            assert parse_unit(spelling) == key, spelling


def test_normalise():
    assert normalise("Hip abduction strength (%BW)") == "hipabductionstrengthpctbw"
    assert normalise("Q-angle (°)") == "qangledeg"


def test_conversion_note():
    assert conversion_note("lb", "kg") == "lb -> kg (x 0.45359237)"
    assert conversion_note("kg", "kg") == "as recorded"
    assert "body mass" in conversion_note("N", "N/kg")
