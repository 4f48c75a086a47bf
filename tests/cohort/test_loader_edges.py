"""Loader edges that used to lose or distort data silently (issue 10, items 9 and 12)."""

import os
import warnings

import openpyxl
import pandas as pd
import pytest
from conftest import file_hash

import pfps_stats as ps

BAD = "ID,PFP,Weight (kg)\n1,0,60\n2,maybe,70\n3,1,80\n"


# -- item 9: the quarantine file must never be the input ---------------------------------------
def _same_file_spellings(path):
    """The input itself, a relative path through '..', and a symlink to it."""
    yield path
    yield path.parent / "sub" / ".." / path.name
    link = path.parent / "link.csv"
    link.symlink_to(path)
    yield link


def test_quarantine_path_that_is_the_input_is_refused(write_text, tmp_path):
    path = write_text("data.csv", BAD)
    (tmp_path / "sub").mkdir()
    before = file_hash(path)
    for quarantine in _same_file_spellings(path):
        with pytest.raises(ValueError, match="is the input file") as info:
            ps.load_cohort(path, on_invalid="quarantine", quarantine_path=quarantine)
        assert "data.csv" in str(info.value)
        assert file_hash(path) == before, f"{quarantine} overwrote the data"


def test_quarantine_path_reached_through_a_symlinked_input_is_refused(write_text, tmp_path):
    path = write_text("data.csv", BAD)
    link = tmp_path / "alias.csv"
    link.symlink_to(path)
    before = file_hash(path)
    with pytest.raises(ValueError, match="is the input file"):
        ps.load_cohort(link, on_invalid="quarantine", quarantine_path=path)
    assert file_hash(path) == before


def test_quarantine_path_that_is_a_hard_link_to_the_input_is_refused(write_text, tmp_path):
    path = write_text("data.csv", BAD)
    hard = tmp_path / "hard.csv"
    os.link(path, hard)
    before = file_hash(path)
    with pytest.raises(ValueError, match="is the input file"):
        ps.load_cohort(path, on_invalid="quarantine", quarantine_path=hard)
    assert file_hash(path) == before


def test_quarantine_path_that_is_a_folder_is_refused(write_text, tmp_path):
    path = write_text("data.csv", BAD)
    with pytest.raises(ValueError, match="is a folder"):
        ps.load_cohort(path, on_invalid="quarantine", quarantine_path=tmp_path)


def test_another_quarantine_path_still_works(write_text, tmp_path):
    path = write_text("data.csv", BAD)
    out = tmp_path / "q.csv"
    with pytest.warns(ps.DataQualityWarning, match="set aside 1 of 3"):
        cohort = ps.load_cohort(path, on_invalid="quarantine", quarantine_path=out)
    assert list(cohort.index) == [1, 3]


# -- item 12: a trailing separator on the data rows only ---------------------------------------
TRAILING = "ID,PFP,Weight (kg)\nA1,0,60,\nA2,1,70,\nA3,0,80,\n"


def test_trailing_comma_on_data_rows_does_not_shift_columns(write_text):
    check = ps.check_cohort(write_text("t.csv", TRAILING))
    assert len(check.problems) == 0
    assert list(check.data["runner_id"]) == ["A1", "A2", "A3"]
    assert list(check.data["pfp"]) == [0, 1, 0]
    assert list(check.data["mass_kg"]) == [60.0, 70.0, 80.0]
    assert list(check.data.index) == [1, 2, 3]
    assert any("empty field" in note and "ignored" in note for note in check.notes), check.notes


def test_trailing_comma_on_some_data_rows(write_text):
    text = "ID,PFP,Weight (kg)\nA1,0,60,\nA2,1,70\nA3,0,80,\n"
    cohort = ps.load_cohort(write_text("t.csv", text))
    assert list(cohort["runner_id"]) == ["A1", "A2", "A3"]
    assert list(cohort["mass_kg"]) == [60.0, 70.0, 80.0]


