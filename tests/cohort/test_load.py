"""load_cohort: every format, unit conversion, derivation, validation and quarantine."""

import warnings

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from conftest import file_hash
from numpy.testing import assert_allclose

import pfps_stats as ps

CLEAN = (
    "ID,Sex,Weight (lb),Height (in),Miles per week,Q-angle,Hip abduction strength (%BW),PFP\n"
    "A1,F,140,65,20,15,25,0\n"
    "A2,M,170,70,10,12,30,1\n"
    "A3,F,130,64,25,18,20,0\n"
)


def test_issue_headers_load_in_canonical_units(write_text):
    cohort = ps.load_cohort(write_text("c.csv", CLEAN))
    assert list(cohort.columns) == [
        "runner_id",
        "sex",
        "height_cm",
        "mass_kg",
        "bmi",
        "q_angle_deg",
        "weekly_km",
        "hip_abd_strength_nkg",
        "pfp",
    ]
    first = cohort.iloc[0]
    assert_allclose(first["mass_kg"], 140 * 0.45359237)
    assert_allclose(first["height_cm"], 65 * 2.54)
    assert_allclose(first["weekly_km"], 20 * 1.609344)
    assert_allclose(first["hip_abd_strength_nkg"], 25 * 9.80665 / 100)
    assert_allclose(first["bmi"], round(140 * 0.45359237 / (65 * 0.0254) ** 2, 2))
    assert cohort["pfp"].dtype == "int64"
    assert list(cohort["sex"].cat.categories) == ["F", "M"]
    assert list(cohort.index) == [1, 2, 3]
    assert cohort.index.name == "source_row"


def test_semicolon_decimal_comma_latin1(write_text):
    text = "Código;Sexo;Weight (kg);Height (cm);Q angle;PFP;Notas\nR1;F;61,5;165,2;14,5;0;café\n"
    path = write_text("euro.csv", text, encoding="latin-1")
    check = ps.check_cohort(path, mapping={"Código": "runner_id", "Sexo": "sex"})
    cohort = check.data
    assert_allclose(cohort["mass_kg"].iloc[0], 61.5)
    assert_allclose(cohort["q_angle_deg"].iloc[0], 14.5)
    assert cohort["notas"].iloc[0] == "café"
    assert any("cp1252" in note for note in check.notes)


def test_tab_separated_utf8_bom(write_text):
    path = write_text("t.txt", "\ufeffrunner_id\tpfp\tmass_kg\nX\tyes\t70\nY\tno\t80\n")
    cohort = ps.load_cohort(path)
    assert list(cohort["pfp"]) == [1, 0]


def test_excel_first_sheet(tmp_path):
    path = tmp_path / "c.xlsx"
    frame = pd.DataFrame(
        {"Participant ID": [1, 2], "Weight (kg)": [60.0, 72.5], "PFP": ["no", "yes"]}
    )
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="cohort", index=False)
        frame.to_excel(writer, sheet_name="other", index=False)
    check = ps.check_cohort(path)
    assert list(check.data["runner_id"]) == ["1", "2"], "numeric IDs become text, not 1.0"
    assert list(check.data["mass_kg"]) == [60.0, 72.5]
    assert any("first sheet" in note for note in check.notes)


def test_parquet(tmp_path):
    path = tmp_path / "c.parquet"
    pd.DataFrame({"runner_id": ["a", "b"], "pfp": [0, 1], "bmi": [22.1, 24.3]}).to_parquet(path)
    assert list(ps.load_cohort(path)["bmi"]) == [22.1, 24.3]


