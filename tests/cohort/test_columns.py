import pytest

from pfps_stats.cohort.columns import ALIASES, identify, match_columns, snake_case
from pfps_stats.cohort.variables import VARIABLES

# The header spellings named in the issue, and more seen in real exports.
HEADERS = [
    ("ID", "runner_id", None),
    ("Weight (lb)", "mass_kg", "lb"),
    ("Height (in)", "height_cm", "in"),
    ("Miles per week", "weekly_km", "mi"),
    ("Q-angle", "q_angle_deg", "deg"),
    ("Hip abduction strength (%BW)", "hip_abd_strength_nkg", "pctBW"),
    ("PFP", "pfp", None),
    ("mass_kg", "mass_kg", "kg"),
    ("weight_lb", "mass_kg", "lb"),
    ("Weight in lbs", "mass_kg", "lb"),
    ("height_m", "height_cm", "m"),
    ("Body mass [kg]", "mass_kg", "kg"),
    ("BMI (kg/m²)", "bmi", "kg/m2"),
    ("Age", "age_years", "years"),
    ("Age (months)", "age_years", "months"),
    ("Weekly distance (km)", "weekly_km", "km"),
    ("hip_abd_N", "hip_abd_strength_nkg", "N"),
    ("Hip abduction strength (kgf)", "hip_abd_strength_nkg", "kgf"),
    ("Knee extension torque (Nm)", "knee_ext_strength_nmkg", "Nm"),
    ("Quadriceps strength (Nm/kg)", "knee_ext_strength_nmkg", "Nm/kg"),
    ("Follow-up (days)", "followup_weeks", "days"),
    ("weekly_km_change_pct", "weekly_km_change_pct", "pct"),
    ("Gender", "sex", None),
    ("Side", "knee", None),
    ("Group", "subgroup", None),
    ("record_id", "runner_id", None),
]


@pytest.mark.parametrize(("header", "variable", "unit"), HEADERS)
def test_headers_are_recognised_with_their_unit(header, variable, unit):
    others = [c for c in ("runner_id", "pfp", "mass_kg") if c != variable]
    matches, problems = match_columns([header, *others])
    m = matches[0]
    assert m.variable == variable
    assert m.unit == unit
    assert not [p for p in problems if p["column"] == header]


def test_every_alias_identifies_its_variable():
    for key, (name, _) in ALIASES.items():
        assert identify(key)[0] == name, key
    for var in VARIABLES.values():
        for alias in var.aliases:
            assert identify(alias.split("|")[0])[0] == var.name, alias


def test_unknown_headers_are_kept_as_snake_case_extras():
    matches, problems = match_columns(["runner_id", "pfp", "Foot posture (FPI-6)", "2nd visit"])
    assert [m.output for m in matches[2:]] == ["foot_posture_fpi_6", "x_2nd_visit"]
    assert problems == []


def test_snake_case_is_attribute_safe():
    assert snake_case("  ") == "column"
    assert snake_case("Notes!") == "notes"


def test_a_unit_that_cannot_be_determined_is_an_error_not_a_guess():
    _, problems = match_columns(["runner_id", "pfp", "Weight"])
    (p,) = problems
    assert p["column"] == "Weight"
    assert "cannot be determined" in p["problem"]
    assert "mapping=" in p["fix"]


def test_an_unknown_unit_is_an_error():
    _, problems = match_columns(["runner_id", "pfp", "Weight (furlongs)"])
    assert "'furlongs' is not a unit" in problems[0]["problem"]


def test_a_unit_of_the_wrong_quantity_is_an_error():
    _, problems = match_columns(["runner_id", "pfp", "Height (kg)"])
    assert "reads cm, m, mm, in, ft" in problems[0]["problem"]


def test_two_units_in_one_header_is_an_error():
    _, problems = match_columns(["runner_id", "pfp", "weight_lb (kg)"])
    assert "two units" in problems[0]["problem"]


def test_two_columns_for_one_variable_is_an_error():
    _, problems = match_columns(["runner_id", "pfp", "Weight (kg)", "Weight (lb)"])
    assert "2 columns hold mass_kg" in problems[0]["problem"]
    assert "None" in problems[0]["fix"]


def test_a_missing_required_column_suggests_the_nearest():
    _, problems = match_columns(["runner_id", "pfp_status"])
    assert problems[0]["column"] == "pfp"
    assert "'pfp_status'" in problems[0]["problem"]


def test_force_without_body_mass_is_an_error():
    _, problems = match_columns(["runner_id", "pfp", "Hip abduction strength (N)"])
    assert "no body-mass column" in problems[0]["problem"]


def test_mapping_forms():
    columns = ["Subject", "Outcome_2y", "Wt", "Ht (in)", "Hip", "Notes"]
    mapping = {
        "subject": "runner_id",
        "Outcome_2y": "pfp",
        "Wt": ("mass_kg", "lb"),
        "Ht (in)": "height_cm",
        "Hip": ("hip_abd_strength_nkg", "%BW"),
        "Notes": None,
    }
    matches, problems = match_columns(columns, mapping=mapping)
    assert problems == []
    got = {m.source: (m.variable, m.unit, m.how) for m in matches}
    assert got["Subject"] == ("runner_id", None, "mapping")
    assert got["Wt"] == ("mass_kg", "lb", "mapping")
    assert got["Ht (in)"] == ("height_cm", "in", "mapping"), "the header's unit is used"
    assert got["Hip"] == ("hip_abd_strength_nkg", "pctBW", "mapping")
    assert got["Notes"] == (None, None, "ignored (mapping)")


def test_mapping_errors_name_the_fix():
    _, problems = match_columns(
        ["runner_id", "pfp", "Wt"], mapping={"Wieght": "mass_kg", "Wt": "weight"}
    )
    texts = " ".join(p["problem"] for p in problems)
    assert "'Wieght' that is not in the data" in texts
    assert "'weight' is not a canonical variable" in texts


def test_labels_are_used_when_headers_are_codes():
    matches, problems = match_columns(
        ["v1", "v2", "v3"], labels={"v1": "Participant ID", "v2": "PFP", "v3": "Weight (lb)"}
    )
    assert [m.variable for m in matches] == ["runner_id", "pfp", "mass_kg"]
    assert matches[2].how == "label"
    assert problems == []