def test_a_value_beyond_the_header_is_a_problem_of_its_row(write_text, tmp_path):
    # An unquoted decimal comma: "72,5" splits into two fields and the row has one too many.
    text = "ID,PFP,Weight (kg)\nA1,0,60\nA2,1,72,5\nA3,1,80,\n"
    path = write_text("t.csv", text)
    with pytest.raises(ps.DataValidationError) as info:
        ps.load_cohort(path)
    problems = info.value.problems
    assert list(problems["row"]) == [2], "only row 2 has a value without a header"
    assert problems["value"].item() == "5"
    message = str(info.value)
    assert "4 fields" in message
    assert "header has 3" in message
    assert "quote" in message.lower()
    out = tmp_path / "q.csv"
    with pytest.warns(ps.DataQualityWarning, match="set aside 1 of 3"):
        cohort = ps.load_cohort(path, on_invalid="quarantine", quarantine_path=out)
    assert list(cohort["runner_id"]) == ["A1", "A3"]
    quarantined = pd.read_csv(out, dtype=str)
    assert quarantined["source_row"].tolist() == ["2"]
    assert "header has 3" in quarantined["reasons"].item()
    assert quarantined["reasons"].str.count(";").item() == 0, (
        "no misleading reasons from shifted values"
    )


def test_many_extra_values_never_vanish(write_text):
    text = "ID,PFP\nA1,0,x,y\nA2,1\n"
    check = ps.check_cohort(write_text("t.csv", text))
    assert check.problems["row"].tolist() == [1]
    assert check.problems["value"].item() == "x, y"
    assert len(check.data) + len(check.quarantined) == check.n_input == 2


# -- item 12: a duplicated header ---------------------------------------------------------------
def test_duplicated_csv_header_names_both_positions(write_text):
    path = write_text("d.csv", "ID,pfp,pfp,Weight (kg)\n1,0,1,60\n")
    with pytest.raises(ps.DataValidationError) as info:
        ps.load_cohort(path)
    message = str(info.value)
    assert "'pfp'" in message
    assert "columns 2 and 3" in message
    assert "pfp_1" not in message
    assert info.value.problems["column"].item() == "pfp"


def test_duplicated_header_after_trimming_spaces(write_text):
    with pytest.raises(ps.DataValidationError, match="columns 1 and 3"):
        ps.load_cohort(write_text("d.csv", "ID,pfp,ID \n1,0,2\n"))


def test_duplicated_excel_header_names_both_positions(tmp_path):
    path = tmp_path / "d.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["ID", "pfp", "pfp"], [1, 0, 1], [2, 1, 1]):
        sheet.append(row)
    book.save(path)
    with pytest.raises(ps.DataValidationError) as info:
        ps.load_cohort(path)
    message = str(info.value)
    assert "columns 2 and 3 (B and C)" in message
    assert "pfp.1" not in message


# -- item 12: Excel formulas without computed values -------------------------------------------
def test_excel_formulas_without_cached_values_are_a_problem(tmp_path):
    path = tmp_path / "f.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "PFP", "Weight (lb)", "Weight (kg)"])
    for i in range(2, 5):
        sheet.append([f"R{i}", 0, 150, f"=C{i}*0.4536"])
    sheet.append(["R5", 1, 160, 72.5])  # a typed value among them is fine
    book.save(path)
    with pytest.raises(ps.DataValidationError) as info:
        ps.load_cohort(path, mapping={"Weight (lb)": None})
    problems = info.value.problems
    assert problems["column"].tolist() == ["Weight (kg)"]
    assert problems["row"].isna().all()
    message = str(info.value)
    assert "3 formula cells" in message
    assert "D2" in message
    assert "LibreOffice" in message
    assert "export CSV" in message


def test_excel_with_cached_formula_values_loads(tmp_path):
    path = tmp_path / "ok.xlsx"
    pd.DataFrame({"ID": ["a", "b"], "PFP": [0, 1], "Weight (kg)": [60.0, 70.0]}).to_excel(
        path, index=False
    )
    cohort = ps.load_cohort(path)
    assert list(cohort["mass_kg"]) == [60.0, 70.0]