@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_spss_and_stata_value_labels_are_applied(tmp_path, suffix):
    frame = pd.DataFrame(
        {
            "id": [1.0, 2.0, 3.0],
            "gender": [1.0, 2.0, 1.0],
            "case": [0.0, 1.0, 0.0],
            "wt": [60.0, 80.0, 70.0],
        }
    )
    labels = {"gender": {1.0: "Female", 2.0: "Male"}, "case": {0.0: "No", 1.0: "Yes"}}
    path = tmp_path / f"c{suffix}"
    writer = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
    writer(
        frame,
        str(path),
        column_labels=["Participant", "Sex", "PFP", "Weight (kg)"],
        variable_value_labels=labels,
    )
    cohort = ps.load_cohort(path)
    assert list(cohort["sex"]) == ["F", "M", "F"]
    assert list(cohort["pfp"]) == [0, 1, 0]
    assert list(cohort["mass_kg"]) == [60.0, 80.0, 70.0], "'wt' matched through its label"


REDCAP_RAW = (
    "record_id,redcap_event_name,sex,weight_kg,pfp,baseline_complete,followup_complete\n"
    "1,baseline_arm_1,F,60,,2,\n"
    "1,followup_arm_1,,,1,,2\n"
    "2,baseline_arm_1,M,75,,2,\n"
    "2,followup_arm_1,,,0,,2\n"
)


def test_redcap_export_events_are_collapsed(write_text):
    check = ps.check_cohort(write_text("redcap.csv", REDCAP_RAW))
    assert list(check.data["runner_id"]) == ["1", "2"]
    assert list(check.data["pfp"]) == [1, 0]
    assert list(check.data["mass_kg"]) == [60.0, 75.0]
    assert "baseline_complete" not in check.data
    assert any("housekeeping" in note for note in check.notes)
    assert any("4 rows -> 2 records" in note for note in check.notes)


def test_redcap_labels_export(write_text):
    text = "Record ID,Sex,Weight (kg),PFP,Complete?\n1,Female,60,Yes,Complete\n2,Male,70,No,\n"
    cohort = ps.load_cohort(write_text("labels.csv", text))
    assert list(cohort.columns) == ["runner_id", "sex", "mass_kg", "pfp"]


def test_redcap_events_that_disagree_are_an_error(write_text):
    text = REDCAP_RAW.replace("1,followup_arm_1,,,1", "1,followup_arm_1,,65,1")
    with pytest.raises(ps.DataValidationError, match="REDCap events disagree for record 1"):
        ps.load_cohort(write_text("r.csv", text))


def test_bmi_is_derived_and_checked(write_text):
    text = "runner_id,pfp,height_cm,mass_kg,bmi\na,0,180,81,25.0\nb,1,180,81,30.0\nc,0,180,81,\n"
    check = ps.check_cohort(write_text("b.csv", text))
    (problem,) = check.problems.itertuples()
    assert problem.row == 2
    assert "disagrees with height 180.0 cm and mass 81.0 kg" in problem.problem
    assert_allclose(check.data.loc[3, "bmi"], 25.0)


def test_force_in_newtons_uses_each_runners_mass(write_text):
    text = "runner_id,pfp,mass_kg,Hip abduction strength (N)\na,0,60,150\nb,1,,150\n"
    check = ps.check_cohort(write_text("n.csv", text))
    assert_allclose(check.data.loc[1, "hip_abd_strength_nkg"], 2.5)
    assert check.problems["row"].tolist() == [2]
    assert "body mass is missing" in check.problems["problem"].iloc[0]


BAD = (
    "ID,Sex,Weight (kg),Height (cm),Q-angle,PFP\n"
    "1,F,60,165,15,0\n"  # row 1 fine
    "2,F,abc,165,15,0\n"  # row 2 text in a number
    "3,F,60,1.65,15,1\n"  # row 3 height in metres
    "4,Q,60,165,15,0\n"  # row 4 unknown sex
    "5,F,60,165,120,0\n"  # row 5 impossible Q angle
    "6,F,60,165,15,2\n"  # row 6 non-binary outcome
    "7,F,60,165,15,\n"  # row 7 missing outcome
    "2,F,61,165,15,0\n"  # row 8 duplicates runner 2
    "9,F,-5,165,15,0\n"  # row 9 impossible mass
)


