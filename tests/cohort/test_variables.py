import re

import pytest

import pfps_stats as ps
from pfps_stats.cohort.units import UNITS
from pfps_stats.cohort.variables import NUMERIC, VARIABLES

STABLE_NAMES = [
    "runner_id",
    "sex",
    "age_years",
    "height_cm",
    "mass_kg",
    "bmi",
    "q_angle_deg",
    "weekly_km",
    "weekly_km_change_pct",
    "hip_abd_strength_nkg",
    "knee_ext_strength_nmkg",
    "subgroup",
    "knee",
    "pfp",
    "followup_weeks",
]


def test_every_stable_name_is_in_the_dictionary():
    assert set(STABLE_NAMES) <= set(VARIABLES)


@pytest.mark.parametrize("var", VARIABLES.values(), ids=lambda v: v.name)
def test_entry_is_consistent(var):
    assert re.fullmatch(r"[a-z][a-z0-9_]*", var.name)
    assert var.label
    assert var.description
    for unit in var.units:
        assert unit in UNITS
    if var.kind == "numeric":
        assert var.units, "numeric variables need a canonical unit"
        assert var.unit.startswith(UNITS[var.units[0]].symbol)  # km -> "km/week"
        assert len({UNITS[u].dimension for u in var.units}) == 1
        lo, hi = var.plausible
        plo, phi = var.possible
        assert plo <= lo < hi <= phi
    if var.increment is not None:
        assert var.increment > 0
    if var.kind in ("category", "binary"):
        assert var.levels


def test_clinical_increments_match_the_issue():
    assert VARIABLES["bmi"].increment_label == "Body-mass index, per 5 kg/m²"
    assert VARIABLES["q_angle_deg"].increment_label == "Q angle, per 5°"
    assert VARIABLES["weekly_km"].increment_label == "Weekly running distance, per 10 km/week"


def test_labels_carry_units():
    assert ps.label("q_angle_deg") == "Q angle (°)"
    assert ps.label("q_angle_deg", unit=False) == "Q angle"
    assert ps.label("not_a_variable") == "not_a_variable"


def test_get_variable_names_the_known_ones():
    with pytest.raises(KeyError, match="known: runner_id"):
        ps.get_variable("weight")


def test_variable_table_is_tidy():
    table = ps.variable_table()
    assert list(table["name"]) == list(VARIABLES)
    assert all(re.fullmatch(r"[a-z_]+", c) for c in table.columns)
    assert set(NUMERIC) <= set(table["name"])