# -- item 12: REDCap events that disagree, with quarantine -------------------------------------
REDCAP = (
    "record_id,redcap_event_name,sex,weight_kg,pfp,baseline_complete,followup_complete\n"
    "1,baseline_arm_1,F,60,,2,\n"
    "1,followup_arm_1,,65,1,,2\n"
    "2,baseline_arm_1,M,75,,2,\n"
    "2,followup_arm_1,,,0,,2\n"
    "3,baseline_arm_1,F,55,,2,\n"
    "3,followup_arm_1,,,1,,2\n"
)


def test_redcap_conflicts_are_quarantined_whole_records(write_text, tmp_path):
    path = write_text("r.csv", REDCAP)
    out = tmp_path / "q.csv"
    with pytest.warns(ps.DataQualityWarning, match="set aside 2 of 4 rows"):
        cohort = ps.load_cohort(path, on_invalid="quarantine", quarantine_path=out)
    assert list(cohort["runner_id"]) == ["2", "3"]
    assert list(cohort["mass_kg"]) == [75.0, 55.0]
    assert list(cohort.index) == [3, 5]
    quarantined = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert quarantined["source_row"].tolist() == ["1", "2"], "every row of record 1"
    assert quarantined["record_id"].tolist() == ["1", "1"]
    assert quarantined["weight_kg"].tolist() == ["60", "65"]
    for reason in quarantined["reasons"]:
        assert "REDCap events disagree for record 1" in reason
        assert "missing" not in reason, "only the real reason, not the uncollapsed rows' gaps"
        assert "appears in" not in reason


def test_redcap_conflicts_still_raise_by_default_with_the_other_problems(write_text):
    text = REDCAP.replace("3,followup_arm_1,,,1", "3,followup_arm_1,,,maybe")
    with pytest.raises(ps.DataValidationError) as info:
        ps.load_cohort(write_text("r.csv", text))
    problems = info.value.problems
    assert set(problems["row"]) == {1, 2, 5}
    assert 'on_invalid="quarantine"' in str(info.value)


def test_redcap_check_cohort_accounts_for_every_row(write_text):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = ps.check_cohort(write_text("r.csv", REDCAP))
    assert check.n_input == 4
    assert len(check.data) + len(check.quarantined) == check.n_input
    assert any("6 rows -> 4 rows" in note for note in check.notes), check.notes


def test_excel_formula_computed_to_empty_text_is_not_a_problem(tmp_path):
    """Excel stores a formula whose result is "" as an empty value of type "str"."""
    import zipfile

    written = tmp_path / "w.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["ID", "PFP", "Notes"], ["a", 0, '=IF(B2>0,"pain","")'], ["b", 1, "pain"]):
        sheet.append(row)
    book.save(written)
    path = tmp_path / "computed.xlsx"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                assert '<c r="C2"><f>' in text
                data = text.replace('<c r="C2"><f>', '<c r="C2" t="str"><f>').encode()
            target.writestr(item, data)
    cohort = ps.load_cohort(path)
    assert cohort["notes"].isna().tolist() == [True, False]


def test_written_csv_files_are_readable_by_others_as_ordinary_files(tmp_path):
    import os
    import stat

    from pfps_stats.cohort.validation import write_csv_atomic

    target = tmp_path / "out.csv"
    write_csv_atomic(pd.DataFrame({"a": [1]}), target)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize(
    ("check", "text"),
    [
        ("check_cohort", "runner_id,sex,source_row,reasons\nR1,F,3,x\nR2,Q,4,y\n"),
        (
            "check_training_log",
            "runner_id,start,distance_km,source_row\nR1,2025-01-05 07:00,5,7\nR2,x,5,8\n",
        ),
        (
            "check_injuries",
            "runner_id,onset,diagnosis,source_row\nR1,2025-01-05,PFPS,7\nR2,x,PFPS,8\n",
        ),
    ],
)
def test_a_source_column_named_like_the_quarantines_own_is_kept_renamed(tmp_path, check, text):
    import pfps_stats as ps

    path = tmp_path / "data.csv"
    path.write_text(text)
    result = getattr(ps, check)(path)
    assert len(result.data) == 1
    (row,) = result.quarantined.to_dict("records")
    assert row["source_row"] == 2
    assert str(row["source_row (in the file)"]) in {"4", "8"}