def test_one_pass_finds_every_problem(write_text):
    with pytest.raises(ps.DataValidationError) as info:
        ps.load_cohort(write_text("bad.csv", BAD))
    err = info.value
    assert isinstance(err, ValueError)
    assert list(err.problems.columns) == ["row", "column", "value", "problem"]
    by_row = err.problems.groupby("row")["problem"].agg(" | ".join)
    assert set(by_row.index) == {2, 3, 4, 5, 6, 7, 8, 9}, "row 1 is clean"
    assert "'abc' is not a number" in by_row[2]
    assert "outside the plausible range" in by_row[3]
    assert "'Q' is not a sex" in by_row[4]
    assert "impossible" in by_row[5]
    assert "not a binary outcome" in by_row[6]
    assert "outcome is missing" in by_row[7]
    assert "appears in 2 rows (2, 8)" in by_row[2]
    assert "appears in 2 rows" in by_row[8]
    assert "impossible" in by_row[9]
    message = str(err)
    for column in ("'Weight (kg)'", "'Height (cm)'", "'Sex'", "'Q-angle'", "'PFP'", "'ID'"):
        assert column in message
    assert "looks like metres" in message
    assert "Fix:" in message
    assert 'on_invalid="quarantine"' in message


@pytest.mark.filterwarnings("ignore:.*single-class outcome:pfps_stats.DataQualityWarning")
def test_quarantine_accounts_for_every_row(write_text, tmp_path):
    path = write_text("bad.csv", BAD)
    out = tmp_path / "q" / "set_aside.csv"
    with pytest.warns(ps.DataQualityWarning, match="set aside 8 of 9 rows"):
        cohort = ps.load_cohort(path, on_invalid="quarantine", quarantine_path=out)
    quarantined = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(cohort) + len(quarantined) == 9
    assert list(cohort.index) == [1]
    assert sorted(quarantined["source_row"].astype(int)) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert quarantined.loc[quarantined["source_row"] == "2", "Weight (kg)"].item() == "abc", (
        "quarantined rows keep the values as they were in the file"
    )
    assert quarantined["reasons"].str.len().gt(0).all()


def test_quarantine_needs_a_path(write_text):
    with pytest.raises(ValueError, match="needs quarantine_path"):
        ps.load_cohort(write_text("c.csv", CLEAN), on_invalid="quarantine")
    with pytest.raises(ValueError, match="on_invalid must be"):
        ps.load_cohort(write_text("c.csv", CLEAN), on_invalid="drop")


def test_whole_column_problems_raise_even_when_quarantining(write_text, tmp_path):
    path = write_text("w.csv", "ID,PFP,Weight\n1,0,60\n")
    with pytest.raises(ps.DataValidationError, match="cannot be determined"):
        ps.load_cohort(path, on_invalid="quarantine", quarantine_path=tmp_path / "q.csv")
    assert not (tmp_path / "q.csv").exists()


def test_duplicate_ids_are_fine_when_knee_tells_them_apart(write_text):
    text = "runner_id,knee,pfp,q_angle_deg\n1,L,0,14\n1,R,1,15\n2,left,0,13\n2,right,0,12\n"
    cohort = ps.load_cohort(write_text("k.csv", text))
    assert list(cohort["knee"]) == ["L", "R", "L", "R"]
    with pytest.raises(ps.DataValidationError, match="runner '1', knee L appears in 2 rows"):
        ps.load_cohort(write_text("k2.csv", text.replace("1,R", "1,L")))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n \n", "only blank space"),
        (b"runner_id,pfp\n", "header but no data rows"),
        (b"runner_id,pfp\n,\n,\n", "every row is blank"),
        (b"PK\x03\x04\x00\x00binary", "NUL bytes"),
        (b'runner_id,pfp\n"a,0\n', "could not be read"),
    ],
)
def test_unreadable_files_give_a_clear_error(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(ps.DataValidationError, match=message):
        ps.load_cohort(path)


def test_missing_file_folder_and_unknown_type(tmp_path):
    with pytest.raises(ps.DataValidationError, match="file not found"):
        ps.load_cohort(tmp_path / "nope.csv")
    with pytest.raises(ps.DataValidationError, match="is a folder"):
        ps.load_cohort(tmp_path)
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(ps.DataValidationError, match="unsupported file type '.json'"):
        ps.load_cohort(tmp_path / "c.json")
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(ps.DataValidationError, match="Excel workbook"):
        ps.load_cohort(tmp_path / "broken.xlsx")


def test_single_class_outcome_is_a_warning(write_text):
    with pytest.warns(ps.DataQualityWarning, match="every runner has pfp = 0"):
        cohort = ps.load_cohort(write_text("s.csv", "runner_id,pfp\na,0\nb,0\n"))
    assert len(cohort) == 2


def test_numeric_codes_for_sex_are_refused_with_advice(write_text):
    with pytest.raises(ps.DataValidationError, match="apply the value labels"):
        ps.load_cohort(write_text("s.csv", "runner_id,pfp,sex\na,0,1\nb,1,2\n"))


def test_missing_value_spellings_are_missing_not_errors(write_text):
    text = "runner_id,pfp,q_angle_deg\na,0,NA\nb,1,.\nc,0,\nd,1,n/a\ne,0,15\n"
    cohort = ps.load_cohort(write_text("m.csv", text))
    assert cohort["q_angle_deg"].isna().sum() == 4


def test_infinity_is_not_a_number(write_text):
    with pytest.raises(ps.DataValidationError, match="'inf' is not a number"):
        ps.load_cohort(write_text("i.csv", "runner_id,pfp,q_angle_deg\na,0,inf\n"))


def test_caller_dataframe_and_file_are_not_modified(small_cohort, tmp_path):
    frame = small_cohort.copy()
    frame.loc[frame.index[0], "q_angle_deg"] = 500.0
    before = frame.copy(deep=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.DataQualityWarning)
        ps.load_cohort(frame, on_invalid="quarantine", quarantine_path=tmp_path / "q.csv")
    pd.testing.assert_frame_equal(frame, before)
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    digest = file_hash(path)
    with pytest.raises(ps.DataValidationError):
        ps.load_cohort(path)
    assert file_hash(path) == digest


def test_dataframe_round_trip_keeps_values(small_cohort):
    cohort = ps.load_cohort(small_cohort)
    numeric = ["age_years", "bmi", "q_angle_deg", "weekly_km", "knee_ext_strength_nmkg"]
    assert_allclose(cohort[numeric].to_numpy(), small_cohort[numeric].to_numpy())
    assert (cohort["data_source"] == "SYNTHETIC").all()


def test_demo_cohort_loads_cleanly(demo_path):
    check = ps.check_cohort(demo_path)
    assert len(check.problems) == 0
    assert len(check.data) == check.n_input == 2400
    assert set(check.data["subgroup"].astype(str)) == {"military", "adolescent", "recreational"}
    assert np.isfinite(check.data["bmi"].dropna()).all()


def test_repeated_column_names_are_an_error():
    frame = pd.DataFrame([[1, 0, 2], [2, 1, 3]], columns=["runner_id", "pfp", "pfp"])
    with pytest.raises(
        ps.DataValidationError, match="'pfp' appears more than once: columns 2 and 3;"
    ):
        ps.load_cohort(frame)


def test_dataframe_rows_keep_their_labels_or_are_numbered_from_one(small_cohort):
    frame = small_cohort.set_index(small_cohort.index + 100)
    assert ps.load_cohort(frame).index[0] == 100
    frame.index = frame["runner_id"]
    assert ps.load_cohort(frame).index[0] == 1
